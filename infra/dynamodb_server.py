"""The local DynamoDB-API server: moto's server with every request served one at a time.

moto's backend is not thread-safe: under concurrent requests two conditional transactions can
both pass their conditions (seen here: 2 of 20 concurrent creates of one userName won). Real
DynamoDB applies each request atomically, so the local server serializes requests to have the
same semantics. Usage: python dynamodb_server.py HOST PORT
"""
import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

moto_app = DomainDispatcherApplication(create_backend_app)
one_at_a_time = threading.Lock()


def serialized(environ, start_response):
    with one_at_a_time:
        # Drain the whole response under the lock: the request's effects happen there.
        body = b"".join(moto_app(environ, start_response))
    return [body]


if __name__ == "__main__":
    run_simple(sys.argv[1], int(sys.argv[2]), serialized, threaded=True)
