#!/usr/bin/python3
"""live_check.py - a running gateway's answers checked against the component
schemas of schemas/api/openapi.yaml with python3-jsonschema (Debian), an
implementation that is not ours.

    live_check.py OPENAPI_YAML STACK_JSON GATEWAYD_C

The client is Python's own http.client over ssl (mutual TLS with the stack's
certificates); nothing of the gateway's code runs on this side.  Each check
prints one line; the run ends with "N passed, N failed, N skipped" and exits
1 if any check failed.  Every route
gatewayd.c registers must be in the document.  The admin checks change the
stack (a new version of qual.certificates): run them on a stack of their
own.
"""
import base64
import hashlib
import http.client
import json
import os
import re
import ssl
import sys
import time
import urllib.parse
import urllib.request
import warnings

import jsonschema
import yaml

warnings.simplefilter("ignore", DeprecationWarning)   # RefResolver in newer jsonschema

PASSED = FAILED = SKIPPED = 0


def ok(what):
    global PASSED
    PASSED += 1
    print(f"ok   - {what}")


def bad(what, why=""):
    global FAILED
    FAILED += 1
    print(f"FAIL - {what}")
    if why:
        print(f"       {why}"[:2000])


def skip(what, why):
    global SKIPPED
    SKIPPED += 1
    print(f"skip - {what}: {why}")


def check(what, cond, why=""):
    (ok if cond else lambda w: bad(w, why))(what)
    return cond


# ---- the document and its schemas --------------------------------------------

class Schemas:
    def __init__(self, path):
        self.path = os.path.abspath(path)
        with open(self.path, encoding="utf-8") as f:
            self.doc = yaml.safe_load(f)
        base = "file://" + urllib.request.pathname2url(self.path)
        store = {base: self.doc}
        facts_dir = os.path.join(os.path.dirname(self.path), "..", "facts")
        for name in sorted(os.listdir(facts_dir)):
            if not name.endswith(".schema.json"):
                continue
            p = os.path.abspath(os.path.join(facts_dir, name))
            with open(p, encoding="utf-8") as f:
                s = json.load(f)
            store["file://" + urllib.request.pathname2url(p)] = s
            if "$id" in s:
                store[s["$id"]] = s
        self.base = base
        self.store = store
        self.fact_files = {n[: -len(".schema.json")]: store["file://" + urllib.request.pathname2url(
            os.path.abspath(os.path.join(facts_dir, n)))]
            for n in os.listdir(facts_dir) if n.endswith(".schema.json")}

    def errors(self, component, instance):
        """Messages of every violation of components.schemas.COMPONENT."""
        schema = {"$ref": f"#/components/schemas/{component}"}
        resolver = jsonschema.RefResolver(self.base, self.doc, store=self.store)
        v = jsonschema.Draft202012Validator(schema, resolver=resolver,
                                           format_checker=jsonschema.FormatChecker())
        return [f"{'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}"
                for e in v.iter_errors(instance)]

    def check(self, what, component, instance):
        errs = self.errors(component, instance)
        return check(f"{what} matches {component}", not errs, "; ".join(errs[:5]))


# ---- HTTP ------------------------------------------------------------------------

class Resp:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def json(self):
        return json.loads(self.body.decode("utf-8"))


class Client:
    def __init__(self, stack):
        self.stack = stack
        u = urllib.parse.urlsplit(stack["gateway"]["url"])
        self.api = (u.hostname, u.port)
        o = urllib.parse.urlsplit(stack["gateway"]["ops_url"])
        self.ops = (o.hostname, o.port)

    def _ctx(self, who):
        ctx = ssl.create_default_context(cafile=self.stack["pki"]["gateway_ca"])
        if who:
            c = self.stack["pki"]["clients"][who]
            ctx.load_cert_chain(c["cert"], c["key"])
        return ctx

    def api_req(self, who, method, path, body=None, ctype="application/json"):
        conn = http.client.HTTPSConnection(*self.api, context=self._ctx(who), timeout=30)
        return self._do(conn, method, path, body, ctype)

    def ops_req(self, method, path):
        conn = http.client.HTTPConnection(*self.ops, timeout=30)
        return self._do(conn, method, path, None, None)

    @staticmethod
    def _do(conn, method, path, body, ctype):
        headers = {}
        if body is not None:
            if not isinstance(body, (bytes, str)):
                body = json.dumps(body, ensure_ascii=False)
            if isinstance(body, str):
                body = body.encode("utf-8")
            if ctype:
                headers["Content-Type"] = ctype
        try:
            conn.request(method, path, body=body, headers=headers)
            r = conn.getresponse()
            return Resp(r.status, r.getheaders(), r.read())
        finally:
            conn.close()


