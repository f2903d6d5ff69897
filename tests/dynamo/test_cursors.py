"""Cursors: decoded strictly, capped at a length every legitimate cursor fits in, and
resumable through every key type DynamoDB has (S, N, B) and keys of any length."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import logging
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.conditions import Key

from tenantkit.context import tenant_scope
from tenantkit.dynamo import Page, SecretKey, SecretsManagerKey, TenantTable, cursor
from tenantkit.dynamo.cursor import MAX_CURSOR_LENGTH, CursorSigner
from tenantkit.errors import InvalidCursorError
from tests.tables import create_gsi1_table

from .conftest import SECRET, TABLE, ctx

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@pytest.fixture(scope="module")
def paged(module_table: TenantTable) -> tuple[TenantTable, str]:
    with tenant_scope(ctx("texas")):
        module_table.batch_write(put=[{"pk": "p", "sk": f"{i:02}"} for i in range(6)])
        first = module_table.query("p", limit=2).cursor
    assert first is not None
    return module_table, first


def _refused(table: TenantTable, given: object) -> None:
    with tenant_scope(ctx("texas")), pytest.raises(InvalidCursorError) as raised:
        table.query("p", limit=2, cursor=given)  # type: ignore[arg-type]
    assert raised.value.status_code == 400


def _second_page(table: TenantTable, given: str) -> list[str]:
    with tenant_scope(ctx("texas")):
        return [item["sk"] for item in table.query("p", limit=2, cursor=given).items]


# -- strict decoding -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "junk", [".", "..", "=", "==", "!", "*", " ", "\n", "\t", "%3D", ".x", "A", "AA", "AAAA"]
)
def test_attack_junk_appended_to_a_valid_cursor_is_refused(
    paged: tuple[TenantTable, str], junk: str
) -> None:
    table, first = paged
    assert _second_page(table, first) == ["02", "03"]
    _refused(table, first + junk)


@pytest.mark.parametrize("junk", [" ", "\n", "=", "."])
def test_junk_before_or_inside_a_cursor_is_refused(
    paged: tuple[TenantTable, str], junk: str
) -> None:
    table, first = paged
    payload, _, signature = first.partition(".")
    for edited in (junk + first, f"{payload}{junk}.{signature}", f"{payload}.{junk}{signature}"):
        _refused(table, edited)


def test_attack_non_canonical_base64_of_the_signature_is_refused(
    paged: tuple[TenantTable, str],
) -> None:
    """A 32-byte MAC is 43 characters; the last one carries 2 unused bits, so 4 spellings
    decode to the same MAC. Only the canonical one is the cursor."""
    table, first = paged
    payload, _, signature = first.partition(".")
    last = ALPHABET.index(signature[-1])
    assert last & 3 == 0  # canonical: the unused bits are zero
    for bits in (1, 2, 3):
        variant = signature[:-1] + ALPHABET[last | bits]
        assert base64.urlsafe_b64decode(variant + "=") == base64.urlsafe_b64decode(signature + "=")
        _refused(table, f"{payload}.{variant}")
    _refused(table, f"{payload}.{signature}=")  # padded


def test_a_cursor_with_a_second_signature_is_refused(paged: tuple[TenantTable, str]) -> None:
    table, first = paged
    signature = first.partition(".")[2]
    _refused(table, f"{first}.{signature}")


@pytest.mark.parametrize("given", [123, 1.5, b"abc.def", ["abc.def"], {"c": 1}, True, object()])
def test_a_cursor_that_is_not_a_string_is_a_400(
    paged: tuple[TenantTable, str], given: object
) -> None:
    table, _ = paged
    _refused(table, given)


def test_a_cursor_given_as_bytes_of_a_valid_cursor_is_refused(
    paged: tuple[TenantTable, str],
) -> None:
    table, first = paged
    _refused(table, first.encode())


# -- the length cap ------------------------------------------------------------------------


def _cursor_of_length(signer: CursorSigner, length: int) -> tuple[str, int]:
    """A valid cursor of exactly ``length`` characters, and the digits of its number key."""

    def made(size: int) -> str:
        return signer.encode({"k": {"N": "1" * size}}, "texas", None, "f")

    low, high = 1, length  # the cursor grows with the key: find the first size that fits
    while low < high:
        middle = (low + high) // 2
        if len(made(middle)) < length:
            low = middle + 1
        else:
            high = middle
    found = made(low)
    assert len(found) == length, (len(found), length)
    return found, low


def test_a_cursor_of_exactly_the_cap_is_decoded(monkeypatch: pytest.MonkeyPatch) -> None:
    signer = CursorSigner("t", SECRET)
    made, digits = _cursor_of_length(signer, MAX_CURSOR_LENGTH)
    assert signer.decode(made, "texas", None, "f") == {"k": {"N": "1" * digits}}
    # One character under the cap refuses it before any decoding or MAC work.
    monkeypatch.setattr(cursor, "MAX_CURSOR_LENGTH", MAX_CURSOR_LENGTH - 1)
    monkeypatch.setattr(cursor.hmac, "digest", _no_mac)
    with pytest.raises(InvalidCursorError):
        signer.decode(made, "texas", None, "f")


def test_a_cursor_over_the_cap_is_refused_before_any_work(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cursor.hmac, "digest", _no_mac)
    signer = CursorSigner("t", SECRET)
    for given in ("A" * (MAX_CURSOR_LENGTH + 1), "A" * 10**6 + ".AAAA"):
        with pytest.raises(InvalidCursorError):
            signer.decode(given, "texas", None, "f")


def _no_mac(*args: object) -> bytes:
    raise AssertionError("the MAC was computed for a cursor over the length cap")


def test_the_largest_keys_give_cursors_under_the_cap_that_resume(module_client: Any) -> None:
    """Keys at DynamoDB's limits, in the characters that inflate an encoding most (4-byte
    characters, control characters), still page: the cap never refuses our own cursor."""
    table = TenantTable(TABLE, client=module_client, tenant="t", cursor_key=SECRET)
    lengths = []
    for char in ("\U0001f600", "\x01", '"', "a"):
        pk = char * ((2048 - len("t#")) // len(char.encode()))
        sort = char * (1024 // len(char.encode()) - 1)
        items = [
            {"pk": pk, "sk": sort + str(i), "GSI1PK": pk, "GSI1SK": sort + str(i)} for i in range(3)
        ]
        table.batch_write(put=items)
        for index in (None, "GSI1"):
            seen = []
            for page in _pages(table.query_all(pk, index=index, limit=1), at_most=4):
                seen += [item["sk"] for item in page.items]
                if page.cursor is not None:
                    lengths.append(len(page.cursor))
            assert seen == [item["sk"] for item in items], (repr(char), index)
    assert max(lengths) <= MAX_CURSOR_LENGTH


# -- resuming through every key type -------------------------------------------------------


def _pages(pages: Iterator[Page], *, at_most: int) -> list[Page]:
    """The pages of a query, failing (not looping forever) if a cursor does not resume."""
    taken = list(itertools.islice(pages, at_most + 1))
    assert len(taken) <= at_most, "pagination did not end: a cursor restarted the query"
    return taken


@pytest.fixture(scope="module")
def typed_tables(module_client: Any) -> dict[str, TenantTable]:
    """Tables whose sort key is a number (N), binary (B) or string (S)."""
    tables = {}
    for kind in ("N", "B", "S"):
        name = f"typed-{kind}"
        create_gsi1_table(module_client, name, sort_type=kind)
        tables[kind] = TenantTable(name, client=module_client, cursor_key=SECRET)
        for tenant in ("texas", "utah"):  # another tenant's items sit in the same partitions
            with tenant_scope(ctx(tenant)):
                tables[kind].batch_write(
                    put=[
                        {"pk": "p", "sk": k, "GSI1PK": "g", "GSI1SK": k, "n": i}
                        for i, k in enumerate(SORT_KEYS[kind])
                    ]
                )
    return tables


SORT_KEYS: dict[str, list[Any]] = {
    "N": [
        Decimal("-9.9999999999999999999999999999999999999E+125"),
        -(10**37),
        Decimal("-1.5"),
        Decimal("-1E-130"),
        0,
        Decimal("1E-130"),
        Decimal("0.001"),
        1,
        Decimal("1.5"),
        2,
        10,
        12345678901234567890,
        10**37 + 1,
        Decimal("9.9999999999999999999999999999999999999E+125"),
    ],
    "B": [
        b"\x00",
        b"\x00\x00",
        b"\x00\x01",
        b"\x01",
        b"\x7f" * 3,
        b"\x80",
        b"\xfe\xff",
        b"\xff",
        b"\xff" * 1023 + b"\x00",
        b"\xff" * 1024,
    ],
    "S": [
        "\x01",
        " ",
        '"',
        "+/=",
        "0",
        "a",
        "a" * 200,
        "a.b",
        "é",
        "\uffff",
        "\U0001f600" * 256,
    ],
}


def _sorted_keys(kind: str) -> list[Any]:
    keys = SORT_KEYS[kind]
    if kind == "S":  # DynamoDB orders strings by their UTF-8 bytes, not by code points
        return sorted(keys, key=lambda k: k.encode())
    return sorted(keys)


@pytest.mark.parametrize("kind", ["N", "B", "S"])
@pytest.mark.parametrize("limit", [1, 3])
@pytest.mark.parametrize("forward", [True, False])
@pytest.mark.parametrize("index", [None, "GSI1"])
def test_pagination_returns_every_item_exactly_once(
    typed_tables: dict[str, TenantTable], kind: str, limit: int, forward: bool, index: str | None
) -> None:
    table = typed_tables[kind]
    keys = _sorted_keys(kind)
    with tenant_scope(ctx("texas")):
        pages = _pages(
            table.query_all("g" if index else "p", index=index, limit=limit, forward=forward),
            at_most=len(keys) + 1,
        )
    seen = [item["sk"] for page in pages for item in page.items]
    expected = keys if forward else keys[::-1]
    assert seen == expected
    assert all(len(page.items) <= limit for page in pages)
    assert len(pages) >= len(keys) // limit
    assert pages[-1].cursor is None


def test_a_cursor_resumes_a_sort_condition_query(typed_tables: dict[str, TenantTable]) -> None:
    table = typed_tables["N"]
    keys = _sorted_keys("N")
    with tenant_scope(ctx("texas")):
        sort = Key("sk").between(Decimal("-1.5"), 10)
        first = table.query("p", sort=sort, limit=2)
        assert first.cursor is not None
        rest = _pages(table.query_all("p", sort=sort, limit=2, cursor=first.cursor), at_most=5)
    seen = [item["sk"] for item in first.items] + [i["sk"] for p in rest for i in p.items]
    assert seen == [k for k in keys if Decimal("-1.5") <= k <= 10]


# -- the cursor secret in Secrets Manager --------------------------------------------------


class RotatingSecrets:
    """A Secrets Manager stand-in that counts reads; ``value`` is the current secret."""

    def __init__(self, value: str) -> None:
        self.value = value
        self.reads = 0

    def get_secret_value(self, SecretId: str) -> dict[str, Any]:
        self.reads += 1
        return {"SecretString": self.value}


def test_a_rotated_cursor_secret_is_read_again_at_most_once_per_cooldown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another container signs with the rotated secret: this one reads it again once."""
    old, new = "o" * 32, "n" * 32
    secrets = RotatingSecrets(old)
    ours = CursorSigner("t", SecretsManagerKey("cursor", client=secrets, cooldown=60))  # type: ignore[arg-type]
    key = {"k": {"S": "v"}}
    assert ours.decode(ours.encode(key, "texas", None, "f"), "texas", None, "f") == key
    assert secrets.reads == 1
    secrets.value = new
    theirs = CursorSigner("t", SecretKey(new)).encode(key, "texas", None, "f")
    with pytest.raises(InvalidCursorError):  # within the cooldown: not read again
        ours.decode(theirs, "texas", None, "f")
    assert secrets.reads == 1
    later = time.monotonic() + 61
    monkeypatch.setattr(time, "monotonic", lambda: later)
    assert ours.decode(theirs, "texas", None, "f") == key
    assert secrets.reads == 2
    # Forged cursors do not make it hammer Secrets Manager.
    forged = CursorSigner("t", SecretKey("f" * 32)).encode(key, "texas", None, "f")
    for _ in range(5):
        with pytest.raises(InvalidCursorError):
            ours.decode(forged, "texas", None, "f")
    assert secrets.reads == 2


