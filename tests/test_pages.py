"""The web pages in a real headless Chromium against a real `banyan up`: what each shows,
that it escapes what users wrote, and a screenshot of each under the test's temp dir."""

import json
import os
import struct
import subprocess

import pytest
from conftest import ROOT, banyan_cmd, curl, free_port, need, split_code, wait_until

XSS = "<script>alert(1)</script>"


def chromium(tmp_path, url: str, *args: str) -> str:
    """Run headless Chromium on `url` with `args`; its stdout (the DOM with --dump-dom)."""
    exe = need("chromium")
    out = subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                          "--no-proxy-server", "--no-first-run", f"--user-data-dir={tmp_path / 'chromium'}",
                          *args, url], capture_output=True, text=True, timeout=90)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def screenshot(tmp_path, url: str, name: str) -> str:
    path = str(tmp_path / f"{name}.png")
    chromium(tmp_path, url, f"--screenshot={path}", "--window-size=1200,900", "--hide-scrollbars")
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (1200, 900)
    assert len(data) > 20000, f"{path} is only {len(data)} bytes: a blank page?"
    return path


def submit(url: str, request: dict, *headers: str) -> str:
    args = [a for h in headers for a in ("-H", h)]
    body, code = split_code(curl("-X", "POST", "-H", "Content-Type: application/json", *args,
                                 "-d", json.dumps(request), f"{url}/scheduler/jobs/new"))
    assert code == 201, body
    return json.loads(body)["request_id"]


def state(url: str, job_id: str) -> str | None:
    body, code = split_code(curl(f"{url}/scheduler/jobs/{job_id}/status"))
    return json.loads(body)["state"] if code == 200 else None


def stopped(url: str, job_id: str) -> bool:
    return state(url, job_id) == "stopped"


def test_pages_in_chromium(up, tmp_path):
    first = submit(up.url, {"name": XSS, "commands": [{"shell": "echo hello-from-job; echo second line; sleep 1"}]})
    wait_until(lambda: state(up.url, first) == "running", timeout=20, what="the first job to run")
    # submitted while the first runs, so they wait for it and it records them as dependents
    after = submit(up.url, {"name": "after-it", "depends_on": [first], "commands": [{"exec": ["true"]}]})
    child = submit(up.url, {"name": "its-child", "parent": first, "depends_on": [first]})
    for job_id in (first, after, child):
        wait_until(lambda: stopped(up.url, job_id), timeout=30, what=f"job {job_id} to stop")

    raw, code = split_code(curl(f"{up.url}/"))
    assert code == 200 and XSS not in raw and "&lt;script&gt;alert(1)&lt;/script&gt;" in raw
    dom = chromium(tmp_path, f"{up.url}/", "--dump-dom")
    assert '<meta http-equiv="refresh" content="5">' in dom
    for job_id in (first, after, child):
        assert f'href="/ui/jobs/{job_id}"' in dom
    assert "<script" not in dom and "&lt;script&gt;alert(1)&lt;/script&gt;" in dom
    assert "after-it" in dom and "its-child" in dom
    screenshot(tmp_path, f"{up.url}/", "jobs")

    dom = chromium(tmp_path, f"{up.url}/?state=stopped", "--dump-dom")
    assert f'href="/ui/jobs/{first}"' in dom and '<option value="stopped" selected="">' in dom
    dom = chromium(tmp_path, f"{up.url}/?state=queued", "--dump-dom")
    assert f"/ui/jobs/{first}" not in dom and "No jobs in state queued." in dom

    dom = chromium(tmp_path, f"{up.url}/ui/jobs/{first}", "--dump-dom")
    assert "<script" not in dom and "&lt;script&gt;alert(1)&lt;/script&gt;" in dom
    assert "http-equiv" not in dom, "a stopped job's page has nothing left to refresh"
    log = dom[dom.index('<pre id="log">'):]
    assert log.startswith('<pre id="log">hello-from-job\nsecond line\n</pre>')
    events = dom[dom.index('<pre id="events">'):]
    assert " submitted " in events and " running " in events and " success" in events
    assert "<th>usage</th><td>peak " in dom and " resident, CPU " in dom
    svg = dom[dom.index("<svg"):dom.index("</svg>")]
    for job_id in (first, after, child):
        assert f'data-id="{job_id}"' in svg
    assert svg.count('class="dependency"') == 2 and svg.count('class="child"') == 1
    assert "&lt;script&gt;" in svg
    screenshot(tmp_path, f"{up.url}/ui/jobs/{first}", "job")

    dom = chromium(tmp_path, f"{up.url}/ui/jobs/{after}", "--dump-dom")
    assert f'<a href="/ui/jobs/{first}">{first}</a>' in dom  # depends on, as a link

    dom = chromium(tmp_path, f"{up.url}/ui/nodes", "--dump-dom")
    assert "<td>local</td>" in dom and "<td>up</td>" in dom
    screenshot(tmp_path, f"{up.url}/ui/nodes", "nodes")
    screenshot(tmp_path, f"{up.url}/docs", "docs")


