"""The OpenAPI document against the app it describes, and schemathesis against a real
`banyan serve` (with a scheduler daemon, and no processor: nothing the fuzzer sends runs)."""

import json
import os
import re
import subprocess

import pytest
from conftest import ROOT, banyan_cmd, curl, free_port, need, split_code, wait_until

from banyan.api import openapi, site
from banyan.api.app import make_app
from banyan.spool import Spool

SCHEMATHESIS_EXAMPLES = 15
"""Cases per operation: 50 to 80 s for the 30 operations on a shared 2-core machine."""


def test_document_lists_every_route_bottle_has(tmp_path):
    app = make_app(Spool(str(tmp_path / "state")))
    routes = {(r.method, openapi.openapi_path(r.rule)) for r in app.routes}
    missing = routes - set(openapi.OPERATIONS)
    assert not missing, f"routes without an entry in banyan/api/openapi.py OPERATIONS: {sorted(missing)}"
    assert set(openapi.OPERATIONS) == routes
    doc = openapi.document(site.routes(app))
    listed = {(method.upper(), path) for path, item in doc["paths"].items() for method in item}
    assert listed == routes
    for path, item in doc["paths"].items():
        for method, op in item.items():
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert declared == set(re.findall(r"{(\w+)}", path)), (method, path)
            for code in ("400", "401", "403", "405"):
                assert op["responses"][code]["content"]["application/json"]["schema"] == openapi.ref("Error")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """`banyan serve` and `banyan scheduler` on one temp state folder, on loopback."""
    need("curl")
    top = tmp_path_factory.mktemp("served")
    state, port = str(top / "state"), free_port()
    env = dict(os.environ, PYTHONPATH=ROOT)
    log = open(top / "servers.log", "ab")
    procs = [subprocess.Popen(banyan_cmd("--state", state, *args), env=env, stdout=log,
                              stderr=subprocess.STDOUT, start_new_session=True)
             for args in (("serve", "--listen", f"127.0.0.1:{port}"), ("scheduler",))]
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: split_code(curl(f"{url}/scheduler/stats"))[1] == 200, timeout=30, what="banyan serve")
    yield url, top
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.wait(timeout=20)
    log.close()


def test_openapi_json_and_docs_page(served):
    url, _ = served
    out = curl("-D", "-", f"{url}/openapi.json")
    body, code = split_code(out)
    headers, _, payload = body.partition("\n\n")
    assert code == 200 and "content-type: application/json" in headers.lower()
    doc = json.loads(payload)
    assert doc["openapi"].startswith("3.0")
    assert "post" in doc["paths"]["/scheduler/jobs/new"]
    assert set(doc["paths"]["/scheduler/jobs/new"]["post"]["requestBody"]["content"]) == {
        "application/json", "application/x-www-form-urlencoded", "multipart/form-data"}
    assert doc["components"]["schemas"]["JobRequest"]["properties"]["priority"]["maximum"] == 1000

    page, code = split_code(curl(f"{url}/docs"))
    assert code == 200
    assert "POST</span> /scheduler/jobs/new" in page and 'id="schema-JobRequest"' in page
    assert "<script" not in page and "<link" not in page and " src=" not in page
    outside = re.findall(r'href="(?!#|openapi\.json")([^"]*)"', page)
    assert outside == [], f"/docs must be self-contained: {outside}"


def test_schemathesis_finds_no_server_error_and_no_answer_off_the_document(served):
    url, top = served
    st = need("schemathesis")
    out = subprocess.run(
        [st, "--config-file", os.path.join(ROOT, "tests", "schemathesis.toml"), "--no-color", "run",
         f"{url}/openapi.json", "--max-examples", str(SCHEMATHESIS_EXAMPLES), "--workers", "2",
         "--seed", "1", "--request-timeout", "20", "--report-dir", str(top / "report")],
        cwd=top, capture_output=True, text=True, timeout=150)
    summary = out.stdout[out.stdout.rfind("SUMMARY"):]
    print(summary)
    assert out.returncode == 0, out.stdout[-20000:] + out.stderr[-2000:]
    selected = re.search(r"Selected: +(\d+)/(\d+)", summary)
    tested = re.search(r"Tested: +(\d+)", summary)
    assert selected and tested and selected[1] == selected[2] == tested[1], summary
    assert re.search(r"\d+ generated, \d+ passed", summary), summary


@pytest.mark.parametrize("method,path,body", [
    ("POST", "/scheduler/nodes", {"name": "n9", "uri": "http://[x"}),
    ("POST", "/scheduler/nodes", {"name": "n9", "uri": "http://h:65536"}),
    ("POST", "/scheduler/jobs/new", {"notify": "http://[x"}),
    ("POST", "/scheduler/jobs/new", {"resources": {"memory": "9" * 400 + "K"}}),
    ("POST", "/scheduler/jobs/new", {"environment": {"A\n": "x"}}),
    ("GET", "/scheduler/jobs?limit=%205", None),
    ("GET", "/scheduler/jobs?limit=1_0", None),
    ("GET", "/scheduler/nodes/available?cores=%D9%A3", None),
])
def test_what_schemathesis_found_is_a_400(served, method, path, body):
    url, _ = served
    args = ["-X", method] + (["-H", "Content-Type: application/json", "-d", json.dumps(body)] if body else [])
    out, code = split_code(curl(*args, f"{url}{path}"))
    assert code == 400 and "error" in json.loads(out), out


def test_a_report_holds_objects(served):
    url, _ = served
    node = {"name": "rep1", "uri": "http://127.0.0.1:9"}
    assert split_code(curl("-X", "POST", "-d", json.dumps(node), f"{url}/scheduler/nodes"))[1] in (200, 201)
    out, code = split_code(curl("-X", "POST", "-d", '{"jobs": [[null]]}', f"{url}/scheduler/nodes/rep1/report"))
    assert code == 400, out
    out, code = split_code(curl("-X", "POST", "-d", '{"jobs": []}', f"{url}/scheduler/nodes/rep1/report"))
    assert code == 200 and json.loads(out) == {"accepted": 0}