def test_a_cursor_key_of_the_wrong_type_is_a_cursor_error() -> None:
    # Only a cursor signed with the secret reaches here: still the cursor's fault, a 400.
    from tenantkit.dynamo.keys import KeyCodec

    codec = KeyCodec("t", "pk", "sk", {})
    with pytest.raises(InvalidCursorError, match="cursor"):
        codec.prefix_key({"pk": {"N": "1"}, "sk": {"S": "1"}}, "texas")


# -- the wire format, and signing without a configured secret ------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _signed(payload: str, index: str | None, secret: bytes = b"s" * 32) -> str:
    """``payload`` with the documented MAC, for tenant texas, table t, fingerprint f."""
    message = "\n".join(("texas", "t", index or "", "f", payload)).encode()
    return payload + "." + _b64(hmac.new(secret, message, hashlib.sha256).digest())


@pytest.mark.parametrize("index", [None, "GSI1"])
def test_a_cursor_is_the_documented_payload_and_hmac(index: str | None) -> None:
    """Computed here from the module's documented format, not with its code: instances
    of one deployment (and the next version) must verify each other's cursors."""
    secret = b"s" * 32
    key = {"pk": {"S": "p\u00e9"}, "sk": {"N": "-1.5"}, "bin": {"B": b"\x00\xff"}}
    made = CursorSigner("t", SecretKey(secret)).encode(key, "texas", index, "f")
    entries = '[["pk","S","' + _b64("p\u00e9".encode()) + '"],["sk","N","-1.5"],'
    entries += '["bin","B","' + _b64(b"\x00\xff") + '"]]'
    assert made == _signed(_b64(entries.encode()), index, secret)


