"""Verify the caller's JWT with the one algorithm family the configuration allows.

The token header never chooses the algorithm or the key: ``alg`` must be one of the
configured algorithms, and ``jku``, ``x5u``, ``jwk``, ``x5c``, ``crit`` and ``b64``
headers are refused rather than followed. Every flaw in a token, whatever its cause, is
an :class:`UnauthorizedError` whose message never contains the token. A key that cannot
be loaded at all (Secrets Manager or the JWKS unreachable) is not the token's fault:
that is a :class:`KeySourceError`, retried at most once a second.

The issuer and the audience are required arguments. Accepting any issuer or any audience
is possible only by naming it: ``issuer=ANY_ISSUER``, ``audience=ANY_AUDIENCE``.
``TokenVerifier.cognito`` and ``TokenVerifier.oidc`` configure real identity providers;
``required_claims`` pins other claims to values (Cognito's ``token_use`` and
``client_id``, Okta's ``cid``, Entra ID's ``tid``).

Keys: ``keys=`` says where they come from (:mod:`tenantkit.keys`). HS256/384/512
take ``SecretKey(...)`` or ``SecretsManagerKey(...)`` (at least 32 bytes, never key
material); RS*/PS*/ES*/EdDSA take ``Jwks(url)``, ``Jwks.from_discovery()`` or
``PublicKeys([...])``, loaded by :mod:`tenantkit.auth.jwks`. Any other pairing is a
``ConfigurationError`` at construction.

Why not ``jwt.decode``: the token is parsed strictly first (:mod:`.jwtparse`), the
signature is checked with PyJWT's own algorithm objects and keys prepared once, and the
claims by :mod:`.claims`. Of ``jwt.decode``'s claim checks only ``iss``, ``aud`` and
``require`` would be equivalent. It reads the wall clock (this verifier's ``clock`` also
expires its cache, and the two must agree), takes ``int()`` of ``exp``/``nbf``/``iat``
(a validly signed ``"exp": "99999999999"`` passes), and walks every character of every
segment again in Python: measured, 40 µs more per first sight for a 540-character token
and 80 µs for a Cognito id token, which would take the benchmark's first-sight
authorization from about 1.25x to about 1.6x a bare ``jwt.decode``.

Verified tokens are cached (bounded, thread-safe, keyed by a SHA-256 of the token) until
their ``exp`` or ``cache_ttl``, whichever comes first. Parsing admits one spelling per
token, so one token is one cache entry.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, Literal, Protocol

import jwt

from tenantkit._shared.cache import LruCache
from tenantkit._shared.keys import (
    Jwks,
    JwksFetcher,
    PublicKeys,
    SecretKey,
    SecretsManagerKey,
)
from tenantkit._shared.keysource import KeySource
from tenantkit.auth.claims import (
    ANY_AUDIENCE,
    ANY_ISSUER,
    AnyAudience,
    AnyIssuer,
    ClaimRules,
    VerifiedToken,
)
from tenantkit.auth.jwks import EC_CURVES, RemoteKeys, StaticKeys
from tenantkit.auth.jwtparse import parse_compact
from tenantkit.auth.providers import cognito_settings, oidc_settings
from tenantkit.errors import ConfigurationError, KeySourceError, UnauthorizedError

__all__ = [
    "ANY_AUDIENCE",
    "ANY_ISSUER",
    "MAX_TOKEN_BYTES",
    "AnyAudience",
    "AnyIssuer",
    "TokenVerifier",
    "VerifiedToken",
    "VerifierKeys",
]

MAX_TOKEN_BYTES = 8192
#: Where a verifier's keys come from: a secret for HS*, public keys for the others.
VerifierKeys = SecretKey | SecretsManagerKey | Jwks | PublicKeys

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
# Header parameters that would let the token pick its own key or change how it is read.
_REFUSED_HEADERS = frozenset({"jku", "x5u", "jwk", "x5c", "crit", "b64"})
_REJECTED = "the bearer token was rejected; sign in again to get a new token"


class _KeySet(Protocol):
    def candidates(self, kid: object) -> list[Any]:
        """The keys that may have signed a token with this ``kid``."""

    def rotated(self) -> Any | None:
        """A key loaded again after no candidate verified, or ``None``."""


class _Secret:
    """The HMAC family's one secret, read again after a rotation."""

    __slots__ = ("_source",)

    def __init__(self, source: KeySource[bytes]) -> None:
        self._source = source

    def candidates(self, kid: object) -> list[Any]:
        return [self._source.get()]

    def rotated(self) -> bytes | None:
        return self._source.refresh()


