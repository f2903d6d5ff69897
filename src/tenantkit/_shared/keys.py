"""The keys tenantkit signs and verifies with: one value says where a key comes from.

HMAC secrets (``TokenVerifier`` with HS*, ``EnvelopeSigner``, ``TenantTable``'s cursors):

* ``SecretKey(value)``: the secret itself, at least 32 bytes, checked at construction;
* ``SecretsManagerKey(secret_id, json_key=...)``: read from AWS Secrets Manager on first
  use and read again after a signature fails, under the rules of :mod:`.keysource`.

Public keys of a token issuer (``TokenVerifier`` with RS*, PS*, ES* or EdDSA):

* ``Jwks(url)``: a JWK Set fetched on first use and again for an unknown ``kid``;
  ``Jwks.from_discovery()`` reads its URL from the issuer's OIDC discovery document;
* ``PublicKeys([...])``: keys given at configuration (PEM, DER, JWK dicts, objects).

These are descriptions, cheap to build in module scope: nothing is fetched or imported
until a key is needed. Public keys are loaded by the verifier, which knows the algorithm
family they must belong to.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

from tenantkit._shared.clients import ClientOptions
from tenantkit._shared.keysource import KeySource, checked_secret
from tenantkit.errors import ConfigurationError

if TYPE_CHECKING:
    import boto3
    from botocore.config import Config
    from mypy_boto3_secretsmanager import SecretsManagerClient

__all__ = [
    "Jwks",
    "JwksFetcher",
    "PublicKeyInput",
    "PublicKeys",
    "Secret",
    "SecretCheck",
    "SecretKey",
    "SecretsManagerKey",
    "require_https",
]

#: Fetches a JSON document (a JWKS, a discovery document) from an https URL.
JwksFetcher = Callable[[str], Mapping[str, Any]]
#: A PEM or DER public key, a JWK dict, or a ``cryptography`` public-key object.
PublicKeyInput: TypeAlias = str | bytes | Mapping[str, Any] | Any
#: A consumer's own check of secret bytes (after the length check); raises ConfigurationError.
SecretCheck = Callable[[bytes], bytes]
_DEFAULT_COOLDOWN = 60.0


def require_https(url: object, name: str) -> str:
    """``url`` if it is an https URL with a host; else a ``ConfigurationError``."""
    if not isinstance(url, str) or not url.lower().startswith("https://"):
        raise ConfigurationError(f"{name} must be an https:// URL")
    if not urllib.parse.urlsplit(url).hostname:
        raise ConfigurationError(f"{name} must name a host")
    return url


def _cooldown(value: float) -> float:
    if not value >= 0:
        raise ConfigurationError("cooldown must be a number of seconds, 0 or more")
    return float(value)


class SecretKey:
    """An HMAC secret given directly: ``SecretKey(os.environ["ENVELOPE_SECRET"])``."""

    __module__ = "tenantkit.keys"  # its public home

    __slots__ = ("_value",)

    def __init__(self, value: str | bytes) -> None:
        self._value = checked_secret(value, "a SecretKey")

    def __repr__(self) -> str:
        return "SecretKey(<hidden>)"

    def source(self, name: str, check: SecretCheck | None = None) -> KeySource[bytes]:
        """The key bytes for ``name`` (a consumer), checked by ``check`` now."""
        return KeySource.fixed(self._value if check is None else check(self._value))


class SecretsManagerKey:
    """An HMAC secret kept in AWS Secrets Manager, read on first use.

    ``json_key`` reads one string field of a JSON secret (``{"signature": "..."}``);
    ``None`` takes the whole ``SecretString`` (or ``SecretBinary``). After a signature
    fails to verify, the secret is read again at most once per ``cooldown`` seconds, so
    a rotated secret is picked up. The client is ``client=``, or built on first use
    from ``boto3_session=``/``boto_config=``.
    """

    __module__ = "tenantkit.keys"  # its public home

    __slots__ = ("_client", "cooldown", "json_key", "secret_id")

    def __init__(
        self,
        secret_id: str,
        *,
        json_key: str | None = None,
        cooldown: float = _DEFAULT_COOLDOWN,
        client: SecretsManagerClient | None = None,
        boto3_session: boto3.session.Session | None = None,
        boto_config: Config | None = None,
    ) -> None:
        if not isinstance(secret_id, str) or not secret_id:
            raise ConfigurationError("secret_id must name a Secrets Manager secret")
        if json_key is not None and (not isinstance(json_key, str) or not json_key):
            raise ConfigurationError("json_key must be a non-empty string or None")
        self.secret_id = secret_id
        self.json_key = json_key
        self.cooldown = _cooldown(cooldown)
        self._client = ClientOptions(
            "secretsmanager", client=client, boto3_session=boto3_session, boto_config=boto_config
        )

    def __repr__(self) -> str:
        return f"SecretsManagerKey({self.secret_id!r}, json_key={self.json_key!r})"

    def source(self, name: str, check: SecretCheck | None = None) -> KeySource[bytes]:
        """A source that reads the secret for ``name`` (a consumer) and checks each value."""

        def load() -> bytes:
            raw = checked_secret(self._read(name), f"{name} in Secrets Manager")
            return raw if check is None else check(raw)

        return KeySource(
            load,
            name=name,
            hint=f"check the function's permission to read secret {self.secret_id!r}",
            cooldown=self.cooldown,
        )

    def _read(self, name: str) -> str | bytes:
        response = self._client.get().get_secret_value(SecretId=self.secret_id)
        value: str | bytes | None = response.get("SecretString")
        if value is None:
            value = response.get("SecretBinary")
        if value is None:
            raise ConfigurationError(f"{name} in Secrets Manager is empty")
        if self.json_key is None:
            return value
        try:
            field = json.loads(value)[self.json_key]
        except (ValueError, KeyError, TypeError):
            raise ConfigurationError(
                f"{name} in Secrets Manager is not a JSON object with the key "
                f"{self.json_key!r}; store it as {{{self.json_key!r}: ...}}"
            ) from None
        if not isinstance(field, str):
            raise ConfigurationError(f"{name}'s {self.json_key!r} is not a string")
        return field


#: An HMAC secret, given directly or kept in Secrets Manager.
Secret: TypeAlias = SecretKey | SecretsManagerKey


class Jwks:
    """A JWK Set at an https URL: fetched on first use, again for an unknown ``kid`` at
    most once per ``cooldown`` seconds. ``fetcher`` replaces the default https fetch
    (no redirects, bounded size and time)."""

    __module__ = "tenantkit.keys"  # its public home

    __slots__ = ("cooldown", "fetcher", "url")

    def __init__(
        self,
        url: str,
        *,
        fetcher: JwksFetcher | None = None,
        cooldown: float = _DEFAULT_COOLDOWN,
    ) -> None:
        self._set(require_https(url, "the JWKS URL"), fetcher, cooldown)

    @classmethod
    def from_discovery(
        cls, *, fetcher: JwksFetcher | None = None, cooldown: float = _DEFAULT_COOLDOWN
    ) -> Jwks:
        """The JWKS named by the issuer's ``/.well-known/openid-configuration``, which
        must name the verifier's issuer and a ``jwks_uri`` on the issuer's host."""
        jwks = cls.__new__(cls)
        jwks._set(None, fetcher, cooldown)
        return jwks

    def _set(self, url: str | None, fetcher: JwksFetcher | None, cooldown: float) -> None:
        self.url = url  # None: read from the issuer's discovery document
        self.fetcher = fetcher
        self.cooldown = _cooldown(cooldown)

    def __repr__(self) -> str:
        return f"Jwks({self.url!r})" if self.url else "Jwks.from_discovery()"


class PublicKeys:
    """Public keys given at configuration: a ``kid`` picks one, keys without one may match."""

    __module__ = "tenantkit.keys"  # its public home

    __slots__ = ("keys",)

    def __init__(self, keys: Sequence[PublicKeyInput]) -> None:
        if isinstance(keys, str | bytes | Mapping) or not isinstance(keys, Sequence):
            raise ConfigurationError("PublicKeys takes a list of keys: PublicKeys([pem])")
        if not keys:
            raise ConfigurationError("PublicKeys is empty; give at least one public key")
        self.keys = tuple(keys)

    def __repr__(self) -> str:
        return f"PublicKeys(<{len(self.keys)} keys>)"
