#!/usr/bin/env python3
"""Writes transparent_redirect.json: known-answer vectors of the transparent
redirect, computed here with Python's hashlib and hmac, independently of the
Go code they check.

"hashes": the hidden fields client.TransparentRedirectFields makes for a
payment, and their hash: lowercase hex SHA-256 of account_id, the access
key, timestamp, success_url and decline_url (when sent), then the values of
the fields hash_key names, joined with commas.

"results": the gateway's signed redirects to a success or decline URL,
signed as signatures.py describes (the same scheme as every redirect).

Run from this directory: python3 transparent_redirect.py > transparent_redirect.json
"""
import base64, hashlib, hmac, json
from urllib.parse import quote_plus

KEY = "e6f157d2-66cf-43d5-8a56-c4c57d5760d7"  # seed 003's example access key
SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()

def hash_case(name, fields, hash_key):
    parts = [fields["account_id"], KEY, fields["timestamp"]]
    for k in ("success_url", "decline_url"):
        if fields.get(k):
            parts.append(fields[k])
    parts += [fields[k] for k in hash_key]
    f = dict(fields)
    f["hash_key"] = ",".join(hash_key)
    f["hash"] = hashlib.sha256(",".join(parts).encode()).hexdigest()
    return {"name": name, "access_key": KEY, "hash_string": ",".join(parts), "fields": f}

def esc(s):
    return quote_plus(s, safe="")

def encode(pairs):
    return "&".join(esc(k) + "=" + esc(v) for k, v in pairs)

def result_case(name, ts, url, pairs):
    pairs = list(pairs) + [("timestamp", str(ts))]
    payload = encode(sorted(pairs, key=lambda kv: kv[0].encode()))
    key = base64.b64decode(SECRET[len("whsec_"):])
    mac = hmac.new(key, (str(ts) + "." + payload).encode(), hashlib.sha256).digest()
    sig = "v1," + base64.b64encode(mac).decode()
    return {"name": name, "secret": SECRET, "timestamp": ts,
            "url": url + "?" + encode(pairs + [("signature", sig)])}

T = 1772366400  # 2026-03-01T12:00:00Z
out = {
    "hashes": [
        hash_case("a sale with both URLs, description and order", {
            "account_id": "123456789012", "timestamp": "1360870400",
            "success_url": "https://www.example.com/success.aspx", "decline_url": "https://www.example.com/decline.aspx",
            "tender_type": "CARD", "transaction_type": "SALE", "transaction_amount": "123.00",
            "transaction_description": "Paygate mug", "order_id": "order-1001"},
            ["transaction_type", "transaction_amount", "transaction_description", "order_id"]),
        hash_case("an authorization, no URLs (the settings' global ones)", {
            "account_id": "123456789012", "timestamp": "1360870400",
            "tender_type": "CARD", "transaction_type": "AUTHORIZATION", "transaction_amount": "0.05"},
            ["transaction_type", "transaction_amount"]),
    ],
    "results": [
        result_case("approved sale, the success URL's own parameter kept", T, "https://shop.example.com/tr/success", [
            ("cart", "42"), ("transaction_approved", "1"), ("transaction_id", "pay_01jnx5z8k3m9qx2abcdefghjkm"),
            ("transaction_type", "SALE"), ("transaction_amount", "19.99"), ("order_id", "tr-5f0c2a91d3e4"),
            ("authorization_code", "A1B2C3"), ("confirmation_number", "PG-7K3M-9QX2"), ("card_brand", "visa"),
            ("card_last4", "4242")]),
        result_case("declined", T + 1, "https://shop.example.com/tr/decline", [
            ("transaction_approved", "0"), ("transaction_id", "pay_01jnx5z8declined0000000000"),
            ("transaction_type", "SALE"), ("transaction_amount", "19.99"), ("order_id", "tr-5f0c2a91d3e5"),
            ("card_brand", "visa"), ("card_last4", "0002"), ("error_code", "card_declined"),
            ("error_message", "The card was declined: do not honor."), ("decline_code", "do_not_honor")]),
        result_case("invalid card: no payment", T + 2, "https://shop.example.com/tr/decline", [
            ("transaction_approved", "0"), ("error_code", "incorrect_number"), ("error_message", "Card number is incorrect."),
            ("error_param", "card_number")]),
    ],
}
print(json.dumps(out, indent=1, ensure_ascii=False))
