#!/usr/bin/env python3
"""witness_tool.py - the cluster.witness suite's independent checker and
log rewriter, written from the C2SP specifications (signed-note,
tlog-checkpoint, tlog-cosignature v1) with python3-cryptography, not from
the gateway's code.

  witness_tool.py check NOTE LOG_PUB_PEM WITNESS_NAME WITNESS_PUB_PEM
      verifies NOTE's signature by the log (key name = origin line, key ID
      type 0x01) and its cosignature by WITNESS_NAME (key ID type 0x04,
      message "cosignature/v1\\ntime T\\n" || note text); prints
      "ok SIZE" or "FAIL why", exit 0 or 1.  "absent" (exit 3) when no line
      of WITNESS_NAME's key is in the note.

  witness_tool.py rewrite AUDIT_DIR
      changes one character of the first query record's attestation hash
      (the record stays well-formed, with a correct CRC-32C), empties
      the checkpoints file and removes derived/ so the gateway rebuilds its tree
      from the altered records and signs it again: a rewritten history
      under the same key and origin.  Prints the record index changed.
"""
import base64
import hashlib
import os
import shutil
import struct
import sys

from cryptography.hazmat.primitives.serialization import load_pem_public_key
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.exceptions import InvalidSignature

DASH = "\u2014 "


def raw_pub(path):
    k = load_pem_public_key(open(path, "rb").read())
    return k, k.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(name, typ, pub):
    return hashlib.sha256(name.encode() + b"\n" + bytes([typ]) + pub).digest()[:4]


def split_note(note):
    i = note.rindex("\n\n")
    return note[: i + 1], note[i + 2 :].splitlines()


def check(note_path, log_pem, wname, wpem):
    note = open(note_path, encoding="utf-8").read()
    text, sigs = split_note(note)
    origin = text.split("\n")[0]
    size = int(text.split("\n")[1])
    lk, lpub = raw_pub(log_pem)
    lid = key_id(origin, 0x01, lpub)
    logged = False
    for line in sigs:
        if not line.startswith(DASH + origin + " "):
            continue
        blob = base64.b64decode(line.split(" ")[-1])
        if blob[:4] != lid:
            continue
        try:
            lk.verify(blob[4:], text.encode())
        except InvalidSignature:
            print("FAIL the log's own signature does not verify")
            return 1
        logged = True
    if not logged:
        print("FAIL no signature by the log's key")
        return 1
    wk, wpub = raw_pub(wpem)
    wid = key_id(wname, 0x04, wpub)
    found = False
    for line in sigs:
        if not line.startswith(DASH + wname + " "):
            continue
        blob = base64.b64decode(line.split(" ")[-1])
        if blob[:4] != wid:
            continue
        found = True
        if len(blob) != 4 + 8 + 64:
            print("FAIL cosignature of %d bytes" % len(blob))
            return 1
        (t,) = struct.unpack(">Q", blob[4:12])
        msg = b"cosignature/v1\ntime %d\n" % t + text.encode()
        try:
            wk.verify(blob[12:], msg)
        except InvalidSignature:
            print("FAIL the cosignature of %s does not verify" % wname)
            return 1
    if not found:
        print("absent")
        return 3
    print("ok %d" % size)
    return 0


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def rewrite(adir):
    path = os.path.join(adir, "records")
    data = bytearray(open(path, "rb").read())
    pos, index = 16, 0
    while pos + 4 <= len(data):
        (n,) = struct.unpack(">I", data[pos : pos + 4])
        if n == 0:
            break
        rec = bytes(data[pos + 4 : pos + 4 + n])
        key = b'"attestation_sha256":"'
        at = rec.find(key)
        if b'"kind":"query"' in rec and at >= 0:
            c = rec[at + len(key)]
            new = b"0" if c != ord("0") else b"1"
            rec = rec[: at + len(key)] + new + rec[at + len(key) + 1 :]
            data[pos + 4 : pos + 4 + n] = rec
            crc = crc32c(bytes(data[pos : pos + 4 + n]))
            data[pos + 4 + n : pos + 8 + n] = struct.pack(">I", crc)
            with open(path, "r+b") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            # the checkpoints file emptied to its header (a missing one is
            # refused as corruption): the old signed roots are gone
            with open(os.path.join(adir, "checkpoints"), "wb") as f:
                f.write(b"GWAUDCKP" + struct.pack(">I", 1) + bytes(4))
                f.flush()
                os.fsync(f.fileno())
            shutil.rmtree(os.path.join(adir, "derived"))
            print(index)
            return 0
        pos += 8 + n
        index += 1
    print("no query record with an attestation hash", file=sys.stderr)
    return 1


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "check":
        sys.exit(check(*sys.argv[2:]))
    if len(sys.argv) == 3 and sys.argv[1] == "rewrite":
        sys.exit(rewrite(sys.argv[2]))
    print(__doc__, file=sys.stderr)
    sys.exit(2)
