"""Real web servers in front of bin/banyan.cgi, on loopback, in a temp folder (tests and bench).

busybox httpd runs scripts under `HOME/cgi-bin/`; nginx hands them to fcgiwrap over a
unix socket, with the snippet the README shows. No pytest here: bench/cgi.py uses it too.
"""

import os
import shutil
import socket
import subprocess
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CGI = os.path.join(ROOT, "bin", "banyan.cgi")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port: int, proc: subprocess.Popen, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


class Busybox:
    """`busybox httpd -f -p 127.0.0.1:PORT -h DIR`, with DIR/cgi-bin/banyan.cgi and banyan.conf."""

    def __init__(self, workdir: str, state: str, scripts: dict[str, str] | None = None):
        home = os.path.join(workdir, "www")
        cgi_bin = os.path.join(home, "cgi-bin")
        os.makedirs(cgi_bin, exist_ok=True)
        os.symlink(CGI, os.path.join(cgi_bin, "banyan.cgi"))
        with open(os.path.join(cgi_bin, "banyan.conf"), "w") as f:
            f.write(f"# read by banyan.cgi\nBANYAN_STATE={state}\n")
        for name, text in (scripts or {}).items():
            path = os.path.join(cgi_bin, name)
            with open(path, "w") as f:
                f.write(text)
            os.chmod(path, 0o755)
        conf = os.path.join(workdir, "httpd.conf")
        open(conf, "w").close()
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}/cgi-bin/banyan.cgi"
        self.root = f"http://127.0.0.1:{self.port}"
        self.log = open(os.path.join(workdir, "busybox.log"), "ab")
        env = {k: v for k, v in os.environ.items() if not k.startswith("BANYAN_")}
        self.proc = subprocess.Popen(
            [shutil.which("busybox"), "httpd", "-f", "-p", f"127.0.0.1:{self.port}", "-h", home,
             "-c", conf], env=env, stdout=self.log, stderr=subprocess.STDOUT)
        wait_listening(self.port, self.proc)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.log.close()


NGINX_SNIPPET = r"""
location /cgi-bin/banyan.cgi {
    fastcgi_split_path_info ^(/cgi-bin/banyan\.cgi)(/.*)$;
    include {fastcgi_params};
    fastcgi_param SCRIPT_FILENAME {cgi};
    fastcgi_param PATH_INFO $fastcgi_path_info;
    fastcgi_param HTTP_PROXY "";
    fastcgi_param BANYAN_STATE {state};
    fastcgi_param PATH {path};
    client_max_body_size 256m;
    fastcgi_pass unix:{socket};
}
"""


class Nginx:
    """nginx (not a daemon, its own prefix) → fcgiwrap on a unix socket → bin/banyan.cgi."""

    def __init__(self, workdir: str, state: str):
        prefix = os.path.join(workdir, "nginx")
        for sub in ("logs", "tmp"):
            os.makedirs(os.path.join(prefix, sub), exist_ok=True)
        sock = os.path.join(prefix, "fcgiwrap.sock")
        self.log = open(os.path.join(workdir, "nginx.log"), "ab")
        self.fcgi = subprocess.Popen([shutil.which("fcgiwrap"), "-f", "-s", f"unix:{sock}"],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while not os.path.exists(sock) and time.monotonic() < deadline:
            time.sleep(0.02)
        self.port = free_port()
        location = (NGINX_SNIPPET.replace("{fastcgi_params}", "/etc/nginx/fastcgi_params")
                    .replace("{cgi}", CGI).replace("{state}", state).replace("{socket}", sock)
                    .replace("{path}", os.environ.get("PATH", "/usr/bin:/bin")))
        user = "user root;" if os.getuid() == 0 else ""
        conf = os.path.join(prefix, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""{user}
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log;
events {{ worker_connections 64; }}
http {{
    access_log {prefix}/logs/access.log;
    client_body_temp_path {prefix}/tmp/body;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    proxy_temp_path {prefix}/tmp/proxy;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    server {{
        listen 127.0.0.1:{self.port};
        {location}
    }}
}}
""")
        self.proc = subprocess.Popen([shutil.which("nginx"), "-p", prefix, "-c", conf,
                                      "-g", "daemon off;"], stdout=self.log, stderr=subprocess.STDOUT)
        wait_listening(self.port, self.proc)
        self.base = f"http://127.0.0.1:{self.port}/cgi-bin/banyan.cgi"

    def stop(self) -> None:
        for proc in (self.proc, self.fcgi):
            proc.terminate()
            proc.wait(timeout=10)
        self.log.close()


def get(url: str, headers: dict | None = None) -> tuple[int, bytes]:
    """One GET with no proxy from the environment (urllib honours http_proxy otherwise)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with opener.open(req, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()
