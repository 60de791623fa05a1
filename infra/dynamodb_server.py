"""The local DynamoDB-API server: moto's server with every request served one at a time, and
TransactWriteItems idempotent by ClientRequestToken, as DynamoDB is.

moto's backend is not thread-safe: under concurrent requests two conditional transactions can
both pass their conditions (seen here: 2 of 20 concurrent creates of one userName won). Real
DynamoDB applies each request atomically, so the local server serializes requests to have the
same semantics.

moto also ignores ClientRequestToken. DynamoDB keeps a successful TransactWriteItems' token for
10 minutes: a repeat with the same token and the same request succeeds again without writing,
and a repeat with other parameters fails with IdempotentParameterMismatchException (API
reference, TransactWriteItems, "ClientRequestToken"). The service relies on that when an answer
is lost after a commit (the SDK re-sends with the same token), so the local server does it too.

Usage: python dynamodb_server.py HOST PORT
"""
import hashlib
import io
import json
import sys
import threading
import time

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

moto_app = DomainDispatcherApplication(create_backend_app)
one_at_a_time = threading.Lock()

TOKEN_WINDOW_SECONDS = 600
MAX_TOKENS = 100_000
# token -> (expires_at, sha256 of the request body, status line, headers, body)
committed = {}


def transact_token(environ, body):
    if not environ.get("HTTP_X_AMZ_TARGET", "").endswith(".TransactWriteItems"):
        return None
    try:
        return json.loads(body).get("ClientRequestToken")
    except ValueError:
        return None


def without_token(body):
    try:
        request = json.loads(body)
    except ValueError:
        return body
    request.pop("ClientRequestToken", None)
    return json.dumps(request, sort_keys=True).encode()


def serialized(environ, start_response):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    token = transact_token(environ, body)
    with one_at_a_time:
        now = time.time()
        if token is not None:
            for t in [t for t, entry in committed.items() if entry[0] < now]:
                del committed[t]
            seen = committed.get(token)
            if seen is not None:
                digest = hashlib.sha256(without_token(body)).hexdigest()
                if seen[1] == digest:
                    start_response(seen[2], seen[3])
                    return [seen[4]]
                mismatch = json.dumps({
                    "__type": "com.amazonaws.dynamodb.v20120810#IdempotentParameterMismatchException",
                    "message": "ClientRequestToken reused with different parameters",
                }).encode()
                start_response("400 Bad Request", [("Content-Type", "application/x-amz-json-1.0"),
                                                   ("Content-Length", str(len(mismatch)))])
                return [mismatch]
        captured = {}

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return start_response(status, headers, exc_info)

        # Drain the whole response under the lock: the request's effects happen there.
        answer = b"".join(moto_app(environ, capture))
        if token is not None and captured.get("status", "").startswith("200") and len(committed) < MAX_TOKENS:
            committed[token] = (now + TOKEN_WINDOW_SECONDS, hashlib.sha256(without_token(body)).hexdigest(),
                                captured["status"], captured["headers"], answer)
    return [answer]


if __name__ == "__main__":
    run_simple(sys.argv[1], int(sys.argv[2]), serialized, threaded=True)
