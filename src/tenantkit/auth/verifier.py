"""Verify the caller's JWT with the one algorithm family the configuration allows.

The token header never chooses the algorithm or the key: ``alg`` must be one of the
configured algorithms, and ``jku``, ``x5u``, ``jwk``, ``x5c`` and ``crit`` headers are
refused rather than followed. Every flaw in a token, whatever its cause, is an
:class:`UnauthorizedError` whose message never contains the token. A key that cannot be
loaded at all (Secrets Manager or the JWKS unreachable) is not the token's fault: that
is a :class:`KeySourceError`, retried at most once a second.

Key sources:

* HS256/HS384/HS512: ``secret=`` (at least 32 bytes), or ``secret_id=`` of a Secrets
  Manager secret holding ``{"signature": "..."}`` (the key is ``secret_json_key``). The
  secret is fetched on first use; after a signature failure it is fetched again, at most
  once per ``refetch_cooldown``, so a rotated secret is picked up.
* RS*/PS*/ES*/EdDSA: ``jwks_url=`` (https only, redirects refused, fetcher injectable) or
  static ``public_keys=``: PEM/DER strings or bytes, ``cryptography`` public-key objects,
  or JWK dicts (their ``kid`` is honoured). An unknown ``kid`` refetches the JWKS at most
  once per cooldown; a failed refetch keeps the last good key set.

Parsing is strict and done here (base64url segments, JSON objects, no NaN/Infinity),
signatures are checked with PyJWT's algorithm implementations and keys prepared once at
configuration, and the claims are checked here: ``exp`` (a finite number) and the subject
are required, a future ``nbf``/``iat`` is refused, ``iss``/``aud`` match exactly when
configured. Skipping ``jwt.decode``'s generic option handling keeps a first-sight
verification at about the cost of a bare ``jwt.decode``.

Verified tokens are cached (bounded, thread-safe, keyed by a SHA-256 of the token) until
their ``exp`` or ``cache_ttl``, whichever comes first, so a repeated token is cheap.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import threading
import time
import urllib.request
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeGuard

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from tenantkit.errors import ConfigurationError, KeySourceError, UnauthorizedError
from tenantkit.secrets import RETRY_SECONDS, SecretsManagerKey

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

__all__ = [
    "MAX_TOKEN_BYTES",
    "JwksFetcher",
    "TokenVerifier",
    "VerifiedToken",
    "fetch_jwks",
    "jwks_opener",
]

MAX_TOKEN_BYTES = 8192
MAX_LEEWAY = 300
MIN_SECRET_BYTES = 32

JwksFetcher = Callable[[str], Mapping[str, Any]]
PublicKeyInput = str | bytes | Mapping[str, Any] | Any

_FAMILIES = {
    "HS256": "hmac",
    "HS384": "hmac",
    "HS512": "hmac",
    "RS256": "rsa",
    "RS384": "rsa",
    "RS512": "rsa",
    "PS256": "rsa",
    "PS384": "rsa",
    "PS512": "rsa",
    "ES256": "ec",
    "ES384": "ec",
    "ES512": "ec",
    "EdDSA": "okp",
}
_KEY_TYPES: dict[str, tuple[type, ...]] = {
    "rsa": (rsa.RSAPublicKey,),
    "ec": (ec.EllipticCurvePublicKey,),
    "okp": (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey),
}
_JWK_KTY = {"rsa": "RSA", "ec": "EC", "okp": "OKP"}
# Header parameters that would let the token pick its own key or change how it is read.
_REFUSED_HEADERS = frozenset({"jku", "x5u", "jwk", "x5c", "crit", "b64"})
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_EC_CURVES = {"ES256": "secp256r1", "ES384": "secp384r1", "ES512": "secp521r1"}
MIN_RSA_BITS = 2048
_REJECTED = "the bearer token was rejected; sign in again to get a new token"


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    """A token whose signature and claims were checked. ``claims`` is read-only."""

    subject: str
    claims: Mapping[str, Any]
    expires_at: float


def _b64url(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in a token")


def _b64url_json(segment: str) -> Any:
    """Decode one JSON segment; NaN and Infinity (which would defeat exp checks) refused."""
    return json.loads(_b64url(segment), parse_constant=_refuse_constant)


def _claim_at(claims: Mapping[str, Any], dotted: str) -> Any:
    value: Any = claims
    for part in dotted.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _is_number(value: object) -> TypeGuard[int | float]:
    """A finite JSON number: ``1e400`` parses as infinity, which would never expire."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return isinstance(value, int) or math.isfinite(value)


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        raise OSError("the JWKS URL answered with a redirect; redirects are not followed")