def b64url_json(part):
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def request_id_ok(what, r):
    rid = r.header("X-Request-Id")
    return check(f"{what}: X-Request-Id is 32 lowercase hex", bool(rid and re.fullmatch(r"[0-9a-f]{32}", rid)),
                 f"got {rid!r}")


def problem_ok(S, what, r, status, ptype):
    request_id_ok(what, r)
    if not check(f"{what}: HTTP {status}", r.status == status, f"got {r.status}: {r.body[:300]!r}"):
        return None
    check(f"{what}: application/problem+json", r.header("Content-Type") == "application/problem+json",
          f"got {r.header('Content-Type')!r}")
    p = r.json()
    S.check(what, "Problem", p)
    check(f"{what}: type {ptype}", p.get("type") == ptype, f"got {p.get('type')!r}")
    check(f"{what}: request_id is the X-Request-Id header", p.get("request_id") == r.header("X-Request-Id"))
    return p


def not_routed(r):
    """The front's answer for a path no route matches."""
    if r.status != 404:
        return False
    try:
        return r.json().get("detail") == "no such resource"
    except ValueError:
        return False


# ---- the checks ---------------------------------------------------------------------

def routes_documented(S, c, gatewayd_c):
    """Every route gatewayd.c registers is a documented operation; a prefix
    route ("/v1/adapters/*") is one for each documented path under it, and a
    method none of them has must answer 405 there."""
    with open(gatewayd_c, encoding="utf-8") as f:
        src = f.read()
    routes = re.findall(r'struct gw_route\)\s*\{\s*"([A-Z]+)",\s*"([^"]+)"', src)
    check("gatewayd.c registers routes (parsed)", len(routes) >= 6, f"found {routes}")
    for method, path in routes:
        if not path.endswith("/*"):
            check(f"route {method} {path} of gatewayd.c is documented",
                  method.lower() in S.doc["paths"].get(path, {}))
            continue
        prefix = path[:-1]
        under = [p for p in S.doc["paths"] if p.startswith(prefix)]
        if any(method.lower() in S.doc["paths"][p] for p in under):
            ok(f"route {method} {path} of gatewayd.c is documented ({', '.join(under)})")
            continue
        r = c.api_req("admin", method, prefix + "x")
        check(f"route {method} {path}: undocumented method answers 405 with Allow",
              r.status == 405 and r.header("Allow"), f"got {r.status}")


def keys(S, c):
    r = c.api_req("stranger", "GET", "/v1/keys")
    request_id_ok("GET /v1/keys", r)
    check("GET /v1/keys: public (stranger: 200)", r.status == 200, f"got {r.status}")
    check("GET /v1/keys: application/jwk-set+json", r.header("Content-Type") == "application/jwk-set+json")
    check("GET /v1/keys: Cache-Control max-age=300", r.header("Cache-Control") == "max-age=300")
    jwks = r.json()
    S.check("GET /v1/keys", "JWKS", jwks)
    return {k["kid"]: k for k in jwks.get("keys", [])}


