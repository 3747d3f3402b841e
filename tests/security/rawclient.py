#!/usr/bin/python3
"""rawclient.py - a deliberately misbehaving HTTPS client for tests/security.

curl and openssl s_client cannot trickle a request a byte at a time, hold
connections open, pipeline or time how long the server keeps a silent
connection.  This does, with the standard library only (Debian python3), and
prints one JSON object a test checks with jq.  Every wait is bounded by
--max-s; nothing here decides pass or fail.

  rawclient.py TLSARGS slowloris  --interval S        head one byte every S seconds
  rawclient.py TLSARGS slowbody   --interval S        full head, body a byte every S s
  rawclient.py TLSARGS silent     [--tcp-only]        connect (and handshake), send nothing
  rawclient.py TLSARGS idle                           one request, then wait for the close
  rawclient.py TLSARGS pipeline   --n N [--path P]    N requests in one write, then one
                                                      more on the same connection once
                                                      Retry-After allows
  rawclient.py TLSARGS sequential --n N               requests one by one until closed
  rawclient.py TLSARGS hold       --n N               N kept-alive connections, then one more,
                                                      then one after releasing a held one

TLSARGS: --port P --ca FILE --cert FILE --key FILE [--max-s S]
"""
import argparse
import json
import socket
import ssl
import sys
import time

HOST = "127.0.0.1"


def tls_context(a):
    ctx = ssl.create_default_context(cafile=a.ca)
    ctx.check_hostname = False          # 127.0.0.1 is in the SAN, but keep it simple
    ctx.load_cert_chain(a.cert, a.key)
    return ctx


def connect(a, handshake=True):
    raw = socket.create_connection((HOST, a.port), timeout=a.max_s)
    if not handshake:
        return raw
    return tls_context(a).wrap_socket(raw, server_hostname="localhost")


def request(path="/healthz", extra=""):
    return ("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n" % (path, extra)).encode()