def jwks_opener() -> urllib.request.OpenerDirector:
    """The URL opener of :func:`fetch_jwks`: every redirect is an error."""
    return urllib.request.build_opener(_RefuseRedirects())


def fetch_jwks(url: str, *, timeout: float = 3.0, max_bytes: int = 1_000_000) -> dict[str, Any]:
    """Default JWKS fetcher: https only, no redirects, bounded size and time."""
    if not url.lower().startswith("https://"):
        raise ConfigurationError("jwks_url must be an https:// URL")
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    with jwks_opener().open(request, timeout=timeout) as response:
        body = response.read(max_bytes + 1)
    if len(body) > max_bytes:
        raise OSError("JWKS document is larger than allowed")
    document = json.loads(body)
    if not isinstance(document, dict):
        raise ValueError("JWKS document is not a JSON object")
    return document


def _load_public_key(
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
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name not in _EC_CURVES.values():
        raise ConfigurationError("EC keys must be on P-256, P-384 or P-521")
    return kid, key


class _TokenCache:
    """Bounded LRU of verified tokens keyed by SHA-256 of the token; thread-safe."""

    def __init__(self, maxsize: int) -> None:
        self._maxsize = maxsize
        self._entries: OrderedDict[bytes, tuple[float, VerifiedToken]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: bytes, now: float) -> VerifiedToken | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[0] <= now:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: bytes, until: float, token: VerifiedToken) -> None:
        if self._maxsize <= 0:
            return
        with self._lock:
            self._entries[key] = (until, token)
            self._entries.move_to_end(key)
            while len(self._entries) > self._maxsize:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class TokenVerifier:
    """Check a ``Bearer`` JWT: algorithm, signature, ``exp``, ``nbf``, ``iat``, issuer,
    audience and subject. Construct once per container and reuse; it is thread-safe.
    """

    def __init__(
        self,
        *,
        algorithm: str | Sequence[str],
        secret: str | bytes | None = None,
        secret_id: str | None = None,
        secret_json_key: str | None = "signature",  # noqa: S107 - a JSON key name
        jwks_url: str | None = None,
        public_keys: PublicKeyInput | Sequence[PublicKeyInput] | None = None,
        issuer: str | None = None,
        audience: str | None = None,
        subject_claim: str = "sub",
        leeway: float = 30,
        max_token_bytes: int = MAX_TOKEN_BYTES,
        cache_size: int = 1024,
        cache_ttl: float = 300,
        refetch_cooldown: float = 60,
        jwks_fetcher: JwksFetcher | None = None,
        secrets_client: SecretsManagerClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        algorithms = (algorithm,) if isinstance(algorithm, str) else tuple(algorithm)
        unknown = [alg for alg in algorithms if alg not in _FAMILIES]
        if not algorithms or unknown:
            raise ConfigurationError(
                f"algorithm must be one or more of {sorted(_FAMILIES)}; 'none' is never allowed"
            )
        families = {_FAMILIES[alg] for alg in algorithms}
        if len(families) != 1:
            raise ConfigurationError(
                "a verifier allows exactly one algorithm family; do not mix HMAC, RSA, EC "
                "and EdDSA algorithms in one verifier"
            )
        self._family = families.pop()
        self._algorithms = frozenset(algorithms)
        self._algorithm_objects = {alg: jwt.get_algorithm_by_name(alg) for alg in algorithms}
        if not 0 <= leeway <= MAX_LEEWAY:
            raise ConfigurationError(f"leeway must be between 0 and {MAX_LEEWAY} seconds")
        if not subject_claim or any(not part for part in subject_claim.split(".")):
            raise ConfigurationError("subject_claim must be a claim name or dotted path")
        self._issuer = issuer
        self._audience = audience
        self._subject_path = subject_claim
        self._leeway = float(leeway)
        self._max_token_bytes = max_token_bytes
        self._cache_ttl = float(cache_ttl)
        self._cooldown = float(refetch_cooldown)
        self._clock = clock
        self._cache = _TokenCache(cache_size)
        self._lock = threading.Lock()
        self._last_fetch = float("-inf")
        self._retry_at = float("-inf")

        self._secret: bytes | None = None
        self._secret_source: SecretsManagerKey | None = None
        self._jwks_url = jwks_url
        self._jwks_fetcher: JwksFetcher = jwks_fetcher or fetch_jwks
        self._keys_by_kid: dict[str, Any] = {}
        self._keys_without_kid: list[Any] = []
        self._jwks_loaded = False

        if self._family == "hmac":
            if jwks_url is not None or public_keys is not None:
                raise ConfigurationError("HMAC algorithms take secret= or secret_id=, not keys")
            if (secret is None) == (secret_id is None):
                raise ConfigurationError(
                    "HMAC algorithms need exactly one of secret= or secret_id="
                )
            if secret is not None:
                self._secret = self._checked_secret(secret)
            else:
                assert secret_id is not None
                self._secret_source = SecretsManagerKey(
                    secret_id,
                    check=self._checked_secret,
                    json_key=secret_json_key,
                    client=secrets_client,
                    cooldown=float(refetch_cooldown),
                    name="the JWT signing secret",
                )
        else:
            if secret is not None or secret_id is not None:
                raise ConfigurationError(
                    "asymmetric algorithms take jwks_url= or public_keys=, never a secret"
                )
            if (jwks_url is None) == (public_keys is None):
                raise ConfigurationError(
                    "asymmetric algorithms need exactly one of jwks_url= or public_keys="
                )
            if jwks_url is not None and not jwks_url.lower().startswith("https://"):
                raise ConfigurationError("jwks_url must be an https:// URL")
            if public_keys is not None:
                self._set_keys(self._normalise_keys(public_keys))

    # -- key sources -------------------------------------------------------------------

    @staticmethod
    def _checked_secret(secret: str | bytes) -> bytes:
        raw = secret.encode() if isinstance(secret, str) else bytes(secret)
        if len(raw) < MIN_SECRET_BYTES:
            raise ConfigurationError(
                f"the HMAC secret is shorter than {MIN_SECRET_BYTES} bytes; use a longer "
                "random secret"
            )
        try:
            jwt.get_algorithm_by_name("HS256").prepare_key(raw)
        except jwt.InvalidKeyError:
            raise ConfigurationError(
                "the HMAC secret looks like a public key, certificate or JWK; use a random "
                "secret, never key material"
            ) from None
        return raw

    def _normalise_keys(
        self, public_keys: PublicKeyInput | Sequence[PublicKeyInput]
    ) -> list[tuple[str | None, Any]]:
        if isinstance(public_keys, str | bytes | Mapping) or not isinstance(public_keys, Sequence):
            items: Sequence[PublicKeyInput] = [public_keys]
        else:
            items = public_keys
        loaded = [_load_public_key(item, self._family, self._algorithms) for item in items]
        if not loaded:
            raise ConfigurationError("public_keys is empty; give at least one public key")
        return loaded

    def _set_keys(self, loaded: list[tuple[str | None, Any]]) -> None:
        by_kid = {kid: key for kid, key in loaded if kid is not None}
        without = [key for kid, key in loaded if kid is None]
        self._keys_by_kid, self._keys_without_kid = by_kid, without

    def _fetch_jwks_locked(self) -> None:
        """Refetch the JWKS unless one was fetched within the cooldown. Holds ``_lock``.

        Until a key set has loaded once, a failure is a ``KeySourceError`` (the caller's
        token is not at fault) and the next attempt may come a second later.
        """
        now = time.monotonic()
        if self._jwks_loaded and now - self._last_fetch < self._cooldown:
            return
        if not self._jwks_loaded and now < self._retry_at:
            raise KeySourceError("the JWKS could not be fetched a moment ago; retrying shortly")
        self._last_fetch = now
        assert self._jwks_url is not None
        try:
            document = self._jwks_fetcher(self._jwks_url)
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
                    loaded.append(_load_public_key(entry, self._family, self._algorithms))
                except ConfigurationError:
                    continue
        except Exception:  # a failed fetch keeps the last good key set
            loaded = []
        if loaded:
            self._set_keys(loaded)
            self._jwks_loaded = True
        elif not self._jwks_loaded:
            self._retry_at = now + RETRY_SECONDS
            raise KeySourceError(
                "the JWKS could not be fetched or holds no usable key; check jwks_url"
            )

    def _candidate_keys(self, kid: object) -> list[Any]:
        if self._family == "hmac":
            return [self._secret_source.get() if self._secret_source else self._secret]
        if self._jwks_url is not None and not self._jwks_loaded:
            with self._lock:
                if not self._jwks_loaded:
                    self._fetch_jwks_locked()
        if kid is not None:
            if not isinstance(kid, str):
                return []
            key = self._keys_by_kid.get(kid)
            if key is None and self._jwks_url is not None:
                with self._lock:
                    if kid not in self._keys_by_kid:
                        self._fetch_jwks_locked()
                key = self._keys_by_kid.get(kid)
            if key is not None:
                return [key]
            # A JWKS names every key; static keys without a kid may still match.
            return [] if self._jwks_url is not None else list(self._keys_without_kid)
        if self._jwks_url is not None:
            keys = list(self._keys_by_kid.values()) + self._keys_without_kid
            return keys if len(keys) == 1 else []
        return list(self._keys_by_kid.values()) + self._keys_without_kid

    # -- verification ------------------------------------------------------------------

    def parse_authorization(self, authorization: object) -> str:
        """Return the token of ``Bearer <token>`` (scheme in any case, one space)."""
        if not isinstance(authorization, str):
            raise UnauthorizedError("no bearer token; send 'Authorization: Bearer <token>'")
        if len(authorization) > self._max_token_bytes + 7:
            raise UnauthorizedError("the bearer token is too large")
        scheme, sep, token = authorization.partition(" ")
        if not sep or scheme.lower() != "bearer":
            raise UnauthorizedError("the Authorization scheme must be 'Bearer <token>'")
        if not token or " " in token:
            raise UnauthorizedError("the Authorization value must be 'Bearer' and one token")
        return token

    def verify(self, authorization: object) -> VerifiedToken:
        """Verify an ``Authorization`` header value; raise ``UnauthorizedError`` on any flaw."""
        return self.verify_token(self.parse_authorization(authorization))

    def verify_token(self, token: str) -> VerifiedToken:
        """Verify a bare compact JWT; raise ``UnauthorizedError`` on any flaw."""
        if not isinstance(token, str) or len(token) > self._max_token_bytes:
            raise UnauthorizedError("the bearer token is missing or too large")
        if _TOKEN_RE.fullmatch(token) is None:
            raise UnauthorizedError("the bearer token is not a signed compact JWT")
        digest = hashlib.sha256(token.encode()).digest()
        now = self._clock()
        cached = self._cache.get(digest, now)
        if cached is not None:
            return cached
        try:
            verified = self._verify_uncached(token, now)
        except (UnauthorizedError, ConfigurationError, KeySourceError):
            raise
        except Exception:  # every flaw in a token is a 401, never a 500
            raise UnauthorizedError(_REJECTED) from None
        until = min(verified.expires_at, now + self._cache_ttl)
        self._cache.put(digest, until, verified)
        return verified

    def _verify_uncached(self, token: str, now: float) -> VerifiedToken:
        header_b64, payload_b64, signature_b64 = token.split(".")
        header = _b64url_json(header_b64)
        if not isinstance(header, dict):
            raise UnauthorizedError(_REJECTED)
        alg = header.get("alg")
        if alg not in self._algorithms:
            raise UnauthorizedError("the token's algorithm is not the one this API accepts")
        if not _REFUSED_HEADERS.isdisjoint(header):
            raise UnauthorizedError("the token carries a header this API does not accept")
        keys = self._candidate_keys(header.get("kid"))
        if not keys:
            raise UnauthorizedError("the token's signing key is unknown")
        algorithm = self._algorithm_objects[alg]
        signing_input = f"{header_b64}.{payload_b64}".encode("ascii")
        signature = _b64url(signature_b64)
        curve = _EC_CURVES.get(alg)
        valid = any(
            algorithm.verify(signing_input, key, signature)
            for key in keys
            if curve is None or key.curve.name == curve
        )
        if not valid and self._secret_source is not None:
            # Perhaps the secret was rotated: fetch it again, at most once per cooldown.
            secret = self._secret_source.refresh()
            valid = (
                secret is not None
                and secret not in keys
                and algorithm.verify(signing_input, secret, signature)
            )
        if not valid:
            raise UnauthorizedError(_REJECTED)
        claims = _b64url_json(payload_b64)
        if not isinstance(claims, dict):
            raise UnauthorizedError(_REJECTED)
        return self._check_claims(claims, now)

    def _check_claims(self, claims: dict[str, Any], now: float) -> VerifiedToken:
        exp = claims.get("exp")
        if not _is_number(exp) or exp + self._leeway <= now:
            raise UnauthorizedError("the token has expired; sign in again")
        for name in ("nbf", "iat"):
            value = claims.get(name)
            if value is not None and (not _is_number(value) or value > now + self._leeway):
                raise UnauthorizedError("the token is not valid yet; check the issuer's clock")
        if self._issuer is not None and claims.get("iss") != self._issuer:
            raise UnauthorizedError("the token was issued by someone else")
        if self._audience is not None:
            aud = claims.get("aud")
            if aud != self._audience and not (isinstance(aud, list) and self._audience in aud):
                raise UnauthorizedError("the token is meant for another audience")
        subject = _claim_at(claims, self._subject_path)
        if not isinstance(subject, str) or not subject or len(subject) > 512:
            raise UnauthorizedError("the token has no subject")
        return VerifiedToken(
            subject=subject, claims=MappingProxyType(claims), expires_at=float(exp)
        )

    def clear_cache(self) -> None:
        """Forget every verified token (e.g. after revoking a key)."""
        self._cache.clear()
