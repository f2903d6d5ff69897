"""Benchmark of the tenantkit Lambda authorizer, as ratios against baselines from the same run.

* First sight of a user (decision 22): every call brings a fresh token of a user the
  authorizer has never seen (distinct subjects), so neither the token cache nor the
  per-container user cache (``user_ttl``) can answer it, while their tenant's status is
  already cached. CPU per authorization against a bare ``jwt.decode`` of the same RS256
  token. Measured twice: with the user record and the tenant status answered in memory
  (verify + policy + context, the issue's definition), and with the real ``UserDirectory``
  and ``TenantStatusCache``, whose boto3 ``GetItem`` is answered by a canned HTTP response
  from a botocore ``before-send`` hook (never moto, never the network). The latter also
  against the security round's yardstick: a bare ``jwt.decode`` plus one such ``GetItem``.
* Repeat of the same token: the same two, now served from the caches (token, user
  record, tenant status, policy), so no request is sent.
* Cold start: a fresh interpreter importing the authorizer module and constructing the
  authorizer with its status cache, against ``import boto3, jwt; boto3.client('dynamodb')``;
  and the same plus the first authorization (the user's and the tenant's ``GetItem``)
  against that baseline plus one ``jwt.decode`` and the same two ``GetItem`` calls.
* DynamoDB requests per authorization, counted on the wire hook, for first sights
  (target: one, the user record) and repeats (target: none).

Each measurement's batches (or fresh interpreters) alternate with its baseline's, so a
shared machine's changing load weighs on both sides alike.

Run: ``python benchmarks/authorizer.py``. ``results()`` returns the rows.
"""

from __future__ import annotations

import functools
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

os.environ.setdefault("AWS_ACCESS_KEY_ID", "benchmark")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "benchmark")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

ARN = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod/GET/parks/p1"
ISSUER, AUDIENCE = "https://auth.example.com", "parks-api"
ROLE_MAP = {
    "roles": ["admin", "member", "visitor"],
    "routes": {
        "GET /parks": ["admin", "member", "visitor"],
        "POST /parks": ["admin", "member"],
        "GET /parks/{parkId}": ["admin", "member", "visitor"],
        "POST /parks/{parkId}/statuses": ["admin", "member"],
        "POST /parks/{parkId}/webhooks": ["admin"],
        "GET /customers": ["admin", "member", "visitor"],
        "POST /customers": ["admin"],
        "PUT /customers/{customerId}/roles": ["admin"],
    },
    "deny": {"visitor": ["POST /parks"]},
    "authenticated": ["GET /settings", "PUT /settings"],
}
TENANT, TIER = "texas", "premium"
COUNTED = 100  # first-sight authorizations whose requests are counted


def user_item(user_id: str) -> dict[str, Any]:
    """A user's record as DynamoDB returns it: admin of ``texas`` (active), visitor elsewhere."""
    return {
        "pk": {"S": f"_user#{user_id}"},
        "sk": {"S": "_user"},
        "userId": {"S": user_id},
        "email": {"S": f"{user_id}@example.com"},
        "givenName": {"S": "Alice"},
        "familyName": {"S": "Smith"},
        "memberships": {
            "M": {TENANT: {"SS": ["admin", "member"]}, "colorado": {"SS": ["visitor"]}}
        },
        "activeTenant": {"S": TENANT},
    }


def tenant_item(tenant_id: str) -> dict[str, Any]:
    """A tenant's record as DynamoDB returns it: active, in the premium tier, pooled."""
    return {
        "pk": {"S": f"_tenant#{tenant_id}"},
        "sk": {"S": "_tenant"},
        "tenantId": {"S": tenant_id},
        "status": {"S": "active"},
        "tier": {"S": TIER},
    }


@functools.cache
def _body(partition: str) -> bytes:
    kind, _, name = partition.partition("#")
    item = user_item(name) if kind == "_user" else tenant_item(name)
    return json.dumps({"Item": item}).encode()


