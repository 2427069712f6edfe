"""`GET /docs`: the OpenAPI document as one self-contained HTML page (no script, no CDN).

Every operation with its parameters, request bodies and answers, then every schema as a
table of fields; `$ref`s are links within the page. All text is escaped here.
"""

import re
from html import escape

import bottle

METHOD_ORDER = ("get", "post", "put", "delete")
TAG_ORDER = ("jobs", "nodes", "modaclouds", "pages", "about")

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 64rem; padding: 0 1rem 3rem; color: #222; }
h2 { border-bottom: 1px solid #ccc; margin-top: 2.2rem; }
h3 { margin: 1.6rem 0 .3rem; font-family: ui-monospace, monospace; font-size: 1rem; }
.method { display: inline-block; min-width: 4.2rem; padding: 0 .3rem; border-radius: 3px; color: #fff;
          background: #555; text-align: center; }
.get { background: #2f6fb0; } .post { background: #2e8540; } .put { background: #a66b00; }
.delete { background: #b03a2e; }
table { border-collapse: collapse; width: 100%; margin: .3rem 0 .8rem; }
th, td { text-align: left; padding: .2rem .5rem; border-bottom: 1px solid #e6e6e6; vertical-align: top; }
th { background: #f4f4f4; font-weight: 600; }
code { font-family: ui-monospace, monospace; background: #f4f4f4; padding: 0 .2rem; }
.muted { color: #666; }
ul.toc { columns: 2; }
"""


def prose(text: str) -> str:
    """Escaped text, with `backquoted` words as code."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escape(text))


def ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def kind(schema: dict) -> str:
    """A schema in a few words of HTML: `string, pattern ...`, `array of <a>Node</a>`."""
    if "$ref" in schema:
        name = escape(ref_name(schema["$ref"]))
        return f'<a href="#schema-{name}">{name}</a>'
    if "oneOf" in schema:
        text = " <em>or</em> ".join(kind(s) for s in schema["oneOf"])
    elif schema.get("type") == "array":
        text = f"array of {kind(schema.get('items', {}))}"
    elif schema.get("type") == "object" and "properties" in schema:
        text = "object: " + fields(schema)
    elif schema.get("type") == "object" and isinstance(schema.get("additionalProperties"), dict):
        text = f"object of {kind(schema['additionalProperties'])}"
    else:
        text = escape(schema.get("type", "any"))
    notes = []
    if "enum" in schema:
        notes.append("one of " + ", ".join(f"<code>{escape(str(v))}</code>" for v in schema["enum"]))
    for key, word in (("minimum", "≥"), ("maximum", "≤"), ("minItems", "items ≥"), ("maxLength", "length ≤")):
        if key in schema:
            notes.append(f"{word} {escape(str(schema[key]))}")
    if "pattern" in schema:
        notes.append(f"matches <code>{escape(schema['pattern'])}</code>")
    if "propertyNames" in schema:
        notes.append(f"names match <code>{escape(schema['propertyNames']['pattern'])}</code>")
    if "format" in schema:
        notes.append(escape(schema["format"]))
    if schema.get("nullable"):
        notes.append("or null")
    if schema.get("additionalProperties") is False:
        notes.append("no other fields")
    return text + (f' <span class="muted">({"; ".join(notes)})</span>' if notes else "")


def fields(schema: dict) -> str:
    required = set(schema.get("required", []))
    rows = []
    for name, sub in schema.get("properties", {}).items():
        need = "required" if name in required else ""
        rows.append(f"<tr><td><code>{escape(name)}</code></td><td>{need}</td><td>{kind(sub)}</td>"
                    f"<td>{prose(sub.get('description', ''))}</td></tr>")
    if not rows:
        return ""
    return ("<table><tr><th>field</th><th></th><th>type</th><th>meaning</th></tr>"
            + "".join(rows) + "</table>")


def operation(method: str, path: str, op: dict) -> str:
    anchor = escape(f"op-{method}-{path}".replace("/", "_").replace("{", "").replace("}", ""))
    out = [f'<h3 id="{anchor}"><span class="method {method}">{method.upper()}</span> {escape(path)}</h3>',
           f"<p>{escape(op.get('summary', ''))}</p>"]
    if op.get("description"):
        out.append(f"<p>{prose(op['description'])}</p>")
    params = op.get("parameters", [])
    if params:
        out.append("<table><tr><th>parameter</th><th>in</th><th>type</th><th>meaning</th></tr>")
        for p in params:
            out.append(f"<tr><td><code>{escape(p['name'])}</code></td><td>{escape(p['in'])}</td>"
                       f"<td>{kind(p['schema'])}</td><td>{prose(p.get('description', ''))}</td></tr>")
        out.append("</table>")
    body = op.get("requestBody")
    if body:
        out.append("<p><strong>Body</strong>" + (" (required)" if body.get("required") else "") + ":</p><ul>")
        for ctype, media in body["content"].items():
            out.append(f"<li><code>{escape(ctype)}</code>: {kind(media['schema'])}</li>")
        out.append("</ul>")
    out.append("<table><tr><th>answer</th><th>meaning</th><th>body</th></tr>")
    for code, answer in op["responses"].items():
        bodies = "; ".join(f"<code>{escape(c)}</code> {kind(m['schema'])}"
                           for c, m in answer.get("content", {}).items())
        headers = ", ".join(f"header <code>{escape(h)}</code>" for h in answer.get("headers", {}))
        out.append(f"<tr><td>{escape(code)}</td><td>{prose(answer['description'])}</td>"
                   f"<td>{bodies}{'; ' if bodies and headers else ''}{headers}</td></tr>")
    out.append("</table>")
    return "\n".join(out)


def page(doc: dict) -> str:
    """The whole page; bottle answers it as text/html."""
    bottle.response.content_type = "text/html; charset=utf-8"
    ops = [(method, path, op) for path, item in doc["paths"].items()
           for method, op in sorted(item.items(), key=lambda kv: METHOD_ORDER.index(kv[0]))]
    ops.sort(key=lambda o: TAG_ORDER.index(o[2]["tags"][0]))
    tags: dict[str, list] = {}
    for method, path, op in ops:
        tags.setdefault(op["tags"][0], []).append((method, path, op))
    info = doc["info"]
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{escape(info['title'])}</title><style>{STYLE}</style></head><body>",
           f"<h1>{escape(info['title'])}</h1><p>{prose(info['description'])}</p>",
           '<p>The same document as JSON: <a href="openapi.json">openapi.json</a>. '
           "Authentication: <code>Authorization: Bearer TOKEN</code>, or HTTP Basic with the token as "
           "user name, once any token exists.</p>", "<h2>Operations</h2><ul class=\"toc\">"]
    for method, path, _op in ops:
        anchor = escape(f"op-{method}-{path}".replace("/", "_").replace("{", "").replace("}", ""))
        out.append(f'<li><a href="#{anchor}">{method.upper()} {escape(path)}</a></li>')
    out.append("</ul>")
    for tag, items in tags.items():
        out.append(f"<h2>{escape(tag)}</h2>")
        out.extend(operation(*item) for item in items)
    out.append("<h2>Schemas</h2>")
    for name, schema in doc["components"]["schemas"].items():
        out.append(f'<h3 id="schema-{escape(name)}">{escape(name)}</h3>')
        if schema.get("description"):
            out.append(f"<p>{prose(schema['description'])}</p>")
        out.append(fields(schema) or f"<p>{kind(schema)}</p>")
    out.append("</body></html>")
    return "\n".join(out)
