"""TokenVerifier: configuration rules, key sources, and one test per attack."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.server
import json
import random
import threading
import time
from collections.abc import Callable
from typing import Any

import boto3
import jwt
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from moto import mock_aws

from tenantkit.auth import Jwks, PublicKeys, SecretKey, SecretsManagerKey
from tenantkit.auth.jwks import fetch_jwks, jwks_opener
from tenantkit.auth.verifier import ANY_AUDIENCE, ANY_ISSUER, TokenVerifier
from tenantkit.errors import ConfigurationError, KeySourceError, UnauthorizedError

from .conftest import AUDIENCE, ISSUER, SECRET


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def raw_token(header: dict[str, Any], payload: dict[str, Any], signature: bytes = b"") -> str:
    head = b64(json.dumps(header).encode())
    body = b64(json.dumps(payload).encode())
    return f"{head}.{body}.{b64(signature)}"


def hs256_with_key(header: dict[str, Any], payload: dict[str, Any], key: bytes) -> str:
    """Sign like an attacker would: HMAC with whatever bytes they chose as the key."""
    head = b64(json.dumps(header).encode())
    body = b64(json.dumps(payload).encode())
    signature = hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(signature)}"


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    body: dict[str, Any] = {
        "sub": "alice",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 600,
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not ...}


def public_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def rs_verifier(key: rsa.RSAPrivateKey, **kwargs: Any) -> TokenVerifier:
    return TokenVerifier(
        algorithm="RS256",
        keys=PublicKeys([public_pem(key)]),
        issuer=ISSUER,
        audience=AUDIENCE,
        **kwargs,
    )


def rejected(verifier: TokenVerifier, token: str) -> None:
    with pytest.raises(UnauthorizedError) as info:
        verifier.verify(f"Bearer {token}")
    assert token not in str(info.value)


# -- configuration ---------------------------------------------------------------------


def test_missing_key_source_fails_at_construction() -> None:
    with pytest.raises(TypeError, match="keys"):
        TokenVerifier(issuer=ANY_ISSUER, audience=ANY_AUDIENCE, algorithm="HS256")  # type: ignore[call-arg]
    # Not a key type (the secret itself, say) is refused as well, whatever the family.
    for algorithm in ("HS256", "RS256"):
        for keys in (None, SECRET, SECRET.encode()):
            with pytest.raises(ConfigurationError, match="keys="):
                TokenVerifier(
                    issuer=ANY_ISSUER,
                    audience=ANY_AUDIENCE,
                    algorithm=algorithm,
                    keys=keys,  # type: ignore[arg-type]
                )


def test_short_hmac_secret_fails_at_construction() -> None:
    with pytest.raises(ConfigurationError, match="32 bytes"):
        TokenVerifier(
            issuer=ANY_ISSUER, audience=ANY_AUDIENCE, algorithm="HS256", keys=SecretKey("x" * 31)
        )


def test_mixing_hmac_and_asymmetric_fails_at_construction(rsa_key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(ConfigurationError, match="one algorithm family"):
        TokenVerifier(
            issuer=ANY_ISSUER,
            audience=ANY_AUDIENCE,
            algorithm=["HS256", "RS256"],
            keys=SecretKey(SECRET),
        )
    with pytest.raises(ConfigurationError):
        TokenVerifier(
            issuer=ANY_ISSUER, audience=ANY_AUDIENCE, algorithm="RS256", keys=SecretKey(SECRET)
        )
    with pytest.raises(ConfigurationError):
        TokenVerifier(
            issuer=ANY_ISSUER,
            audience=ANY_AUDIENCE,
            algorithm="HS256",
            keys=PublicKeys([public_pem(rsa_key)]),
        )


@pytest.mark.parametrize("algorithm", ["none", "None", "HS1", ""])
def test_unknown_algorithms_fail_at_construction(algorithm: str) -> None:
    with pytest.raises(ConfigurationError):
        TokenVerifier(
            issuer=ANY_ISSUER, audience=ANY_AUDIENCE, algorithm=algorithm, keys=SecretKey(SECRET)
        )


def test_leeway_is_bounded() -> None:
    with pytest.raises(ConfigurationError):
        TokenVerifier(
            issuer=ANY_ISSUER,
            audience=ANY_AUDIENCE,
            algorithm="HS256",
            keys=SecretKey(SECRET),
            leeway=301,
        )


def test_jwks_url_must_be_https() -> None:
    with pytest.raises(ConfigurationError, match="https"):
        TokenVerifier(
            issuer=ANY_ISSUER,
            audience=ANY_AUDIENCE,
            algorithm="RS256",
            keys=Jwks("http://issuer.example/jwks.json"),
        )
    with pytest.raises(ConfigurationError, match="https"):
        fetch_jwks("http://127.0.0.1:1/jwks.json")


def test_jwks_opener_refuses_redirects() -> None:
    """A loopback server answering 302 towards another host: the opener must not follow."""
    followed: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/jwks.json":
                self.send_response(302)
                self.send_header("Location", "/elsewhere.json")
            else:
                followed.append(self.path)
                self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return None

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
        with pytest.raises(OSError, match="redirect"):
            jwks_opener().open(url, timeout=5)
    finally:
        server.shutdown()
        server.server_close()
    assert followed == []


def test_public_key_of_the_wrong_type_fails_at_construction() -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1()).public_key()
    with pytest.raises(ConfigurationError, match="cannot verify"):
        TokenVerifier(
            issuer=ANY_ISSUER, audience=ANY_AUDIENCE, algorithm="RS256", keys=PublicKeys([ec_key])
        )
    with pytest.raises(ConfigurationError, match="could not be loaded"):
        TokenVerifier(
            issuer=ANY_ISSUER,
            audience=ANY_AUDIENCE,
            algorithm="RS256",
            keys=PublicKeys(["not a key"]),
        )


# -- key sources -------------------------------------------------------------------------


def test_hs256_with_a_direct_secret(
    hs_verifier: TokenVerifier, hs_token: Callable[..., str]
) -> None:
    verified = hs_verifier.verify(f"Bearer {hs_token()}")
    assert verified.subject == "alice"
    assert verified.claims["iss"] == ISSUER


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "bEaReR"])
def test_bearer_scheme_in_any_case(
    hs_verifier: TokenVerifier, hs_token: Callable[..., str], scheme: str
) -> None:
    assert hs_verifier.verify(f"{scheme} {hs_token()}").subject == "alice"


@pytest.mark.parametrize("form", ["pem-str", "pem-bytes", "der", "object", "jwk"])
def test_rs256_static_public_key_forms(rsa_key: rsa.RSAPrivateKey, form: str) -> None:
    public = rsa_key.public_key()
    key: Any = {
        "pem-str": public_pem(rsa_key).decode(),
        "pem-bytes": public_pem(rsa_key),
        "der": public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "object": public,
        "jwk": {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(public)), "kid": "k1"},
    }[form]
    verifier = TokenVerifier(
        algorithm="RS256", keys=PublicKeys([key]), issuer=ISSUER, audience=AUDIENCE
    )
    token = jwt.encode(claims(), rsa_key, algorithm="RS256", headers={"kid": "k1"})
    assert verifier.verify(f"Bearer {token}").subject == "alice"


def test_es256_and_eddsa_with_static_keys() -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ed_key = ed25519.Ed25519PrivateKey.generate()
    for algorithm, private in (("ES256", ec_key), ("EdDSA", ed_key)):
        verifier = TokenVerifier(
            issuer=ANY_ISSUER,
            audience=ANY_AUDIENCE,
            algorithm=algorithm,
            keys=PublicKeys([private.public_key()]),
        )
        token = jwt.encode(claims(aud=...), private, algorithm=algorithm)
        assert verifier.verify(f"Bearer {token}").subject == "alice"


def test_jwks_with_injected_fetcher(rsa_key: rsa.RSAPrivateKey) -> None:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key()))
    calls: list[str] = []

    def fetcher(url: str) -> dict[str, Any]:
        calls.append(url)
        return {"keys": [{**jwk, "kid": "k1", "use": "sig"}]}

    verifier = TokenVerifier(
        issuer=ANY_ISSUER,
        audience=ANY_AUDIENCE,
        algorithm="RS256",
        keys=Jwks("https://issuer.example/jwks.json", fetcher=fetcher),
    )
    assert calls == []  # nothing is fetched at construction
    token = jwt.encode(claims(aud=...), rsa_key, algorithm="RS256", headers={"kid": "k1"})
    assert verifier.verify(f"Bearer {token}").subject == "alice"
    assert calls == ["https://issuer.example/jwks.json"]


def test_jwk_declaring_another_algorithm_is_not_used(rsa_key: rsa.RSAPrivateKey) -> None:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key()))
    with pytest.raises(ConfigurationError, match="declares an algorithm"):
        TokenVerifier(
            issuer=ANY_ISSUER,
            audience=ANY_AUDIENCE,
            algorithm="RS256",
            keys=PublicKeys([{**jwk, "alg": "PS256"}]),
        )
    verifier = TokenVerifier(
        issuer=ANY_ISSUER,
        audience=ANY_AUDIENCE,
        algorithm="RS256",
        keys=Jwks(
            "https://issuer.example/jwks.json",
            fetcher=lambda url: {"keys": [{**jwk, "kid": "k1", "alg": "RS512"}]},
        ),
    )
    token = jwt.encode(claims(aud=...), rsa_key, algorithm="RS256", headers={"kid": "k1"})
    # A key set with no usable key is the issuer's problem, not the token's: a 500.
    with pytest.raises(KeySourceError):
        verifier.verify(f"Bearer {token}")


def test_unreachable_jwks_is_a_server_error_retried_at_most_once_a_second(
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key()))
    fetches: list[str] = []
    up = False

    def fetcher(url: str) -> dict[str, Any]:
        fetches.append(url)
        if not up:
            raise OSError("down")
        return {"keys": [{**jwk, "kid": "k1"}]}

    verifier = TokenVerifier(
        issuer=ANY_ISSUER,
        audience=ANY_AUDIENCE,
        algorithm="RS256",
        keys=Jwks("https://issuer.example/jwks.json", fetcher=fetcher),
    )
    token = jwt.encode(claims(aud=...), rsa_key, algorithm="RS256", headers={"kid": "k1"})
    for _ in range(10):
        with pytest.raises(KeySourceError):
            verifier.verify(f"Bearer {token}")
    assert len(fetches) == 1
    up = True
    verifier._keys._source._retry_at -= 2  # type: ignore[attr-defined]  # a second later: not locked out for the whole cooldown
    assert verifier.verify(f"Bearer {token}").subject == "alice"


def test_failed_jwks_fetch_keeps_the_last_good_key_set(rsa_key: rsa.RSAPrivateKey) -> None:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key()))
    answers: list[Any] = [{"keys": [{**jwk, "kid": "k1"}]}, OSError("down")]

    def fetcher(url: str) -> dict[str, Any]:
        answer = answers.pop(0) if answers else OSError("down")
        if isinstance(answer, Exception):
            raise answer
        return dict(answer)

    verifier = TokenVerifier(
        issuer=ANY_ISSUER,
        audience=ANY_AUDIENCE,
        algorithm="RS256",
        keys=Jwks("https://issuer.example/jwks.json", fetcher=fetcher, cooldown=0),
        cache_size=0,
    )
    good = jwt.encode(claims(aud=...), rsa_key, algorithm="RS256", headers={"kid": "k1"})
    unknown = jwt.encode(claims(aud=...), rsa_key, algorithm="RS256", headers={"kid": "k2"})
    assert verifier.verify(f"Bearer {good}").subject == "alice"
    rejected(verifier, unknown)  # triggers a refetch, which fails
    assert verifier.verify(f"Bearer {good}").subject == "alice"


def test_dotted_subject_claim(hs_token: Callable[..., str]) -> None:
    verifier = TokenVerifier(
        issuer=ANY_ISSUER,
        audience=ANY_AUDIENCE,
        algorithm="HS256",
        keys=SecretKey(SECRET),
        subject_claim="data.sub",
    )
    token = hs_token(sub=..., aud=..., data={"sub": "ref-user"})
    assert verifier.verify(f"Bearer {token}").subject == "ref-user"
    rejected(verifier, hs_token(aud=...))  # a top-level sub is not data.sub


class FakeSecrets:
    """A Secrets Manager stand-in that counts fetches and can be rotated."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.calls = 0

    def get_secret_value(self, SecretId: str) -> dict[str, Any]:
        self.calls += 1
        return {"SecretString": json.dumps({"signature": self.secret})}


