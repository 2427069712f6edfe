"""cheroot's WSGI server, whose worker waits a moment for a keep-alive client's next request.

cheroot hands a connection back to its connection manager after every request: the
manager's thread registers it with its selector, wakes when the next request comes,
and queues it for a worker, which wakes in turn. A client that sends one request after
another (the CLI's `submit` loop, a script on one connection, the scheduler's placements
under load) paid those two hand-overs every time: a third of the processor's CPU under
load went to the manager. Here the worker that answered waits up to LINGER for the next
request on the same connection and answers it itself; only a connection quiet that long
goes back to the manager. Waiting takes no CPU, and `threads` workers are plenty for the
few clients of a scheduler.

Its responses also leave in one piece: cheroot sends a response's headers with one
`send` and its body with another, so each answer crossed loopback as two segments and
woke its client twice; here the headers wait in the connection's buffer for the first
piece of the body (or the end of the response).
"""

import logging
import select

from cheroot import server, wsgi

LINGER = 0.002
"""Seconds a worker waits for the next request on the connection it just answered."""


class _Request(server.HTTPRequest):
    def send_headers(self) -> None:
        """As cheroot's, but the headers stay buffered: the next write sends them too."""
        wfile = self.conn.wfile
        wfile.write = wfile._write_buf.extend  # for this call only: an attribute over the method
        try:
            super().send_headers()
        finally:
            del wfile.write

    def respond(self) -> None:
        try:
            super().respond()
        finally:
            wfile = self.conn.wfile
            if wfile._write_buf and not wfile.closed:  # headers of a response with no body
                wfile.flush()


class _Connection(server.HTTPConnection):
    RequestHandlerClass = _Request


class Server(wsgi.Server):
    ConnectionClass = _Connection

    def put_conn(self, conn) -> None:
        """Called by a worker with a connection kept alive after its request."""
        try:
            while self.ready and (conn.rfile.has_data() or _readable(conn.socket, LINGER)):
                if not conn.communicate():
                    conn.close()
                    return
        except ConnectionError:
            conn.close()
            return
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as err:  # noqa: BLE001 - as cheroot's worker does: log, drop the connection
            self.error_log(f"error on a kept connection: {err!r}", level=logging.ERROR, traceback=True)
            conn.close()
            return
        super().put_conn(conn)


def _readable(sock, timeout: float) -> bool:
    pending = getattr(sock, "pending", None)  # TLS: bytes already decrypted
    if pending is not None and pending():
        return True
    try:
        return bool(select.select([sock], [], [], timeout)[0])
    except (OSError, ValueError):  # closed meanwhile
        return False
