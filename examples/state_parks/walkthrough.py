"""A guided tour of the state-parks API, over real HTTP, against `tenantkit local`.

Start the API first (`make demo` does all of this for you)::

    tenantkit local examples/state_parks/template.yaml --seed examples/state_parks/seed.json \\
        --parameter-overrides JwtSecret=$SECRET AllowLocalWebhooks=true --print-tokens > tokens.txt
    python examples/state_parks/walkthrough.py --url http://127.0.0.1:8000 --tokens tokens.txt

Tokens come from the gateway's ``token <user> <jwt>`` lines (``--tokens``), or are signed
here with the template's JwtSecret (``--jwt-secret`` or ``$JWT_SECRET``). Each step prints
the request, the answer and a check; a small webhook receiver listens on another loopback
port. The suspension step acts as an operator on the server's backend
(``--aws-endpoint-url``, which `tenantkit local` prints on stderr as
``tenantkit local: backend ... behind URL``; ``make demo`` passes it); without it that step
is skipped and says so. The exit status is 0 only if every check passed. Ready-to-paste
curl lines follow.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

USERS = ("alice", "bob", "carol", "dave")
TEXAS = {"palo-duro-canyon", "big-bend-ranch", "enchanted-rock"}
WASHINGTON = {"deception-pass", "cape-disappointment"}
COLORADO = {"eldorado-canyon", "roxborough"}
# The template's JwtIssuer/JwtAudience defaults.
ISSUER = "https://auth.state-parks.example"
AUDIENCE = "state-parks-api"
# The authorizer's result TTL (api.yaml), and how long its container keeps a user's record
# and a tenant's status (app/config.py): a switch or a suspension shows within the sum.
AUTHORIZER_TTL = 10
USER_RECORD_TTL = 5
TENANT_STATUS_TTL = 5
# The table `tenantkit local` creates for the template's ParksTable.
LOCAL_TABLE = "tenantkit-local-ParksTable"


@dataclass
class Reply:
    status: int
    body: Any


class Receiver:
    """A webhook endpoint on a loopback port; keeps the SNS notifications it is sent."""

    def __init__(self) -> None:
        self.notifications: list[dict[str, Any]] = []
        notifications = self.notifications

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                    if body.get("Type") == "Notification":
                        notifications.append(json.loads(body["Message"]))
                except (ValueError, KeyError, TypeError, AttributeError):
                    pass  # not an SNS notification; ignore it
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/alice"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Tour:
    url: str
    tokens: dict[str, str]
    aws_endpoint_url: str | None = None
    table: str = LOCAL_TABLE
    failures: list[str] = field(default_factory=list)
    step_number: int = 0

    def step(self, title: str) -> None:
        self.step_number += 1
        print(f"\n== {self.step_number}. {title}")

    def request(
        self,
        user: str,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        *,
        quiet: bool = False,
    ) -> Reply:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method)  # noqa: S310
        request.add_header("Authorization", f"Bearer {self.tokens[user]}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        shown = " ".join(f"-H '{k}: {v}'" for k, v in (headers or {}).items())
        if not quiet:
            print(f"   {user:5} {method} {path} {shown}{' ' + json.dumps(body) if body else ''}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                reply = Reply(response.status, _json(response.read()))
        except urllib.error.HTTPError as error:
            reply = Reply(error.code, _json(error.read()))
        if not quiet:
            answer = "" if reply.body is None else " " + json.dumps(reply.body)
            print(f"         -> {reply.status}{answer[:300]}")
        return reply

    def check(self, ok: bool, claim: str) -> bool:
        print(f"   {'PASS' if ok else 'FAIL'}: {claim}")
        if not ok:
            self.failures.append(f"step {self.step_number}: {claim}")
        return ok

    def wait_for(self, what: str, test: Callable[[], bool], timeout: float) -> bool:
        """Poll ``test`` once a second; prints one line with a dot per attempt."""
        started = time.monotonic()
        print(f"   ... waiting for {what} ", end="", flush=True)
        while not test():
            if time.monotonic() - started > timeout:
                print(" gave up")
                return False
            print(".", end="", flush=True)
            time.sleep(1)
        print(f" {time.monotonic() - started:.1f} s")
        return True


def _json(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")


def park_ids(reply: Reply) -> set[str]:
    if reply.status != 200 or not isinstance(reply.body, dict):
        return set()
    return {item["id"] for item in reply.body.get("items", [])}


def run(tour: Tour) -> None:
    tour.step("alice (texas admin) lists parks: only texas's")
    texas = park_ids(tour.request("alice", "GET", "/parks"))
    tour.check(texas == TEXAS, f"alice sees exactly texas's parks {sorted(TEXAS)}")

    tour.step("bob (washington admin) lists parks: only washington's")
    tour.check(
        park_ids(tour.request("bob", "GET", "/parks")) == WASHINGTON,
        f"bob sees exactly washington's parks {sorted(WASHINGTON)}",
    )
    reply = tour.request("bob", "GET", "/parks/palo-duro-canyon")
    tour.check(reply.status == 404, "texas's park does not exist for bob (404, not 403)")

    tour.step("bob spoofs the tenant: headers and query strings change nothing, bodies are refused")
    spoofed = tour.request("bob", "GET", "/parks?tenantId=texas", headers={"X-Tenant-Id": "texas"})
    tour.check(park_ids(spoofed) == WASHINGTON, "X-Tenant-Id and ?tenantId= are ignored")
    reply = tour.request(
        "bob", "GET", "/parks/palo-duro-canyon?tenantId=texas", headers={"X-Tenant-Id": "texas"}
    )
    tour.check(reply.status == 404, "palo-duro-canyon is still invisible to bob")
    body = {"id": "lake-chelan", "name": "Lake Chelan State Park", "tenantId": "texas"}
    reply = tour.request("bob", "POST", "/parks", body)
    tour.check(reply.status == 400, "a body naming a tenant is refused before any template runs")
    del body["tenantId"]
    reply = tour.request("bob", "POST", "/parks", body, headers={"X-Tenant-Id": "texas"})
    tour.check(reply.status == 201, "bob adds a park, naming texas in a header")
    reply = tour.request("alice", "GET", "/parks/lake-chelan")
    tour.check(reply.status == 404, "it went to washington: texas (alice) cannot see it")
    reply = tour.request("bob", "GET", "/parks/lake-chelan")
    tour.check(reply.status == 200, "bob sees it in washington")

    tour.step("carol (texas visitor) tries to add a park and to raise her own role")
    reply = tour.request("carol", "POST", "/parks", {"id": "carols-park", "name": "Carol's Park"})
    tour.check(reply.status == 403, "a visitor cannot add parks (403)")
    reply = tour.request("carol", "PUT", "/customers/texas/roles", {"roles": ["admin"]})
    tour.check(reply.status == 403, "nobody raises their own roles (403)")
    reply = tour.request("carol", "GET", "/settings")
    tour.check(
        isinstance(reply.body, dict) and reply.body.get("active", {}).get("roles") == ["visitor"],
        "carol is still a visitor",
    )

    tour.step("alice subscribes a webhook, closes a park: state machine -> topic -> webhook")
    receiver = Receiver()
    try:
        reply = tour.request(
            "alice",
            "POST",
            "/parks/palo-duro-canyon/webhooks",
            {"eventType": "park-closed", "endpoint": receiver.url},
        )
        webhook = reply.body.get("id") if isinstance(reply.body, dict) else None
        tour.check(reply.status == 201 and bool(webhook), f"subscribed {receiver.url}")
        reply = tour.request(
            "alice", "POST", "/parks/palo-duro-canyon/statuses", {"status": "park-closed"}
        )
        tour.check(reply.status == 204, "UpdateParkStatus updated the park and announced it")
        reply = tour.request("alice", "GET", "/parks/palo-duro-canyon")
        status = reply.body.get("status") if isinstance(reply.body, dict) else None
        tour.check(status == "park-closed", "the park is closed")
        delivered = tour.wait_for(
            "the webhook", lambda: bool(receiver.notifications), timeout=AUTHORIZER_TTL + 10
        )
        event = receiver.notifications[0] if delivered else {}
        if delivered:
            print(f"   receiver got: {json.dumps(event)}")
        tour.check(
            event.get("tenantId") == "texas"
            and event.get("eventType") == "park-closed"
            and event.get("resourceId") == "palo-duro-canyon",
            "the receiver got texas's park-closed event for palo-duro-canyon",
        )
        if webhook:
            reply = tour.request("alice", "DELETE", f"/parks/palo-duro-canyon/webhooks/{webhook}")
            tour.check(reply.status == 204, "the webhook is removed again")
        reply = tour.request(
            "alice", "POST", "/parks/palo-duro-canyon/statuses", {"status": "park-reopened"}
        )
        tour.check(reply.status == 204, "and the park reopens")
        reply = tour.request(
            "bob", "POST", "/parks/palo-duro-canyon/statuses", {"status": "park-closed"}
        )
        tour.check(reply.status == 404, "bob cannot close it: the machine finds no such park")
    finally:
        receiver.close()

    tour.step("alice switches to colorado, where she is a visitor")
    reply = tour.request("alice", "PUT", "/settings", {"customerId": "colorado"})
    tour.check(reply.status == 204, "alice is a member of colorado, so the switch is allowed")
    print(
        f"   (API Gateway caches the authorizer's answer per token for up to {AUTHORIZER_TTL} s;"
        " `tenantkit local` does the same, so the switch shows within that time)"
    )
    switched = tour.wait_for(
        "the cached authorization to expire",
        lambda: park_ids(tour.request("alice", "GET", "/parks", quiet=True)) == COLORADO,
        timeout=AUTHORIZER_TTL + USER_RECORD_TTL + 5,
    )
    tour.request("alice", "GET", "/parks")
    tour.check(switched, f"alice now sees colorado's parks {sorted(COLORADO)}")
    reply = tour.request("alice", "PUT", "/settings", {"customerId": "washington"})
    tour.check(reply.status == 403, "she cannot switch to washington, which she is not in")

    tour.step("an operator suspends colorado: alice, active there, is refused")
    suspend_colorado(tour)
    reply = tour.request("alice", "PUT", "/settings", {"customerId": "texas"})
    tour.check(reply.status == 204, "back to texas for the curl lines below")

    tour.step("dave, with no tenant, creates one and becomes its admin; joining texas fails")
    customers = tour.request("dave", "GET", "/customers")
    taken = {c["id"] for c in customers.body.get("items", [])} if customers.status == 200 else set()
    name = "newstate" if "newstate" not in taken else f"newstate-{int(time.time())}"
    reply = tour.request("dave", "POST", "/customers", {"id": name, "makeActive": True})
    tour.check(reply.status == 201, f"dave created {name}")
    reply = tour.request("dave", "GET", "/settings")
    tour.check(
        reply.status == 200
        and reply.body.get("active") == {"customerId": name, "roles": ["admin"]},
        f"dave is the admin of {name}, his active tenant",
    )
    reply = tour.request("dave", "POST", "/customers", {"id": "texas", "roles": ["admin"]})
    tour.check(reply.status == 403, "an existing tenant cannot be joined by creating it (403)")
    reply = tour.request("dave", "PUT", "/settings", {"customerId": "texas"})
    tour.check(reply.status == 403, "nor by switching to it (403)")


def suspend_colorado(tour: Tour) -> None:
    """Suspend colorado as an operator (tenantkit.auth.TenantAdmin, audited), watch alice
    lose its routes but keep the users API, then resume it."""
    if tour.aws_endpoint_url is None:
        print("   SKIP: no --aws-endpoint-url, so no operator can reach the backend")
        return
    import boto3

    from tenantkit.auth import Operator, TenantAdmin

    # `tenantkit local`'s backend: its region, and any credentials (it checks none).
    client = boto3.client(
        "dynamodb",
        endpoint_url=tour.aws_endpoint_url,
        region_name=os.environ.get("AWS_REGION", "us-east-1"),
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 - the local backend's, not a secret
    )
    admin = TenantAdmin(tour.table, client=client)
    operator = Operator("walkthrough")
    print("   operator: TenantAdmin.suspend('colorado')  (or: tenantkit tenant suspend colorado)")
    suspended = admin.suspend("colorado", actor=operator)
    tour.check(suspended.status == "suspended", "colorado is suspended")
    refused = tour.wait_for(
        "the authorizer to see it",
        lambda: tour.request("alice", "GET", "/parks", quiet=True).status == 403,
        timeout=AUTHORIZER_TTL + TENANT_STATUS_TTL + 5,
    )
    tour.request("alice", "GET", "/parks")
    tour.check(refused, "alice may no longer list colorado's parks (403)")
    reply = tour.request("alice", "GET", "/settings")
    tour.check(reply.status == 200, "she keeps the users API, to switch to another tenant")
    print("   operator: TenantAdmin.resume('colorado')")
    resumed = admin.resume("colorado", actor=operator)
    tour.check(resumed.status == "active", "colorado is active again")


def curl_lines(url: str, tokens: dict[str, str]) -> list[str]:
    def auth(user: str) -> str:
        return f"-H 'Authorization: Bearer {tokens[user]}'"

    json_type = "-H 'Content-Type: application/json'"
    return [
        f"curl -s {auth('alice')} {url}/parks",
        f"curl -s {auth('bob')} -H 'X-Tenant-Id: texas' {url}/parks",
        f"curl -s {auth('bob')} {url}/parks/palo-duro-canyon",
        f'curl -s {auth("carol")} -X POST {json_type} -d \'{{"id":"x","name":"X"}}\' {url}/parks',
        f'curl -s -w "%{{http_code}}\\n" {auth("alice")} -X POST {json_type} '
        f'-d \'{{"status":"park-closed"}}\' {url}/parks/palo-duro-canyon/statuses',
        f"curl -s {auth('alice')} {url}/customers",
        f"curl -s {auth('dave')} {url}/settings",
    ]


def read_tokens(path: Path) -> dict[str, str]:
    """``token <user> <jwt>`` lines, as `tenantkit local --print-tokens` prints them."""
    tokens = {}
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "token":
            tokens[parts[1]] = parts[2]
    return tokens


def sign_tokens(secret: str, issuer: str, audience: str) -> dict[str, str]:
    import jwt

    now = int(time.time())
    return {
        user: jwt.encode(
            {"sub": user, "iss": issuer, "aud": audience, "iat": now, "exp": now + 12 * 3600},
            secret,
            algorithm="HS256",
        )
        for user in USERS
    }


def wait_ready(url: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_local/health", timeout=2):  # noqa: S310
                return True
        except OSError:
            time.sleep(0.2)
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get("STATE_PARKS_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--tokens", type=Path, help="file of `token <user> <jwt>` lines")
    parser.add_argument("--jwt-secret", default=os.environ.get("JWT_SECRET"))
    parser.add_argument("--issuer", default=ISSUER)
    parser.add_argument("--audience", default=AUDIENCE)
    parser.add_argument(
        "--ready-timeout", type=float, default=30, help="seconds to wait for the server"
    )
    parser.add_argument(
        "--aws-endpoint-url", help="the server's AWS backend, for the operator's suspension step"
    )
    parser.add_argument("--table", default=LOCAL_TABLE, help="the parks table's name there")
    args = parser.parse_args(argv)
    url = args.url.rstrip("/")

    if args.tokens is not None:
        tokens = read_tokens(args.tokens)
    elif args.jwt_secret:
        tokens = sign_tokens(args.jwt_secret, args.issuer, args.audience)
    else:
        parser.error("give --tokens FILE or --jwt-secret (or set JWT_SECRET)")
    missing = [user for user in USERS if user not in tokens]
    if missing:
        parser.error(f"no token for {', '.join(missing)}")
    if not wait_ready(url, timeout=args.ready_timeout):
        print(f"walkthrough: nothing answers at {url}/_local/health", file=sys.stderr)
        return 2

    print(f"State parks walkthrough against {url}")
    tour = Tour(url, tokens, args.aws_endpoint_url, args.table)
    run(tour)

    print("\nTry it yourself while the server runs:")
    for line in curl_lines(url, tokens):
        print(f"  {line}")
    if tour.failures:
        print(f"\n{len(tour.failures)} check(s) FAILED:")
        for failure in tour.failures:
            print(f"  - {failure}")
        return 1
    print(f"\nAll checks passed ({tour.step_number} steps).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