def test_secrets_manager_secret_is_fetched_lazily(hs_token: Callable[..., str]) -> None:
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="us-east-1")
        client.create_secret(Name="jwt", SecretString=json.dumps({"signature": SECRET}))
        verifier = TokenVerifier(
            algorithm="HS256",
            keys=SecretsManagerKey("jwt", json_key="signature", client=client),
            issuer=ISSUER,
            audience=AUDIENCE,
        )
        assert verifier.verify(f"Bearer {hs_token()}").subject == "alice"


def test_secret_without_the_json_key_is_a_configuration_error(
    hs_token: Callable[..., str],
) -> None:
    fake = FakeSecrets(SECRET)
    fake.get_secret_value = lambda SecretId: {"SecretString": "{}"}  # type: ignore[method-assign]
    verifier = TokenVerifier(
        issuer=ANY_ISSUER,
        audience=ANY_AUDIENCE,
        algorithm="HS256",
        keys=SecretsManagerKey("jwt", json_key="signature", client=fake),  # type: ignore[arg-type]
    )
    with pytest.raises(ConfigurationError, match="signature"):
        verifier.verify(f"Bearer {hs_token(aud=...)}")


def test_rotated_secret_is_picked_up_at_most_once_per_cooldown(
    hs_token: Callable[..., str],
) -> None:
    fake = FakeSecrets(SECRET)
    verifier = TokenVerifier(
        issuer=ANY_ISSUER,
        audience=ANY_AUDIENCE,
        algorithm="HS256",
        keys=SecretsManagerKey(
            "jwt",
            json_key="signature",
            client=fake,
            cooldown=60,  # type: ignore[arg-type]
        ),
    )
    assert verifier.verify(f"Bearer {hs_token(aud=...)}").subject == "alice"
    assert fake.calls == 1
    rotated = "b-brand-new-rotated-secret-of-32-bytes-or-more"
    fake.secret = rotated
    new_token = hs_token(aud=..., key=rotated)
    # Within the cooldown: no refetch, however many bad tokens arrive.
    for _ in range(20):
        rejected(verifier, new_token)
    assert fake.calls == 1
    verifier._keys._source._loaded_at -= 61  # type: ignore[attr-defined]  # the cooldown has passed
    assert verifier.verify(f"Bearer {new_token}").subject == "alice"
    assert fake.calls == 2


