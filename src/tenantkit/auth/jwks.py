"""Public keys of an asymmetric JWT issuer: static keys, a JWKS URL, or OIDC discovery.

Keys are prepared once (PyJWT's ``PyJWK`` and ``cryptography`` loaders) and checked
against the verifier's one algorithm family: RSA keys of at least 2048 bits, EC keys on
P-256/384/521, a JWK declaring another ``alg`` is not used.

A remote key set is fetched on first use, never at construction or import, and again
for an unknown ``kid`` at most once per cooldown; a failed refetch keeps the last good
set. Until a set has loaded once, a failure is a ``KeySourceError`` (the caller's token
is not at fault), and the next attempt may come a second later.

With OIDC discovery, the JWKS URL is read once from ``<issuer>/.well-known/openid-
configuration`` through the same fetcher. The document must name exactly the configured
issuer (OIDC Discovery 1.0, section 4.3) and an https ``jwks_uri`` on the issuer's own
host: a document that points elsewhere is refused as a ``ConfigurationError``, since a
verifier that follows it would trust whoever controls that URL.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from tenantkit.errors import ConfigurationError, KeySourceError
from tenantkit.secrets import RETRY_SECONDS

__all__ = [
    "EC_CURVES",
    "JwksFetcher",
    "PublicKeyInput",
    "RemoteKeys",
    "StaticKeys",
    "discovery_url",
    "fetch_jwks",
    "jwks_opener",
]

JwksFetcher = Callable[[str], Mapping[str, Any]]
PublicKeyInput = str | bytes | Mapping[str, Any] | Any

MIN_RSA_BITS = 2048
EC_CURVES = {"ES256": "secp256r1", "ES384": "secp384r1", "ES512": "secp521r1"}
_KEY_TYPES: dict[str, tuple[type, ...]] = {
    "rsa": (rsa.RSAPublicKey,),
    "ec": (ec.EllipticCurvePublicKey,),
    "okp": (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey),
}
_JWK_KTY = {"rsa": "RSA", "ec": "EC", "okp": "OKP"}

logger = logging.getLogger("tenantkit.auth.keys")


def require_https(url: object, name: str) -> str:
    """``url`` if it is an https URL with a host; else a ``ConfigurationError``."""
    if not isinstance(url, str) or not url.lower().startswith("https://"):
        raise ConfigurationError(f"{name} must be an https:// URL")
    if not urllib.parse.urlsplit(url).hostname:
        raise ConfigurationError(f"{name} must name a host")
    return url


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
    require_https(url, "jwks_url")
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


class StaticKeys:
    """Keys given at configuration; a ``kid`` picks one, keys without a ``kid`` may match."""

    def __init__(
        self,
        public_keys: PublicKeyInput | Sequence[PublicKeyInput],
        family: str,
        algorithms: frozenset[str],
    ) -> None:
        if isinstance(public_keys, str | bytes | Mapping) or not isinstance(public_keys, Sequence):
            items: Sequence[PublicKeyInput] = [public_keys]
        else:
            items = public_keys
        loaded = [load_public_key(item, family, algorithms) for item in items]
        if not loaded:
            raise ConfigurationError("public_keys is empty; give at least one public key")
        self._by_kid = {kid: key for kid, key in loaded if kid is not None}
        self._without_kid = [key for kid, key in loaded if kid is None]

    def candidates(self, kid: object) -> list[Any]:
        if kid is None:
            return [*self._by_kid.values(), *self._without_kid]
        if not isinstance(kid, str):
            return []
        key = self._by_kid.get(kid)
        return [key] if key is not None else list(self._without_kid)


class RemoteKeys:
    """A JWKS fetched on first use and for an unknown ``kid``; see the module docstring.

    Give ``jwks_url``, or ``discover_from`` (an issuer) to read the URL from discovery.
    """

    def __init__(
        self,
        *,
        family: str,
        algorithms: frozenset[str],
        fetcher: JwksFetcher,
        cooldown: float,
        jwks_url: str | None = None,
        discover_from: str | None = None,
    ) -> None:
        if (jwks_url is None) == (discover_from is None):
            raise ConfigurationError("give exactly one of jwks_url= or OIDC discovery")
        self._jwks_url = None if jwks_url is None else require_https(jwks_url, "jwks_url")
        self._issuer = None if discover_from is None else require_https(discover_from, "issuer")
        self._family = family
        self._algorithms = algorithms
        self._fetcher = fetcher
        self._cooldown = cooldown
        self._lock = threading.Lock()
        self._by_kid: dict[str, Any] = {}
        self._without_kid: list[Any] = []
        self._loaded = False
        self._last_fetch = float("-inf")
        self._retry_at = float("-inf")
        self._failure: tuple[type[Exception], str] = (KeySourceError, "")

    def candidates(self, kid: object) -> list[Any]:
        if not self._loaded:
            with self._lock:
                if not self._loaded:
                    self._fetch_locked()
        if kid is None:
            # Without a kid, a key set must leave no choice.
            keys = [*self._by_kid.values(), *self._without_kid]
            return keys if len(keys) == 1 else []
        if not isinstance(kid, str):
            return []
        key = self._by_kid.get(kid)
        if key is None:
            with self._lock:
                if kid not in self._by_kid:
                    self._fetch_locked()
            key = self._by_kid.get(kid)
        return [key] if key is not None else []

    def _fetch_locked(self) -> None:
        """Refetch unless one was fetched within the cooldown. Holds ``_lock``."""
        now = time.monotonic()
        if self._loaded and now - self._last_fetch < self._cooldown:
            return
        if not self._loaded and now < self._retry_at:
            kind, message = self._failure
            raise kind(message)
        self._last_fetch = now
        failure: tuple[type[Exception], str]
        try:
            loaded = self._usable_keys(self._fetcher(self._resolved_url()))
            failure = (
                KeySourceError,
                "the JWKS holds no usable key; check that it serves the issuer's signing keys",
            )
        except ConfigurationError as error:
            loaded, failure = [], (ConfigurationError, str(error))
        except Exception as error:  # a failed fetch keeps the last good key set
            loaded = []
            failure = (
                KeySourceError,
                f"the JWKS could not be fetched ({type(error).__name__}); check jwks_url",
            )
        if loaded:
            self._by_kid = {kid: key for kid, key in loaded if kid is not None}
            self._without_kid = [key for kid, key in loaded if kid is None]
            self._loaded = True
            return
        if self._loaded:
            logger.warning("%s; keeping the keys loaded before", failure[1])
            return
        self._retry_at = now + RETRY_SECONDS
        self._failure = failure
        logger.error("%s", failure[1])
        raise failure[0](failure[1])

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
            "the discovered jwks_uri is not on the issuer's host; pass jwks_url= explicitly "
            "if your provider serves its keys elsewhere"
        )
    return jwks_uri
