"""Tokens issued by a real Cognito implementation: moto's cognito-idp (issue 11, item 2).

moto signs RS256 id and access tokens the way Cognito does and serves the pool's JWKS and
discovery document at the real URLs inside ``mock_aws``. It intercepts ``requests`` but
not ``urllib``, so the verifier's injectable fetcher goes through ``requests`` here. It
also signs every pool's tokens with one key (``kid: "dummy"``): only the issuer check
tells two pools apart, which makes it a good adversary for that check.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
import requests
from moto import mock_aws

from tenantkit.auth import Jwks
from tenantkit.auth.authorizer import LambdaAuthorizer
from tenantkit.auth.rolemap import RoleMap
from tenantkit.auth.verifier import ANY_AUDIENCE, TokenVerifier
from tenantkit.errors import ConfigurationError, UnauthorizedError

REGION = "us-east-1"
PASSWORD = "Correct-horse-1!"


@dataclass
class Pool:
    """One user pool with two app clients and a signed-in user's tokens from each."""

    client: Any
    pool_id: str
    web: str
    other: str
    sub: str
    tokens: dict[str, dict[str, str]]
    fetched: list[str] = field(default_factory=list)

    @property
    def issuer(self) -> str:
        return f"https://cognito-idp.{REGION}.amazonaws.com/{self.pool_id}"

    def fetch(self, url: str) -> dict[str, Any]:
        """The verifier's fetcher: ``requests``, which mock_aws answers."""
        self.fetched.append(url)
        response = requests.get(url, timeout=5)
        response.raise_for_status()
        document: dict[str, Any] = response.json()
        return document

    def verifier(self, **options: Any) -> TokenVerifier:
        options.setdefault("client_ids", self.web)
        return TokenVerifier.cognito(
            self.pool_id, region=REGION, jwks_fetcher=self.fetch, **options
        )


def sign_in(client: Any, pool_id: str, client_id: str, username: str) -> dict[str, str]:
    result = client.admin_initiate_auth(
        UserPoolId=pool_id,
        ClientId=client_id,
        AuthFlow="ADMIN_NO_SRP_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD},
    )["AuthenticationResult"]
    return {"access": result["AccessToken"], "id": result["IdToken"]}


def make_pool(client: Any, name: str, username: str) -> Pool:
    pool_id = client.create_user_pool(PoolName=name)["UserPool"]["Id"]
    web, other = (
        client.create_user_pool_client(
            UserPoolId=pool_id, ClientName=app, ExplicitAuthFlows=["ADMIN_NO_SRP_AUTH"]
        )["UserPoolClient"]["ClientId"]
        for app in ("web", "other")
    )
    client.admin_create_user(
        UserPoolId=pool_id,
        Username=username,
        TemporaryPassword="Temporary-1!",
        MessageAction="SUPPRESS",
    )
    client.admin_set_user_password(
        UserPoolId=pool_id, Username=username, Password=PASSWORD, Permanent=True
    )
    attributes = client.admin_get_user(UserPoolId=pool_id, Username=username)["UserAttributes"]
    sub = next(a["Value"] for a in attributes if a["Name"] == "sub")
    tokens = {
        app: sign_in(client, pool_id, app_id, username)
        for app, app_id in (("web", web), ("other", other))
    }
    return Pool(client, pool_id, web, other, sub, tokens)


@pytest.fixture
def pool() -> Iterator[Pool]:
    with mock_aws():
        client = boto3.client("cognito-idp", region_name=REGION)
        yield make_pool(client, "parks", "alice")


def refused(verifier: TokenVerifier, token: str) -> str:
    with pytest.raises(UnauthorizedError) as info:
        verifier.verify(f"Bearer {token}")
    assert token not in str(info.value)
    return str(info.value)


# -- the two kinds of token ------------------------------------------------------------


def test_access_token_verifies_with_token_use_access(pool: Pool) -> None:
    verifier = pool.verifier()  # token_use="access" is the default
    assert pool.fetched == []  # nothing is fetched at construction
    verified = verifier.verify(f"Bearer {pool.tokens['web']['access']}")
    assert verified.subject == pool.sub  # users are keyed by sub, not by username
    assert verified.claims["client_id"] == pool.web
    assert "aud" not in verified.claims
    assert pool.fetched == [f"{pool.issuer}/.well-known/jwks.json"]


def test_id_token_verifies_with_token_use_id(pool: Pool) -> None:
    verified = pool.verifier(token_use="id").verify(f"Bearer {pool.tokens['web']['id']}")
    assert verified.subject == pool.sub
    assert verified.claims["aud"] == pool.web
    assert verified.claims["cognito:username"] == "alice"


def test_attack_id_token_where_an_access_token_is_required(pool: Pool) -> None:
    assert "token_use" in refused(pool.verifier(), pool.tokens["web"]["id"])


def test_attack_access_token_where_an_id_token_is_required(pool: Pool) -> None:
    # An access token has no aud at all, so it fails the audience check first.
    refused(pool.verifier(token_use="id"), pool.tokens["web"]["access"])


@pytest.mark.parametrize("token_use", ["access", "id"])
def test_attack_token_of_another_app_client(pool: Pool, token_use: Any) -> None:
    verifier = pool.verifier(token_use=token_use)
    assert verifier.verify(f"Bearer {pool.tokens['web'][token_use]}").subject == pool.sub
    refused(verifier, pool.tokens["other"][token_use])


@pytest.mark.parametrize("token_use", ["access", "id"])
def test_several_app_clients_may_be_accepted(pool: Pool, token_use: Any) -> None:
    verifier = pool.verifier(token_use=token_use, client_ids=[pool.web, pool.other])
    for app in ("web", "other"):
        assert verifier.verify(f"Bearer {pool.tokens[app][token_use]}").subject == pool.sub


