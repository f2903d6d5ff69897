"""Benchmark of the tenantkit Lambda authorizer, as ratios against baselines from the same run.

* First sight of a token: CPU per authorization against a bare ``jwt.decode`` of the
  same RS256 token. Measured twice: with the user lookup answered in memory (verify +
  policy + context, the issue's definition), and with the real boto3 ``GetItem``
  answered by a canned HTTP response from a botocore ``before-send`` hook (never moto,
  never the network).
* Repeat of the same token: the same two ratios, now served from the token cache.
* Cold start: a fresh interpreter importing the authorizer module and constructing the
  authorizer, against ``import boto3, jwt; boto3.client('dynamodb')``; and the same plus
  the first authorization against that baseline plus one ``jwt.decode`` and one ``GetItem``.
* DynamoDB requests per authorization, counted on the wire hook.

Run: ``python benchmarks/authorizer.py``. ``results()`` returns the rows.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
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
USER_ITEM = {
    "pk": {"S": "_user#alice"},
    "sk": {"S": "_user"},
    "userId": {"S": "alice"},
    "email": {"S": "alice@example.com"},
    "givenName": {"S": "Alice"},
    "familyName": {"S": "Smith"},
    "memberships": {"M": {"texas": {"SS": ["admin", "member"]}, "colorado": {"SS": ["visitor"]}}},
    "activeTenant": {"S": "texas"},
}
CANNED_BODY = json.dumps({"Item": USER_ITEM}).encode()

# Code run in a fresh interpreter for the cold-start figures; each prints seconds taken.
_COLD_OURS = """
import os, time
t = time.perf_counter()
from tenantkit.auth.authorizer import LambdaAuthorizer
from tenantkit.auth.directory import UserDirectory
from tenantkit.auth.rolemap import RoleMap
from tenantkit.auth.verifier import TokenVerifier
from tenantkit.auth import PublicKeys
authorizer = LambdaAuthorizer(
    verifier=TokenVerifier(algorithm="RS256", keys=PublicKeys([os.environ["BENCH_PEM"]]),
                           issuer="https://auth.example.com", audience="parks-api"),
    users=UserDirectory("bench"),
    roles=RoleMap.from_dict(__import__("json").loads(os.environ["BENCH_ROLE_MAP"])),
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
authorizer({"type": "TOKEN", "authorizationToken": "Bearer " + os.environ["BENCH_TOKEN"],
            "methodArn": os.environ["BENCH_ARN"]})
"""
_FIRST_CALL_BASELINE = """
from benchmarks.authorizer import canned_get_item
client.meta.events.register("before-send.dynamodb.GetItem", canned_get_item)
jwt.decode(os.environ["BENCH_TOKEN"], os.environ["BENCH_PEM"], algorithms=["RS256"],
           issuer="https://auth.example.com", audience="parks-api")
client.get_item(TableName="bench", Key={"pk": {"S": "_user#alice"}, "sk": {"S": "_user"}})
"""
_PRINT = "\nprint(time.perf_counter() - t)\n"


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **kwargs: Any) -> Any:
        yield self._data


requests_sent: list[str] = []


def canned_get_item(request: Any, **kwargs: Any) -> Any:
    """botocore ``before-send`` hook: answer GetItem without any network."""
    from botocore.awsrequest import AWSResponse

    requests_sent.append("GetItem")
    headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "bench"}
    return AWSResponse(request.url, 200, headers, _Body(CANNED_BODY))


def _count_request(request: Any, **kwargs: Any) -> None:
    requests_sent.append(str(kwargs.get("event_name", "")))


def _per_call(fn: Callable[[int], object], calls: int, rounds: int) -> float:
    """Median CPU seconds per call over ``rounds`` batches of ``calls`` calls."""
    samples = []
    for _ in range(rounds):
        start = time.process_time()
        for index in range(calls):
            fn(index)
        samples.append((time.process_time() - start) / calls)
    return statistics.median(samples)


def _cold(code: str, env: dict[str, str], runs: int = 7) -> float:
    values = []
    for _ in range(runs):
        out = subprocess.run(  # noqa: S603 - runs this interpreter on our own code
            [sys.executable, "-c", code + _PRINT],
            capture_output=True,
            text=True,
            check=True,
            env=env,
            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        ).stdout
        values.append(float(out.strip().splitlines()[-1]))
    return statistics.median(values)


def _row(measure: str, ours: float, baseline: float, target: str, scale: float = 1e6) -> dict:
    return {
        "measure": measure,
        "tenantkit": round(ours * scale, 1),
        "baseline": round(baseline * scale, 1),
        "ratio": round(ours / baseline, 2) if baseline else float("nan"),
        "target": target,
    }


def results(calls: int = 200, rounds: int = 7) -> list[dict[str, Any]]:
    """Run every measurement; times are µs (CPU) except cold start (ms, wall)."""
    import boto3
    import jwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from tenantkit._shared.dynamodb.marshal import deserialize_item
    from tenantkit.auth import PublicKeys
    from tenantkit.auth.authorizer import LambdaAuthorizer
    from tenantkit.auth.directory import UserDirectory, UserRecord
    from tenantkit.auth.records import user_record
    from tenantkit.auth.rolemap import RoleMap
    from tenantkit.auth.verifier import TokenVerifier

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    now = int(time.time())
    tokens = [
        jwt.encode(
            {"sub": "alice", "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 3600, "n": n},
            key,
            "RS256",
        )
        for n in range(calls * rounds)
    ]

    class InMemoryUsers:
        """The user lookup answered in memory, to time verify + policy + context alone."""

        def get_user(self, user_id: str) -> UserRecord | None:
            return user_record(deserialize_item(USER_ITEM))

    client = boto3.client("dynamodb", region_name="us-east-1")
    client.meta.events.register("before-send.dynamodb.GetItem", canned_get_item)
    role_map = RoleMap.from_dict(ROLE_MAP)

    def make(users: Any) -> LambdaAuthorizer:
        verifier = TokenVerifier(
            algorithm="RS256",
            keys=PublicKeys([pem]),
            issuer=ISSUER,
            audience=AUDIENCE,
            cache_size=4096,
        )
        return LambdaAuthorizer(verifier=verifier, users=users, roles=role_map)

    in_memory, with_dynamodb = make(InMemoryUsers()), make(UserDirectory("bench", client=client))
    public_key = serialization.load_pem_public_key(pem.encode())
    logging_off = __import__("logging").getLogger("tenantkit.auth.decisions")
    logging_off.addHandler(__import__("logging").NullHandler())
    logging_off.propagate = False

    def event(index: int) -> dict[str, Any]:
        return {"type": "TOKEN", "authorizationToken": f"Bearer {tokens[index]}", "methodArn": ARN}

    events = [event(i) for i in range(len(tokens))]
    counter = iter(range(10**9))

    def fresh(authorizer: LambdaAuthorizer) -> Callable[[int], object]:
        return lambda _: authorizer(events[next(counter) % len(events)])

    # Warm both paths (imports, botocore loaders, memoised policies) before timing.
    for authorizer in (in_memory, with_dynamodb):
        authorizer(event(0))
    baseline = _per_call(
        lambda i: jwt.decode(
            tokens[i], public_key, algorithms=["RS256"], issuer=ISSUER, audience=AUDIENCE
        ),
        calls,
        rounds,
    )
    # Fresh tokens for each authorizer: every call is the first sight of its token.
    counter = iter(range(1, 10**9))
    first_memory = _per_call(fresh(in_memory), calls, rounds)
    counter = iter(range(1, 10**9))
    first_dynamodb = _per_call(fresh(with_dynamodb), calls, rounds)
    same = event(0)
    repeat_memory = _per_call(lambda _: in_memory(same), calls, rounds)
    repeat_dynamodb = _per_call(lambda _: with_dynamodb(same), calls, rounds)
    get_item = _per_call(
        lambda _: client.get_item(
            TableName="bench", Key={"pk": {"S": "_user#alice"}, "sk": {"S": "_user"}}
        ),
        calls,
        rounds,
    )
    requests_sent.clear()
    client.meta.events.register("before-send.dynamodb", _count_request)
    for index in range(100):
        with_dynamodb(events[index])
    client.meta.events.unregister("before-send.dynamodb", _count_request)
    # Each GetItem passes both hooks; count only the canned answers.
    per_authorization = requests_sent.count("GetItem") / 100

    env = {
        **os.environ,
        "BENCH_PEM": pem,
        "BENCH_TOKEN": tokens[0],
        "BENCH_ARN": ARN,
        "BENCH_ROLE_MAP": json.dumps(ROLE_MAP),
        "PYTHONPATH": os.pathsep.join(
            [os.path.dirname(os.path.dirname(os.path.abspath(__file__))), *sys.path]
        ),
    }
    cold_ours = _cold(_COLD_OURS, env)
    cold_baseline = _cold(_COLD_BASELINE, env)
    first_ours = _cold(_COLD_OURS + _FIRST_CALL_OURS, env)
    first_baseline = _cold(_COLD_BASELINE + _FIRST_CALL_BASELINE, env)

    return [
        _row("first sight: verify+policy+context (µs)", first_memory, baseline, "<= 1.3x"),
        _row("first sight: incl. boto3 GetItem, canned (µs)", first_dynamodb, baseline, "-"),
        _row("repeat token: verify+policy+context (µs)", repeat_memory, baseline, "<= 0.3x"),
        _row("repeat token: incl. boto3 GetItem, canned (µs)", repeat_dynamodb, baseline, "-"),
        _row("boto3 GetItem alone, canned (µs)", get_item, baseline, "-"),
        _row("cold start: import + construct (ms)", cold_ours, cold_baseline, "<= 1.10x", 1e3),
        _row("cold start + first authorization (ms)", first_ours, first_baseline, "-", 1e3),
        {
            "measure": "DynamoDB requests per authorization",
            "tenantkit": per_authorization,
            "baseline": "-",
            "ratio": "-",
            "target": "1",
        },
    ]


def main() -> None:
    rows = results()
    print("baseline: bare jwt.decode of the same RS256 token (CPU); cold start: wall time of")
    print("'import boto3, jwt; boto3.client(\"dynamodb\")' in a fresh interpreter")
    header = f"{'measure':<54}{'tenantkit':>11}{'baseline':>11}{'ratio':>8}  target"
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row['measure']:<54}{row['tenantkit']:>11}{row['baseline']:>11}"
            f"{row['ratio']:>8}  {row['target']}"
        )


if __name__ == "__main__":
    main()
