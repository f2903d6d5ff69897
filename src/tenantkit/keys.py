"""Where tenantkit's keys come from: the public home of the key descriptions.

HMAC secrets (``TokenVerifier`` with HS*, ``EnvelopeSigner``, ``TenantTable``'s cursors):
``SecretKey(value)`` (the secret itself, at least 32 bytes) or
``SecretsManagerKey(secret_id, json_key=...)`` (read from AWS Secrets Manager on first use
and again after a signature fails). Public keys of a token issuer (``TokenVerifier`` with
RS*, PS*, ES* or EdDSA): ``Jwks(url)`` or ``Jwks.from_discovery(issuer)``, or
``PublicKeys([...])``.

``tenantkit.auth``, ``tenantkit.dynamo`` and ``tenantkit.events`` re-export the ones they
take. The code lives in a private module shared by all three (which may not import each
other); this module is the name to import and document. Nothing is fetched or imported
until a key is needed.
"""

from tenantkit._shared.keys import Jwks, PublicKeys, SecretKey, SecretsManagerKey

__all__ = ["Jwks", "PublicKeys", "SecretKey", "SecretsManagerKey"]
