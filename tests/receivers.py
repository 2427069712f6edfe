"""Small HTTP servers on loopback that tests start: notification receivers and decoys."""

import http.server
import json
import threading


class Receiver:
    """Answers each POST with the next code of `codes` (then 200), recording bodies; `location` for 3xx."""

    def __init__(self, host: str = "127.0.0.1", codes=(), location: str | None = None):
        self.codes = list(codes)
        self.bodies: list[dict] = []
        self.hits = 0
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                data = self.rfile.read(length)
                owner.hits += 1
                code = owner.codes.pop(0) if owner.codes else 200
                if code == 200:
                    owner.bodies.append(json.loads(data))
                self.send_response(code)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST

            def log_message(self, *_args):
                pass

        self.server = http.server.ThreadingHTTPServer((host, 0), Handler)
        self.url = f"http://{host}:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
