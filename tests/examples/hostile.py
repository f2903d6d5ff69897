"""The attacker's kit for tests/examples/test_direct_attacks.py: hostile strings, and an
arena of two fresh tenants on the served example that checks, after every attack, that
nothing leaked and nothing of anyone else changed.

The arena's oracle is written here, from the key format the issue names
(``<tenant>#park#<id>``, ``GSI1PK = <tenant>#park``, ``tkshard = <tenant>#<shard>``) and
read straight from the backend's table: nothing is imported from the code under test.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from tests.examples.conftest import EXAMPLE, Response, Served, make_token

# One value per character class the issue and the brief name: each would break a JSON
# string, a Velocity template or a key if it reached one unescaped.
HOSTILE = [
    'double " quote',
    "back\\slash \\",
    "close } brace ] bracket",
    "hash # sign",
    "dollar $ and ${x} and $!x",
    "nul \u0000 byte",
    "new\nline\r\nand\ttab",
    "single ' quote \\'",
    "lone \ud800 surrogate",
    "#set($x = 1)$x",
    "$context.authorizer.tenantId",
    'x", "pk": {"S": "washington#park#p"}, "y": "',
    'x"}, "pk": {"S": "washington#park#p"}, "y": {"S": "',
    "#if(true)yes#end ## line *# #* block",
    "\\u0022 escaped quote",
    "~s~t cursor separators",
]
# The characters they are made of, for hypothesis.
ALPHABET = "\"\\}{#$\u0000\n'\ud800~:,[]()!. pSkxé\U0001f3de"
FRAGMENTS = [
    "#set($x = 1)",
    "$context.authorizer.tenantId",
    '", "pk": {"S": "washington#park#p"}, "y": "',
    "\\u0000",
    "${h}",
    "~s",
    "~t",
]
# Request content types: only a JSON one may select the mapping template.
CONTENT_TYPES = [
    "text/plain",
    "application/x-www-form-urlencoded",
    "application/JSON",
    "application/json; charset=utf-16",
    "application/json, text/plain",
    "application/x-amz-json-1.0",
    "*/*",
    "",
]
# Query strings, as sent: none is a whole number from 1 to 100 in ASCII digits.
HOSTILE_LIMITS = [
    "limit=0",
    "limit=101",
    "limit=-1",
    "limit=1e2",
    "limit=0x10",
    "limit=%EF%BC%91",  # a fullwidth digit one
    "limit=1%20",
    "limit=%201",
    "limit=1.0",
    "limit=%2B1",
    "limit=01",
    "limit=%00",
    "limit=" + "9" * 30,
    "limit=1%3B2",
    "limit=%23set(%24limit%20%3D%201000)",
    "limit=%ED%A0%80",
]
# What a park item written by the direct routes may hold; nothing else.
PARK_ATTRIBUTES = {
    "pk",
    "sk",
    "GSI1PK",
    "GSI1SK",
    "tkshard",
    "parkId",
    "name",
    "status",
    "createdAt",
}


def has_lone_surrogate(text: str) -> bool:
    """Text that UTF-8 (so DynamoDB) cannot carry."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def path_segment(value: str) -> str:
    """``value`` percent-encoded as one path segment, a lone surrogate as the (invalid)
    UTF-8 bytes a client could still send."""
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


def at_path(resource: str, park_id: str) -> str:
    """``resource`` with ``{parkId}`` filled in as a client would send it, for values
    ``Served.call``'s own quoting cannot encode (a lone surrogate)."""
    return resource.replace("{parkId}", path_segment(park_id))


def with_query(resource: str, **query: str | None) -> str:
    """``resource`` with a query string encoded as :func:`path_segment` encodes."""
    pairs = [f"{path_segment(k)}={path_segment(v)}" for k, v in query.items() if v is not None]
    return resource + ("?" + "&".join(pairs) if pairs else "")


@dataclass
class Tenant:
    id: str
    admin: str
    # park id -> what GET /parks/{parkId} answers for it
    parks: dict[str, dict[str, Any]] = field(default_factory=dict)


def _seeded_park_names() -> set[str]:
    seed = json.loads((EXAMPLE / "seed.json").read_text())
    return {park["name"] for parks in seed["parks"].values() for park in parks}


