#!/usr/bin/env python3
"""Writes a schemathesis configuration (TOML) that gives every ID parameter the ID of a real
resource of the demo gateway, so that the operations on one resource are fuzzed past their
lookup (with made-up IDs they only ever answer 404). A quota, a rate limit and an HMAC
credential are made first: the demo has none.

Usage: scripts/fuzz-ids.py BASE_URL TOKEN > ids.toml
"""
import json
import sys
import urllib.request

base, token = sys.argv[1], sys.argv[2]


def call(method, path, body=None):
    req = urllib.request.Request(
        base + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req) as res:
        return json.load(res)["data"]


def first(path, field):
    items = call("GET", path)["items"]
    if not items:
        sys.exit(f"fuzz-ids: {path} lists nothing; the demo data is expected")
    return items[0][field]


# The demo's gateway by its name: the first pass of the fuzzing made gateways of its own.
demo = [
    g
    for g in call("GET", "/v1/gateways?nameLike=demo-ai-gateway&pageSize=100")["items"]
    if g["name"] == "demo-ai-gateway"
]
if not demo:
    sys.exit("fuzz-ids: no gateway named demo-ai-gateway; the demo data is expected")
gateway = demo[0]["gatewayId"]
of = f"?gatewayId={gateway}"
consumer = first(f"/v1/consumers{of}", "consumerId")
ids = {
    "gatewayId": gateway,
    "consumerId": consumer,
    "consumerGroupId": first(f"/v1/consumer-groups{of}", "consumerGroupId"),
    "environmentId": first(f"/v1/environments{of}", "environmentId"),
    "apiId": first(f"/v1/model-apis{of}", "apiId"),
    "keyId": first(f"/v1/keys{of}", "keyId"),
    "consumerAuthorizationRuleId": first(
        f"/v1/authorization-rules{of}", "consumerAuthorizationRuleId"
    ),
    "quotaId": call(
        "POST",
        "/v1/quotas",
        {"gatewayId": gateway, "subjectId": consumer, "amount": 1000, "period": "day"},
    )["quotaId"],
    "rateLimitId": call(
        "POST",
        "/v1/rate-limits",
        {"gatewayId": gateway, "subjectId": consumer, "perSecond": 10},
    )["rateLimitId"],
    "credentialId": call(
        "POST",
        "/v1/credentials",
        {"consumerId": consumer, "name": "fuzzed-signing", "method": "Hmac"},
    )["credential"]["credentialId"],
}
print("[parameters]")
for name, value in ids.items():
    print(f'{name} = "{value}"')