class FailingSecrets(FakeSecrets):
    """Secrets Manager that is down until ``up`` is set."""

    up = False

    def get_secret_value(self, SecretId: str) -> dict[str, Any]:
        if not self.up:
            self.calls += 1
            raise OSError("secretsmanager unreachable")
        return super().get_secret_value(SecretId)


def test_unreachable_secret_is_a_server_error_retried_at_most_once_a_second(
    hs_token: Callable[..., str],
) -> None:
    fake = FailingSecrets(SECRET)
    verifier = TokenVerifier(
        issuer=ANY_ISSUER,
        audience=ANY_AUDIENCE,
        algorithm="HS256",
        keys=SecretsManagerKey("jwt", json_key="signature", client=fake),  # type: ignore[arg-type]
    )
    token = f"Bearer {hs_token(aud=...)}"
    for _ in range(20):
        with pytest.raises(KeySourceError) as error:
            verifier.verify(token)
        assert "unreachable" not in str(error.value)  # no internals in the message
    assert fake.calls == 1  # not one call per request
    fake.up = True
    verifier._keys._source._retry_at -= 2  # type: ignore[attr-defined]  # a second later
    assert verifier.verify(token).subject == "alice"


def test_misconfigured_secret_is_not_refetched_on_every_request(
    hs_token: Callable[..., str],
) -> None:
    fake = FakeSecrets("too-short")
    verifier = TokenVerifier(
        issuer=ANY_ISSUER,
        audience=ANY_AUDIENCE,
        algorithm="HS256",
        keys=SecretsManagerKey("jwt", json_key="signature", client=fake),  # type: ignore[arg-type]
    )
    for _ in range(5):
        with pytest.raises((ConfigurationError, KeySourceError)):
            verifier.verify(f"Bearer {hs_token(aud=...)}")
    assert fake.calls == 1