def query(S, c, subject, facts, purpose, what, **extra):
    body = {"subject": {"id_type": "cn-resident-id", "id": subject["id"], "name": subject["name"]},
            "facts": facts, "purpose": purpose}
    body.update(extra)
    errs = S.errors("FactQuery", body)
    check(f"{what}: the request matches FactQuery", not errs, "; ".join(errs))
    r = c.api_req("engine", "POST", "/v1/facts/query", body)
    request_id_ok(what, r)
    if not check(f"{what}: HTTP 200", r.status == 200, f"got {r.status}: {r.body[:300]!r}"):
        return None, r
    check(f"{what}: application/json", r.header("Content-Type") == "application/json")
    a = r.json()
    S.check(what, "QueryAnswer", a)
    check(f"{what}: one fact answer per fact asked, in order", list(a.get("facts", {})) == facts,
          f"got {list(a.get('facts', {}))}")
    return a, r


def attestations(S, what, a, kids):
    for fact, f in a.get("facts", {}).items():
        if f.get("status") != "ok":
            continue
        parts = f["attestation"].split(".")
        hdr, payload = b64url_json(parts[0]), b64url_json(parts[1])
        check(f"{what}: {fact} attestation header ES256, typ gw-fact+jws, kid in /v1/keys",
              hdr.get("alg") == "ES256" and hdr.get("typ") == "gw-fact+jws" and hdr.get("kid") in kids,
              f"header {hdr}")
        S.check(f"{what}: {fact} attestation payload", "AttestationPayload", payload)
        check(f"{what}: {fact} attestation binds subject_ref, fact and value",
              payload.get("sub") == a["subject_ref"] and payload.get("fact") == fact
              and payload.get("value") == f["value"])
        errs = S.errors(fact, f["value"])
        check(f"{what}: {fact} value matches schemas/facts/{fact}.schema.json", not errs, "; ".join(errs))


def verify_detached(what, r, kids):
    sig = r.header("Gateway-Signature")
    if not check(f"{what}: Gateway-Signature is header..signature",
                 bool(sig and re.fullmatch(r"[A-Za-z0-9_-]+\.\.[A-Za-z0-9_-]+", sig)), f"got {sig!r}"):
        return
    h64, s64 = sig.split("..")
    hdr = b64url_json(h64)
    check(f"{what}: Gateway-Signature kid is in /v1/keys", hdr.get("kid") in kids, f"header {hdr}")
    try:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
    except ImportError:
        skip(f"{what}: Gateway-Signature verifies", "python3-cryptography is not installed")
        return
    jwk = kids[hdr["kid"]]
    x = int.from_bytes(base64.urlsafe_b64decode(jwk["x"] + "="), "big")
    y = int.from_bytes(base64.urlsafe_b64decode(jwk["y"] + "="), "big")
    pub = ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
    raw = base64.urlsafe_b64decode(s64 + "=" * (-len(s64) % 4))
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    signing_input = h64.encode() + b"." + base64.urlsafe_b64encode(r.body).rstrip(b"=")
    try:
        pub.verify(der, signing_input, ec.ECDSA(hashes.SHA256()))
        ok(f"{what}: Gateway-Signature verifies over the exact body (RFC 7515 appendix F)")
    except Exception as e:  # noqa: BLE001 - any failure is the finding
        bad(f"{what}: Gateway-Signature verifies over the exact body", repr(e))


def control(stack, method, path, body=None):
    u = urllib.parse.urlsplit(stack["mocks"]["control_url"])
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    try:
        conn.request(method, path, body=json.dumps(body) if body is not None else None,
                     headers={"Content-Type": "application/json"} if body is not None else {})
        return conn.getresponse().status
    finally:
        conn.close()


