"""The WSGI server of `banyan serve`, `up` and `processor` (banyan/wsgi.py, keepalive.py),
as a real process on loopback: the worker that answered a keep-alive client answers its
next request too when it comes at once, and a connection that goes quiet, or is closed,
goes on as with cheroot alone."""

import http.client
import os
import subprocess
import sys
import time

from conftest import ROOT, free_port, wait_until

APP = """
import sys, threading, bottle
from banyan.wsgi import serve
app = bottle.Bottle()
@app.get("/who")
def who():
    return str(threading.get_ident())
serve(app, "127.0.0.1", int(sys.argv[1]), threads=8)
"""


def test_a_worker_answers_a_keep_alive_clients_next_request_itself(tmp_path):
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", APP, str(port)],
                              env=dict(os.environ, PYTHONPATH=ROOT), stderr=subprocess.PIPE)
    try:
        def who(conn: http.client.HTTPConnection) -> str:
            conn.request("GET", "/who")
            resp = conn.getresponse()
            assert resp.status == 200
            return resp.read().decode()

        def answers() -> bool:
            assert server.poll() is None, server.stderr.read()
            try:
                probe = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                who(probe)
                probe.close()
                return True
            except OSError:
                return False

        wait_until(answers, timeout=20, what="the server to answer")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        workers = [who(conn) for _ in range(30)]  # back to back on one connection
        assert len(set(workers)) <= 2, f"{len(set(workers))} workers for one busy connection"
        time.sleep(0.2)  # quiet longer than a worker waits: back to the connection manager
        assert who(conn) and who(conn)
        closing = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        who(closing)
        closing.close()  # while its worker waits for a next request
        time.sleep(0.05)
        assert who(conn)
        others = [http.client.HTTPConnection("127.0.0.1", port, timeout=10) for _ in range(10)]
        assert all(who(c) for c in others * 3)  # more connections than workers, interleaved
        conn.close()
    finally:
        server.kill()
        server.wait()
