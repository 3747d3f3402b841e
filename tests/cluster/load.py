#!/usr/bin/env python3
"""load.py - steady query load for the cluster suites, independent of the
gateway's code (Python's ssl and http.client).

Each of --threads clients sends POST /v1/facts/query over a new mutual-TLS
connection, one after another, cycling through the bodies in --bodies (a
JSON array of request bodies), until --stop-file exists or --max-seconds
pass (bounded).  A request whose connection fails (refused, reset, closed
before an answer) is retried once on a new connection, as a careful client
behind a load balancer does.  One JSON line per request goes to --out:
{"status": HTTP status or 0, "query_id", "facts_ok": no fact "unavailable",
 "retried": bool, "error": text}.
"""
import argparse
import http.client
import json
import os
import ssl
import threading
import time
from urllib.parse import urlparse


def one(host, port, ctx, body, timeout):
    conn = http.client.HTTPSConnection(host, port, context=ctx, timeout=timeout)
    try:
        conn.request("POST", "/v1/facts/query", body=body,
                     headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        data = r.read()
        return r.status, data
    finally:
        conn.close()


def client(n, args, ctx, bodies, out, lock, deadline):
    u = urlparse(args.url)
    i = n
    while time.monotonic() < deadline and not os.path.exists(args.stop_file):
        body = bodies[i % len(bodies)]
        i += args.threads
        rec = {"status": 0, "query_id": None, "facts_ok": False, "retried": False, "error": None}
        for attempt in range(2):
            try:
                status, data = one(u.hostname, u.port, ctx, body, args.timeout)
                rec["status"] = status
                if status == 200:
                    ans = json.loads(data)
                    rec["query_id"] = ans.get("query_id")
                    rec["facts_ok"] = all(f.get("status") in ("ok", "not_found")
                                          for f in ans.get("facts", {}).values())
                    rec["error"] = None
                else:
                    rec["error"] = data[:200].decode("utf-8", "replace")
                break
            except (ConnectionError, http.client.RemoteDisconnected,
                    http.client.BadStatusLine, ssl.SSLError, OSError) as e:
                rec["error"] = "%s: %s" % (type(e).__name__, e)
                if attempt == 0:
                    rec["retried"] = True
                    continue
        with lock:
            out.write(json.dumps(rec) + "\n")
            out.flush()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--bodies", required=True)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--stop-file", required=True)
    ap.add_argument("--max-seconds", type=float, default=60)
    ap.add_argument("--timeout", type=float, default=15)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    ctx = ssl.create_default_context(cafile=args.ca)
    ctx.load_cert_chain(args.cert, args.key)
    with open(args.bodies) as f:
        bodies = [json.dumps(b).encode() for b in json.load(f)]
    deadline = time.monotonic() + args.max_seconds
    lock = threading.Lock()
    with open(args.out, "w") as out:
        ts = [threading.Thread(target=client, args=(n, args, ctx, bodies, out, lock, deadline))
              for n in range(args.threads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()


if __name__ == "__main__":
    main()