def queries(S, c, stack, kids):
    people = {p["scenario"]: p for p in stack["subjects"]}
    every = ["identity.match", "identity.birth_date", "hukou.region", "credit.status",
             "education.degrees", "social_insurance.shenzhen_months", "social_insurance.employer"]
    plans = [
        ("graduate-master", "talent.graduate", every),
        ("inservice-senior-title", "talent.inservice", every + ["qualification.certificates",
            "housing_fund.shenzhen_months", "housing_fund.employer", "tax.shenzhen_months",
            "tax.employer", "social_insurance.name_agrees", "housing_fund.name_agrees",
            "tax.name_agrees"]),
        ("overseas-master", "talent.overseas", every + ["overseas.certifications"]),
        ("postdoc-in-station", "talent.postdoc", every + ["postdoc.status"]),
        ("highlevel-b", "talent.highlevel", every + ["talent.level", "qualification.certificates"]),
        ("no-record", "talent.graduate", every),
    ]
    seen = set()
    answers = []
    for scenario, purpose, facts in plans:
        what = f"POST /v1/facts/query ({scenario})"
        a, r = query(S, c, people[scenario], facts, purpose, what, case_ref="SZ-RC-2026-000123",
                     deadline_ms=5000, max_age_s=0, sign=True)
        if a is None:
            continue
        answers.append(a)
        verify_detached(what, r, kids)
        attestations(S, what, a, kids)
        check(f"{what}: case_ref echoed", a.get("case_ref") == "SZ-RC-2026-000123")
        for f in a["facts"].values():
            seen.add(f["status"])
    ok_facts = {n for a in answers for n, f in a["facts"].items() if f["status"] == "ok"}
    check("every fact of the catalogue was answered ok at least once",
          ok_facts >= set(S.fact_files),
          f"never ok: {sorted(set(S.fact_files) - ok_facts)}")
    check("statuses ok and not_found were seen", {"ok", "not_found"} <= seen, f"seen {seen}")

    # stale-if-error: a cached answer served while the agency fails, and why
    what = "POST /v1/facts/query (qual failing, stale-if-error)"
    if control(stack, "PUT", "/agencies/qual/fault", {"mode": "http_500", "rate": 1.0}) != 200:
        bad(f"{what}: mock control accepts the fault")
    try:
        a, _ = query(S, c, people["inservice-senior-title"], ["qualification.certificates"],
                     "talent.inservice", what, max_age_s=0)
    finally:
        control(stack, "DELETE", "/agencies/qual/fault")
    if a:
        q = a["facts"]["qualification.certificates"]
        check(f"{what}: ok, stale, cached, refresh_error agency_fault",
              q.get("status") == "ok" and q.get("stale") is True and q.get("cached") is True
              and q.get("refresh_error", {}).get("code") == "agency_fault", f"{q}")

    # unavailable and denied, with the agency made to fail
    what = "POST /v1/facts/query (credit failing, a denied fact)"
    if control(stack, "PUT", "/agencies/credit/fault", {"mode": "http_500", "rate": 1.0}) != 200:
        bad(f"{what}: mock control accepts the fault")
    try:
        a, _ = query(S, c, people["graduate-bachelor"], ["credit.status", "talent.level"],
                     "talent.graduate", what, max_age_s=0)
    finally:
        control(stack, "DELETE", "/agencies/credit/fault")
    if a:
        cs, tl = a["facts"]["credit.status"], a["facts"]["talent.level"]
        check(f"{what}: credit.status unavailable/agency_fault",
              cs.get("status") == "unavailable" and cs.get("error", {}).get("code") == "agency_fault", f"{cs}")
        check(f"{what}: talent.level denied", tl.get("status") == "denied", f"{tl}")
        check(f"{what}: complete is false", a.get("complete") is False)
    return answers