class Reader:
    """Reads HTTP/1.1 responses (Content-Length framed) off one socket."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.eof = False

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no data before the deadline")
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except (ConnectionResetError, ssl.SSLError, BrokenPipeError):
            data = b""
        if not data:
            self.eof = True
        self.buf += data

    def response(self, deadline):
        """One response as a dict, or None at a clean EOF before any byte."""
        while b"\r\n\r\n" not in self.buf:
            if self.eof:
                return None
            self._fill(deadline)
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        hdrs = {}
        for line in lines[1:]:
            k, v = line.split(":", 1)
            hdrs[k.strip().lower()] = v.strip()
        n = int(hdrs.get("content-length", "0"))
        while len(self.buf) < n:
            if self.eof:
                break
            self._fill(deadline)
        body, self.buf = self.buf[:n], self.buf[n:]
        out = {"status": status, "content_type": hdrs.get("content-type"),
               "retry_after": hdrs.get("retry-after"),
               "connection": hdrs.get("connection")}
        try:
            out["body"] = json.loads(body.decode()) if body else None
        except ValueError:
            out["body"] = body.decode("latin-1")
        return out

    def wait_close(self, deadline):
        """Seconds until the peer closes (None if it does not by deadline)."""
        try:
            while not self.eof:
                self._fill(deadline)
        except (TimeoutError, socket.timeout):
            return False
        return True


def elapsed_ms(t0):
    return int((time.monotonic() - t0) * 1000)


def trickle(a, payload, first_at_once=b""):
    """Sends first_at_once, then payload a byte every a.interval seconds until
    the server answers or closes.  Reports what it got and when."""
    s = connect(a)
    r = Reader(s)
    t0 = time.monotonic()
    deadline = t0 + a.max_s
    sent = 0
    s.sendall(first_at_once)
    got = None
    for b in payload:
        try:
            s.send(bytes([b]))
            sent += 1
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            break
        # Anything back yet?  Poll for one interval.
        s.settimeout(a.interval)
        try:
            data = s.recv(65536)
            r.buf += data
            if not data:
                r.eof = True
            break
        except (socket.timeout, TimeoutError, ssl.SSLWantReadError):
            pass
        except (ConnectionResetError, ssl.SSLError, OSError):
            r.eof = True
            break
        if time.monotonic() > deadline:
            break
    s.settimeout(a.max_s)
    answered_ms = elapsed_ms(t0)
    try:
        got = r.response(deadline)
    except (TimeoutError, socket.timeout, ValueError, IndexError):
        got = None
    closed = r.wait_close(deadline)
    return {"response": got, "answered_ms": answered_ms, "closed": closed,
            "closed_ms": elapsed_ms(t0), "bytes_sent": sent}


def cmd_slowloris(a):
    head = request("/healthz", "X-Slow: " + "a" * 400 + "\r\n")
    return trickle(a, head)


def cmd_slowbody(a):
    body = b'{"x":"' + b"a" * 200 + b'"}'
    head = ("POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            "Content-Length: %d\r\n\r\n" % len(body)).encode()
    return trickle(a, body, first_at_once=head)


def cmd_silent(a):
    t0 = time.monotonic()
    try:
        s = connect(a, handshake=not a.tcp_only)
    except (ssl.SSLError, OSError) as e:
        return {"connected": False, "error": str(e), "closed_ms": elapsed_ms(t0)}
    r = Reader(s)
    closed = r.wait_close(t0 + a.max_s)
    return {"connected": True, "closed": closed, "closed_ms": elapsed_ms(t0),
            "bytes_received": len(r.buf)}


def cmd_idle(a):
    s = connect(a)
    r = Reader(s)
    t0 = time.monotonic()
    s.sendall(request())
    first = r.response(t0 + a.max_s)
    t1 = time.monotonic()
    closed = r.wait_close(t1 + a.max_s)
    return {"first": first, "closed": closed, "closed_ms": elapsed_ms(t1)}


def cmd_pipeline(a):
    s = connect(a)
    r = Reader(s)
    t0 = time.monotonic()
    s.sendall(request(a.path) * a.n)
    answers = []
    for _ in range(a.n):
        got = r.response(t0 + a.max_s)
        if got is None:
            break
        answers.append(got)
    # Still open?  Wait as the last Retry-After says, then ask again.
    wait = max([int(x["retry_after"]) for x in answers if x.get("retry_after")] or [0])
    time.sleep(wait)
    after = None
    try:
        s.sendall(request(a.path))
        after = r.response(time.monotonic() + a.max_s)
    except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
        after = None
    return {"answers": answers, "waited_s": wait, "after": after}


def cmd_sequential(a):
    s = connect(a)
    r = Reader(s)
    t0 = time.monotonic()
    answers = []
    for _ in range(a.n):
        try:
            s.sendall(request())
            got = r.response(t0 + a.max_s)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            got = None
        if got is None:
            break
        answers.append(got)
        if got.get("connection") == "close":
            break
    closed = r.wait_close(t0 + a.max_s)
    return {"answers": answers, "closed": closed}


def one_request(a):
    """A fresh connection and one request; the status, or the error."""
    try:
        s = connect(a)
        s.sendall(request())
        got = Reader(s).response(time.monotonic() + 5)
        s.close()
        return got["status"] if got else "closed"
    except (ssl.SSLError, OSError, TimeoutError) as e:
        return "refused: %s" % type(e).__name__


def cmd_hold(a):
    held = []
    for _ in range(a.n):
        s = connect(a)
        r = Reader(s)
        s.sendall(request())
        got = r.response(time.monotonic() + a.max_s)
        held.append((s, got["status"] if got else None))
    extra = one_request(a)
    held[0][0].close()
    # The server notices the close asynchronously: poll, bounded.
    deadline = time.monotonic() + a.max_s
    after = one_request(a)
    polls = 1
    while after != 200 and time.monotonic() < deadline:
        time.sleep(0.05)
        after = one_request(a)
        polls += 1
    for s, _ in held[1:]:
        s.close()
    return {"held": [st for _, st in held], "extra": extra, "after_release": after,
            "polls": polls}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--ca", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--max-s", dest="max_s", type=float, default=15)
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("slowloris", "slowbody"):
        sp = sub.add_parser(name)
        sp.add_argument("--interval", type=float, default=0.1)
    sp = sub.add_parser("silent")
    sp.add_argument("--tcp-only", dest="tcp_only", action="store_true")
    sub.add_parser("idle")
    sp = sub.add_parser("pipeline")
    sp.add_argument("--n", type=int, required=True)
    sp.add_argument("--path", default="/healthz")
    for name in ("sequential", "hold"):
        sp = sub.add_parser(name)
        sp.add_argument("--n", type=int, required=True)
    a = p.parse_args()
    out = globals()["cmd_" + a.cmd](a)
    json.dump(out, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
