#!/usr/bin/python3
"""front_clients.py - what ordinary HTTP clients do to the gateway's front,
each against a running gatewayd (started by test_front_clients.sh).

  front_clients.py API_PORT PKI_DIR MAX_BODY_BYTES

Prints one "ok - ..." or "FAIL - ..." line per check, exits 1 if any failed.
The clients are Python's own ssl sockets, written the way the clients of
the issue behave:
  - python requests: the whole body sent before the answer is read
  - a hand-written head with bare LF line ends
  - Java's and Go's clients: Transfer-Encoding: chunked bodies
"""
import json
import socket
import ssl
import sys
import time

port = int(sys.argv[1])
pki = sys.argv[2]
max_body = int(sys.argv[3])
failed = 0


def check(what, cond, detail=""):
    global failed
    if cond:
        print("ok   - " + what)
    else:
        failed += 1
        print("FAIL - " + what + (": " + detail if detail else ""))


def connect(sndbuf=0):
    ctx = ssl.create_default_context(cafile=pki + "/gateway-ca.pem")
    ctx.load_cert_chain(pki + "/clients/engine.pem", pki + "/clients/engine.key")
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if sndbuf:
        # a small send buffer, as on a real network where the 8 MiB cannot
        # all sit in loopback's kernel buffers before the gateway reads it
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
    raw.settimeout(20)
    raw.connect(("127.0.0.1", port))
    return ctx.wrap_socket(raw, server_hostname="127.0.0.1")


def read_answer(s):
    """The status line, the headers and the body of one answer, or what
    arrived before the connection ended (b"" on a reset)."""
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            head, sep, body = data.partition(b"\r\n\r\n")
            if sep:
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value.strip())
                if len(body) >= length:
                    break
    except (ConnectionResetError, ssl.SSLError) as e:
        return data, "reset (%s)" % e.__class__.__name__
    return data, ""


def status_of(data):
    line = data.split(b"\r\n", 1)[0].decode("latin-1")
    parts = line.split(" ")
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


def body_of(data):
    return data.partition(b"\r\n\r\n")[2]


# 1. python requests' way: 8 MiB sent whole, then the answer read
big = 8 << 20
s = connect(sndbuf=65536)
t0 = time.monotonic()
err = ""
try:
    s.sendall(b"POST /v1/facts/query HTTP/1.1\r\nHost: 127.0.0.1\r\n"
              b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % big)
    block = b"x" * 65536
    for _ in range(big // len(block)):
        s.sendall(block)
        # paced as a network paces it (about 30 MB/s): on loopback the
        # whole body would otherwise sit in the kernel's buffers before the
        # gateway answers, and no discard bound would ever be reached
        time.sleep(0.002)
except (BrokenPipeError, ConnectionResetError, ssl.SSLError) as e:
    err = "send failed: %s" % e
data, rerr = read_answer(s)
s.close()
check("an 8 MiB body is sent whole (no reset while sending)", not err, err)
check("... and then the 413 is read", status_of(data) == 413, rerr or repr(data[:80]))
check("the 413 is problem+json naming the limit",
      b"body-too-large" in body_of(data), repr(body_of(data)[:200]))
print("note - 8 MiB sent and the 413 read in %.2f s" % (time.monotonic() - t0))

# 2. bare LF line ends: 400 at once, not at the head timeout
s = connect()
t0 = time.monotonic()
s.sendall(b"GET /healthz HTTP/1.1\nHost: 127.0.0.1\n\n")
data, rerr = read_answer(s)
took = time.monotonic() - t0
s.close()
check("a head with bare LF line ends gets 400", status_of(data) == 400, rerr or repr(data[:80]))
check("... naming CRLF", b"CRLF" in body_of(data), repr(body_of(data)[:200]))
# the head timeout of the test config is 30 s: the answer came on its own
check("... before the head timeout (%.2f s, the timeout is 30 s)" % took, took < 15)


# 3. chunked bodies: the same answer as with Content-Length
def query(body, chunked, chunk=7):
    s = connect()
    head = (b"POST /v1/facts/query HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nConnection: close\r\n")
    if chunked:
        wire = b""
        for i in range(0, len(body), chunk):
            part = body[i:i + chunk]
            wire += b"%x\r\n%s\r\n" % (len(part), part)
        wire += b"0\r\n\r\n"
        s.sendall(head + b"Transfer-Encoding: chunked\r\n\r\n")
        for i in range(0, len(wire), 5):   # trickled, as a streaming client does
            s.sendall(wire[i:i + 5])
    else:
        s.sendall(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
    data, _ = read_answer(s)
    s.close()
    return status_of(data), body_of(data)


q = json.dumps({"subject": {"id_type": "cn-resident-id", "id": "420111199908021383",
                            "name": "王思雨"},
                "facts": ["identity.match"], "purpose": "talent.graduate"},
               ensure_ascii=False).encode()
st_cl, b_cl = query(q, False)
st_ch, b_ch = query(q, True)
fact = lambda b: json.loads(b).get("facts", {}).get("identity.match", {}) if b.startswith(b"{") else {}
check("a chunked query is answered 200 with the fact, as with Content-Length",
      st_ch == 200 and st_cl == 200 and fact(b_ch).get("value") is True
      and fact(b_ch).get("status") == fact(b_cl).get("status") == "ok",
      "chunked %d %r; content-length %d" % (st_ch, b_ch[:300], st_cl))
st, b = query(b'{"subject": ', True)
check("a chunked body that is not JSON is answered as such (400, not framing)",
      st == 400 and b"chunked" not in b, "%d %r" % (st, b[:200]))
st, b = query(b"y" * (max_body + 1), True, chunk=100)
check("a chunked body over max_body_bytes gets 413", st == 413, "%d %r" % (st, b[:200]))
s = connect()
s.sendall(b"POST /v1/facts/query HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
          b"\r\nzz\r\n")
data, _ = read_answer(s)
s.close()
check("malformed chunked framing gets 400 naming it",
      status_of(data) == 400 and b"chunked" in body_of(data), repr(data[:200]))

sys.exit(1 if failed else 0)
