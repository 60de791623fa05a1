"""A fault-injecting proxy for the DynamoDB API: put it between the service and a DynamoDB-API
server (the local moto, or anything AWS_ENDPOINT_URL can name) to see what clients get when
DynamoDB throttles, fails, conflicts, stalls or loses answers.

    python infra/dynamodb_fault_proxy.py LISTEN_PORT UPSTREAM_URL [RATE]

Every request is forwarded to UPSTREAM_URL, except that with probability RATE (default 0, i.e.
off) one fault is injected instead, chosen by weight among the kinds below (for the operation in
the request's X-Amz-Target header):

    throttle        400 ThrottlingException (before forwarding)
    capacity        400 ProvisionedThroughputExceededException (before forwarding)
    internal        500 InternalServerError (before forwarding)
    conflict        400 TransactionCanceledException, every reason TransactionConflict
                    (TransactWriteItems only; before forwarding)
    delay           sleeps DELAY seconds (past the client's per-attempt timeout), then forwards
    drop_before     closes the connection without forwarding: nothing happened
    drop_after      forwards, then closes the connection without answering: the write happened
                    but the answer was lost

Control (JSON over HTTP on the same port, never forwarded):
    GET  /fault-proxy/stats    {"requests": N, "forwarded": N, "faults": {kind: N}, "by_operation": {...}}
    POST /fault-proxy/config   {"rate": 0.1, "weights": {"throttle": 1, ...}, "delay": 3.0,
                                "operations": ["PutItem", ...] or null for all, "seed": 7,
                                "max_faults": 1 or null, "skip": 0, "reset_stats": true}

Loops are bounded (one upstream call per request, a fixed sleep); it stops with the process.
Loopback only: it refuses to listen anywhere but 127.0.0.1.
"""
import http.client
import json
import random
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

KINDS = ["throttle", "capacity", "internal", "conflict", "delay", "drop_before", "drop_after"]

state_lock = threading.Lock()
config = {
    "rate": 0.0,
    "weights": {k: 1.0 for k in KINDS},
    "delay": 3.0,
    "operations": None,
    "seed": None,
    # At most this many faults, then none (null: no limit): "the first write's answer is lost".
    "max_faults": None,
    # Let this many matching requests through untouched first: "fail the second transaction".
    "skip": 0,
}
stats = {"requests": 0, "forwarded": 0, "faults": {k: 0 for k in KINDS}, "by_operation": {}}
rng = random.Random()


def error_body(code, message, extra=None):
    body = {"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": message}
    if extra:
        body.update(extra)
    return json.dumps(body).encode()


def choose_fault(operation):
    with state_lock:
        ops = config["operations"]
        if ops is not None and operation not in ops:
            return None
        if config["skip"] > 0:
            config["skip"] -= 1
            return None
        if config["max_faults"] is not None and sum(stats["faults"].values()) >= config["max_faults"]:
            return None
        if rng.random() >= config["rate"]:
            return None
        kinds = [k for k in KINDS if config["weights"].get(k, 0) > 0]
        if operation != "TransactWriteItems":
            kinds = [k for k in kinds if k != "conflict"]
        if not kinds:
            return None
        weights = [config["weights"][k] for k in kinds]
        kind = rng.choices(kinds, weights=weights)[0]
        stats["faults"][kind] += 1
        per_op = stats["by_operation"].setdefault(operation, {})
        per_op[kind] = per_op.get(kind, 0) + 1
        return kind


class Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    upstream = None  # urllib.parse.SplitResult, set in main

    def log_message(self, *args):  # quiet: the stats endpoint tells what happened
        pass

    def send_json(self, status, body, content_type="application/x-amz-json-1.0"):
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path.startswith("/fault-proxy/stats"):
            with state_lock:
                body = json.dumps(stats).encode()
            return self.send_json(200, body, "application/json")
        return self.forward(b"")

    def do_POST(self):
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path.startswith("/fault-proxy/config"):
            update = json.loads(body or b"{}")
            with state_lock:
                for key in ("rate", "delay", "operations", "seed", "max_faults", "skip"):
                    if key in update:
                        config[key] = update[key]
                if "weights" in update:
                    config["weights"] = {k: float(update["weights"].get(k, 0)) for k in KINDS}
                if update.get("seed") is not None:
                    rng.seed(update["seed"])
                if update.get("reset_stats"):
                    stats.update(requests=0, forwarded=0, faults={k: 0 for k in KINDS}, by_operation={})
                answer = json.dumps(config).encode()
            return self.send_json(200, answer, "application/json")
        return self.forward(body)

    def forward(self, body):
        target = self.headers.get("x-amz-target", "")
        operation = target.split(".")[-1] if target else "?"
        with state_lock:
            stats["requests"] += 1
        kind = choose_fault(operation)
        if kind == "throttle":
            return self.send_json(400, error_body("ThrottlingException", "Rate of requests exceeds the allowed throughput."))
        if kind == "capacity":
            return self.send_json(400, error_body(
                "ProvisionedThroughputExceededException",
                "The level of configured provisioned throughput for the table was exceeded."))
        if kind == "internal":
            return self.send_json(500, error_body("InternalServerError", "Internal server error"))
        if kind == "conflict":
            try:
                items = len(json.loads(body).get("TransactItems", [])) or 1
            except ValueError:
                items = 1
            reasons = [{"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}] * items
            return self.send_json(400, error_body(
                "TransactionCanceledException",
                "Transaction cancelled, please refer cancellation reasons for specific reasons "
                + "[" + ", ".join("TransactionConflict" for _ in range(items)) + "]",
                {"CancellationReasons": reasons}))
        if kind == "drop_before":
            self.close_connection = True
            return None
        if kind == "delay":
            with state_lock:
                delay = float(config["delay"])
            time.sleep(max(0.0, min(delay, 30.0)))
        status, headers, answer = self.call_upstream(body)
        with state_lock:
            stats["forwarded"] += 1
        if kind == "drop_after":
            self.close_connection = True
            return None
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in ("content-length", "transfer-encoding", "connection", "server", "date"):
                self.send_header(name, value)
        self.send_header("content-length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)
        return None

    def call_upstream(self, body):
        up = self.upstream
        conn = http.client.HTTPConnection(up.hostname, up.port or 80, timeout=120)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
            headers["host"] = up.netloc
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            return resp.status, resp.getheaders(), resp.read()
        finally:
            conn.close()


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # Clients that timed out (on purpose: the "delay" fault) hang up mid-answer.
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError, TimeoutError)):
            super().handle_error(request, client_address)


def main():
    port = int(sys.argv[1])
    Proxy.upstream = urllib.parse.urlsplit(sys.argv[2])
    if len(sys.argv) > 3:
        config["rate"] = float(sys.argv[3])
    server = QuietServer(("127.0.0.1", port), Proxy)
    server.serve_forever()


if __name__ == "__main__":
    main()