def test_a_running_jobs_page_refreshes_and_shows_its_log_so_far(up, tmp_path):
    job_id = submit(up.url, {"commands": [{"shell": "echo started; sleep 30"}], "kill_grace": 1})
    wait_until(lambda: b"started" in (curl(f"{up.url}/scheduler/jobs/{job_id}/log").stdout or "").encode(),
               timeout=20, what="the job to start")
    wait_until(lambda: "<th>usage</th><td>peak " in curl(f"{up.url}/ui/jobs/{job_id}").stdout,
               timeout=20, what="its node to have measured it")
    dom = chromium(tmp_path, f"{up.url}/ui/jobs/{job_id}", "--dump-dom")
    assert '<meta http-equiv="refresh" content="5">' in dom
    assert '<pre id="log">started\n</pre>' in dom
    assert "<th>state</th><td>running</td>" in dom
    assert "No parent, children, dependencies or dependents." in dom
    curl("-X", "POST", f"{up.url}/scheduler/jobs/{job_id}/kill")


def test_log_tail_gives_the_last_bytes(up):
    job_id = submit(up.url, {"commands": [{"shell": "seq 1 2000"}]})
    wait_until(lambda: stopped(up.url, job_id), timeout=30, what="the job to stop")
    body, code = split_code(curl("-D", "-", f"{up.url}/scheduler/jobs/{job_id}/log?tail=10"))
    headers, _, data = body.partition("\n\n")
    whole = curl(f"{up.url}/scheduler/jobs/{job_id}/log").stdout.rpartition("\n")[0]
    assert code == 200 and data == "1999\n2000\n" and whole.endswith("\n1999\n2000\n")
    assert f"x-banyan-offset: {len(whole)}" in headers.lower()
    body, code = split_code(curl(f"{up.url}/scheduler/jobs/{job_id}/log?tail=-1"))
    assert code == 400 and "tail must be a whole number" in json.loads(body)["error"]


@pytest.fixture
def guarded(tmp_path):
    """`banyan serve` over a state folder with tokens: alice and bob (users), n1 (node)."""
    need("curl")
    state, port = str(tmp_path / "state"), free_port()
    env = dict(os.environ, PYTHONPATH=ROOT)
    tokens = {}
    for name, role in (("alice", "user"), ("bob", "user"), ("n1", "node")):
        out = subprocess.run(banyan_cmd("--state", state, "token", "create", name, "--role", role),
                             env=env, capture_output=True, text=True, timeout=30, check=True)
        tokens[name] = out.stdout.strip()
    with open(tmp_path / "serve.log", "ab") as log:
        proc = subprocess.Popen(banyan_cmd("--state", state, "serve", "--listen", f"127.0.0.1:{port}"),
                                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: split_code(curl(f"{url}/docs"))[1] == 401, timeout=30, what="banyan serve")
    yield url, tokens
    proc.terminate()
    proc.wait(timeout=20)


def test_pages_follow_the_access_policy(guarded):
    url, tokens = guarded
    bearer = {name: f"Authorization: Bearer {token}" for name, token in tokens.items()}
    mine = submit(url, {"name": "alices"}, bearer["alice"])
    theirs = submit(url, {"name": "bobs"}, bearer["bob"])

    for path in ("/", "/docs", "/openapi.json", f"/ui/jobs/{mine}", "/ui/nodes"):
        body, code = split_code(curl("-D", "-", "-H", "Accept: text/html", f"{url}{path}"))
        assert code == 401 and 'www-authenticate: basic realm="banyan"' in body.lower(), (path, body)
    body, code = split_code(curl("-D", "-", f"{url}/"))
    assert code == 401 and 'www-authenticate: bearer realm="banyan"' in body.lower()

    page, code = split_code(curl("-u", f"{tokens['alice']}:", f"{url}/"))  # as a browser would send it
    assert code == 200 and f"/ui/jobs/{mine}" in page and f"/ui/jobs/{theirs}" not in page
    for path, want in ((f"/ui/jobs/{mine}", 200), (f"/ui/jobs/{theirs}", 403), ("/ui/nodes", 200),
                       ("/docs", 200), ("/openapi.json", 200)):
        assert split_code(curl("-H", bearer["alice"], f"{url}{path}"))[1] == want, path
    for path, want in (("/", 403), (f"/ui/jobs/{mine}", 403), ("/ui/nodes", 200), ("/docs", 200)):
        assert split_code(curl("-H", bearer["n1"], f"{url}{path}"))[1] == want, path


def test_pages_and_docs_under_cgi_link_below_the_script(tmp_path):
    """Under busybox CGI the app lives at /cgi-bin/banyan.cgi: links and `servers` say so."""
    need("busybox")
    from frontends import Busybox

    from banyan.spool import Spool
    state = str(tmp_path / "state")
    Spool(state)
    server = Busybox(str(tmp_path), state)
    try:
        job_id = submit(server.base, {"name": "under-cgi"})
        page, code = split_code(curl(f"{server.base}?state=incoming"))
        assert code == 200 and f'href="/cgi-bin/banyan.cgi/ui/jobs/{job_id}"' in page
        assert '<a href="/cgi-bin/banyan.cgi?state=queued">' in page
        page, code = split_code(curl(f"{server.base}/ui/jobs/{job_id}"))
        assert code == 200 and "<th>state</th><td>incoming</td>" in page
        doc, code = split_code(curl(f"{server.base}/openapi.json"))
        assert code == 200 and json.loads(doc)["servers"] == [{"url": "/cgi-bin/banyan.cgi"}]
        assert split_code(curl(f"{server.base}/docs"))[1] == 200
    finally:
        server.stop()
