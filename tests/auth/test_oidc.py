"""TokenVerifier.oidc: Auth0, Okta and Entra ID shaped issuers, discovery and its attacks.

Each fake provider below serves the documents its real counterpart serves, at the same
paths, through the verifier's injectable fetcher; no test reaches the network.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tenantkit.auth import Jwks
from tenantkit.auth.verifier import ANY_AUDIENCE, ANY_ISSUER, TokenVerifier
from tenantkit.errors import ConfigurationError, KeySourceError, UnauthorizedError

ENTRA_TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad"


@dataclass
class Provider:
    """An OpenID provider: its issuer, where it serves its keys, and a signing key."""

    issuer: str
    jwks_uri: str
    audience: str
    claims: dict[str, Any]
    key: rsa.RSAPrivateKey
    kid: str = "key-1"
    fetched: list[str] = field(default_factory=list)
    discovery: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.discovery = {"issuer": self.issuer, "jwks_uri": self.jwks_uri}

    def fetch(self, url: str) -> dict[str, Any]:
        self.fetched.append(url)
        if url == self.issuer.rstrip("/") + "/.well-known/openid-configuration":
            return dict(self.discovery)
        if url == self.jwks_uri:
            jwk = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
            return {"keys": [{**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}]}
        raise OSError(f"404 for {url}")

    def token(self, **overrides: Any) -> str:
        now = int(time.time())
        body = {"iss": self.issuer, "aud": self.audience, "iat": now, "exp": now + 300}
        body = {**body, **self.claims, **overrides}
        body = {k: v for k, v in body.items() if v is not ...}
        return jwt.encode(body, self.key, algorithm="RS256", headers={"kid": self.kid})


@pytest.fixture(params=["auth0", "okta", "entra"])
def provider(request: pytest.FixtureRequest, rsa_key: rsa.RSAPrivateKey) -> Provider:
    return make(request.param, rsa_key)


def make(name: str, key: rsa.RSAPrivateKey) -> Provider:
    if name == "auth0":
        return Provider(
            issuer="https://parks.eu.auth0.com/",  # Auth0's issuer ends with a slash
            jwks_uri="https://parks.eu.auth0.com/.well-known/jwks.json",
            audience="https://api.parks.example",
            claims={"sub": "auth0|64f1", "azp": "auth0-client", "scope": "read:parks"},
            key=key,
        )
    if name == "okta":
        return Provider(
            issuer="https://dev-123456.okta.com/oauth2/default",
            jwks_uri="https://dev-123456.okta.com/oauth2/default/v1/keys",
            audience="api://default",
            claims={"sub": "alice@example.com", "cid": "okta-client", "uid": "00u1"},
            key=key,
        )
    return Provider(
        issuer=f"https://login.microsoftonline.com/{ENTRA_TENANT}/v2.0",
        jwks_uri=f"https://login.microsoftonline.com/{ENTRA_TENANT}/discovery/v2.0/keys",
        audience="6e74172b-be56-4843-9ff4-e66a39bb12e3",
        claims={"sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ", "tid": ENTRA_TENANT},
        key=key,
    )


def verify(verifier: TokenVerifier, token: str) -> str:
    return verifier.verify(f"Bearer {token}").subject


def refused(verifier: TokenVerifier, token: str) -> str:
    with pytest.raises(UnauthorizedError) as info:
        verifier.verify(f"Bearer {token}")
    assert token not in str(info.value)
    return str(info.value)


# -- the three providers -------------------------------------------------------------------


def test_discovery_finds_the_keys(provider: Provider) -> None:
    verifier = TokenVerifier.oidc(
        provider.issuer, audience=provider.audience, jwks_fetcher=provider.fetch
    )
    assert provider.fetched == []  # nothing is fetched at construction
    assert verify(verifier, provider.token()) == provider.claims["sub"]
    assert provider.fetched == [
        provider.issuer.rstrip("/") + "/.well-known/openid-configuration",
        provider.jwks_uri,
    ]
    assert verify(verifier, provider.token(n=2)) == provider.claims["sub"]
    assert len(provider.fetched) == 2  # discovered once


def test_an_explicit_jwks_url_skips_discovery(provider: Provider) -> None:
    verifier = TokenVerifier.oidc(
        provider.issuer,
        audience=provider.audience,
        jwks_url=provider.jwks_uri,
        jwks_fetcher=provider.fetch,
    )
    assert verify(verifier, provider.token()) == provider.claims["sub"]
    assert provider.fetched == [provider.jwks_uri]


def test_attack_wrong_issuer_or_audience(provider: Provider) -> None:
    verifier = TokenVerifier.oidc(
        provider.issuer, audience=provider.audience, jwks_fetcher=provider.fetch
    )
    refused(verifier, provider.token(iss=provider.issuer.rstrip("/") + "/other"))
    refused(verifier, provider.token(iss=...))
    refused(verifier, provider.token(aud="https://another-api.example"))
    refused(verifier, provider.token(aud=...))
    assert verify(verifier, provider.token(aud=["x", provider.audience])) == provider.claims["sub"]


@pytest.mark.parametrize(
    ("name", "claim", "value"),
    [
        ("auth0", "azp", "auth0-client"),
        ("okta", "cid", "okta-client"),
        ("entra", "tid", ENTRA_TENANT),
    ],
)
def test_required_claims_per_provider(
    rsa_key: rsa.RSAPrivateKey, name: str, claim: str, value: str
) -> None:
    """Auth0's azp, Okta's cid and Entra ID's tid name the client or tenant: pin them."""
    provider = make(name, rsa_key)
    verifier = TokenVerifier.oidc(
        provider.issuer,
        audience=provider.audience,
        jwks_fetcher=provider.fetch,
        required_claims={claim: value},
    )
    assert verify(verifier, provider.token()) == provider.claims["sub"]
    assert claim in refused(verifier, provider.token(**{claim: "someone-else"}))
    refused(verifier, provider.token(**{claim: ...}))
    refused(verifier, provider.token(**{claim: [value]}))  # a list is not the value


