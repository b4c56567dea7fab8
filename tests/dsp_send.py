#!/usr/bin/env python3
"""Sends one node-to-node request signed as kexin signs them (RFC 9421, docs/httpsig.md), for tests.

Usage: dsp_send.py HOME METHOD URL [BODY_FILE|-] [--nonce N] [--created UNIX] [--bad-signature]
                   [--save-headers FILE] [--headers FILE] [--sign-url URL]
HOME is a kexin node home (its node.key signs). Prints the HTTP status on the first line and the
body after it. --save-headers writes the signature headers used; --headers replays saved ones
(a replayed nonce). --sign-url signs for another URL (and sends its Host) while connecting to URL:
a request meant for another node. Only the standard library and python3-cryptography.
"""
import argparse
import base64
import hashlib
import http.client
import json
import os
import sys
import time
import urllib.parse

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization

PREFIX = "kexin-ed25519-seed-v1 "


def load_key(home):
    line = open(os.path.join(home, "node.key")).readline().strip()
    assert line.startswith(PREFIX), "not a kexin node key"
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(line[len(PREFIX):]))


def sign(key, method, url, body, created, nonce):
    pub = key.public_key().public_bytes(serialization.Encoding.Raw,
                                        serialization.PublicFormat.Raw).hex()
    digest = "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode() + ":"
    params = ('("@method" "@target-uri" "content-digest");created=%d;nonce="%s";keyid="%s";'
              'alg="ed25519"' % (created, nonce, pub))
    base = ('"@method": %s\n"@target-uri": %s\n"content-digest": %s\n"@signature-params": %s'
            % (method, url, digest, params))
    sig = base64.b64encode(key.sign(base.encode())).decode()
    return {"Content-Digest": digest, "Signature-Input": "sig1=" + params,
            "Signature": "sig1=:" + sig + ":"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("home")
    ap.add_argument("method")
    ap.add_argument("url")
    ap.add_argument("body", nargs="?", default="")
    ap.add_argument("--nonce", default=None)
    ap.add_argument("--created", type=int, default=None)
    ap.add_argument("--bad-signature", action="store_true")
    ap.add_argument("--save-headers")
    ap.add_argument("--headers")
    ap.add_argument("--sign-url")
    a = ap.parse_args()
    body = b""
    if a.body == "-":
        body = sys.stdin.buffer.read()
    elif a.body:
        body = open(a.body, "rb").read()
    if a.headers:
        headers = json.load(open(a.headers))
    else:
        headers = sign(load_key(a.home), a.method, a.sign_url or a.url, body,
                       a.created if a.created is not None else int(time.time()),
                       a.nonce or os.urandom(16).hex())
    if a.bad_signature:
        raw = bytearray(base64.b64decode(headers["Signature"][6:-1]))
        raw[0] ^= 1
        headers["Signature"] = "sig1=:" + base64.b64encode(bytes(raw)).decode() + ":"
    if a.save_headers:
        json.dump(headers, open(a.save_headers, "w"))
    u = urllib.parse.urlsplit(a.url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    h = dict(headers)
    if a.sign_url:
        h["Host"] = urllib.parse.urlsplit(a.sign_url).netloc
    if body:
        h["Content-Type"] = "application/json"
    path = u.path + ("?" + u.query if u.query else "")
    conn.request(a.method, path, body=body, headers=h)
    r = conn.getresponse()
    print(r.status)
    sys.stdout.write(r.read().decode("utf-8", "replace"))
    print()


if __name__ == "__main__":
    main()