def problems(S, c, stack):
    people = {p["scenario"]: p for p in stack["subjects"]}
    good = {"subject": {"id_type": "cn-resident-id", "id": people["graduate-master"]["id"],
                        "name": people["graduate-master"]["name"]},
            "facts": ["identity.match"], "purpose": "talent.graduate"}
    bad_id = json.loads(json.dumps(good))
    bad_id["subject"]["id"] = bad_id["subject"]["id"][:17] + ("0" if bad_id["subject"]["id"][17] != "0" else "1")
    check("a request with a wrong check character matches FactQuery (the check character is the "
          "gateway's job, not the schema's)", not S.errors("FactQuery", bad_id))
    p = problem_ok(S, "POST /v1/facts/query (wrong check character)",
                   c.api_req("engine", "POST", "/v1/facts/query", bad_id), 400, "/problems/invalid-request")
    if p:
        check("400 detail names subject.id", p["detail"].startswith("subject.id: "), p["detail"])
    unknown = dict(good, colour="blue")
    check("a request with an unknown member does not match FactQuery", bool(S.errors("FactQuery", unknown)))
    problem_ok(S, "POST /v1/facts/query (unknown member)",
               c.api_req("engine", "POST", "/v1/facts/query", unknown), 400, "/problems/invalid-request")
    problem_ok(S, "POST /v1/facts/query (not JSON)",
               c.api_req("engine", "POST", "/v1/facts/query", "{"), 400, "/problems/invalid-request")
    problem_ok(S, "POST /v1/facts/query (text/plain)",
               c.api_req("engine", "POST", "/v1/facts/query", good, "text/plain"), 415,
               "/problems/unsupported-media-type")
    problem_ok(S, "POST /v1/facts/query (stranger)",
               c.api_req("stranger", "POST", "/v1/facts/query", good), 403, "/problems/forbidden")
    problem_ok(S, "GET /v1/facts/catalogue (auditor)",
               c.api_req("auditor", "GET", "/v1/facts/catalogue"), 403, "/problems/forbidden")
    problem_ok(S, "GET /v1/agencies (stranger)",
               c.api_req("stranger", "GET", "/v1/agencies"), 403, "/problems/forbidden")
    problem_ok(S, "GET /v1/no-such-thing", c.api_req("engine", "GET", "/v1/no-such-thing"), 404,
               "/problems/not-found")
    r = c.api_req("engine", "DELETE", "/v1/keys")
    problem_ok(S, "DELETE /v1/keys", r, 405, "/problems/method-not-allowed")
    check("405 carries Allow: GET", r.header("Allow") == "GET", f"got {r.header('Allow')!r}")


def catalogue_agencies(S, c):
    r = c.api_req("engine", "GET", "/v1/facts/catalogue")
    request_id_ok("GET /v1/facts/catalogue", r)
    if check("GET /v1/facts/catalogue: HTTP 200", r.status == 200, f"got {r.status}"):
        cat = r.json()
        S.check("GET /v1/facts/catalogue", "Catalogue", cat)
        for f in cat.get("facts", []):
            check(f"catalogue schema of {f['name']} is schemas/facts/{f['name']}.schema.json",
                  f.get("schema") == S.fact_files.get(f["name"]))
        check("catalogue lists every schemas/facts file, in name order",
              [f["name"] for f in cat.get("facts", [])] == sorted(S.fact_files))
    for who in ("engine", "admin"):
        r = c.api_req(who, "GET", "/v1/agencies")
        request_id_ok(f"GET /v1/agencies ({who})", r)
        if check(f"GET /v1/agencies ({who}): HTTP 200", r.status == 200, f"got {r.status}"):
            S.check(f"GET /v1/agencies ({who})", "Agencies", r.json())


def ops(S, c):
    for where, req in (("ops", lambda p: c.ops_req("GET", p)),
                       ("api", lambda p: c.api_req("engine", "GET", p))):
        r = req("/healthz")
        request_id_ok(f"GET /healthz ({where})", r)
        if check(f"GET /healthz ({where}): HTTP 200", r.status == 200, f"got {r.status}"):
            S.check(f"GET /healthz ({where})", "Health", r.json())
        r = req("/readyz")
        if check(f"GET /readyz ({where}): HTTP 200", r.status == 200, f"got {r.status}"):
            S.check(f"GET /readyz ({where})", "Ready", r.json())
    r = c.ops_req("GET", "/metrics")
    request_id_ok("GET /metrics", r)
    check("GET /metrics: 200 text/plain version 0.0.4",
          r.status == 200 and (r.header("Content-Type") or "").startswith("text/plain; version=0.0.4"))
    check("GET /metrics: gw_breaker_state per adapter",
          re.search(rb'^gw_breaker_state\{adapter="[a-z0-9._-]+"\} [012]$', r.body, re.M) is not None)
    problem_ok(S, "GET /metrics on the API listener", c.api_req("engine", "GET", "/metrics"), 404,
               "/problems/not-found")


