"""JWT parsing is exact: one spelling per token, one value per JSON key (issue 11, item 3).

A token that can be spelled several ways defeats any deny list or cache keyed on its
string; a JSON object with a key twice means whatever the last parser to read it decides.
Every test here signs its token with the verifier's real secret, so only the parsing
stands between the attack and a verified token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenantkit.auth import SecretKey
from tenantkit.auth.verifier import ANY_AUDIENCE, ANY_ISSUER, TokenVerifier
from tenantkit.errors import UnauthorizedError

from .conftest import AUDIENCE, ISSUER, SECRET

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign(header_b64: str, payload_b64: str, key: str = SECRET) -> str:
    signing_input = f"{header_b64}.{payload_b64}".encode()
    signature = hmac.new(key.encode(), signing_input, hashlib.sha256).digest()
    return f"{header_b64}.{payload_b64}.{b64(signature)}"


def payload_text(**extra: Any) -> str:
    now = int(time.time())
    body = {"sub": "alice", "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 600}
    return json.dumps({**body, **extra})


HEADER = b64(b'{"alg":"HS256","typ":"JWT"}')


def verifier() -> TokenVerifier:
    return TokenVerifier(
        algorithm="HS256", keys=SecretKey(SECRET), issuer=ISSUER, audience=AUDIENCE
    )


def refused(token: str, by: TokenVerifier | None = None) -> None:
    with pytest.raises(UnauthorizedError) as info:
        (by or verifier()).verify(f"Bearer {token}")
    assert token not in str(info.value)


def respellings(segment: str) -> list[str]:
    """Every other spelling of ``segment`` that a lenient base64url decoder maps to the same
    bytes: the unused low bits of the last character set to each other value."""
    unused = {0: 0, 2: 4, 3: 2}[len(segment) % 4]
    last = ALPHABET.index(segment[-1])
    return [
        segment[:-1] + ALPHABET[last | low]
        for low in range(1, 2**unused)
        if ALPHABET[last | low] != segment[-1]
    ]


# -- duplicate JSON keys ---------------------------------------------------------------


def test_the_canonical_controls_verify() -> None:
    """The same constructions without the flaw verify, so each refusal below is the flaw's."""
    assert verifier().verify(f"Bearer {sign(HEADER, b64(payload_text().encode()))}").subject
    header = b64(b'{"alg":"HS256"}')
    assert verifier().verify(f"Bearer {sign(header, b64(payload_text().encode()))}").subject


def test_attack_duplicate_alg_in_the_header() -> None:
    """``{"alg":"none","alg":"HS256"}``: a filter reading the first ``alg`` sees ``none``."""
    header = b64(b'{"alg":"none","alg":"HS256"}')
    refused(sign(header, b64(payload_text().encode())))


@pytest.mark.parametrize("key", ["kid", "typ", "alg"])
def test_attack_any_duplicate_header_key(key: str) -> None:
    header = {"alg": "HS256", "typ": "JWT", "kid": "k1"}
    text = json.dumps(header)[:-1] + f', "{key}": {json.dumps(header[key])}}}'
    refused(sign(b64(text.encode()), b64(payload_text().encode())))


def test_attack_two_subjects_in_the_payload() -> None:
    """A payload with ``sub`` twice verified as the second subject."""
    text = payload_text()[:-1] + ', "sub": "mallory"}'
    refused(sign(HEADER, b64(text.encode())))


@pytest.mark.parametrize("evil_first", [True, False])
@pytest.mark.parametrize(
    ("claim", "other"),
    [("iss", '"https://evil.example"'), ("aud", '"other-api"'), ("exp", "9999999999")],
)
def test_attack_duplicate_registered_claims(claim: str, other: str, evil_first: bool) -> None:
    """Whichever copy a parser keeps, another reader of the same token may keep the other."""
    good = json.loads(payload_text())
    pairs = [f'"{name}": {json.dumps(value)}' for name, value in good.items()]
    index = [name for name in good].index(claim)
    pairs.insert(index if evil_first else index + 1, f'"{claim}": {other}')
    refused(sign(HEADER, b64(("{" + ", ".join(pairs) + "}").encode())))