def _not_key_material(secret: bytes) -> bytes:
    """Refuse an HMAC secret that PyJWT recognises as a public key, certificate or JWK:
    a verifier keyed with its issuer's public key would accept tokens anyone can sign."""
    try:
        jwt.get_algorithm_by_name("HS256").prepare_key(secret)
    except jwt.InvalidKeyError:
        raise ConfigurationError(
            "the HMAC secret looks like a public key, certificate or JWK; use a random "
            "secret, never key material"
        ) from None
    return secret


class TokenVerifier:
    """Check a ``Bearer`` JWT: algorithm, signature, ``exp``, ``nbf``, ``iat``, issuer,
    audience, required claims and subject. Construct once per container and reuse; it is
    thread-safe.
    """

    def __init__(
        self,
        *,
        algorithm: str | Sequence[str],
        issuer: str | AnyIssuer,
        audience: str | Collection[str] | AnyAudience,
        keys: VerifierKeys,
        required_claims: Mapping[str, str | Collection[str]] | None = None,
        subject_claim: str = "sub",
        leeway: float = 30,
        max_token_bytes: int = MAX_TOKEN_BYTES,
        cache_size: int = 1024,
        cache_ttl: float = 300,
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
        self._claims = ClaimRules(
            issuer=issuer,
            audience=audience,
            required_claims=required_claims,
            subject_claim=subject_claim,
            leeway=leeway,
        )
        self._max_token_bytes = max_token_bytes
        self._cache_ttl = float(cache_ttl)
        self._clock = clock
        # Verified tokens by SHA-256 of the token, until exp or cache_ttl, on this clock.
        self._cache: LruCache[bytes, VerifiedToken] = LruCache(cache_size, clock=clock)
        self._keys = self._key_set(keys)

    def _key_set(self, keys: object) -> _KeySet:
        """The key set of ``keys``, which must fit the algorithm family."""
        if self._family == "hmac":
            if not isinstance(keys, SecretKey | SecretsManagerKey):
                raise ConfigurationError(
                    "HMAC algorithms take keys=SecretKey(...) or SecretsManagerKey(...), "
                    "not keys of an asymmetric algorithm"
                )
            return _Secret(keys.source("the JWT signing secret", check=_not_key_material))
        if isinstance(keys, PublicKeys):
            return StaticKeys(keys, self._family, self._algorithms)
        if isinstance(keys, Jwks):
            return RemoteKeys(
                keys, family=self._family, algorithms=self._algorithms, issuer=self._claims.issuer
            )
        raise ConfigurationError(
            "asymmetric algorithms take keys=Jwks(url), Jwks.from_discovery() or "
            "PublicKeys([...]), never a secret"
        )

    @classmethod
    def cognito(
        cls,
        user_pool_id: str,
        *,
        region: str,
        client_ids: str | Collection[str],
        token_use: Literal["access", "id"] = "access",  # noqa: S107 - a claim value
        jwks_fetcher: JwksFetcher | None = None,
        jwks_cooldown: float = 60.0,
        **options: Any,
    ) -> TokenVerifier:
        """Verify one kind of token of a Cognito user pool's app clients.

        The issuer is ``https://cognito-idp.<region>.amazonaws.com/<user_pool_id>`` and the
        keys its ``/.well-known/jwks.json`` (RS256). ``token_use`` must match: access tokens
        name their app client in ``client_id`` and carry no ``aud``; id tokens name it in
        ``aud``. Either must be one of ``client_ids``. ``jwks_fetcher`` and ``jwks_cooldown``
        go to ``Jwks``; ``options`` are the other keyword arguments of ``TokenVerifier``
        (``leeway``, ``required_claims``...).
        """
        settings = cognito_settings(
            user_pool_id,
            region=region,
            client_ids=client_ids,
            token_use=token_use,
            jwks_fetcher=jwks_fetcher,
            jwks_cooldown=jwks_cooldown,
        )
        return cls(**_merged(settings, options, "cognito"))

    @classmethod
    def oidc(
        cls,
        issuer: str,
        *,
        audience: str | Collection[str] | AnyAudience,
        jwks_url: str | None = None,
        algorithm: str | Sequence[str] = "RS256",
        jwks_fetcher: JwksFetcher | None = None,
        jwks_cooldown: float = 60.0,
        **options: Any,
    ) -> TokenVerifier:
        """Verify tokens of an OpenID Connect provider (Auth0, Okta, Entra ID...).

        ``issuer`` must be https and is matched exactly. Without ``jwks_url``, the key URL
        is read once, on first use, from the issuer's discovery document, which must name
        the same issuer and a ``jwks_uri`` on the issuer's host. ``jwks_fetcher`` and
        ``jwks_cooldown`` go to ``Jwks``; ``options`` are the other keyword arguments of
        ``TokenVerifier``.
        """
        settings = oidc_settings(
            issuer,
            audience=audience,
            jwks_url=jwks_url,
            algorithm=algorithm,
            jwks_fetcher=jwks_fetcher,
            jwks_cooldown=jwks_cooldown,
        )
        return cls(**_merged(settings, options, "oidc"))

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
        digest = hashlib.sha256(token.encode()).digest()
        cached = self._cache.get(digest)
        if cached is not None:
            return cached
        now = self._clock()
        try:
            verified = self._verify_uncached(token, now)
        except (UnauthorizedError, ConfigurationError, KeySourceError):
            raise
        except Exception:  # every flaw in a token is a 401, never a 500
            raise UnauthorizedError(_REJECTED) from None
        self._cache.put(digest, verified, until=min(verified.expires_at, now + self._cache_ttl))
        return verified

    def _verify_uncached(self, token: str, now: float) -> VerifiedToken:
        parsed = parse_compact(token)
        alg = parsed.header.get("alg")
        if not isinstance(alg, str) or alg not in self._algorithms:
            raise UnauthorizedError("the token's algorithm is not the one this API accepts")
        if not _REFUSED_HEADERS.isdisjoint(parsed.header):
            raise UnauthorizedError("the token carries a header this API does not accept")
        keys = self._keys.candidates(parsed.header.get("kid"))
        if not keys:
            raise UnauthorizedError("the token's signing key is unknown")
        algorithm = self._algorithm_objects[alg]
        curve = EC_CURVES.get(alg)
        valid = any(
            algorithm.verify(parsed.signing_input, key, parsed.signature)
            for key in keys
            if curve is None or key.curve.name == curve
        )
        if not valid:
            # Perhaps the secret was rotated: read it again, at most once per cooldown.
            rotated = self._keys.rotated()
            valid = (
                rotated is not None
                and rotated not in keys
                and algorithm.verify(parsed.signing_input, rotated, parsed.signature)
            )
        if not valid:
            raise UnauthorizedError(_REJECTED)
        return self._claims.check(parsed.claims, now)

    def clear_cache(self) -> None:
        """Forget every verified token (e.g. after revoking a key)."""
        self._cache.clear()


def _merged(settings: dict[str, Any], options: Mapping[str, Any], preset: str) -> dict[str, Any]:
    """A preset's settings plus the caller's options, which may add but never override."""
    clash = sorted(set(settings) & set(options) - {"required_claims"})
    if clash:
        raise ConfigurationError(f"TokenVerifier.{preset}() sets {', '.join(clash)} itself")
    preset_claims: Mapping[str, Any] = settings.get("required_claims") or {}
    extra_claims: Mapping[str, Any] = options.get("required_claims") or {}
    overridden = sorted(set(preset_claims) & set(extra_claims))
    if overridden:
        raise ConfigurationError(
            f"TokenVerifier.{preset}() checks {', '.join(overridden)} itself; do not require it"
        )
    return {**settings, **options, "required_claims": {**preset_claims, **extra_claims}}