@pytest.mark.parametrize("token_use", ["access", "id"])
def test_attack_token_of_another_user_pool(pool: Pool, token_use: Any) -> None:
    """moto signs every pool with the same key: only the issuer stops another pool's
    tokens, even for an app client id that the verifier accepts."""
    elsewhere = make_pool(pool.client, "elsewhere", "mallory")
    theirs = elsewhere.tokens["web"][token_use]
    # Control: the token is genuine, and verifies against its own pool.
    assert elsewhere.verifier(token_use=token_use).verify(f"Bearer {theirs}").subject
    ours = pool.verifier(token_use=token_use, client_ids=[pool.web, elsewhere.web])
    assert "issued by someone else" in refused(ours, theirs)


def test_expired_cognito_token_is_refused(pool: Pool) -> None:
    later = pool.verifier(clock=lambda: time.time() + 2 * 3600)  # moto's tokens last 1 h
    refused(later, pool.tokens["web"]["access"])


def test_more_required_claims_can_be_added(pool: Pool) -> None:
    alice_only = pool.verifier(required_claims={"username": "alice"})
    assert alice_only.verify(f"Bearer {pool.tokens['web']['access']}").subject == pool.sub
    bob_only = pool.verifier(required_claims={"username": "bob"})
    refused(bob_only, pool.tokens["web"]["access"])


# -- the audience opt-out ----------------------------------------------------------------


def test_audience_is_skipped_only_by_the_named_opt_out(pool: Pool) -> None:
    """Before: an access token could pass only with audience=None, which let every app
    client's tokens through, id tokens included. Now None is refused, and the named
    opt-out plus required_claims is what the preset builds."""
    jwks_url = f"{pool.issuer}/.well-known/jwks.json"
    common: dict[str, Any] = {
        "algorithm": "RS256",
        "issuer": pool.issuer,
        "keys": Jwks(jwks_url, fetcher=pool.fetch),
    }
    with pytest.raises(ConfigurationError, match="ANY_AUDIENCE"):
        TokenVerifier(audience=None, **common)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="audience"):
        TokenVerifier(**common)
    by_hand = TokenVerifier(
        audience=ANY_AUDIENCE,
        required_claims={"token_use": "access", "client_id": pool.web},
        **common,
    )
    assert by_hand.verify(f"Bearer {pool.tokens['web']['access']}").subject == pool.sub
    refused(by_hand, pool.tokens["web"]["id"])
    refused(by_hand, pool.tokens["other"]["access"])


def test_discovery_against_the_pool(pool: Pool) -> None:
    """The generic OIDC path reads the pool's discovery document, which names the issuer
    and the JWKS on the same host; id tokens then verify as with the preset."""
    verifier = TokenVerifier.oidc(
        pool.issuer,
        audience=pool.web,
        required_claims={"token_use": "id"},
        jwks_fetcher=pool.fetch,
    )
    assert pool.fetched == []
    assert verifier.verify(f"Bearer {pool.tokens['web']['id']}").subject == pool.sub
    assert pool.fetched == [
        f"{pool.issuer}/.well-known/openid-configuration",
        f"{pool.issuer}/.well-known/jwks.json",
    ]
    refused(verifier, pool.tokens["web"]["access"])


# -- configuration -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pool_id", "region", "options"),
    [
        ("us-east-1_Ab12", "eu-west-1", {}),  # the pool id names another region
        ("Ab12", "us-east-1", {}),
        ("us-east-1_Ab12/../other", "us-east-1", {}),
        ("us-east-1_Ab12", "us-east-1/evil", {}),
        ("us-east-1_Ab12", "us-east-1", {"token_use": "refresh"}),
        ("us-east-1_Ab12", "us-east-1", {"client_ids": []}),
        ("us-east-1_Ab12", "us-east-1", {"client_ids": [""]}),
        ("us-east-1_Ab12", "us-east-1", {"issuer": "https://evil.example"}),
        ("us-east-1_Ab12", "us-east-1", {"audience": ANY_AUDIENCE}),
        ("us-east-1_Ab12", "us-east-1", {"keys": Jwks("https://evil.example/jwks.json")}),
        ("us-east-1_Ab12", "us-east-1", {"required_claims": {"client_id": "x"}}),
        ("us-east-1_Ab12", "us-east-1", {"required_claims": {"token_use": "id"}}),
    ],
)
def test_cognito_configuration_errors(pool_id: str, region: str, options: Any) -> None:
    options.setdefault("client_ids", "web")
    with pytest.raises(ConfigurationError):
        TokenVerifier.cognito(pool_id, region=region, **options)


# -- logging -----------------------------------------------------------------------------


class NoUsers:
    def get_user(self, user_id: str) -> None:
        return None


def test_refused_cognito_tokens_are_logged_without_the_token(
    pool: Pool, caplog: pytest.LogCaptureFixture
) -> None:
    authorizer = LambdaAuthorizer(
        verifier=pool.verifier(),
        users=NoUsers(),
        roles=RoleMap.from_dict({"roles": ["admin"], "routes": {"GET /parks": ["admin"]}}),
    )
    arn = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/parks"
    caplog.set_level(logging.DEBUG)
    for token in (pool.tokens["web"]["id"], pool.tokens["other"]["access"]):
        with pytest.raises(Exception, match=r"^Unauthorized$"):
            authorizer({"type": "TOKEN", "authorizationToken": f"Bearer {token}", "methodArn": arn})
    assert caplog.text.count('"outcome":"unauthorized"') == 2
    for token in (pool.tokens["web"]["id"], pool.tokens["other"]["access"]):
        for part in token.split("."):
            assert part not in caplog.text
