"""Cold-start measurement: exec a release bootstrap under a minimal Lambda Runtime API emulator.

For each function: time from exec to the runtime's first `GET /invocation/next` (init: config
load, AWS client construction), time to the first response (one real request against the local
DynamoDB API), and peak RSS (VmHWM). Run by `infra/cold-start`; prints a table.

Every function in functions/ is measured; one without an event here is an error, so a new
function cannot be left out. The HTTP functions get an API Gateway HTTP API v2 event from
events/ (`api` one derived from them: events/ holds only the events tests/integration/events.rs
maps to handlers); the others get what their trigger sends (`idp-certificates`, `webhooks`: the
Scheduler's payload, which they ignore, then one walk of the org certificates / of the due
deliveries; `oidc-backchannel`:
a DynamoDB Streams batch with one notice key, which it tries to claim — one conditional write).
"""
import http.server
import json
import os
import statistics
import subprocess
import sys
import threading
import time

EVENTS = {
    "saml-metadata": "saml-metadata-get.json",
    "saml-login": "saml-login-get.json",
    "saml-acs": "saml-acs-post.json",
    "session": "session-get.json",
    "scim-users": "scim-service-provider-config-get.json",
    "scim-groups": "scim-groups-create.json",
    "oidc": "oidc-discovery-get.json",
}


def api_event(events_dir):
    """`GET /api/v1/orgs/demo` with the key in COLD_START_API_KEY (infra/cold-start makes one):
    the key's GetItem, then the org's. The shape is the discovery event's (same API, same stage)."""
    with open(os.path.join(events_dir, "oidc-discovery-get.json")) as f:
        event = json.load(f)
    path = "/api/v1/orgs/demo"
    event["routeKey"] = "ANY /api/v1/orgs/{org}"
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["routeKey"] = event["routeKey"]
    event["pathParameters"] = {"org": "demo"}
    event["headers"]["authorization"] = "Bearer " + os.environ.get("COLD_START_API_KEY", "ssoapi_none")
    return json.dumps(event).encode()


# An invocation of `webhooks` delivers for ~50 s (shared::functions::webhooks::BUDGET): only its
# init is measured (the runtime's first poll), and its RSS at that point.
INIT_ONLY = {"webhooks"}


def trigger_events():
    """Non-HTTP functions: what EventBridge Scheduler and the DynamoDB Stream deliver."""
    schedule = {"source": "aws.scheduler", "detail-type": "Scheduled Event", "detail": {}}
    notice = {"Records": [{
        "eventName": "INSERT",
        "eventSource": "aws:dynamodb",
        "dynamodb": {"Keys": {"pk": {"S": "ORG#demo#BCL#cold-start"}, "sk": {"S": "BCL"}}},
    }]}
    return {
        "idp-certificates": json.dumps(schedule).encode(),
        "webhooks": json.dumps(schedule).encode(),
        "oidc-backchannel": json.dumps(notice).encode(),
    }


def load_events(bin_dir, events_dir):
    """function name → event bytes, for every binary infra/cold-start built (argv[4:])."""
    events = {}
    for function, event_file in EVENTS.items():
        with open(os.path.join(events_dir, event_file), "rb") as f:
            events[function] = f.read()
    events["api"] = api_event(events_dir)
    events.update(trigger_events())
    return events


class Emulator(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    event = b"{}"
    first_next = None
    response_at = None
    response_body = None
    response_was_error = False
    served = False
    lock = threading.Lock()

    def log_message(self, *args):
        pass

    def do_GET(self):
        if not self.path.endswith("/runtime/invocation/next"):
            self.send_error(404)
            return
        cls = type(self)
        with cls.lock:
            if cls.first_next is None:
                cls.first_next = time.perf_counter()
            first = not cls.served
            cls.served = True
        if not first:
            # Park the runtime's second poll until the process is killed.
            time.sleep(30)
            return
        self.send_response(200)
        self.send_header("Lambda-Runtime-Aws-Request-Id", "cold-start-1")
        self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 10_000))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:cold-start")
        self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(cls.event)))
        self.end_headers()
        self.wfile.write(cls.event)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        cls = type(self)
        if "/response" in self.path or "/error" in self.path:
            cls.response_at = time.perf_counter()
            cls.response_body = body
            cls.response_was_error = "/error" in self.path
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()


def measure(binary, event, env, init_only=False):
    Emulator.event = event
    Emulator.first_next = Emulator.response_at = Emulator.response_body = None
    Emulator.response_was_error = False
    Emulator.served = False
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Emulator)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = dict(env, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{server.server_address[1]}")
    start = time.perf_counter()
    proc = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = start + 10
    def waiting():
        return Emulator.first_next is None if init_only else Emulator.response_at is None

    while waiting() and time.perf_counter() < deadline and proc.poll() is None:
        time.sleep(0.0005)
    rss_kb = None
    try:
        with open(f"/proc/{proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    rss_kb = int(line.split()[1])
    except OSError:
        pass
    proc.kill()
    proc.wait()
    server.shutdown()
    server.server_close()
    if init_only and Emulator.first_next is not None:
        return (Emulator.first_next - start) * 1000, None, rss_kb, "-"
    if Emulator.first_next is None or Emulator.response_at is None:
        raise RuntimeError(f"{binary}: no response from the runtime (exit {proc.returncode})")
    # HTTP functions answer with a status code; the others with their own JSON, or an error.
    if Emulator.response_was_error:
        status = "error"
    else:
        answer = json.loads(Emulator.response_body or b"{}")
        status = answer.get("statusCode", "ok") if isinstance(answer, dict) else "ok"
    return (Emulator.first_next - start) * 1000, (Emulator.response_at - start) * 1000, rss_kb, status


def main():
    bin_dir, events_dir, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    functions = sys.argv[4:] or list(EVENTS)
    events = load_events(bin_dir, events_dir)
    missing = [f for f in functions if f not in events]
    if missing:
        raise SystemExit(f"no cold-start event for {', '.join(missing)}: add one to infra/cold_start.py")
    base_env = {k: v for k, v in os.environ.items()}
    base_env.update({
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_STREAM_NAME": "cold-start",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/cold-start",
        "EMIT_METRICS": "true",
    })
    print(f"{'function':<16} {'size MB':>8} {'init ms (median/p90)':>22} {'first response ms':>18} {'peak RSS MB':>12} {'status':>7} {'lost':>4}")
    for function in functions:
        binary = os.path.join(bin_dir, function)
        event = events[function]
        env = dict(base_env, AWS_LAMBDA_FUNCTION_NAME=function)
        results, failures = [], 0
        while len(results) < runs:
            try:
                results.append(measure(binary, event, env, function in INIT_ONLY))
            except RuntimeError as e:
                # A run the emulator lost (seen under heavy machine load): counted, not hidden.
                failures += 1
                print(f"  {e}", file=sys.stderr)
                if failures > runs:
                    raise SystemExit(f"{function}: too many failed runs")
        inits = sorted(r[0] for r in results)
        firsts = sorted(r[1] for r in results if r[1] is not None)
        rss = max(r[2] or 0 for r in results) / 1024
        first = f"{statistics.median(firsts):.1f}" if firsts else "-"
        p90 = inits[min(len(inits) - 1, int(len(inits) * 0.9))]
        size = os.path.getsize(binary) / 1e6
        print(f"{function:<16} {size:>8.1f} {statistics.median(inits):>12.1f} / {p90:<7.1f} {first:>18} {rss:>12.1f} {results[-1][3]!s:>7} {failures:>4}")


if __name__ == "__main__":
    main()
