"""Cold start of each function of the example app (``examples/state_parks``).

Each measurement is a fresh interpreter that imports the function's handler module and
handles one event shaped as the function receives it, with the function's environment
variables from ``template.yaml``. A request that reaches AWS is answered by a botocore
``before-send`` hook; every client also points at a closed loopback port, so nothing can
leave the machine. The runs of all cases are interleaved, so that a machine getting
busier or quieter weighs on every function alike. The rows have no baseline: they
are read against each other and against the last two, the import of the SDK (which the
first request that reaches AWS pays) and of Powertools' resolver (which the API functions'
import pays). ``python benchmarks/example_cold_start.py [runs]`` prints each case's import
and first request apart, its AWS calls and its answer; docs/performance.md shows them.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "examples" / "state_parks" / "app"
SECRET = "benchmark-secret-" + "s" * 32
ISSUER, AUDIENCE = "https://auth.state-parks.example", "state-parks-api"  # template defaults
TABLE = "stateparks-ParksTable"
ACCOUNT = "123456789012"
# Globals plus each function's own variables, as template.yaml sets them.
GLOBAL_ENV = {"TABLE_NAME": TABLE, "TOPIC_PREFIX": "stateparks"}
FUNCTION_ENV = {
    "authorizer": {
        "JWT_SECRET_ID": f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:jwt",
        "JWT_ISSUER": ISSUER,
        "JWT_AUDIENCE": AUDIENCE,
    },
    "announcer": {},
    "webhooks": {
        "ALLOW_LOCAL_WEBHOOKS": "false",
        "TABLE_ARN": f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{TABLE}",
        "TENANT_DATA_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/stack/tenant-data/role",
    },
    "settings": {},
}

# Run in the fresh interpreter: argv is the app directory, the handler module, the event
# (JSON), "hook" when the request reaches AWS, and the JWT secret the hook answers with.
# Prints the seconds of the import and of the first request (boto3's import included).
PROBE = r"""
import json, sys, time
t0 = time.perf_counter()
app, module, event, hook = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
sys.path.insert(0, app)
fn = __import__(module)
t1 = time.perf_counter()
sent = []
if hook == "hook":
    # boto3 is imported here, before the request rather than inside it; the time counts
    # under the first request all the same, which is where the function pays it.
    import boto3, botocore.session
    from botocore.awsrequest import AWSResponse

    class Body:
        def __init__(self, data):
            self.data = data

        def stream(self, **kwargs):
            yield self.data

    def item(pk):
        kind, _, name = pk.partition("#")
        if kind == "_user":
            roles = {"M": {"texas": {"SS": ["admin", "member"]}}}
            return {"pk": {"S": pk}, "sk": {"S": "_user"}, "userId": {"S": name},
                    "memberships": roles, "activeTenant": {"S": "texas"}}
        if kind == "_tenant":
            return {"pk": {"S": pk}, "sk": {"S": "_tenant"}, "tenantId": {"S": name},
                    "status": {"S": "active"}, "tier": {"S": "premium"}}
        if pk.startswith("texas#park#"):
            return {"pk": {"S": pk}, "sk": {"S": "park"}, "name": {"S": "Palo Duro"}}
        return None

    def assumed_role():
        expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
        return (
            "<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>A</AccessKeyId>"
            "<SecretAccessKey>S</SecretAccessKey><SessionToken>T</SessionToken>"
            f"<Expiration>{expires}</Expiration></Credentials><AssumedRoleUser><Arn>a</Arn>"
            "<AssumedRoleUserId>i</AssumedRoleUserId></AssumedRoleUser></AssumeRoleResult>"
            "</AssumeRoleResponse>"
        ).encode()

    def answer(request, **kwargs):
        target = request.headers.get("X-Amz-Target", b"")
        target = target.decode() if isinstance(target, bytes) else target
        body = request.body or b""
        body = body.decode() if isinstance(body, bytes) else body
        if "Action=AssumeRole" in body:
            sent.append("sts.AssumeRole")
            return AWSResponse(request.url, 200, {"Content-Type": "text/xml"}, Body(assumed_role()))
        sent.append(target)
        if target.endswith("GetSecretValue"):
            out = {"ARN": "arn", "Name": "jwt", "SecretString": json.dumps({"signature": SECRET})}
        elif target.endswith("GetItem"):
            found = item(json.loads(body)["Key"]["pk"]["S"])
            out = {"Item": found} if found else {}
        elif target.endswith("Query"):
            out = {"Items": [], "Count": 0}
        else:
            raise RuntimeError(f"the benchmark has no answer for {target or request.url}")
        headers = {"Content-Type": "application/x-amz-json-1.0"}
        return AWSResponse(request.url, 200, headers, Body(json.dumps(out).encode()))

    SECRET = sys.argv[5]
    boto3.setup_default_session()
    # Every session, the default one and those TenantSessions creates, gets the hook.
    created = botocore.session.Session.__init__

    def with_hook(self, *args, **kwargs):
        created(self, *args, **kwargs)
        self.register("before-send", answer)

    botocore.session.Session.__init__ = with_hook
    boto3.DEFAULT_SESSION.events.register("before-send", answer)