def test_failed_refresh_keeps_the_loaded_secret(hs_token: Callable[..., str]) -> None:
    fake = FailingSecrets(SECRET)
    fake.up = True
    verifier = TokenVerifier(
        issuer=ANY_ISSUER,
        audience=ANY_AUDIENCE,
        algorithm="HS256",
        keys=SecretsManagerKey(
            "jwt",
            json_key="signature",
            client=fake,
            cooldown=60,  # type: ignore[arg-type]
        ),
    )
    assert verifier.verify(f"Bearer {hs_token(aud=...)}").subject == "alice"
    fake.up = False
    verifier._keys._source._loaded_at -= 61  # type: ignore[attr-defined]
    rejected(verifier, hs_token(aud=..., key="another-secret-of-at-least-32-bytes!!"))
    verifier.clear_cache()
    assert verifier.verify(f"Bearer {hs_token(aud=..., sub='bob')}").subject == "bob"


# -- attacks -------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE", "NoNe"])
def test_attack_alg_none_in_every_casing(
    hs_verifier: TokenVerifier, rsa_key: rsa.RSAPrivateKey, alg: str
) -> None:
    token = raw_token({"alg": alg, "typ": "JWT"}, claims())
    rejected(hs_verifier, token)
    rejected(rs_verifier(rsa_key), token)


def _rsa_public_forms(key: rsa.RSAPrivateKey) -> dict[str, bytes]:
    public = key.public_key()
    pem = public_pem(key)
    return {
        "pem": pem,
        "der": public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "jwk-json": jwt.algorithms.RSAAlgorithm.to_jwk(public).encode(),
        "pem-whitespace": b"  " + pem.replace(b"\n", b"\r\n") + b"\n\n",
        "pem-pkcs1": public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.PKCS1
        ),
    }


