"""Base64url: one spelling per value, the one the encoder produces.

The model of "canonical" here is the definition, not the decoder's shortcut: a text is
canonical when the standard library decodes it and encoding again gives it back.
"""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenantkit._shared.b64 import b64url_decode, b64url_encode

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def canonical(text: str) -> bytes | None:
    """The bytes of ``text`` if it is canonical unpadded base64url, else ``None``."""
    if len(text) % 4 == 1 or any(char not in ALPHABET for char in text):
        return None
    decoded = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    return decoded if base64.urlsafe_b64encode(decoded).rstrip(b"=").decode() == text else None


@pytest.mark.parametrize("length", [1, 2, 3, 4, 5, 6, 7, 8])
def test_canonical_check_agrees_with_re_encoding(length: int) -> None:
    """Every final character at every length, against the definition."""
    for last in ALPHABET:
        segment = "Q" * (length - 1) + last
        expected = canonical(segment)
        if expected is not None:
            assert b64url_decode(segment) == expected
        else:
            with pytest.raises(ValueError, match="base64url"):
                b64url_decode(segment)


@given(st.binary(max_size=64))
def test_what_the_encoder_writes_the_decoder_reads(data: bytes) -> None:
    text = b64url_encode(data)
    assert "=" not in text
    assert b64url_decode(text) == data


@given(st.text(alphabet=ALPHABET + "=+/ .\n\u00e9", max_size=12))
def test_the_decoder_accepts_exactly_the_canonical_texts(text: str) -> None:
    expected = canonical(text)
    if expected is None:
        with pytest.raises(ValueError, match="base64url"):
            b64url_decode(text)
    else:
        assert b64url_decode(text) == expected


@pytest.mark.parametrize("text", ["QQ==", "QQ=", "Q Q", "QQ\n", "+/8", "QQ.", "\u00e9QQ"])
def test_padding_whitespace_and_other_alphabets_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="base64url"):
        b64url_decode(text)


@pytest.mark.parametrize("size", [1, 2, 3])
def test_every_final_character_is_encoded_as_the_standard_library_does(size: int) -> None:
    """The encoder strips padding and nothing else, whatever character ends the text
    (a trailing ``X`` or ``-`` is data, never padding)."""
    for last in range(256):
        data = b"\x00" * (size - 1) + bytes([last])
        expected = base64.urlsafe_b64encode(data).decode().rstrip("=")
        assert b64url_encode(data) == expected
        assert b64url_decode(expected) == data
    assert b64url_encode(b"\x00\x00\x17") == "AAAX"
    assert b64url_encode(b"\x5d\x75\xd7" * 2) == "XXXXXXXX"
