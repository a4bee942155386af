#!/usr/bin/env python3
"""Writes signatures.json: known-answer vectors of paygate's signature scheme,
computed here with Python's hmac, independently of the Go code they check.

    signature = "v1," + base64(HMAC-SHA256(key, "<timestamp>" + "." + payload))

key is the base64 after "whsec_" in the secret; payload is the canonical
query: every parameter but "signature", sorted by name (a name's values in
the order sent), each name and value escaped as Go's url.QueryEscape does
(letters, digits and -_.~ kept, space as +, the rest %XX), joined with & and =.
During a rotation the signature carries one "v1,..." per secret, space-separated.

Run from this directory: python3 signatures.py > signatures.json
"""
import base64, hashlib, hmac, json
from urllib.parse import quote_plus

def secret(key):
    return "whsec_" + base64.b64encode(key).decode()

A = secret(bytes(range(32)))
B = secret(hashlib.sha256(b"paygate test secret B").digest())
C = secret(hashlib.sha256(b"paygate test secret C").digest()[:24])  # the shortest key allowed

def key(s):
    return base64.b64decode(s[len("whsec_"):])

def esc(s):
    return quote_plus(s, safe="")

def encode(pairs):
    return "&".join(esc(k) + "=" + esc(v) for k, v in pairs)

def canonical(pairs):
    # sorted() is stable: a name's values keep their order.
    return encode(sorted(((k, v) for k, v in pairs if k != "signature"), key=lambda kv: kv[0].encode()))

def sign(s, ts, payload):
    mac = hmac.new(key(s), (str(ts) + "." + payload).encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()

def case(name, signers, ts, pairs, holder=None):
    """signers sign in order; holder is the secret the receiver holds."""
    pairs = list(pairs) + [("timestamp", str(ts))]
    payload = canonical(pairs)
    sig = " ".join(sign(s, ts, payload) for s in signers)
    c = {"name": name, "secret": holder or signers[0]}
    others = [s for s in signers if s != c["secret"]]
    if others:
        c["other_secret"] = others[0]
    c.update({"timestamp": ts, "payload": payload, "signature": sig,
              "query": encode(pairs + [("signature", sig)])})
    return c

T = 1772366400  # 2026-03-01T12:00:00Z
cases = [
    case("redirect after an approval", [A], T, [
        ("session_id", "cs_7K3M9QX2ABCDEFGHJKLMNPQRSTVWXYZ2"), ("result", "approved"), ("amount", "1999"),
        ("currency", "USD"), ("order_id", "order-1001"), ("sequence", "1"), ("payment_id", "pay_01JNX5Z8K3M9QX2"),
        ("status", "captured"), ("card_brand", "visa"), ("card_last4", "4242"),
        ("confirmation_number", "PG-7K3M-9QX2")]),
    case("last decline, return URL with the merchant's own parameters", [B], T + 61, [
        ("lang", "en"), ("cart", "42"), ("session_id", "cs_DECLINED000000000000000000000000"), ("result", "declined"),
        ("amount", "500"), ("currency", "EUR"), ("order_id", "A/7 & co"), ("sequence", "3"),
        ("payment_id", "pay_01JNX5Z8DECLINE"), ("status", "declined"), ("card_brand", "mastercard"),
        ("card_last4", "4444"), ("decline_code", "insufficient_funds")]),
    case("cancel", [A], T + 3600, [
        ("session_id", "cs_CANCELED00000000000000000000000"), ("result", "canceled"), ("amount", "12000"),
        ("currency", "JPY"), ("sequence", "1")]),
    case("rotation: old and new secret sign, the receiver holds the new one", [A, B], T, [
        ("session_id", "cs_ROTATION00000000000000000000000"), ("result", "approved"), ("amount", "1"),
        ("currency", "USD"), ("sequence", "2"), ("payment_id", "pay_ROTATION"), ("status", "authorized"),
        ("card_brand", "amex"), ("card_last4", "0005"), ("confirmation_number", "PG-AAAA-BBBB")], holder=B),
    case("rotation: old and new secret sign, the receiver holds the old one", [A, B], T, [
        ("session_id", "cs_ROTATION00000000000000000000000"), ("result", "approved"), ("amount", "1"),
        ("currency", "USD"), ("sequence", "2"), ("payment_id", "pay_ROTATION"), ("status", "authorized"),
        ("card_brand", "amex"), ("card_last4", "0005"), ("confirmation_number", "PG-AAAA-BBBB")], holder=A),
    case("characters that need escaping, a repeated name, a 24-byte key", [C], T + 1, [
        ("session_id", "cs_ESCAPE0000000000000000000000000"), ("result", "approved"), ("amount", "250"),
        ("currency", "USD"), ("order_id", "Café ☕ 1+1=2 ~ok_-."), ("tag", "b"), ("tag", "a"), ("sequence", "1"),
        ("payment_id", "pay_ESCAPE"), ("status", "captured"), ("confirmation_number", "PG-ESC0-0001")]),
    case("payment form a merchant's page posts to /pay", [A], T, [
        ("merchant_id", "mer_01JNX5Z8SHOP"), ("amount", "1999"), ("currency", "USD"), ("order_id", "order-1001"),
        ("description", "Two mugs"), ("return_url", "https://shop.example.com/paid?cart=42"),
        ("cancel_url", "https://shop.example.com/cart"), ("model", "redirect"), ("capture", "false"),
        ("customer_email", "ada+shop@example.com")]),
]
print(json.dumps(cases, indent=1, ensure_ascii=False))