@pytest.mark.parametrize("form", ["pem", "der", "jwk-json", "pem-whitespace", "pem-pkcs1"])
def test_attack_hs256_signed_with_the_rsa_public_key(rsa_key: rsa.RSAPrivateKey, form: str) -> None:
    key_bytes = _rsa_public_forms(rsa_key)[form]
    token = hs256_with_key({"alg": "HS256", "typ": "JWT"}, claims(), key_bytes)
    rejected(rs_verifier(rsa_key), token)


def test_attack_wrong_issuer(hs_verifier: TokenVerifier, hs_token: Callable[..., str]) -> None:
    rejected(hs_verifier, hs_token(iss="https://evil.example"))
    rejected(hs_verifier, hs_token(iss=...))


def test_attack_wrong_audience(hs_verifier: TokenVerifier, hs_token: Callable[..., str]) -> None:
    rejected(hs_verifier, hs_token(aud="another-api"))
    rejected(hs_verifier, hs_token(aud=...))
    # Exact matches only: no substrings, no prefixes, in a string or a list.
    for near in (f"x{AUDIENCE}", AUDIENCE[:-1], f"{AUDIENCE} ", AUDIENCE.upper()):
        rejected(hs_verifier, hs_token(aud=near))
        rejected(hs_verifier, hs_token(aud=[near, "another-api"]))
    assert hs_verifier.verify(f"Bearer {hs_token(aud=['another-api', AUDIENCE])}").subject


def test_attack_expired_token(hs_verifier: TokenVerifier, hs_token: Callable[..., str]) -> None:
    rejected(hs_verifier, hs_token(exp=int(time.time()) - 31))


def test_expired_within_leeway_is_accepted(
    hs_verifier: TokenVerifier, hs_token: Callable[..., str]
) -> None:
    assert hs_verifier.verify(f"Bearer {hs_token(exp=int(time.time()) - 5)}").subject


def test_attack_future_nbf(hs_verifier: TokenVerifier, hs_token: Callable[..., str]) -> None:
    rejected(hs_verifier, hs_token(nbf=int(time.time()) + 120))


def test_attack_future_iat(hs_verifier: TokenVerifier, hs_token: Callable[..., str]) -> None:
    rejected(hs_verifier, hs_token(iat=int(time.time()) + 120))


def test_attack_missing_exp(hs_verifier: TokenVerifier, hs_token: Callable[..., str]) -> None:
    rejected(hs_verifier, hs_token(exp=...))


@pytest.mark.parametrize("value", [None, "tomorrow", [1], True, {"at": 1}])
def test_attack_validly_signed_exp_of_the_wrong_type(
    hs_verifier: TokenVerifier, hs_token: Callable[..., str], value: object
) -> None:
    rejected(hs_verifier, hs_token(exp=value))


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_attack_validly_signed_non_finite_numbers(hs_verifier: TokenVerifier, literal: str) -> None:
    """Python's json accepts NaN/Infinity; an ``exp`` of Infinity must not mean 'never'."""
    payload = json.dumps(claims()).replace('"exp": ', f'"exp": {literal}, "was": ')
    head = b64(json.dumps({"alg": "HS256"}).encode())
    body = b64(payload.encode())
    signature = hmac.new(SECRET.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    rejected(hs_verifier, f"{head}.{body}.{b64(signature)}")


def test_weak_or_confusable_keys_fail_at_construction(rsa_key: rsa.RSAPrivateKey) -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()  # noqa: S505
    with pytest.raises(ConfigurationError, match="2048"):
        TokenVerifier(
            issuer=ANY_ISSUER, audience=ANY_AUDIENCE, algorithm="RS256", keys=PublicKeys([small])
        )
    with pytest.raises(ConfigurationError, match="looks like a public key"):
        TokenVerifier(
            issuer=ANY_ISSUER,
            audience=ANY_AUDIENCE,
            algorithm="HS256",
            keys=SecretKey(public_pem(rsa_key)),
        )


def test_attack_public_key_stored_as_the_hmac_secret_in_secrets_manager(
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    """Keyed with its issuer's public key, an HS256 verifier accepts tokens anyone can sign:
    a secret read from Secrets Manager gets the same check as one given directly."""
    fake = FakeSecrets(public_pem(rsa_key).decode())
    verifier = TokenVerifier(
        issuer=ANY_ISSUER,
        audience=ANY_AUDIENCE,
        algorithm="HS256",
        keys=SecretsManagerKey("jwt", json_key="signature", client=fake),  # type: ignore[arg-type]
    )
    forged = hs256_with_key({"alg": "HS256"}, claims(aud=...), public_pem(rsa_key))
    with pytest.raises(ConfigurationError, match="looks like a public key"):
        verifier.verify(f"Bearer {forged}")


def test_es256_token_is_not_checked_with_a_p384_key() -> None:
    p384 = ec.generate_private_key(ec.SECP384R1())
    verifier = TokenVerifier(
        issuer=ANY_ISSUER,
        audience=ANY_AUDIENCE,
        algorithm=["ES256", "ES384"],
        keys=PublicKeys([p384.public_key()]),
    )
    good = jwt.encode(claims(aud=...), p384, algorithm="ES384")
    assert verifier.verify(f"Bearer {good}").subject == "alice"
    head = b64(json.dumps({"alg": "ES256"}).encode())
    _, body, signature = good.split(".")
    rejected(verifier, f"{head}.{body}.{signature}")


def test_attack_missing_or_empty_subject(
    hs_verifier: TokenVerifier, hs_token: Callable[..., str]
) -> None:
    rejected(hs_verifier, hs_token(sub=...))
    rejected(hs_verifier, hs_token(sub=""))
    rejected(hs_verifier, hs_token(sub=42))


def test_attack_crit_header(hs_verifier: TokenVerifier) -> None:
    token = hs256_with_key(
        {"alg": "HS256", "crit": ["exp-ext"], "exp-ext": 1}, claims(), SECRET.encode()
    )
    rejected(hs_verifier, token)


def test_attack_jku_header_is_not_followed(rsa_key: rsa.RSAPrivateKey) -> None:
    fetched: list[str] = []
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key()))

    def fetcher(url: str) -> dict[str, Any]:
        fetched.append(url)
        return {"keys": [{**jwk, "kid": "k1"}]}

    verifier = TokenVerifier(
        issuer=ANY_ISSUER,
        audience=ANY_AUDIENCE,
        algorithm="RS256",
        keys=Jwks("https://issuer.example/jwks.json", fetcher=fetcher),
    )
    token = jwt.encode(
        claims(aud=...),
        rsa_key,
        algorithm="RS256",
        headers={"kid": "k1", "jku": "https://evil.example/jwks.json"},
    )
    rejected(verifier, token)
    assert "https://evil.example/jwks.json" not in fetched