def test_attack_another_entra_tenant_with_the_same_keys(rsa_key: rsa.RSAPrivateKey) -> None:
    """Entra ID signs every tenant's tokens with shared keys: the issuer names the tenant."""
    ours = make("entra", rsa_key)
    verifier = TokenVerifier.oidc(ours.issuer, audience=ours.audience, jwks_fetcher=ours.fetch)
    other_tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
    theirs = ours.token(iss=f"https://login.microsoftonline.com/{other_tenant}/v2.0")
    refused(verifier, theirs)


# -- discovery attacks ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field_name", "value", "message"),
    [
        ("issuer", "https://evil.example/", "names issuer"),
        ("issuer", None, "names issuer"),
        ("jwks_uri", "https://evil.example/keys", "issuer's host"),
        ("jwks_uri", "https://dev-123456.okta.com.evil.example/keys", "issuer's host"),
        ("jwks_uri", "https://dev-123456.okta.com@evil.example/keys", "issuer's host"),
        ("jwks_uri", "https://dev-123456.okta.com:8443/keys", "issuer's host"),
        ("jwks_uri", "http://dev-123456.okta.com/oauth2/default/v1/keys", "https"),
        ("jwks_uri", None, "https"),
    ],
)
def test_attack_discovery_document_pointing_elsewhere(
    rsa_key: rsa.RSAPrivateKey, field_name: str, value: Any, message: str
) -> None:
    provider = make("okta", rsa_key)
    provider.discovery[field_name] = value
    verifier = TokenVerifier.oidc(
        provider.issuer, audience=provider.audience, jwks_fetcher=provider.fetch
    )
    for _ in range(5):
        with pytest.raises(ConfigurationError, match=message):
            verifier.verify(f"Bearer {provider.token()}")
    # Refused before any key is fetched, and not refetched on every request.
    assert provider.fetched == [provider.issuer + "/.well-known/openid-configuration"]


def test_auth0_issuer_without_its_trailing_slash_is_explained(rsa_key: rsa.RSAPrivateKey) -> None:
    provider = make("auth0", rsa_key)
    verifier = TokenVerifier.oidc(
        provider.issuer.rstrip("/"), audience=provider.audience, jwks_fetcher=provider.fetch
    )
    with pytest.raises(ConfigurationError, match=re.escape("'https://parks.eu.auth0.com/'")):
        verifier.verify(f"Bearer {provider.token()}")


def test_unreachable_discovery_is_a_server_error_retried_later(rsa_key: rsa.RSAPrivateKey) -> None:
    provider = make("okta", rsa_key)
    up = False

    def fetcher(url: str) -> dict[str, Any]:
        if not up:
            provider.fetched.append(url)
            raise OSError("down")
        return provider.fetch(url)

    verifier = TokenVerifier.oidc(provider.issuer, audience=provider.audience, jwks_fetcher=fetcher)
    for _ in range(5):
        with pytest.raises(KeySourceError):
            verifier.verify(f"Bearer {provider.token()}")
    assert len(provider.fetched) == 1
    up = True
    verifier._keys._source._retry_at -= 2  # type: ignore[attr-defined]  # a second later
    assert verify(verifier, provider.token()) == provider.claims["sub"]


# -- configuration -------------------------------------------------------------------------


def test_oidc_urls_must_be_https(rsa_key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(ConfigurationError, match="https"):
        TokenVerifier.oidc("http://dev-123456.okta.com/oauth2/default", audience="api://default")
    with pytest.raises(ConfigurationError, match="https"):
        TokenVerifier.oidc(
            "https://dev-123456.okta.com/oauth2/default",
            audience="api://default",
            jwks_url="http://dev-123456.okta.com/oauth2/default/v1/keys",
        )
    with pytest.raises(ConfigurationError, match="host"):
        TokenVerifier.oidc("https:///oauth2/default", audience="api://default")


def test_discovery_needs_a_named_issuer() -> None:
    with pytest.raises(ConfigurationError, match="issuer"):
        TokenVerifier(
            algorithm="RS256",
            issuer=ANY_ISSUER,
            audience="api://default",
            keys=Jwks.from_discovery(),
        )
    with pytest.raises(ConfigurationError, match="SecretKey"):  # HMAC takes no public keys
        TokenVerifier(
            algorithm="HS256",
            issuer="https://dev-123456.okta.com/oauth2/default",
            audience=ANY_AUDIENCE,
            keys=Jwks.from_discovery(),
        )


def test_oidc_preset_refuses_to_be_overridden() -> None:
    with pytest.raises(ConfigurationError, match="keys"):
        TokenVerifier.oidc(
            "https://dev-123456.okta.com/oauth2/default",
            audience="api://default",
            keys=Jwks("https://dev-123456.okta.com/oauth2/default/v1/keys"),
        )
