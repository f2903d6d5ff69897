"""Keys, token makers, a role map and a moto table for the tenantkit.auth tests."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from moto import mock_aws

from tenantkit.auth import SecretKey
from tenantkit.auth.directory import UserDirectory
from tenantkit.auth.rolemap import RoleMap
from tenantkit.auth.verifier import TokenVerifier
from tests.tables import create_keyed_table

SECRET = "a-development-secret-of-at-least-32-bytes!"
ISSUER = "https://issuer.example"
AUDIENCE = "parks-api"
ROLE_MAP: dict[str, Any] = {
    "roles": ["admin", "member", "visitor"],
    "routes": {
        "GET /parks": ["admin", "member", "visitor"],
        "POST /parks": ["admin", "member"],
        "GET /parks-admin": ["admin"],
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
TABLE = "tenantkit-test"


@pytest.fixture(scope="session")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def hs_token() -> Callable[..., str]:
    """Make an HS256 token with good defaults; keyword arguments override claims."""

    def make(headers: dict[str, Any] | None = None, key: str = SECRET, **claims: Any) -> str:
        now = int(time.time())
        body: dict[str, Any] = {"sub": "alice", "iss": ISSUER, "aud": AUDIENCE, "iat": now}
        body["exp"] = now + 600
        body.update(claims)
        body = {k: v for k, v in body.items() if v is not ...}
        return jwt.encode(body, key, algorithm="HS256", headers=headers)

    return make


@pytest.fixture
def hs_verifier() -> TokenVerifier:
    return TokenVerifier(
        algorithm="HS256", keys=SecretKey(SECRET), issuer=ISSUER, audience=AUDIENCE
    )


@pytest.fixture
def role_map() -> RoleMap:
    return RoleMap.from_dict(ROLE_MAP)


def create_table(client: Any) -> None:
    create_keyed_table(client, TABLE)


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_table(client)
        yield client


@pytest.fixture
def dynamodb_requests(dynamodb: Any) -> Iterator[list[str]]:
    """Names of the DynamoDB operations sent from now on."""
    sent: list[str] = []

    def count(request: Any, **kwargs: Any) -> None:
        sent.append(request.headers.get("X-Amz-Target", b"").decode().split(".")[-1])

    dynamodb.meta.events.register("before-send.dynamodb", count)
    yield sent
    dynamodb.meta.events.unregister("before-send.dynamodb", count)


@pytest.fixture
def directory(dynamodb: Any) -> UserDirectory:
    return UserDirectory(TABLE, client=dynamodb, known_roles=ROLE_MAP["roles"])
