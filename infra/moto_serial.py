"""moto's server with requests applied one at a time.

moto's TransactWriteItems deep-copies the table, applies the items and restores the copy on a
failed condition; with its threaded server, concurrent transactions interleave, so a failing
transaction can restore a snapshot over another's committed write, and two conditional creates
can both pass. DynamoDB serializes conflicting transactions; serving one request at a time gives
tests the same isolation (clients still run concurrently).

Usage: python moto_serial.py HOST PORT
"""
import sys
import threading

from werkzeug.serving import run_simple
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

app = DomainDispatcherApplication(create_backend_app)
lock = threading.Lock()


def serial(environ, start_response):
    with lock:
        # Materialize the body under the lock: the request is fully applied before the next.
        return [b"".join(app(environ, start_response))]


if __name__ == "__main__":
    run_simple(sys.argv[1], int(sys.argv[2]), serial, threaded=True)
