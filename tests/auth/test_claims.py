"""Claim rules: issuer and audience are required, opting out has a name, required_claims
pin values, and times are numbers only (where ``jwt.decode`` would take ``int()``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest

from tenantkit.auth import ANY_AUDIENCE as EXPORTED_ANY_AUDIENCE
from tenantkit.auth import ANY_ISSUER as EXPORTED_ANY_ISSUER
from tenantkit.auth import SecretKey
from tenantkit.auth.claims import ClaimRules
from tenantkit.auth.verifier import ANY_AUDIENCE, ANY_ISSUER, TokenVerifier
from tenantkit.errors import ConfigurationError, UnauthorizedError

from .conftest import AUDIENCE, ISSUER, SECRET


def hs(**options: Any) -> TokenVerifier:
    settings: dict[str, Any] = {"issuer": ISSUER, "audience": AUDIENCE, **options}
    return TokenVerifier(algorithm="HS256", keys=SecretKey(SECRET), **settings)


def refused(verifier: TokenVerifier, token: str) -> str:
    with pytest.raises(UnauthorizedError) as info:
        verifier.verify(f"Bearer {token}")
    assert token not in str(info.value)
    return str(info.value)


# -- issuer and audience are required ------------------------------------------------------


def test_the_opt_outs_are_exported_by_the_package() -> None:
    assert EXPORTED_ANY_ISSUER is ANY_ISSUER
    assert EXPORTED_ANY_AUDIENCE is ANY_AUDIENCE


def test_issuer_and_audience_cannot_be_left_out() -> None:
    with pytest.raises(TypeError, match="issuer"):
        TokenVerifier(algorithm="HS256", keys=SecretKey(SECRET), audience=AUDIENCE)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="audience"):
        TokenVerifier(algorithm="HS256", keys=SecretKey(SECRET), issuer=ISSUER)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("options", "hint"),
    [
        ({"issuer": None}, "ANY_ISSUER"),
        ({"issuer": ""}, "ANY_ISSUER"),
        ({"issuer": ["a", "b"]}, "ANY_ISSUER"),
        ({"audience": None}, "ANY_AUDIENCE"),
        ({"audience": ""}, "audience"),
        ({"audience": []}, "audience"),
        ({"audience": {"a": "b"}}, "audience"),
        ({"audience": b"parks-api"}, "audience"),
        ({"required_claims": {"cid": []}}, "cid"),
        ({"required_claims": {"cid": [""]}}, "cid"),
        ({"required_claims": {"cid": 7}}, "cid"),
        ({"required_claims": {"": "x"}}, "claim names"),
    ],
)
def test_none_and_empty_are_not_opt_outs(options: dict[str, Any], hint: str) -> None:
    with pytest.raises(ConfigurationError, match=hint):
        hs(**options)


def test_any_issuer_is_the_named_opt_out(hs_token: Callable[..., str]) -> None:
    strict, loose = hs(), hs(issuer=ANY_ISSUER)
    for token in (hs_token(iss="https://elsewhere.example"), hs_token(iss=...)):
        refused(strict, token)
        assert loose.verify(f"Bearer {token}").subject == "alice"


def test_any_audience_is_the_named_opt_out(hs_token: Callable[..., str]) -> None:
    strict, loose = hs(), hs(audience=ANY_AUDIENCE)
    for token in (hs_token(aud="another-api"), hs_token(aud=...), hs_token(aud=["x", "y"])):
        refused(strict, token)
        assert loose.verify(f"Bearer {token}").subject == "alice"


def test_several_audiences(hs_token: Callable[..., str]) -> None:
    verifier = hs(audience=[AUDIENCE, "admin-api"])
    for aud in (AUDIENCE, "admin-api", ["admin-api", "x"]):
        assert verifier.verify(f"Bearer {hs_token(aud=aud)}").subject == "alice"
    for aud in ("another-api", ["x", "y"], [], [["admin-api"]], {"aud": AUDIENCE}, 7):
        refused(verifier, hs_token(aud=aud))


# -- required claims -----------------------------------------------------------------------


def test_required_claims_pin_values(hs_token: Callable[..., str]) -> None:
    verifier = hs(required_claims={"token_use": "access", "client_id": ["web", "mobile"]})
    for client_id in ("web", "mobile"):
        token = hs_token(token_use="access", client_id=client_id)
        assert verifier.verify(f"Bearer {token}").subject == "alice"
    for bad in (
        hs_token(token_use="id", client_id="web"),
        hs_token(token_use="access", client_id="other"),
        hs_token(token_use="access"),
        hs_token(client_id="web"),
        hs_token(token_use="access", client_id=["web"]),
        hs_token(token_use="access", client_id=None),
        hs_token(token_use="ACCESS", client_id="web"),
    ):
        refused(verifier, bad)


# -- times are numbers ---------------------------------------------------------------------


@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
@pytest.mark.parametrize("value", ["99999999999", "0", True, False])
def test_attack_validly_signed_times_that_int_would_accept(
    hs_token: Callable[..., str], claim: str, value: object
) -> None:
    """``jwt.decode`` takes ``int()`` of these claims, so it accepts some of them; the
    verifier wants JSON numbers. This is one reason it checks times itself."""
    now = int(time.time())
    token = hs_token(**{"exp": now + 600, "nbf": now - 5, "iat": now - 5, claim: value})
    refused(hs(), token)


def test_jwt_decode_accepts_a_string_exp(hs_token: Callable[..., str]) -> None:
    """Pins the PyJWT behaviour the test above guards against."""
    token = hs_token(exp="99999999999")
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], issuer=ISSUER, audience=AUDIENCE)
    assert claims["exp"] == "99999999999"


def test_leeway_applies_to_every_time(hs_token: Callable[..., str]) -> None:
    now = time.time()
    verifier = hs(leeway=60, clock=lambda: now)
    for claims in ({"exp": int(now) - 50}, {"nbf": int(now) + 50}, {"iat": int(now) + 50}):
        assert verifier.verify(f"Bearer {hs_token(**claims)}").subject == "alice"
    for claims in ({"exp": int(now) - 70}, {"nbf": int(now) + 70}, {"iat": int(now) + 70}):
        refused(verifier, hs_token(**claims))


# -- exact boundaries (issue 16's mutation gaps), on ClaimRules and a fixed clock -----------

NOW = 1_800_000_000.0


def rules(**options: Any) -> ClaimRules:
    settings: dict[str, Any] = {
        "issuer": ISSUER,
        "audience": AUDIENCE,
        "required_claims": None,
        "subject_claim": "sub",
        "leeway": 0,
        **options,
    }
    return ClaimRules(**settings)


def token_claims(**overrides: Any) -> dict[str, Any]:
    body = {"sub": "alice", "iss": ISSUER, "aud": AUDIENCE, "exp": NOW + 600, **overrides}
    return {k: v for k, v in body.items() if v is not ...}


@pytest.mark.parametrize("leeway", [0, 30])
def test_exp_is_exclusive_to_the_second_with_leeway(leeway: int) -> None:
    checker = rules(leeway=leeway)
    assert checker.check(token_claims(exp=NOW - leeway + 0.5), NOW).subject == "alice"
    with pytest.raises(UnauthorizedError, match="expired"):
        checker.check(token_claims(exp=NOW - leeway), NOW)


@pytest.mark.parametrize("claim", ["nbf", "iat"])
@pytest.mark.parametrize("leeway", [0, 30])
def test_nbf_and_iat_may_be_exactly_now_plus_leeway(claim: str, leeway: int) -> None:
    checker = rules(leeway=leeway)
    assert checker.check(token_claims(**{claim: NOW + leeway}), NOW).subject == "alice"
    with pytest.raises(UnauthorizedError, match="not valid yet"):
        checker.check(token_claims(**{claim: NOW + leeway + 0.5}), NOW)


def test_finite_fractional_times_are_numbers() -> None:
    """JSON has one number type: 1800000600.5 is as valid an exp as 1800000600."""
    verified = rules().check(token_claims(exp=NOW + 600.5, nbf=NOW - 0.5, iat=NOW - 0.5), NOW)
    assert verified.expires_at == NOW + 600.5
    for bad in (float("inf"), float("nan")):
        with pytest.raises(UnauthorizedError):
            rules().check(token_claims(exp=bad), NOW)
        with pytest.raises(UnauthorizedError):
            rules().check(token_claims(nbf=bad), NOW)


def test_a_subject_of_512_characters_is_the_longest_accepted() -> None:
    assert rules().check(token_claims(sub="s" * 512), NOW).subject == "s" * 512
    with pytest.raises(UnauthorizedError, match="no subject"):
        rules().check(token_claims(sub="s" * 513), NOW)


@pytest.mark.parametrize("leeway", [0, 0.5, 299.5, 300])
def test_leeway_from_0_to_300_seconds_is_accepted(leeway: float) -> None:
    assert rules(leeway=leeway).check(token_claims(exp=NOW + 1), NOW).subject == "alice"


@pytest.mark.parametrize("leeway", [-0.5, 300.5])
def test_leeway_outside_0_to_300_seconds_is_refused(leeway: float) -> None:
    with pytest.raises(ConfigurationError, match="leeway"):
        rules(leeway=leeway)


@pytest.mark.parametrize("path", ["", ".sub", "sub.", "data..sub"])
def test_a_subject_claim_path_with_an_empty_part_is_refused(path: str) -> None:
    """It could never name a claim: every token would be refused, as if signed out."""
    with pytest.raises(ConfigurationError, match="subject_claim"):
        rules(subject_claim=path)
    assert rules(subject_claim="data.sub").check(token_claims(sub=..., data={"sub": "x"}), NOW)