def audit(S, c, answers):
    r = c.api_req("stranger", "GET", "/v1/audit/checkpoint")
    first = min((a["audit"]["index"] for a in answers), default=0)
    for _ in range(50):           # a checkpoint covering the first query, within 10 s
        if r.status != 200 or int(r.body.decode("utf-8").split("\n")[1]) > first:
            break
        time.sleep(0.2)
        r = c.api_req("stranger", "GET", "/v1/audit/checkpoint")
    if not_routed(r):
        skip("GET /v1/audit/*", "not routed by this gatewayd (404 no such resource); documented from audit_http.c")
        return
    request_id_ok("GET /v1/audit/checkpoint", r)
    check("GET /v1/audit/checkpoint: public, 200 text/plain",
          r.status == 200 and (r.header("Content-Type") or "").startswith("text/plain"), f"got {r.status}")
    note = r.body.decode("utf-8")
    check("checkpoint is origin / size / base64 root, blank line, signature line",
          re.fullmatch(r"[^\n ]+/audit/[0-9a-f]{32}\n[0-9]+\n[A-Za-z0-9+/]{43}=\n\n(\u2014 [^\n]+\n)+", note)
          is not None, repr(note[:300]))
    r = c.api_req("stranger", "GET", "/v1/audit/checkpoint-key")
    key_schema = S.doc["paths"]["/v1/audit/checkpoint-key"]["get"]["responses"]["200"]["content"]["text/plain"]["schema"]
    check("GET /v1/audit/checkpoint-key: 200, one verifier-key line",
          r.status == 200 and re.fullmatch(key_schema["pattern"], r.body.decode()) is not None,
          f"got {r.status} {r.body[:200]!r}")
    size = int(note.split("\n")[1])
    if not answers or size == 0:
        skip("GET /v1/audit/proof, /entries", "no checkpoint covers a query yet")
        return
    idx = min(a["audit"]["index"] for a in answers)
    if idx >= size:
        skip("GET /v1/audit/proof, /entries", f"the first query (index {idx}) is past checkpoint size {size}")
        return
    leaf = next(a["audit"]["leaf_hash"] for a in answers if a["audit"]["index"] == idx)
    r = c.api_req("engine", "GET", f"/v1/audit/proof?index={idx}&tree_size={size}")
    request_id_ok("GET /v1/audit/proof", r)
    if check("GET /v1/audit/proof (client): 200", r.status == 200, f"got {r.status} {r.body[:200]!r}"):
        p = r.json()
        S.check("GET /v1/audit/proof", "InclusionProof", p)
        check("proof's leaf_hash is the query answer's", p.get("leaf_hash") == leaf)
    problem_ok(S, "GET /v1/audit/proof (no index)", c.api_req("engine", "GET", "/v1/audit/proof"), 400,
               "/problems/invalid-parameter")
    problem_ok(S, "GET /v1/audit/proof (past the log)",
               c.api_req("engine", "GET", f"/v1/audit/proof?index={10**12}"), 404, "/problems/not-found")
    r = c.api_req("stranger", "GET", f"/v1/audit/consistency?from=1&to={size}")
    if check("GET /v1/audit/consistency: public, 200", r.status == 200, f"got {r.status} {r.body[:200]!r}"):
        S.check("GET /v1/audit/consistency", "ConsistencyProof", r.json())
    problem_ok(S, "GET /v1/audit/entries (client)",
               c.api_req("engine", "GET", f"/v1/audit/entries?start={idx}&count=1"), 403, "/problems/forbidden")
    r = c.api_req("auditor", "GET", f"/v1/audit/entries?start={idx}&count=1")
    if check("GET /v1/audit/entries (auditor): 200", r.status == 200, f"got {r.status} {r.body[:200]!r}"):
        e = r.json()
        S.check("GET /v1/audit/entries", "Entries", e)
        data = base64.b64decode(e["entries"][0]["data"])
        check("entry bytes hash to the answer's leaf_hash (SHA-256(0x00 || bytes))",
              base64.b64encode(hashlib.sha256(b"\0" + data).digest()).decode() == leaf)
        check("the entry is a query record", json.loads(data).get("kind") == "query")