# Code run in a fresh interpreter for the cold-start figures; each prints seconds taken.
_COLD_OURS = """
import os, time
t = time.perf_counter()
from tenantkit.auth.authorizer import LambdaAuthorizer
from tenantkit.auth.directory import UserDirectory
from tenantkit.auth.rolemap import RoleMap
from tenantkit.auth.verifier import TokenVerifier
from tenantkit.auth import PublicKeys, TenantStatusCache
authorizer = LambdaAuthorizer(
    verifier=TokenVerifier(algorithm="RS256", keys=PublicKeys([os.environ["BENCH_PEM"]]),
                           issuer="https://auth.example.com", audience="parks-api"),
    users=UserDirectory("bench"),
    roles=RoleMap.from_dict(__import__("json").loads(os.environ["BENCH_ROLE_MAP"])),
    tenants=TenantStatusCache("bench"),
)
"""
_COLD_BASELINE = """
import os, time
t = time.perf_counter()
import boto3, jwt
client = boto3.client("dynamodb")
"""
_FIRST_CALL_OURS = """
import boto3
from benchmarks.authorizer import canned_get_item
boto3.setup_default_session()
boto3.DEFAULT_SESSION.events.register("before-send.dynamodb.GetItem", canned_get_item)
response = authorizer({"type": "TOKEN", "authorizationToken": "Bearer " + os.environ["BENCH_TOKEN"],
                       "methodArn": os.environ["BENCH_ARN"]})
assert response["context"]["tier"] == "premium", response
"""
_FIRST_CALL_BASELINE = """
from benchmarks.authorizer import canned_get_item
client.meta.events.register("before-send.dynamodb.GetItem", canned_get_item)
jwt.decode(os.environ["BENCH_TOKEN"], os.environ["BENCH_PEM"], algorithms=["RS256"],
           issuer="https://auth.example.com", audience="parks-api")
client.get_item(TableName="bench", Key={"pk": {"S": "_user#alice"}, "sk": {"S": "_user"}})
client.get_item(TableName="bench", Key={"pk": {"S": "_tenant#texas"}, "sk": {"S": "_tenant"}})
"""
_PRINT = "\nprint(time.perf_counter() - t)\n"


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **kwargs: Any) -> Any:
        yield self._data


def get_item_hook(body: Callable[[str], bytes], sent: list[str]) -> Callable[..., Any]:
    """A botocore ``before-send`` hook that answers GetItem with ``body(partition key)``
    without any network, appending each partition key to ``sent``."""

    def answer(request: Any, **kwargs: Any) -> Any:
        from botocore.awsrequest import AWSResponse

        partition = json.loads(request.body)["Key"]["pk"]["S"]
        sent.append(partition)
        headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "bench"}
        return AWSResponse(request.url, 200, headers, _Body(body(partition)))

    return answer


#: The partition key of every GetItem answered, in order.
requests_sent: list[str] = []
canned_get_item = get_item_hook(_body, requests_sent)