class Arena:
    """A victim and an attacker, both fresh tenants, and the checks every attack ends with."""

    def __init__(self, served: Served) -> None:
        self.served = served
        self.victim = Tenant(*served.new_tenant("victim"))
        self.attacker = Tenant(*served.new_tenant("attacker"))
        tag = uuid.uuid4().hex[:12]
        # Names only the victim's items (and the seed's tenants') hold: finding one in an
        # answer to the attacker is a leak. The attacker never names "victim-only"; it
        # claims "claimable" and "v" * 64 for itself in one test each.
        victim_parks = {
            "shared-id": {"name": f"victim canary one {tag}", "status": "park-opened"},
            "victim-only": {"name": f"victim canary two {tag}", "status": "natural-disaster"},
            "claimable": {"name": f"victim canary three {tag}", "status": "park-reopened"},
            "v" * 64: {"name": f"victim canary four {tag}", "status": "park-closed"},
        }
        for park_id, park in victim_parks.items():
            self.create(self.victim, park_id, park["name"], park["status"])
        self.create(self.attacker, "shared-id", "attacker's own shared-id", "park-opened")
        self.canaries = {park["name"] for park in victim_parks.values()} | _seeded_park_names()

    def targeted(self) -> list[str]:
        """:data:`HOSTILE`'s breakouts aimed at this victim: a second ``pk`` naming its park,
        a second ``tenantId`` in the execution input (escaped once, twice, not at all)."""
        victim = self.victim.id
        return [
            f'x", "pk": {{"S": "{victim}#park#victim-only"}}, "y": "',
            f'x"}}, "pk": {{"S": "{victim}#park#victim-only"}}, "sk": {{"S": "park',
            f'victim-only","tenantId":"{victim}',
            f'victim-only\\",\\"tenantId\\":\\"{victim}',
            f'victim-only\\\\\\",\\\\\\"tenantId\\\\\\":\\\\\\"{victim}',
            f"{victim}#park#victim-only",
            f"$util.escapeJavaScript('{victim}')",
        ]

    def create(self, tenant: Tenant, park_id: str, name: str, status: str | None = None) -> None:
        body = {"id": park_id, "name": name} | ({"status": status} if status else {})
        response = self.served.call(tenant.admin, "POST", "/parks", body=body)
        assert (response.status, response.body) == (201, {"id": park_id}), response.body
        tenant.parks[park_id] = {"id": park_id, "name": name, "status": status}

    def attack(
        self, method: str, resource: str, params: dict[str, str] | None = None, **sent: Any
    ) -> Response:
        """One request as the attacker: never a 5xx, never another tenant's canary."""
        response = self.served.call(self.attacker.admin, method, resource, params, **sent)
        request = (method, resource, params, sent)
        assert response.status < 500, (request, response.status, response.body)
        text = json.dumps(response.body, ensure_ascii=False) + json.dumps(response.headers)
        leaked = {canary for canary in self.canaries if canary in text}
        assert not leaked, (request, response.status, response.body)
        if response.status >= 400:
            assert isinstance(response.body, dict), (request, response.body)
            assert set(response.body) == {"message"}, (request, response.body)
        return response

    def attack_raw(self, method: str, path: str, data: bytes, content_type: str) -> Response:
        """Like :meth:`attack`, with the body's bytes and ``Content-Type`` as given (which
        ``Served.call`` always sets to ``application/json``)."""
        import urllib.error
        import urllib.request

        request = urllib.request.Request(  # noqa: S310 - the served example on loopback
            self.served.url + path, data=data, method=method
        )
        request.add_header("Authorization", f"Bearer {make_token(self.attacker.admin)}")
        request.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310
                status, text = answer.status, answer.read()
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read()
        sent = (method, path, data[:200], content_type)
        assert status < 500, (sent, status, text)
        leaked = {canary for canary in self.canaries if canary.encode() in text}
        assert not leaked, (sent, status, text)
        return Response(status, json.loads(text) if text.strip() else None, {})

    def hostile_cursors(self) -> list[str]:
        """Garbage, the victim's own cursors, and cursors crafted to name its keys."""
        victim, attacker = self.victim, self.attacker
        first = self.served.call(victim.admin, "GET", "/parks", query={"limit": "1"})
        victim_cursor = first.body["cursor"]
        assert victim_cursor
        crafted_key = {
            "pk": {"S": f"{victim.id}#park#victim-only"},
            "sk": {"S": "park"},
            "GSI1PK": {"S": f"{victim.id}#park"},
            "GSI1SK": {"S": "victim-only"},
        }
        as_json = json.dumps(crafted_key)
        return [
            victim_cursor,
            f"victim-only~s{victim.id}#park#victim-only~spark",
            "victim-only~spark#victim-only~spark",
            f"a~s~t{victim.id}#park#victim-only~spark",
            f"{victim.id}#park~s{victim.id}#park#a~spark",
            f"a~s../../{victim.id}#park#a~spark",
            f'a"}}, "GSI1PK": {{"S": "{victim.id}#park"}}, "x": {{"S": "~sa~sb',
            f"a~s{attacker.id}#park#a\\~sb",
            base64.b64encode(as_json.encode()).decode(),
            base64.urlsafe_b64encode(b"victim-only~spark#victim-only~spark").decode(),
            as_json,
            "garbage",
            "~s~s",
            "a~sb",
            "a~sb~sc~sd",
            "a~sb~s",
            "\u0000~s\u0000~s\u0000",
            "\ud800~s\ud800~s\ud800",
            "x" * 16384,
            "x" * 16385,
        ]

    # -- what the backend holds -------------------------------------------------------

    def items(self) -> list[dict[str, Any]]:
        """The whole table, read straight from the backend (small: one module's tenants)."""
        client = self.served.client("dynamodb")
        found: list[dict[str, Any]] = []
        start: dict[str, Any] = {}
        while True:
            page = client.scan(TableName=self.served.table, **start)
            found += page["Items"]
            if "LastEvaluatedKey" not in page:
                return found
            start = {"ExclusiveStartKey": page["LastEvaluatedKey"]}

    def others(self, items: list[dict[str, Any]]) -> list[str]:
        """Every item the attacker does not own (other tenants', the control plane), in a
        form that compares exactly."""
        prefix = f"{self.attacker.id}#"
        return sorted(
            json.dumps(item, sort_keys=True)
            for item in items
            if not item["pk"]["S"].startswith(prefix)
        )

    def stored_parks(
        self, tenant: Tenant, items: list[dict[str, Any]] | None = None
    ) -> dict[str, dict[str, Any]]:
        """The tenant's parks as the table holds them (or ``items``, a scan of it), each
        checked against the key format: every key and index attribute names the tenant,
        and nothing undeclared was added."""
        prefix = f"{tenant.id}#"
        parks = {}
        for item in self.items() if items is None else items:
            if not item["pk"]["S"].startswith(prefix):
                continue
            assert item["sk"] == {"S": "park"}, item  # a tenant's items here are parks
            values = {name: value["S"] for name, value in item.items()}
            park_id = values["parkId"]
            assert set(values) <= PARK_ATTRIBUTES, values
            assert values["pk"] == f"{tenant.id}#park#{park_id}", values
            assert values["GSI1PK"] == f"{tenant.id}#park", values
            assert values["GSI1SK"] == park_id, values
            assert values["tkshard"].startswith(prefix), values
            parks[park_id] = {
                "id": park_id,
                "name": values["name"],
                "status": values.get("status"),
            }
        return parks

    def listed(self, tenant: Tenant, **query: str) -> dict[str, dict[str, Any]]:
        """Every park ``tenant``'s admin lists through the API, following the cursors (the
        attacker's requests go through :meth:`attack`, so they are checked too)."""
        found: dict[str, dict[str, Any]] = {}
        cursor = None
        while True:
            page_query = query | ({"cursor": cursor} if cursor else {})
            if tenant is self.attacker:
                page = self.attack("GET", "/parks", query=page_query)
            else:
                page = self.served.call(tenant.admin, "GET", "/parks", query=page_query)
            assert page.status == 200, page.body
            found |= {item["id"]: item for item in page.body["items"]}
            cursor = page.body["cursor"]
            if cursor is None:
                return found

    def assert_victim_intact(self, items: list[dict[str, Any]]) -> None:
        """The victim's parks, read back through the API and from the table, are the ones
        it wrote, with nothing added."""
        victim = self.victim
        assert self.stored_parks(victim, items) == victim.parks
        assert self.listed(victim) == victim.parks
        for park_id, park in victim.parks.items():
            read = self.served.call(victim.admin, "GET", "/parks/{parkId}", {"parkId": park_id})
            assert (read.status, read.body) == (200, park)

    def assert_only_own_parks(
        self, response: Response, own: dict[str, dict[str, Any]] | None = None
    ) -> None:
        """A page the attacker got holds the attacker's stored parks (``own``, if the
        caller already read them), and only those."""
        assert response.status == 200, response.body
        own = self.stored_parks(self.attacker) if own is None else own
        for item in response.body["items"]:
            assert own.get(item["id"]) == item, item