def admin(S, c, stack):
    r = c.api_req("admin", "GET", "/v1/adapters")
    request_id_ok("GET /v1/adapters", r)
    if check("GET /v1/adapters (admin): 200", r.status == 200, f"got {r.status} {r.body[:200]!r}"):
        S.check("GET /v1/adapters", "AdapterList", r.json())
    problem_ok(S, "GET /v1/adapters (engine)", c.api_req("engine", "GET", "/v1/adapters"), 403,
               "/problems/forbidden")
    people = {p["scenario"]: p for p in stack["subjects"]}
    body = {"subject": {"id": people["inservice-senior-title"]["id"],
                        "name": people["inservice-senior-title"]["name"]}}
    errs = S.errors("AdapterTestRequest", body)
    check("the dry-run request matches AdapterTestRequest", not errs, "; ".join(errs))
    r = c.api_req("admin", "POST", "/v1/adapters/qual.certificates/test", body)
    request_id_ok("POST /v1/adapters/{id}/test", r)
    if check("POST /v1/adapters/qual.certificates/test: 200", r.status == 200, f"got {r.status} {r.body[:200]!r}"):
        t = r.json()
        S.check("POST /v1/adapters/{id}/test", "AdapterTestResult", t)
        check("dry run: qualification.certificates ok",
              t.get("facts", {}).get("qualification.certificates", {}).get("status") == "ok", f"{t}")
    problem_ok(S, "POST /v1/adapters/nope/test", c.api_req("admin", "POST", "/v1/adapters/nope/test", body),
               404, "/problems/not-found")
    # a broken definition is refused with the loader's message; nothing changes
    with open(os.path.join(stack["dir"], "adapters", "qual.json"), encoding="utf-8") as f:
        qual = json.load(f)
    broken = json.loads(json.dumps(qual))
    broken["version"] = qual["version"] + 1
    broken["tls"]["ca_flie"] = broken["tls"].pop("ca_file")
    p = problem_ok(S, "PUT /v1/adapters/qual.certificates (misspelt field)",
                   c.api_req("admin", "PUT", "/v1/adapters/qual.certificates", broken), 400,
                   "/problems/invalid-adapter")
    if p:
        check("400 detail is the loader's FILE: FIELD: PROBLEM", "tls.ca_flie: unknown field" in p["detail"],
              p["detail"])
    p = problem_ok(S, "PUT /v1/adapters/qual.certificates (same version)",
                   c.api_req("admin", "PUT", "/v1/adapters/qual.certificates", qual), 409,
                   "/problems/version-conflict")
    newer = dict(qual, version=qual["version"] + 1)
    r = c.api_req("admin", "PUT", "/v1/adapters/qual.certificates", newer)
    request_id_ok("PUT /v1/adapters/{id}", r)
    if check("PUT /v1/adapters/qual.certificates (newer): 200", r.status == 200, f"got {r.status} {r.body[:300]!r}"):
        S.check("PUT /v1/adapters/{id}", "AdapterActivated", r.json())
    r = c.api_req("admin", "GET", "/v1/adapters/qual.certificates")
    problem_ok(S, "GET /v1/adapters/qual.certificates", r, 405, "/problems/method-not-allowed")
    check("405 Allow: PUT, DELETE", r.header("Allow") == "PUT, DELETE", f"got {r.header('Allow')!r}")
    # facts and predicates: the file in force, a newer version, not newer
    for path in ("/v1/facts/housing_fund.employer", "/v1/predicates/age.under"):
        r = c.api_req("admin", "GET", path)
        request_id_ok(f"GET {path}", r)
        if check(f"GET {path}: 200", r.status == 200, f"got {r.status} {r.body[:200]!r}"):
            S.check("GET " + ("/v1/facts/{name}" if "facts" in path else "/v1/predicates/{id}"),
                    "DefinitionInForce", r.json())
        problem_ok(S, f"GET {path} (engine)", c.api_req("engine", "GET", path), 403, "/problems/forbidden")
    with open(os.path.join(stack["dir"], "schemas", "facts", "housing_fund.employer.schema.json"),
              encoding="utf-8") as f:
        fact = json.load(f)
    newer = json.loads(json.dumps(fact))
    newer["x-gw"]["version"] = fact["x-gw"]["version"] + 1
    r = c.api_req("admin", "PUT", "/v1/facts/housing_fund.employer", newer)
    request_id_ok("PUT /v1/facts/{name}", r)
    if check("PUT /v1/facts/housing_fund.employer (newer): 200", r.status == 200,
             f"got {r.status} {r.body[:300]!r}"):
        S.check("PUT /v1/facts/{name}", "DefinitionActivated", r.json())
    problem_ok(S, "PUT /v1/facts/housing_fund.employer (same version)",
               c.api_req("admin", "PUT", "/v1/facts/housing_fund.employer", newer), 409,
               "/problems/version-conflict")
    broken = dict(newer, **{"x-gw": dict(newer["x-gw"], version=newer["x-gw"]["version"] + 1,
                                         sensitivity="secret")})
    p = problem_ok(S, "PUT /v1/facts/housing_fund.employer (bad x-gw)",
                   c.api_req("admin", "PUT", "/v1/facts/housing_fund.employer", broken), 400,
                   "/problems/invalid-fact")
    if p:
        check("400 detail names file and field", "#/x-gw/sensitivity:" in p["detail"], p["detail"])
    problem_ok(S, "DELETE /v1/facts/housing_fund.employer (in use)",
               c.api_req("admin", "DELETE", "/v1/facts/housing_fund.employer"), 409, "/problems/in-use")
    # purposes.json: the file in force, a newer version, not newer, an unknown fact
    r = c.api_req("admin", "GET", "/v1/purposes")
    request_id_ok("GET /v1/purposes", r)
    if check("GET /v1/purposes: 200", r.status == 200, f"got {r.status} {r.body[:200]!r}"):
        S.check("GET /v1/purposes", "PurposesInForce", r.json())
        purposes = r.json()["document"]
        newer = dict(purposes, version=purposes["version"] + 1)
        r = c.api_req("admin", "PUT", "/v1/purposes", newer)
        request_id_ok("PUT /v1/purposes", r)
        if check("PUT /v1/purposes (newer): 200", r.status == 200, f"got {r.status} {r.body[:300]!r}"):
            S.check("PUT /v1/purposes", "DefinitionActivated", r.json())
        problem_ok(S, "PUT /v1/purposes (same version)", c.api_req("admin", "PUT", "/v1/purposes", newer),
                   409, "/problems/version-conflict")
        unknown = json.loads(json.dumps(newer))
        unknown["version"] += 1
        first = next(iter(unknown["purposes"]))
        unknown["purposes"][first]["facts"].append("no_such.fact")
        p = problem_ok(S, "PUT /v1/purposes (unknown fact)", c.api_req("admin", "PUT", "/v1/purposes", unknown),
                       400, "/problems/invalid-purposes")
        if p:
            check("400 detail names file and field", f"purposes.{first}.facts[" in p["detail"], p["detail"])
    problem_ok(S, "GET /v1/purposes (engine)", c.api_req("engine", "GET", "/v1/purposes"), 403,
               "/problems/forbidden")


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    S = Schemas(sys.argv[1])
    with open(sys.argv[2], encoding="utf-8") as f:
        stack = json.load(f)
    c = Client(stack)
    routes_documented(S, c, sys.argv[3])
    kids = keys(S, c)
    answers = queries(S, c, stack, kids)
    problems(S, c, stack)
    catalogue_agencies(S, c)
    ops(S, c)
    audit(S, c, answers)
    admin(S, c, stack)
    print(f"{PASSED} passed, {FAILED} failed, {SKIPPED} skipped")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
