"""Benchmark of the authorizer with tenant status, across many tenants and users.

* 1,000 authorizations across 50 tenants and 200 users (4 per tenant), each user
  sending their own token again and again (seeded random order), on a fresh authorizer:
  DynamoDB requests per authorization, counted on the wire (user records and tenant
  statuses are each read once per container and TTL), and CPU per authorization against
  a bare ``jwt.decode`` plus one raw ``GetItem``.
* First sight of a user whose tenant's status is cached (decision 22: the security
  round's target of at most 1.3x applies to it): a fresh token of a new user each call,
  one ``GetItem``, against the same baseline.
* A repeated token with every cache warm (token, user record, tenant status, policy)
  against the same baseline; the issue's target is at most 0.3x.

DynamoDB is answered by canned HTTP responses from a botocore ``before-send`` hook (never
moto, never the network), as in ``authorizer.py``. Run: ``python benchmarks/authorizer_tenants.py``.
"""

from __future__ import annotations

import functools
import json
import os
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("AWS_ACCESS_KEY_ID", "benchmark")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "benchmark")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

# The same API, role map and issuer as the single-user benchmark (this folder is on
# sys.path when a script here runs).
from authorizer import ARN, AUDIENCE, ISSUER, ROLE_MAP, get_item_hook, ratio_row, signing_key

TENANTS, USERS, AUTHORIZATIONS = 50, 200, 1000
TABLE = "bench"


def user_id(n: int) -> str:
    return f"user{n}"


def tenant_id(n: int) -> str:
    return f"tenant{n % TENANTS}"


@functools.cache
def _body(partition: str) -> bytes:
    """The canned ``GetItem`` answer for a partition key: users ``user<n>`` (admin of
    ``tenant<n % 50>``, active there) and tenants ``tenant<t>`` (active; every fifth premium)."""
    kind, _, name = partition.partition("#")
    if kind == "_user":
        n = int(name.removeprefix("user"))
        item: dict[str, Any] = {
            "pk": {"S": partition},
            "sk": {"S": "_user"},
            "userId": {"S": name},
            "email": {"S": f"{name}@example.com"},
            "memberships": {"M": {tenant_id(n): {"SS": ["admin", "member"]}}},
            "activeTenant": {"S": tenant_id(n)},
        }
    else:
        t = int(name.removeprefix("tenant"))
        item = {
            "pk": {"S": partition},
            "sk": {"S": "_tenant"},
            "tenantId": {"S": name},
            "status": {"S": "active"},
            "tier": {"S": "premium" if t % 5 == 0 else "basic"},
        }
    return json.dumps({"Item": item}).encode()


requests_sent: list[str] = []
canned_get_item = get_item_hook(_body, requests_sent)


def _cpu(fn: Callable[[], object], calls: int) -> float:
    start = time.process_time()
    for _ in range(calls):
        fn()
    return (time.process_time() - start) / calls


def results(rounds: int = 5, calls: int = 1000) -> list[dict[str, Any]]:
    """Requests per authorization, and CPU ratios (µs) against decode + GetItem."""
    import boto3
    import jwt
    from cryptography.hazmat.primitives import serialization

    from tenantkit._shared.dynamodb.tenant_status import TenantStatusCache
    from tenantkit.auth import PublicKeys
    from tenantkit.auth.authorizer import LambdaAuthorizer
    from tenantkit.auth.directory import UserDirectory
    from tenantkit.auth.rolemap import RoleMap
    from tenantkit.auth.verifier import TokenVerifier

    key, pem = signing_key()
    now = int(time.time())
    first_calls = calls // 5
    newcomers = first_calls * rounds
    tokens = [
        jwt.encode(
            {"sub": user_id(n), "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 3600},
            key,
            "RS256",
        )
        for n in range(USERS + newcomers)
    ]
    events = [
        {"type": "TOKEN", "authorizationToken": f"Bearer {token}", "methodArn": ARN}
        for token in tokens
    ]
    client = boto3.client("dynamodb", region_name="us-east-1")
    client.meta.events.register("before-send.dynamodb.GetItem", canned_get_item)
    role_map = RoleMap.from_dict(ROLE_MAP)
    log = __import__("logging").getLogger("tenantkit.auth.decisions")
    log.addHandler(__import__("logging").NullHandler())
    log.propagate = False

    def fresh() -> LambdaAuthorizer:
        """A new container: every cache cold."""
        return LambdaAuthorizer(
            verifier=TokenVerifier(
                algorithm="RS256", keys=PublicKeys([pem]), issuer=ISSUER, audience=AUDIENCE
            ),
            users=UserDirectory(TABLE, client=client),
            roles=role_map,
            tenants=TenantStatusCache(TABLE, client=client),
        )

    order = random.Random(15).choices(range(USERS), k=AUTHORIZATIONS)
    fresh()(events[0])  # warm imports and botocore's loaders
    mixed, per_authorization = [], []
    for _ in range(rounds):
        authorizer = fresh()
        requests_sent.clear()
        start = time.process_time()
        for n in order:
            authorizer(events[n])
        mixed.append((time.process_time() - start) / AUTHORIZATIONS)
        per_authorization.append(len(requests_sent) / AUTHORIZATIONS)

    public_key = serialization.load_pem_public_key(pem.encode())
    get_key = {"pk": {"S": f"_user#{user_id(0)}"}, "sk": {"S": "_user"}}

    def baseline_call() -> None:
        jwt.decode(tokens[0], public_key, algorithms=["RS256"], issuer=ISSUER, audience=AUDIENCE)
        client.get_item(TableName=TABLE, Key=get_key)

    warm = fresh()
    warm(events[0])
    baseline = statistics.median(_cpu(baseline_call, calls // 10) for _ in range(rounds))
    repeated = statistics.median(_cpu(lambda: warm(events[0]), calls) for _ in range(rounds))
    for t in range(TENANTS):
        warm(events[t])  # every tenant's status cached
    arrivals = iter(events[USERS:])
    first_sight = statistics.median(
        _cpu(lambda: warm(next(arrivals)), first_calls) for _ in range(rounds)
    )
    mixed_cpu = statistics.median(mixed)
    requests = statistics.median(per_authorization)
    return [
        {
            "measure": f"{AUTHORIZATIONS} authorizations, {TENANTS} tenants, {USERS} users: "
            "DynamoDB requests per authorization",
            "tenantkit": requests,
            "baseline": "-",
            "ratio": "-",
            "target": "-",
        },
        ratio_row(
            "same run, CPU per authorization vs decode+GetItem (µs)", mixed_cpu, baseline, "-"
        ),
        ratio_row(
            "first sight of a user, tenant status cached, vs decode+GetItem (µs)",
            first_sight,
            baseline,
            "<= 1.3x",
        ),
        ratio_row(
            "repeated token with tenant status vs decode+GetItem (µs)",
            repeated,
            baseline,
            "<= 0.3x",
        ),
    ]


def main() -> None:
    for row in results():
        print(
            f"{row['measure']:<92}{row['tenantkit']!s:>9}{row['baseline']!s:>9}"
            f"{row['ratio']!s:>7}  {row['target']}"
        )


if __name__ == "__main__":
    main()