def test_without_a_secret_cursors_use_one_random_key_per_process(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(cursor, "_process_secret", None)
    key = {"k": {"S": "v"}}
    with caplog.at_level(logging.WARNING, logger="tenantkit.dynamo"):
        made = CursorSigner("t", None).encode(key, "texas", None, "f")
        assert CursorSigner("t", None).decode(made, "texas", None, "f") == key
        # A cursor that does not verify is refused: there is no secret to read again.
        forged = CursorSigner("t", SecretKey(b"f" * 32)).encode(key, "texas", None, "f")
        with pytest.raises(InvalidCursorError):
            CursorSigner("t", None).decode(forged, "texas", None, "f")
    warnings = [r for r in caplog.records if "cursor_key" in r.getMessage()]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    # Another process draws another key: this one's cursors do not verify there.
    monkeypatch.setattr(cursor, "_process_secret", None)
    with pytest.raises(InvalidCursorError):
        CursorSigner("t", None).decode(made, "texas", None, "f")


def test_after_a_rotation_a_cursor_stays_bound_to_its_index(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The MAC computed with the re-read secret binds the index just as the first one does."""
    secrets = RotatingSecrets("o" * 32)
    ours = CursorSigner("t", SecretsManagerKey("cursor", client=secrets, cooldown=60))  # type: ignore[arg-type]
    key = {"k": {"S": "v"}}
    ours.encode(key, "texas", None, "f")  # reads the old secret
    secrets.value = "n" * 32
    theirs = CursorSigner("t", SecretKey("n" * 32))
    later = time.monotonic() + 61
    monkeypatch.setattr(time, "monotonic", lambda: later)
    assert ours.decode(theirs.encode(key, "texas", "GSI1", "f"), "texas", "GSI1", "f") == key
    for given, index in ((None, "GSI1"), ("GSI1", None), ("GSI1", "GSI2")):
        with pytest.raises(InvalidCursorError):
            ours.decode(theirs.encode(key, "texas", given, "f"), "texas", index, "f")


@pytest.mark.parametrize(
    "entries",
    [
        [[5, "S", "dg"]],
        [["k", "N", 5]],
        [["k", "S", None]],
        [["k", "X", "1"]],
        [["k", "S"]],
        [["k", "S", "dg=="]],
        {"k": "v"},
        [["k", "S", _b64(b"\xff")]],
    ],
)
def test_a_signed_cursor_with_a_malformed_payload_is_refused(entries: object) -> None:
    """Only a holder of the secret can sign one; still a 400, never a bad key sent on."""
    signer = CursorSigner("t", SECRET)
    well_formed = _signed(_b64(json.dumps([["k", "S", "dg"]]).encode()), None)
    assert signer.decode(well_formed, "texas", None, "f") == {"k": {"S": "v"}}
    with pytest.raises(InvalidCursorError):
        signer.decode(_signed(_b64(json.dumps(entries).encode()), None), "texas", None, "f")
