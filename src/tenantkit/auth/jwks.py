"""Public keys of an asymmetric JWT issuer: ``PublicKeys``, ``Jwks(url)``, or OIDC discovery.

Keys are prepared once (PyJWT's ``PyJWK`` and ``cryptography`` loaders) and checked
against the verifier's one algorithm family: RSA keys of at least 2048 bits, EC keys on
P-256/384/521, a JWK declaring another ``alg`` is not used.

A remote key set is a :class:`~tenantkit._shared.keysource.KeySource`: fetched on first
use, never at construction or import, and again for an unknown ``kid`` at most once per
cooldown; a failed refetch keeps the last good set. Until a set has loaded once, a
failure is a ``KeySourceError`` (the caller's token is not at fault), and the next
attempt may come a second later.

With OIDC discovery, the JWKS URL is read once from ``<issuer>/.well-known/openid-
configuration`` through the same fetcher. The document must name exactly the configured
issuer (OIDC Discovery 1.0, section 4.3) and an https ``jwks_uri`` on the issuer's own
host: a document that points elsewhere is refused as a ``ConfigurationError``, since a
verifier that follows it would trust whoever controls that URL.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from tenantkit._shared.keys import Jwks, PublicKeyInput, PublicKeys, require_https
from tenantkit._shared.keysource import KeySource
from tenantkit.errors import ConfigurationError, KeySourceError

__all__ = [
    "EC_CURVES",
    "RemoteKeys",
    "StaticKeys",
    "discovery_url",
    "fetch_jwks",
    "jwks_opener",
]

MIN_RSA_BITS = 2048
EC_CURVES = {"ES256": "secp256r1", "ES384": "secp384r1", "ES512": "secp521r1"}
_KEY_TYPES: dict[str, tuple[type, ...]] = {
    "rsa": (rsa.RSAPublicKey,),
    "ec": (ec.EllipticCurvePublicKey,),
    "okp": (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey),
}
_JWK_KTY = {"rsa": "RSA", "ec": "EC", "okp": "OKP"}


def discovery_url(issuer: str) -> str:
    """Where OIDC Discovery 1.0 serves ``issuer``'s configuration (section 4)."""
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        raise OSError("the JWKS URL answered with a redirect; redirects are not followed")


def jwks_opener() -> urllib.request.OpenerDirector:
    """The URL opener of :func:`fetch_jwks`: every redirect is an error."""
    return urllib.request.build_opener(_RefuseRedirects())


def fetch_jwks(url: str, *, timeout: float = 3.0, max_bytes: int = 1_000_000) -> dict[str, Any]:
    """Default fetcher of JWKS and discovery documents: https only, no redirects, bounded
    size and time, a JSON object."""
    require_https(url, "the JWKS URL")
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    with jwks_opener().open(request, timeout=timeout) as response:
        body = response.read(max_bytes + 1)
    if len(body) > max_bytes:
        raise OSError("JWKS document is larger than allowed")
    document = json.loads(body)
    if not isinstance(document, dict):
        raise ValueError("JWKS document is not a JSON object")
    return document


def load_public_key(
    value: PublicKeyInput, family: str, algorithms: frozenset[str]
) -> tuple[str | None, Any]:
    """Turn one configured key into ``(kid, key object)`` for ``family``."""
    kid: str | None = None
    key: Any
    declared = value.get("alg") if isinstance(value, Mapping) else None
    if declared is not None and declared not in algorithms:
        raise ConfigurationError(
            "a JWK declares an algorithm this verifier does not accept; remove it or "
            "configure its algorithm"
        )
    try:
        if isinstance(value, Mapping):
            jwk = jwt.PyJWK(dict(value))
            kid = jwk.key_id
            key = jwk.key
        elif isinstance(value, str | bytes):
            raw = value.encode() if isinstance(value, str) else value
            if raw.lstrip().startswith(b"-----BEGIN"):
                key = serialization.load_pem_public_key(raw.strip())
            else:
                key = serialization.load_der_public_key(raw)
        else:
            key = value
    except (ValueError, TypeError, jwt.PyJWKError, jwt.InvalidKeyError) as error:
        raise ConfigurationError(
            f"a public key could not be loaded ({type(error).__name__}); give PEM, DER, a "
            "JWK dict or a cryptography public-key object"
        ) from None
    if not isinstance(key, _KEY_TYPES[family]):
        raise ConfigurationError(
            f"a public key is a {type(key).__name__}, which cannot verify the configured "
            f"{family.upper()} algorithm; give public keys of the matching type"
        )
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < MIN_RSA_BITS:
        raise ConfigurationError(f"RSA keys must have at least {MIN_RSA_BITS} bits")
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name not in EC_CURVES.values():
        raise ConfigurationError("EC keys must be on P-256, P-384 or P-521")
    return kid, key


