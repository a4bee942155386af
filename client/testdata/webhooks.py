#!/usr/bin/env python3
"""Writes webhooks.json: known-answer vectors of post-back signatures
(Standard Webhooks, symmetric), computed here with Python's hmac,
independently of the Go code they check. From the specification:

    content   = webhook-id + "." + webhook-timestamp + "." + body
    signature = "v1," + base64(HMAC-SHA256(key, content))

key is the base64 after "whsec_" in the secret; the webhook-signature
header holds one signature per secret in force, space-separated (during a
rotation the new secret's first). "signers" are the secrets that signed, in
order; "secret" is the one the receiver holds. The first case is the reference
libraries' own published vector (standard-webhooks, libraries/go
TestWebhookSign), checked here before anything is written.

Run from this directory: python3 webhooks.py > webhooks.json
"""
import base64, hashlib, hmac, json

def secret(key):
    return "whsec_" + base64.b64encode(key).decode()

def key(s):
    return base64.b64decode(s[len("whsec_"):])

def sign(s, msg_id, ts, body):
    content = msg_id.encode() + b"." + str(ts).encode() + b"." + body.encode()
    return "v1," + base64.b64encode(hmac.new(key(s), content, hashlib.sha256).digest()).decode()

REF = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
ref = sign(REF, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, '{"test": 2432232314}')
assert ref == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", ref

A = secret(bytes(range(32)))
B = secret(hashlib.sha256(b"paygate test secret B").digest())
C = secret(hashlib.sha256(b"paygate test secret C").digest()[:24])  # the shortest key allowed

def case(name, signers, msg_id, ts, body, holder=None):
    """signers sign in order; holder is the secret the receiver holds."""
    c = {"name": name, "secret": holder or signers[0]}
    others = [s for s in signers if s != c["secret"]]
    if others:
        c["other_secret"] = others[0]
    c.update({"signers": signers, "id": msg_id, "timestamp": ts, "body": body,
              "signature": " ".join(sign(s, msg_id, ts, body) for s in signers)})
    return c

T = 1772366400  # 2026-03-01T12:00:00Z
captured = json.dumps({"id": "evt_01jnx5z8k3m9qx2abcdefghjkm", "type": "payment.captured",
    "timestamp": "2026-03-01T11:59:58.123456Z", "data": {"payment_id": "pay_01jnx5z8k3m9qx2abcdefghjkm",
    "status": "captured", "amount": 1999, "currency": "USD", "amount_captured": 1999, "order_id": "order-1001",
    "confirmation_number": "PG-7K3M-9QX2", "auth_code": "A1B2C3", "card_brand": "visa", "card_last4": "4242",
    "session_id": "cs_7k3m9qx2abcdefghjkmnpqrstvw", "sequence": 2}}, separators=(",", ":"))
declined = json.dumps({"id": "evt_01jnx5z8declined0000000000", "type": "payment.declined",
    "timestamp": "2026-03-01T12:00:01Z", "data": {"payment_id": "pay_01jnx5z8declined0000000000",
    "status": "declined", "amount": 500, "currency": "EUR", "order_id": "Café ☕ \"A/7\" & <co>",
    "decline_code": "insufficient_funds", "decline_reason": "Insufficient funds", "card_brand": "mastercard",
    "card_last4": "4444"}}, separators=(",", ":"), ensure_ascii=False)

cases = [
    {"name": "Standard Webhooks reference vector", "secret": REF, "signers": [REF], "id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
     "timestamp": 1614265330, "body": '{"test": 2432232314}', "signature": ref},
    case("payment.captured", [A], "evt_01jnx5z8k3m9qx2abcdefghjkm", T, captured),
    case("rotation: new and old secret sign, the receiver holds the new one", [B, A],
         "evt_01jnx5z8k3m9qx2abcdefghjkm", T + 5, captured, holder=B),
    case("rotation: new and old secret sign, the receiver holds the old one", [B, A],
         "evt_01jnx5z8k3m9qx2abcdefghjkm", T + 5, captured, holder=A),
    case("characters beyond ASCII, a 24-byte key", [C], "evt_01jnx5z8declined0000000000", T + 61, declined),
]
print(json.dumps(cases, indent=1, ensure_ascii=False))