class Context:
    function_name = module
    aws_request_id = "benchmark"
    tenant_id = "texas"  # PER_TENANT functions get the tenant from Lambda
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:benchmark"
    memory_limit_in_bytes = 512

    def get_remaining_time_in_millis(self):
        return 10_000


try:
    answered = fn.handler(event, Context())
    outcome = answered.get("statusCode") or answered.get("policyDocument", {}).get(
        "Statement", [{}])[0].get("Effect") or "returned"
except Exception as error:
    # A bare Exception is API Gateway's authorizer contract ("Unauthorized": a 401).
    outcome = str(error) if type(error) is Exception else type(error).__name__
t3 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "request": t3 - t1, "outcome": str(outcome), "sent": sent}))
"""

COMPARISONS = {
    "for comparison: import boto3 + one client": 'import boto3; boto3.client("dynamodb")',
    "for comparison: import Powertools' resolver": "import aws_lambda_powertools.event_handler",
}
TIMED = r"""
import json, time
t0 = time.perf_counter()
{code}
print(json.dumps({{"import": time.perf_counter() - t0, "request": 0.0, "outcome": "", "sent": []}}))
"""


def api_event(method: str, resource: str, body: str | None = None) -> dict[str, Any]:
    """An API Gateway REST proxy event of alice in texas, as the authorizer left it."""
    park = {"parkId": "p1"} if "{parkId}" in resource else None
    path = resource.replace("{parkId}", "p1")
    authorizer = {"userId": "alice", "tenantId": "texas", "roles": "admin,member"}
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": park,
        "stageVariables": None,
        "body": body,
        "isBase64Encoded": False,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/v1{path}",
            "stage": "v1",
            "requestId": "benchmark",
            "accountId": ACCOUNT,
            "apiId": "abc",
            "identity": {"sourceIp": "203.0.113.1"},
            "authorizer": {**authorizer, "tier": "premium", "table": TABLE},
        },
    }


def authorizer_event(token: str) -> dict[str, Any]:
    """A REQUEST authorizer event for ``GET /parks``."""
    return {
        "type": "REQUEST",
        "methodArn": f"arn:aws:execute-api:us-east-1:{ACCOUNT}:abc/v1/GET/parks",
        "resource": "/parks",
        "path": "/parks",
        "httpMethod": "GET",
        "headers": {"Authorization": f"Bearer {token}"},
        "requestContext": {"accountId": ACCOUNT, "apiId": "abc", "stage": "v1"},
    }


def alice_token() -> str:
    """Signed here, so the probe's interpreter never imports PyJWT to make it."""
    import jwt

    now = int(time.time())
    claims = {"sub": "alice", "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 3600}
    return jwt.encode(claims, SECRET, algorithm="HS256")


def cases() -> dict[str, tuple[str, dict[str, Any], bool]]:
    """measure -> (handler module, event, whether the request reaches AWS)."""
    bad_webhook = '{"eventType": "park-opened"}'  # no endpoint, and a type never published
    return {
        "authorizer, malformed token (401)": ("authorizer", authorizer_event("x"), False),
        "authorizer, valid token (Allow)": ("authorizer", authorizer_event(alice_token()), True),
        "announcer, input without tenantId (refused)": (
            "announcer",
            {"parkId": "p1", "status": "park-closed"},
            False,
        ),
        "announcer, status change (no webhook yet)": (
            "announcer",
            {"tenantId": "texas", "parkId": "p1", "status": "park-closed"},
            True,
        ),
        "webhooks, POST invalid body (400)": (
            "webhooks",
            api_event("POST", "/parks/{parkId}/webhooks", bad_webhook),
            False,
        ),
        "webhooks, GET list (200)": (
            "webhooks",
            api_event("GET", "/parks/{parkId}/webhooks"),
            True,
        ),
        "settings, PUT invalid body (400)": (
            "settings",
            api_event("PUT", "/settings", '{"customerId": ""}'),
            False,
        ),
        "settings, GET (200)": ("settings", api_event("GET", "/settings"), True),
    }


def environment(function: str | None) -> dict[str, str]:
    base = {
        "PATH": os.defpath,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "benchmark",
        "AWS_SECRET_ACCESS_KEY": "benchmark",
        "AWS_EC2_METADATA_DISABLED": "true",
        # Nothing listens there: a call the hook does not answer fails at once, offline.
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    return base if function is None else {**base, **GLOBAL_ENV, **FUNCTION_ENV[function]}


def _once(command: list[str], env: dict[str, str]) -> dict[str, Any]:
    out = subprocess.run(  # noqa: S603 - runs this interpreter on our own code
        [sys.executable, "-c", *command], capture_output=True, text=True, check=True, env=env
    ).stdout
    found: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return found


def measure(runs: int = 11) -> dict[str, dict[str, Any]]:
    """Per case: median ms of ``runs`` interleaved fresh interpreters (import, first
    request, both), the AWS calls the request made and how it was answered."""
    commands = {
        name: ([PROBE, str(APP), module, json.dumps(event), "hook" if aws else "-", SECRET], module)
        for name, (module, event, aws) in cases().items()
    }
    samples: dict[str, list[dict[str, Any]]] = {name: [] for name in [*commands, *COMPARISONS]}
    for _ in range(runs):
        for name, (command, module) in commands.items():
            samples[name].append(_once(command, environment(module)))
        for name, code in COMPARISONS.items():
            samples[name].append(_once([TIMED.format(code=code)], environment(None)))
    return {
        name: {
            "import": statistics.median(s["import"] for s in got) * 1e3,
            "request": statistics.median(s["request"] for s in got) * 1e3,
            "total": statistics.median(s["import"] + s["request"] for s in got) * 1e3,
            "calls": ", ".join(call.rsplit(".", 1)[-1] for call in got[0]["sent"]) or "-",
            "outcome": got[0]["outcome"],
        }
        for name, got in samples.items()
    }


def results(runs: int = 11) -> list[dict[str, Any]]:
    """One row per case: import plus first request, median ms; no baseline."""
    return [
        {
            "measure": f"example {name}: import + first request (ms)",
            "tenantkit": round(figures["total"], 1),
            "baseline": "-",
            "ratio": "-",
            "target": "-",
        }
        for name, figures in measure(runs).items()
    ]


def main() -> None:
    print("| case | import (ms) | first request (ms) | total (ms) | AWS calls | answer |")
    print("|---|---|---|---|---|---|")
    for name, f in measure(int(sys.argv[1]) if len(sys.argv) > 1 else 11).items():
        print(
            f"| {name} | {f['import']:.0f} | {f['request']:.1f} | {f['total']:.0f}"
            f" | {f['calls']} | {f['outcome']} |"
        )


if __name__ == "__main__":
    main()