def _by_kid(loaded: list[tuple[str | None, Any]]) -> tuple[dict[str, Any], list[Any]]:
    """Loaded keys split into those with a ``kid`` (by kid) and those without."""
    return {kid: key for kid, key in loaded if kid is not None}, [
        key for kid, key in loaded if kid is None
    ]


class StaticKeys:
    """``PublicKeys`` loaded for the verifier's family: a ``kid`` picks one, keys without
    a ``kid`` may match."""

    def __init__(self, keys: PublicKeys, family: str, algorithms: frozenset[str]) -> None:
        self._by_kid, self._without_kid = _by_kid(
            [load_public_key(item, family, algorithms) for item in keys.keys]
        )

    def candidates(self, kid: object) -> list[Any]:
        if kid is None:
            return [*self._by_kid.values(), *self._without_kid]
        if not isinstance(kid, str):
            return []
        key = self._by_kid.get(kid)
        return [key] if key is not None else list(self._without_kid)

    def rotated(self) -> None:
        """Static keys never change."""
        return None


class RemoteKeys:
    """A JWKS fetched on first use and for an unknown ``kid``; see the module docstring.

    ``jwks.url`` of ``None`` reads the URL from ``issuer``'s discovery document.
    """

    def __init__(
        self, jwks: Jwks, *, family: str, algorithms: frozenset[str], issuer: str | None
    ) -> None:
        if jwks.url is None and issuer is None:
            raise ConfigurationError(
                "Jwks.from_discovery() needs the issuer, not ANY_ISSUER: discovery starts "
                "from the issuer's URL"
            )
        self._jwks_url = jwks.url
        self._issuer = None if jwks.url is not None else require_https(issuer, "issuer")
        self._family = family
        self._algorithms = algorithms
        self._fetcher = jwks.fetcher or fetch_jwks
        self._source = KeySource(
            self._load, name="the JWKS", hint="check the JWKS URL", cooldown=jwks.cooldown
        )

    def candidates(self, kid: object) -> list[Any]:
        by_kid, without_kid = self._source.get()
        if kid is None:
            # Without a kid, a key set must leave no choice.
            keys = [*by_kid.values(), *without_kid]
            return keys if len(keys) == 1 else []
        if not isinstance(kid, str):
            return []
        key = by_kid.get(kid)
        if key is None:
            refreshed = self._source.refresh()  # at most once per cooldown
            key = None if refreshed is None else refreshed[0].get(kid)
        return [key] if key is not None else []

    def rotated(self) -> None:
        """A known ``kid`` whose key fails is a forgery: nothing is refetched for it."""
        return None

    def _load(self) -> tuple[dict[str, Any], list[Any]]:
        loaded = self._usable_keys(self._fetcher(self._resolved_url()))
        if not loaded:
            raise KeySourceError(
                "the JWKS holds no usable key; check that it serves the issuer's signing keys"
            )
        return _by_kid(loaded)

    def _resolved_url(self) -> str:
        if self._jwks_url is None:
            assert self._issuer is not None
            document = self._fetcher(discovery_url(self._issuer))
            self._jwks_url = _discovered_jwks_uri(document, self._issuer)
        return self._jwks_url

    def _usable_keys(self, document: Mapping[str, Any]) -> list[tuple[str | None, Any]]:
        entries = document.get("keys")
        if not isinstance(entries, list):
            raise ValueError("JWKS has no 'keys' list")
        loaded = []
        for entry in entries:
            if not isinstance(entry, Mapping) or entry.get("kty") != _JWK_KTY[self._family]:
                continue
            if entry.get("use", "sig") != "sig":
                continue
            try:
                loaded.append(load_public_key(entry, self._family, self._algorithms))
            except ConfigurationError:
                continue
        return loaded


def _discovered_jwks_uri(document: Mapping[str, Any], issuer: str) -> str:
    """The discovery document's ``jwks_uri``, if the document is the issuer's own."""
    found = document.get("issuer")
    if found != issuer:
        shown = repr(found)[:200]
        raise ConfigurationError(
            f"the OIDC discovery document of {issuer!r} names issuer {shown}; set issuer= "
            "to exactly the issuer your tokens carry"
        )
    jwks_uri = require_https(document.get("jwks_uri"), "the discovered jwks_uri")
    host = urllib.parse.urlsplit(issuer).netloc.lower()
    if urllib.parse.urlsplit(jwks_uri).netloc.lower() != host:
        raise ConfigurationError(
            "the discovered jwks_uri is not on the issuer's host; give the JWKS URL "
            "explicitly (keys=Jwks(url), or jwks_url= of TokenVerifier.oidc) if your "
            "provider serves its keys elsewhere"
        )
    return jwks_uri