@pytest.mark.parametrize("header", ["jwk", "x5c", "x5u"])
def test_attack_embedded_key_headers(rsa_key: rsa.RSAPrivateKey, header: str) -> None:
    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    attacker_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(attacker.public_key()))
    value: object = {
        "jwk": attacker_jwk,
        "x5c": ["MIIB"],
        "x5u": "https://evil.example/cert.pem",
    }[header]
    token = jwt.encode(claims(), attacker, algorithm="RS256", headers={header: value})
    rejected(rs_verifier(rsa_key), token)
    # Even signed with the right key, the header itself is refused.
    rejected(rs_verifier(rsa_key), jwt.encode(claims(), rsa_key, "RS256", {header: value}))


def test_attack_1000_random_kids_fetch_bounded_by_cooldown(rsa_key: rsa.RSAPrivateKey) -> None:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key()))
    fetches: list[str] = []

    def fetcher(url: str) -> dict[str, Any]:
        fetches.append(url)
        return {"keys": [{**jwk, "kid": "real"}]}

    verifier = TokenVerifier(
        issuer=ANY_ISSUER,
        audience=ANY_AUDIENCE,
        algorithm="RS256",
        keys=Jwks("https://issuer.example/jwks.json", fetcher=fetcher, cooldown=300),
    )
    rng = random.Random(7)
    for _ in range(1000):
        kid = "".join(rng.choice("abcdef0123456789") for _ in range(16))
        header = b64(json.dumps({"alg": "RS256", "kid": kid}).encode())
        body = b64(json.dumps(claims(aud=...)).encode())
        rejected(verifier, f"{header}.{body}.{b64(b'x' * 256)}")
    assert len(fetches) == 1  # the first fetch; every refetch falls in the cooldown
    good = jwt.encode(claims(aud=...), rsa_key, algorithm="RS256", headers={"kid": "real"})
    assert verifier.verify(f"Bearer {good}").subject == "alice"


def test_attack_oversized_token(hs_verifier: TokenVerifier, hs_token: Callable[..., str]) -> None:
    token = hs_token(padding="p" * 9000)
    rejected(hs_verifier, token)
    with pytest.raises(UnauthorizedError):
        hs_verifier.verify_token(token)


