"""The sandbox's Salesforce org as the compat suites see it: GET /upstream/{Object} → {Id: {Field: value}}.

Reads through the sandbox's public REST API, as any Salesforce client would: a token from the sandbox's admin API
(POST /_sandbox/orgs/{orgId}/tokens), the field list from sobjects/{Object}/describe, then
`SELECT <every field> FROM {Object}` with nextRecordsUrl paging. Nothing is cached between requests except the
token and the field lists, so each answer is the org's state at that moment.

Usage: python3 upstream.py SANDBOX_URL ADMIN_KEY ORG_NAME PORT_FILE
Writes the port it listens on (127.0.0.1) to PORT_FILE once it listens.
"""
import json
import os
import sys
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SANDBOX, ADMIN_KEY, ORG_NAME, PORT_FILE = sys.argv[1:5]
API = "/services/data/v62.0"
_token = None
_fields = {}


def _call(method, path, token=None, admin=False):
    request = urllib.request.Request(SANDBOX + path, method=method)
    if admin:
        request.add_header("X-Sandbox-Admin-Key", ADMIN_KEY)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def token():
    global _token
    if _token is None:
        orgs = _call("GET", "/_sandbox/orgs", admin=True)
        org_id = next(o["orgId"] for o in orgs if o["name"] == ORG_NAME)
        _token = _call("POST", f"/_sandbox/orgs/{org_id}/tokens", admin=True)["access_token"]
    return _token


def fields(sobject):
    if sobject not in _fields:
        describe = _call("GET", f"{API}/sobjects/{urllib.parse.quote(sobject)}/describe", token())
        # Compound fields (address, location) repeat their components; the components are what rows store.
        _fields[sobject] = [f["name"] for f in describe["fields"] if f["type"] not in ("address", "location")]
    return _fields[sobject]


def records(sobject):
    soql = f"SELECT {', '.join(fields(sobject))} FROM {sobject}"
    page = _call("GET", f"{API}/query?q={urllib.parse.quote(soql)}", token())
    out = {}
    while True:
        for record in page["records"]:
            record.pop("attributes", None)
            out[record["Id"]] = record
        if page.get("done", True):
            return out
        page = _call("GET", page["nextRecordsUrl"], token())


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 — http.server's naming
        parts = self.path.strip("/").split("/")
        if len(parts) != 2 or parts[0] != "upstream":
            self.send_error(404, "GET /upstream/{Object}")
            return
        try:
            body = json.dumps(records(parts[1]), separators=(",", ":")).encode()
        except urllib.error.HTTPError as e:
            global _token
            _token = None  # an expired token is fetched again on the next call
            self.send_error(502, f"sandbox answered {e.code}: {e.read()[:300]!r}")
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(PORT_FILE + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.replace(PORT_FILE + ".tmp", PORT_FILE)
server.serve_forever()