def test_attack_duplicate_key_in_a_nested_claim() -> None:
    nested = TokenVerifier(
        algorithm="HS256",
        keys=SecretKey(SECRET),
        issuer=ANY_ISSUER,
        audience=ANY_AUDIENCE,
        subject_claim="data.sub",
    )
    good = payload_text(data={"sub": "ref-user"})
    assert nested.verify(f"Bearer {sign(HEADER, b64(good.encode()))}").subject == "ref-user"
    text = good.replace('"ref-user"', '"ref-user", "sub": "mallory"')
    refused(sign(HEADER, b64(text.encode())), nested)


# -- one spelling per token ----------------------------------------------------------------


def test_attack_the_signature_spelled_four_ways() -> None:
    """An HS256 signature is 32 bytes, 43 characters: its last one carries 2 unused bits."""
    token = sign(HEADER, b64(payload_text().encode()))
    head, body, signature = token.split(".")
    assert len(signature) % 4 == 3
    assert verifier().verify(f"Bearer {token}").subject == "alice"
    variants = respellings(signature)
    assert len(variants) == 3
    for variant in variants:
        assert base64.urlsafe_b64decode(variant + "=") == base64.urlsafe_b64decode(signature + "=")
        refused(f"{head}.{body}.{variant}")


def payload_of_length(remainder: int) -> str:
    """A payload segment whose byte length leaves ``remainder`` modulo 3 (1 or 2), so
    its last character carries unused bits (4 or 2)."""
    pad = ""
    while len(payload_text(pad=pad).encode()) % 3 != remainder:
        pad += "x"
    return b64(payload_text(pad=pad).encode())


@pytest.mark.parametrize("remainder", [1, 2])
def test_attack_header_and_payload_spelled_another_way(remainder: int) -> None:
    """The signature covers the segment text, so a respelled segment signed anew must
    still be refused: the issuer never produced that spelling."""
    payload = payload_of_length(remainder)
    header = b64(b'{"alg": "HS256"}' if remainder == 1 else b'{"alg": "HS256" }')
    assert verifier().verify(f"Bearer {sign(header, payload)}").subject == "alice"
    variants = [(header, v) for v in respellings(payload)]
    variants += [(v, payload) for v in respellings(header)]
    assert len(variants) == {1: 15 + 15, 2: 3 + 3}[remainder]
    for segment_header, segment_payload in variants:
        refused(sign(segment_header, segment_payload))


@pytest.mark.parametrize("where", [0, 1, 2])
def test_attack_padding_in_any_segment(where: int) -> None:
    parts = sign(HEADER, b64(payload_text(p="xy").encode())).split(".")
    parts[where] += "=" * (-len(parts[where]) % 4 or 4)
    refused(".".join(parts))


@pytest.mark.parametrize(
    "encoded",
    [
        '{"alg":"HS256"}'.encode("utf-16"),
        '{"alg":"HS256"}'.encode("utf-32"),
        b"\xef\xbb\xbf" + b'{"alg":"HS256"}',
    ],
    ids=["utf-16", "utf-32", "utf-8-bom"],
)
def test_attack_header_not_in_plain_utf8(encoded: bytes) -> None:
    """RFC 7515 says UTF-8; Python's json.loads(bytes) also guesses UTF-16 and UTF-32."""
    refused(sign(b64(encoded), b64(payload_text().encode())))


def test_attack_payload_not_in_plain_utf8() -> None:
    refused(sign(HEADER, b64(payload_text().encode("utf-16"))))


@settings(max_examples=60, deadline=None)
@given(extra=st.text(max_size=40), cut=st.integers(min_value=0, max_value=2))
def test_property_exactly_one_accepted_spelling(extra: str, cut: int) -> None:
    """For any payload, the canonical token verifies and every respelling of any
    segment is refused, whether or not it was signed again."""
    check = verifier()
    payload = b64(payload_text(note=extra, pad="x" * cut).encode())
    token = sign(HEADER, payload)
    assert check.verify(f"Bearer {token}").subject == "alice"
    head, body, signature = token.split(".")
    candidates = [f"{head}.{body}.{variant}" for variant in respellings(signature)]
    candidates += [sign(head, variant) for variant in respellings(body)]
    for candidate in candidates:
        with pytest.raises(UnauthorizedError):
            check.verify(f"Bearer {candidate}")