@pytest.mark.parametrize(
    "template",
    [
        "Basic {t}",
        "Token {t}",
        "Bearer  {t}",
        "Bearer\t{t}",
        " Bearer {t}",
        "Bearer {t} ",
        "Bearer {t} {t}",
        "Bearer {t},Bearer {t}",
        "{t}",
        "Bearer",
        "Bearer ",
        "",
    ],
)
def test_attack_non_bearer_schemes(
    hs_verifier: TokenVerifier, hs_token: Callable[..., str], template: str
) -> None:
    with pytest.raises(UnauthorizedError):
        hs_verifier.verify(template.format(t=hs_token()))


@pytest.mark.parametrize(
    "token",
    [
        "a.b.c",
        "!!!.???.***",
        f"{b64(b'not json')}.{b64(b'{}')}.",
        f"{b64(b'[1,2]')}.{b64(b'{}')}.",
        f"{b64(json.dumps({'alg': 'HS256'}).encode())}.{b64(b'not json')}.{b64(b'sig')}",
        f"{b64(json.dumps({'alg': 'HS256'}).encode())}.{b64(b'[]')}.{b64(b'sig')}",
        "eyJhbGciOiJIUzI1NiJ9.e30",
    ],
)
def test_attack_malformed_tokens_are_401_not_500(hs_verifier: TokenVerifier, token: str) -> None:
    with pytest.raises(UnauthorizedError):
        hs_verifier.verify(f"Bearer {token}")


def test_attack_signature_from_another_secret(
    hs_verifier: TokenVerifier, hs_token: Callable[..., str]
) -> None:
    rejected(hs_verifier, hs_token(key="another-secret-that-is-also-32-bytes-long"))


def test_attack_non_string_authorization(hs_verifier: TokenVerifier) -> None:
    for value in (None, 42, b"Bearer x.y.z", ["Bearer x.y.z"]):
        with pytest.raises(UnauthorizedError):
            hs_verifier.verify(value)


# -- cache ---------------------------------------------------------------------------------