def signing_key() -> tuple[Any, str]:
    """A fresh RS256 key for the run: the private key, and its public key as PEM."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return key, pem


def _per_call(
    fns: Mapping[str, Callable[[int], object]], calls: int, rounds: int
) -> dict[str, float]:
    """Median CPU seconds per call of each function over ``rounds`` batches of ``calls``
    calls, the functions' batches interleaved round by round (a machine getting busier or
    quieter during the run weighs on every function alike)."""
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            start = time.process_time()
            for index in range(calls):
                fn(index)
            samples[name].append((time.process_time() - start) / calls)
    return {name: statistics.median(values) for name, values in samples.items()}


def _cold_once(code: str, env: dict[str, str]) -> float:
    out = subprocess.run(  # noqa: S603 - runs this interpreter on our own code
        [sys.executable, "-c", code + _PRINT],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    ).stdout
    return float(out.strip().splitlines()[-1])


def _cold(ours: str, baseline: str, env: dict[str, str], runs: int = 9) -> tuple[float, float]:
    """Median seconds of each code in fresh interpreters, runs interleaved so that a
    machine getting busier or quieter during the run weighs on both sides alike."""
    pairs = [(_cold_once(ours, env), _cold_once(baseline, env)) for _ in range(runs)]
    return statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)


def ratio_row(measure: str, ours: float, baseline: float, target: str, scale: float = 1e6) -> dict:
    """A measure against its baseline, both shown in µs (``scale`` 1e3: in ms)."""
    return {
        "measure": measure,
        "tenantkit": round(ours * scale, 1),
        "baseline": round(baseline * scale, 1),
        "ratio": round(ours / baseline, 2) if baseline else float("nan"),
        "target": target,
    }


def _count(measure: str, requests: int, calls: int, target: str) -> dict[str, Any]:
    return {
        "measure": measure,
        "tenantkit": requests / calls,
        "baseline": "-",
        "ratio": "-",
        "target": target,
    }


def _check(response: Mapping[str, Any]) -> None:
    """Fail the run if an authorization did not act in the tenant with its status read:
    the figures would then measure another path."""
    context = response["context"]
    if (context.get("tenantId"), context.get("tier")) != (TENANT, TIER):
        raise RuntimeError(f"the benchmark's caller did not act in {TENANT}: {context}")


def results(calls: int = 200, rounds: int = 7) -> list[dict[str, Any]]:
    """Run every measurement; times are µs (CPU) except cold start (ms, wall)."""
    import boto3
    import jwt
    from cryptography.hazmat.primitives import serialization

    from tenantkit._shared.dynamodb.marshal import deserialize_item
    from tenantkit.auth import PublicKeys, TenantStatus, TenantStatusCache
    from tenantkit.auth.authorizer import LambdaAuthorizer
    from tenantkit.auth.directory import UserDirectory, UserRecord
    from tenantkit.auth.records import user_record
    from tenantkit.auth.rolemap import RoleMap
    from tenantkit.auth.verifier import TokenVerifier

    key, pem = signing_key()
    now = int(time.time())

    def token(subject: str) -> str:
        claims = {"sub": subject, "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 3600}
        return jwt.encode(claims, key, "RS256")

    def event(bearer: str) -> dict[str, Any]:
        return {"type": "TOKEN", "authorizationToken": f"Bearer {bearer}", "methodArn": ARN}

    # "alice" warms every cache and is the repeat; user<n> each arrive once per authorizer.
    alice = token("alice")
    newcomers = [event(token(f"user{n}")) for n in range(calls * rounds + COUNTED)]
    timed, counted = newcomers[: calls * rounds], newcomers[calls * rounds :]
    # Build each newcomer's canned GetItem body now: encoding it is the benchmark's work,
    # and the baseline's GetItem reuses alice's body, so timing it would charge tenantkit.
    for n in range(len(newcomers)):
        _body(f"_user#user{n}")

    stored = {n: user_item(n) for n in ("alice", *(f"user{i}" for i in range(len(newcomers))))}

    class InMemoryUsers:
        """User records answered in memory (unmarshalled per call, as a ``GetItem``'s
        would be), to time verify + policy + context alone."""

        def get_user(self, user_id: str) -> UserRecord | None:
            return user_record(deserialize_item(stored[user_id]))

    status = TenantStatus(tenant_id=TENANT, status="active", tier=TIER, table="bench")

    class InMemoryTenants:
        """The tenant's status answered in memory, as its warm cache would."""

        def status(self, tenant_id: str) -> TenantStatus | None:
            return status if tenant_id == TENANT else None

    client = boto3.client("dynamodb", region_name="us-east-1")
    client.meta.events.register("before-send.dynamodb.GetItem", canned_get_item)
    role_map = RoleMap.from_dict(ROLE_MAP)

    def make(users: Any, tenants: Any) -> LambdaAuthorizer:
        verifier = TokenVerifier(
            algorithm="RS256",
            keys=PublicKeys([pem]),
            issuer=ISSUER,
            audience=AUDIENCE,
            cache_size=4096,
        )
        return LambdaAuthorizer(verifier=verifier, users=users, roles=role_map, tenants=tenants)

    in_memory = make(InMemoryUsers(), InMemoryTenants())
    with_dynamodb = make(
        UserDirectory("bench", client=client), TenantStatusCache("bench", client=client)
    )
    public_key = serialization.load_pem_public_key(pem.encode())
    logging_off = __import__("logging").getLogger("tenantkit.auth.decisions")
    logging_off.addHandler(__import__("logging").NullHandler())
    logging_off.propagate = False

    def arrivals(authorizer: LambdaAuthorizer) -> Callable[[int], object]:
        queue: Iterator[dict[str, Any]] = iter(timed)
        return lambda _: authorizer(next(queue))

    # Warm both paths (imports, botocore loaders, memoised policies) and the tenant's
    # status before timing: a first sight of a user finds it cached (decision 22).
    same = event(alice)
    for authorizer in (in_memory, with_dynamodb):
        _check(authorizer(same))
    cpu = _per_call(
        {
            "decode": lambda _: jwt.decode(
                alice, public_key, algorithms=["RS256"], issuer=ISSUER, audience=AUDIENCE
            ),
            "get_item": lambda _: client.get_item(
                TableName="bench", Key={"pk": {"S": "_user#alice"}, "sk": {"S": "_user"}}
            ),
            "first_memory": arrivals(in_memory),
            "first_dynamodb": arrivals(with_dynamodb),
            "repeat_memory": lambda _: in_memory(same),
            "repeat_dynamodb": lambda _: with_dynamodb(same),
        },
        calls,
        rounds,
    )
    baseline, get_item = cpu["decode"], cpu["get_item"]

    requests_sent.clear()
    for first_sight in counted:
        _check(with_dynamodb(first_sight))
    first_requests = len(requests_sent)
    requests_sent.clear()
    for _ in range(COUNTED):
        _check(with_dynamodb(same))
    repeat_requests = len(requests_sent)

    env = {
        **os.environ,
        "BENCH_PEM": pem,
        "BENCH_TOKEN": alice,
        "BENCH_ARN": ARN,
        "BENCH_ROLE_MAP": json.dumps(ROLE_MAP),
        "PYTHONPATH": os.pathsep.join(
            [os.path.dirname(os.path.dirname(os.path.abspath(__file__))), *sys.path]
        ),
    }
    cold_ours, cold_baseline = _cold(_COLD_OURS, _COLD_BASELINE, env)
    first_ours, first_baseline = _cold(
        _COLD_OURS + _FIRST_CALL_OURS, _COLD_BASELINE + _FIRST_CALL_BASELINE, env
    )

    return [
        ratio_row(
            "first sight of a user: verify+policy+context (µs)",
            cpu["first_memory"],
            baseline,
            "<= 1.3x",
        ),
        ratio_row(
            "first sight of a user: incl. its boto3 GetItem, canned (µs)",
            cpu["first_dynamodb"],
            baseline,
            "-",
        ),
        ratio_row(
            "first sight of a user incl. GetItem vs jwt.decode + GetItem (µs)",
            cpu["first_dynamodb"],
            baseline + get_item,
            "<= 1.3x",
        ),
        ratio_row(
            "repeat token: verify+policy+context (µs)", cpu["repeat_memory"], baseline, "<= 0.3x"
        ),
        ratio_row(
            "repeat token: DynamoDB sources, caches warm (µs)",
            cpu["repeat_dynamodb"],
            baseline,
            "-",
        ),
        ratio_row("boto3 GetItem alone, canned (µs)", get_item, baseline, "-"),
        ratio_row("cold start: import + construct (ms)", cold_ours, cold_baseline, "<= 1.10x", 1e3),
        ratio_row("cold start + first authorization (ms)", first_ours, first_baseline, "-", 1e3),
        _count("DynamoDB requests per first sight of a user", first_requests, COUNTED, "1"),
        _count("DynamoDB requests per repeated token", repeat_requests, COUNTED, "0"),
    ]


def main() -> None:
    rows = results()
    print("baseline: bare jwt.decode of the same RS256 token (CPU); cold start: wall time of")
    print("'import boto3, jwt; boto3.client(\"dynamodb\")' in a fresh interpreter")
    header = f"{'measure':<66}{'tenantkit':>11}{'baseline':>11}{'ratio':>8}  target"
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row['measure']:<66}{row['tenantkit']!s:>11}{row['baseline']!s:>11}"
            f"{row['ratio']!s:>8}  {row['target']}"
        )


if __name__ == "__main__":
    main()