def test_repeated_token_is_served_from_the_cache(
    hs_verifier: TokenVerifier, hs_token: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    token = hs_token()
    first = hs_verifier.verify(f"Bearer {token}")
    monkeypatch.setattr(
        hs_verifier, "_verify_uncached", lambda *a, **k: pytest.fail("verified twice")
    )
    assert hs_verifier.verify(f"Bearer {token}") is first
    # Keys are SHA-256 digests, never the token itself.
    keys = list(hs_verifier._cache._entries)
    assert keys == [hashlib.sha256(token.encode()).digest()]


def test_cache_entry_expires_with_the_token(hs_token: Callable[..., str]) -> None:
    now = [time.time()]
    verifier = TokenVerifier(
        issuer=ANY_ISSUER,
        audience=ANY_AUDIENCE,
        algorithm="HS256",
        keys=SecretKey(SECRET),
        leeway=0,
        clock=lambda: now[0],
        cache_ttl=3600,
    )
    token = hs_token(aud=..., exp=int(now[0]) + 10)
    verifier.verify(f"Bearer {token}")
    now[0] += 11
    rejected(verifier, token)


def test_cache_is_bounded(hs_token: Callable[..., str]) -> None:
    verifier = TokenVerifier(
        issuer=ANY_ISSUER,
        audience=ANY_AUDIENCE,
        algorithm="HS256",
        keys=SecretKey(SECRET),
        cache_size=5,
    )
    for index in range(20):
        verifier.verify(f"Bearer {hs_token(aud=..., n=index)}")
    assert len(verifier._cache._entries) == 5


def test_concurrent_verification_is_safe(hs_token: Callable[..., str]) -> None:
    verifier = TokenVerifier(
        issuer=ANY_ISSUER,
        audience=ANY_AUDIENCE,
        algorithm="HS256",
        keys=SecretKey(SECRET),
        cache_size=8,
    )
    tokens = [hs_token(aud=..., n=index) for index in range(32)]
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for token in tokens * 5:
                assert verifier.verify(f"Bearer {token}").subject == "alice"
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(verifier._cache._entries) <= 8


# -- defaults and exact boundaries (issue 16's mutation gaps) ------------------------------

T0 = 1_800_000_000.0  # a clock reading; every offset below is exact in binary floating point


def test_the_default_leeway_is_30_seconds(hs_token: Callable[..., str]) -> None:
    exp = int(T0)
    token = hs_token(aud=..., iat=exp - 600, exp=exp)
    for now, accepted in ((T0 + 29.5, True), (T0 + 30, False)):
        verifier = TokenVerifier(
            issuer=ANY_ISSUER,
            audience=ANY_AUDIENCE,
            algorithm="HS256",
            keys=SecretKey(SECRET),
            clock=lambda now=now: now,
        )
        if accepted:
            assert verifier.verify(f"Bearer {token}").subject == "alice"
        else:
            rejected(verifier, token)


def _counting(verifier: TokenVerifier, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record each token that is verified for real (not served from the cache)."""
    calls: list[str] = []
    uncached = verifier._verify_uncached

    def counted(token: str, now: float) -> Any:
        calls.append(token)
        return uncached(token, now)

    monkeypatch.setattr(verifier, "_verify_uncached", counted)
    return calls


def test_a_verified_token_is_cached_for_300_seconds_by_default(
    hs_token: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [T0]
    verifier = TokenVerifier(
        issuer=ANY_ISSUER,
        audience=ANY_AUDIENCE,
        algorithm="HS256",
        keys=SecretKey(SECRET),
        clock=lambda: now[0],
    )
    calls = _counting(verifier, monkeypatch)
    token = hs_token(aud=..., iat=int(T0), exp=int(T0) + 3600)
    verifier.verify(f"Bearer {token}")
    now[0] = T0 + 299.5
    verifier.verify(f"Bearer {token}")
    assert len(calls) == 1
    now[0] = T0 + 300
    verifier.verify(f"Bearer {token}")
    assert len(calls) == 2


def test_the_cache_holds_1024_tokens_by_default(hs_token: Callable[..., str]) -> None:
    verifier = TokenVerifier(
        issuer=ANY_ISSUER, audience=ANY_AUDIENCE, algorithm="HS256", keys=SecretKey(SECRET)
    )
    for index in range(1025):
        verifier.verify(f"Bearer {hs_token(aud=..., n=index)}")
    assert len(verifier._cache) == 1024


def test_the_size_limit_is_exact(hs_token: Callable[..., str]) -> None:
    """A token of exactly ``max_token_bytes`` passes both checks; one byte more fails both."""
    token = hs_token()
    exact = TokenVerifier(
        algorithm="HS256",
        keys=SecretKey(SECRET),
        issuer=ISSUER,
        audience=AUDIENCE,
        max_token_bytes=len(token),
    )
    assert exact.verify(f"Bearer {token}").subject == "alice"
    assert exact.verify_token(token).subject == "alice"
    small = TokenVerifier(
        algorithm="HS256",
        keys=SecretKey(SECRET),
        issuer=ISSUER,
        audience=AUDIENCE,
        max_token_bytes=len(token) - 1,
    )
    with pytest.raises(UnauthorizedError, match="too large"):
        small.verify(f"Bearer {token}")
    with pytest.raises(UnauthorizedError, match="too large"):
        small.verify_token(token)


@pytest.mark.parametrize("alg", ["HS256", "RS384", "none", "ES256"])
def test_attack_a_refused_algorithm_never_reaches_the_key_set(
    rsa_key: rsa.RSAPrivateKey, alg: str
) -> None:
    """An algorithm outside the configured ones is refused first: no key is looked up,
    so a token cannot make the verifier fetch the JWKS by naming an unknown kid."""
    fetches: list[str] = []
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key()))

    def fetcher(url: str) -> dict[str, Any]:
        fetches.append(url)
        return {"keys": [{**jwk, "kid": "k1"}]}

    verifier = TokenVerifier(
        issuer=ANY_ISSUER,
        audience=ANY_AUDIENCE,
        algorithm="RS256",
        keys=Jwks("https://issuer.example/jwks.json", fetcher=fetcher),
    )
    token = raw_token({"alg": alg, "kid": "unknown"}, claims(aud=...), b"x" * 64)
    with pytest.raises(UnauthorizedError, match="algorithm is not the one"):
        verifier.verify(f"Bearer {token}")
    assert fetches == []


def test_attack_es256_signed_by_a_p384_key_over_sha256() -> None:
    """ES256 means P-256. A P-384 key signing SHA-256 makes a signature that PyJWT's ES256
    would check against that key and accept: the verifier must not try the key at all."""
    p384 = ec.generate_private_key(ec.SECP384R1())
    verifier = TokenVerifier(
        issuer=ANY_ISSUER,
        audience=ANY_AUDIENCE,
        algorithm=["ES256", "ES384"],
        keys=PublicKeys([p384.public_key()]),
    )
    head = b64(json.dumps({"alg": "ES256"}).encode())
    body = b64(json.dumps(claims(aud=...)).encode())
    der = p384.sign(f"{head}.{body}".encode(), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    token = f"{head}.{body}.{b64(r.to_bytes(48, 'big') + s.to_bytes(48, 'big'))}"
    es256 = jwt.get_algorithm_by_name("ES256")
    assert es256.verify(
        f"{head}.{body}".encode(),
        p384.public_key(),
        base64.urlsafe_b64decode(token.rsplit(".", 1)[1] + "=="),
    )  # the premise: PyJWT alone would accept it
    rejected(verifier, token)
