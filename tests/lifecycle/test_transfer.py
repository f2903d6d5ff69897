"""Export and import: JSON Lines without prefixes, a manifest that checks, resumable runs."""

from __future__ import annotations

import json
import os
import stat
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tenantkit.errors import ConflictError, InvalidInputError, NotFoundError, TenantReadOnlyError
from tenantkit.lifecycle import transfer
from tenantkit.lifecycle.records import Checksum, Manifest, decode_line, encode_line
from tenantkit.lifecycle.transfer import export_tenant, import_tenant, manifest_path, read_lines
from tests.calls import Calls

from .conftest import OPERATOR, SILO, TABLE, App, create_table, park, run

ODD = {
    "pk": "odd",
    "sk": "meta",
    "blob": b"\x00\xffbytes",
    "blobs": {b"a", b"b"},
    "names": {"x", "y"},
    "numbers": {1, Decimal("2.5")},
    "price": Decimal("12.3400"),
    "big": 10**30,
    "nested": {"list": [1, "two", None, True, {"deep": b"\x01"}]},
    "empty": "",
    "separators": "a\u2028b\u2029c\rd\ne\x85f",  # str.splitlines would split each
    "flag": False,
    "nothing": None,
}


def all_items(app: App, tenant: str, table_name: str = TABLE) -> list[dict[str, Any]]:
    table = app.table(tenant, table_name)
    return sorted(table.batch_get(list(table.enumerate_keys())), key=lambda i: i["pk"])


def stored_under(app: App, tenant: str) -> int:
    """Every stored item whose partition key is ``tenant``'s, in either table (a Scan:
    the test must not trust the index it checks)."""
    count = 0
    for name in app.dynamodb.list_tables()["TableNames"]:
        for page in app.dynamodb.get_paginator("scan").paginate(TableName=name):
            count += sum(i["pk"]["S"].startswith(tenant + "#") for i in page["Items"])
    return count


def crafted(tmp_path: Path, lines: list[str], name: str = "crafted.jsonl") -> Path:
    """An export file of ``lines`` with a manifest that matches it."""
    source = tmp_path / name
    source.write_text("".join(line + "\n" for line in lines))
    checksum = Checksum()
    for line in lines:
        checksum.add(line)
    manifest = Manifest("x", TABLE, len(lines), checksum.hexdigest, "2026-01-01T00:00:00+00:00")
    manifest_path(source).write_text(manifest.to_json())
    return source


def test_export_is_the_tenants_items_unprefixed_with_a_manifest(app: App, tmp_path: Path) -> None:
    app.seed("texas", 1000)
    app.seed("utah", 50)
    app.table("texas").put_item(ODD)
    out = tmp_path / "texas.jsonl"
    calls = Calls(app.dynamodb)

    manifest = export_tenant(app.spec, "texas", out, run("export", "texas"), admin=app.admin)

    lines = list(read_lines(out))
    assert len(lines) == manifest.items == 1001
    items = [decode_line(line) for line in lines]
    assert {i["pk"] for i in items} == {f"park#{n:05}" for n in range(1000)} | {"odd"}
    assert {i.get("tenant") for i in items} == {"texas", None}
    assert all(i.get("GSI1PK") in ("parks", None) for i in items)  # GSI prefix stripped too
    assert "texas#" not in out.read_text()
    assert "tkshard" not in out.read_text()
    assert [i for i in items if i["pk"] == "odd"] == [ODD]  # every type survives
    assert Manifest.from_json(manifest_path(out).read_text()) == manifest
    checksum = Checksum()
    for line in lines:
        checksum.add(line)
    assert checksum.hexdigest == manifest.checksum
    assert calls.seen["Scan"] == calls.seen["ExecuteStatement"] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "texas.jsonl",
        "texas.jsonl.manifest.json",
    ]


def test_import_restores_into_another_tenant(app: App, tmp_path: Path) -> None:
    app.seed("texas", 100)
    app.seed("new-mexico", 0)
    app.table("texas").put_item(ODD)
    out = tmp_path / "texas.jsonl"
    export_tenant(app.spec, "texas", out, run("export", "texas"), admin=app.admin)

    written = import_tenant(
        app.spec, out, "new-mexico", run("import", "new-mexico"), admin=app.admin
    )

    assert written == 101
    assert all_items(app, "new-mexico") == all_items(app, "texas")
    stored = app.dynamodb.get_item(
        TableName=TABLE, Key={"pk": {"S": "new-mexico#park#00001"}, "sk": {"S": "meta"}}
    )["Item"]
    assert stored["GSI1PK"] == {"S": "new-mexico#parks"}
    assert stored["tkshard"]["S"].startswith("new-mexico#")


def test_a_changed_file_imports_nothing(app: App, tmp_path: Path) -> None:
    app.seed("texas", 30)
    app.seed("idaho", 0)
    out = tmp_path / "texas.jsonl"
    export_tenant(app.spec, "texas", out, run("export", "texas"), admin=app.admin)
    lines = list(read_lines(out))
    lines[3] = lines[3].replace("texas", "tampered")
    out.write_text("\n".join(lines) + "\n")
    with pytest.raises(InvalidInputError):
        import_tenant(app.spec, out, "idaho", run("import", "idaho"), admin=app.admin)
    out.write_text("\n".join(lines[:-1]) + "\n")  # a line short, as after a cut copy
    with pytest.raises(InvalidInputError):
        import_tenant(app.spec, out, "idaho", run("import", "idaho"), admin=app.admin)
    assert app.table("idaho").count_items() == 0


def test_import_never_writes_a_control_plane_record(app: App, tmp_path: Path) -> None:
    """The attack (decision 16): a crafted file whose keys name registry records."""
    app.seed("texas", 1)
    app.seed("idaho", 0)
    forged = {"pk": "_events#topic#tk-5_texas-n-4_park", "sk": "_topic", "topic_arn": "arn:x"}
    line = encode_line(forged)
    source = tmp_path / "forged.jsonl"
    source.write_text(line + "\n")
    checksum = Checksum()
    checksum.add(line)
    manifest = Manifest("texas", TABLE, 1, checksum.hexdigest, "2026-01-01T00:00:00+00:00")
    manifest_path(source).write_text(manifest.to_json())

    import_tenant(app.spec, source, "idaho", run("import", "idaho"), admin=app.admin)

    raw = {"pk": {"S": forged["pk"]}, "sk": {"S": "_topic"}}
    assert "Item" not in app.dynamodb.get_item(TableName=TABLE, Key=raw)
    inert = {"pk": {"S": "idaho#" + forged["pk"]}, "sk": {"S": "_topic"}}
    assert "Item" in app.dynamodb.get_item(TableName=TABLE, Key=inert)


def test_a_file_carrying_the_index_attribute_is_refused(app: App, tmp_path: Path) -> None:
    """The attack: an item tagged for another tenant's shard would hide from offboarding.
    It comes after a full batch of good lines, and none of them is written either."""
    app.seed("idaho", 0)
    good = [encode_line(park(i)) for i in range(30)]
    line = json.dumps({"Item": {"pk": {"S": "a"}, "sk": {"S": "b"}, "tkshard": {"S": "utah#1"}}})
    source = crafted(tmp_path, [*good, line])
    with pytest.raises(InvalidInputError, match="line 31"):
        import_tenant(app.spec, source, "idaho", run("import", "idaho"), admin=app.admin)
    assert stored_under(app, "idaho") == stored_under(app, "utah") == 0


def test_import_into_an_offboarded_tenant_is_refused(app: App, tmp_path: Path) -> None:
    app.seed("texas", 5)
    app.seed("gone", 0)
    out = tmp_path / "texas.jsonl"
    export_tenant(app.spec, "texas", out, run("export", "texas"), admin=app.admin)
    app.admin.mark_offboarding("gone", actor=OPERATOR)
    with pytest.raises(ConflictError):
        import_tenant(app.spec, out, "gone", run("import", "gone"), admin=app.admin)
    assert app.table("gone").count_items() == 0


@pytest.mark.parametrize(
    "line",
    ["not json", "[]", '{"Item": 1}', '{"Item": {}, "x": 1}', '{"Item": {"a": {"B": "%%"}}}'],
)
def test_malformed_lines_are_input_errors(line: str) -> None:
    with pytest.raises(InvalidInputError):
        decode_line(line)


def test_an_export_killed_halfway_resumes_without_loss_or_duplicates(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app.seed("texas", 150)
    out = tmp_path / "texas.jsonl"
    real = transfer.tenant_items
    served: list[int] = []

    def dies_in_shard_2(table: Any, shard: int) -> Any:
        for items in real(table, shard):
            served.append(shard)
            if shard == 2:
                (out.with_name(out.name + ".partial")).open("a").write("half a line")
                raise KeyboardInterrupt  # killed mid-shard, after a partial write
            yield items

    monkeypatch.setattr(transfer, "tenant_items", dies_in_shard_2)
    with pytest.raises(KeyboardInterrupt):
        export_tenant(app.spec, "texas", out, run("export", "texas"), admin=app.admin)
    assert not out.exists()
    monkeypatch.setattr(transfer, "tenant_items", real)

    manifest = export_tenant(app.spec, "texas", out, run("export", "texas"), admin=app.admin)

    pks = [decode_line(line)["pk"] for line in list(read_lines(out))]
    assert len(pks) == len(set(pks)) == manifest.items == 150


def test_a_checkpoint_of_another_export_is_refused(app: App, tmp_path: Path) -> None:
    """Resuming with other shards (or another tenant) would skip or repeat items."""
    app.seed("texas", 1)
    out = tmp_path / "texas.jsonl"
    out.with_name(out.name + ".partial").write_text("")
    checkpoint = {"tenant": "texas", "table": TABLE, "index": "TenantItems/16"}
    out.with_name(out.name + ".checkpoint").write_text(json.dumps(checkpoint))
    with pytest.raises(ConflictError):
        # 4 shards here
        export_tenant(app.spec, "texas", out, run("export", "texas"), admin=app.admin)


def test_an_import_checkpoint_of_another_file_counts_for_nothing(app: App, tmp_path: Path) -> None:
    app.seed("texas", 30)
    app.seed("idaho", 0)
    out = tmp_path / "texas.jsonl"
    export_tenant(app.spec, "texas", out, run("export", "texas"), admin=app.admin)
    stale = {"lines": 30, "checksum": Checksum(30, 7).hexdigest}
    out.with_name(f"{out.name}.import-idaho-{TABLE}.checkpoint").write_text(json.dumps(stale))
    assert import_tenant(app.spec, out, "idaho", run("import", "idaho"), admin=app.admin) == 30
    assert app.table("idaho").count_items() == 30


def in_silo(app: App, tenant: str, count: int) -> None:
    """``tenant`` founded and placed in its own table, holding ``count`` items there."""
    create_table(app.dynamodb, SILO)
    app.seed(tenant, 0)
    app.admin.set_placement(tenant, SILO, actor=OPERATOR)
    app.table(tenant, SILO).batch_write(put=[park(i, tenant=tenant) for i in range(count)])


def test_a_silo_tenants_export_reads_its_silo(app: App, tmp_path: Path) -> None:
    """An export that read the pool would come out empty, with a valid manifest."""
    in_silo(app, "texas", 20)
    out = tmp_path / "texas.jsonl"

    manifest = export_tenant(app.spec, "texas", out, run("export", "texas"), admin=app.admin)

    assert manifest.items == 20
    assert sorted(decode_line(line)["pk"] for line in read_lines(out)) == [
        park(i)["pk"] for i in range(20)
    ]


def test_an_import_into_a_silo_tenant_lands_in_its_silo(app: App, tmp_path: Path) -> None:
    app.seed("utah", 7)
    out = tmp_path / "utah.jsonl"
    export_tenant(app.spec, "utah", out, run("export", "utah"), admin=app.admin)
    in_silo(app, "texas", 0)

    import_tenant(app.spec, out, "texas", run("import", "texas"), admin=app.admin)

    assert app.table("texas", SILO).count_items() == 7
    assert app.table("texas").count_items() == 0
    assert [i["pk"] for i in all_items(app, "texas", SILO)] == [
        i["pk"] for i in all_items(app, "utah")
    ]


def test_export_of_a_tenant_never_founded_is_refused(app: App, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        export_tenant(app.spec, "ghost", tmp_path / "g.jsonl", run("export", "g"), admin=app.admin)
    assert list(tmp_path.iterdir()) == []


def test_import_into_a_tenant_never_founded_is_refused(app: App, tmp_path: Path) -> None:
    """The attack: items written under an unclaimed id are inherited by its founder."""
    app.seed("texas", 5)
    out = tmp_path / "texas.jsonl"
    export_tenant(app.spec, "texas", out, run("export", "texas"), admin=app.admin)
    with pytest.raises(NotFoundError):
        import_tenant(app.spec, out, "ghost", run("import", "ghost"), admin=app.admin)
    assert stored_under(app, "ghost") == 0


def test_import_into_a_read_only_tenant_is_refused(app: App, tmp_path: Path) -> None:
    """A moving tenant's writes would land in the table the move is about to empty."""
    app.seed("texas", 5)
    app.seed("moving", 0)
    out = tmp_path / "texas.jsonl"
    export_tenant(app.spec, "texas", out, run("export", "texas"), admin=app.admin)
    app.admin.set_read_only("moving", True, actor=OPERATOR)
    with pytest.raises(TenantReadOnlyError):
        import_tenant(app.spec, out, "moving", run("import", "moving"), admin=app.admin)
    assert stored_under(app, "moving") == 0


def test_an_import_stops_when_the_tenant_turns_read_only(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A move that starts during an import: the next batch is refused, not written."""
    app.seed("texas", 60)
    app.seed("idaho", 0)
    out = tmp_path / "texas.jsonl"
    export_tenant(app.spec, "texas", out, run("export", "texas"), admin=app.admin)
    writes = 0
    real = transfer.TenantTable.batch_write

    def then_a_move_starts(table: Any, *args: Any, **kwargs: Any) -> None:
        nonlocal writes
        real(table, *args, **kwargs)
        writes += 1
        app.admin.set_read_only("idaho", True, actor=OPERATOR)

    monkeypatch.setattr(transfer.TenantTable, "batch_write", then_a_move_starts)
    with pytest.raises(TenantReadOnlyError):
        import_tenant(app.spec, out, "idaho", run("import", "idaho"), admin=app.admin)
    assert writes == 1
    assert stored_under(app, "idaho") == 25


BAD_LINES = {
    "no partition key": '{"Item": {"sk": {"S": "m"}}}',
    "no sort key": '{"Item": {"pk": {"S": "p"}}}',
    "a number partition key": '{"Item": {"pk": {"N": "1"}, "sk": {"S": "m"}}}',
    "an empty partition key": '{"Item": {"pk": {"S": ""}, "sk": {"S": "m"}}}',
    "a prefixed index key of the wrong type": (
        '{"Item": {"pk": {"S": "p"}, "sk": {"S": "m"}, "GSI1PK": {"N": "1"}}}'
    ),
    "tkshard": '{"Item": {"pk": {"S": "p"}, "sk": {"S": "m"}, "tkshard": {"S": "u#1"}}}',
    "a number out of range": '{"Item": {"pk": {"S": "p"}, "sk": {"S": "m"}, "n": {"N": "1E+999"}}}',
    "a lone surrogate": '{"Item": {"pk": {"S": "p"}, "sk": {"S": "m"}, "t": {"S": "\\ud800"}}}',
    "a bad value shape": '{"Item": {"pk": {"S": "p"}, "sk": {"S": "m"}, "s": {"SS": "ab"}}}',
    "not JSON": "{",
}


@pytest.mark.parametrize(
    ("bad", "where"),
    [*((bad, 31) for bad in BAD_LINES), ("no partition key", 1), ("no partition key", 26)],
)
def test_a_bad_line_anywhere_means_nothing_is_written(
    app: App, tmp_path: Path, bad: str, where: int
) -> None:
    """Import checks every line as the table would before the first write: a file that
    would fail halfway (a line without a key, after 25 written) is refused whole."""
    app.seed("idaho", 0)
    lines = [encode_line(park(i)) for i in range(30)]
    lines.insert(where - 1, BAD_LINES[bad])
    source = crafted(tmp_path, lines)
    with pytest.raises(InvalidInputError, match=f"line {where}:"):
        import_tenant(app.spec, source, "idaho", run("import", "idaho"), admin=app.admin)
    assert stored_under(app, "idaho") == 0


def test_export_files_are_readable_by_their_owner_only(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An export holds a tenant's data: no other local user may read it, whatever the
    umask, and neither may they read what a killed run left (or a stale wider file)."""
    app.seed("texas", 3)
    out = tmp_path / "texas.jsonl"
    partial = out.with_name(out.name + ".partial")
    real = transfer.tenant_items

    def dies_in_shard_1(table: Any, shard: int) -> Any:
        if shard == 1:
            raise KeyboardInterrupt
        yield from real(table, shard)

    previous = os.umask(0o022)
    try:
        monkeypatch.setattr(transfer, "tenant_items", dies_in_shard_1)
        with pytest.raises(KeyboardInterrupt):
            export_tenant(app.spec, "texas", out, run("export", "texas"), admin=app.admin)
        left = [partial, out.with_name(out.name + ".checkpoint")]
        assert [stat.S_IMODE(path.stat().st_mode) for path in left] == [0o600, 0o600]
        partial.chmod(0o644)
        monkeypatch.setattr(transfer, "tenant_items", real)
        export_tenant(app.spec, "texas", out, run("export", "texas"), admin=app.admin)
    finally:
        os.umask(previous)
    for path in (out, manifest_path(out)):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_an_export_whose_tenant_moved_meanwhile_fails_then_starts_over(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading the old table while a move empties it would export part of the tenant."""
    app.seed("texas", 40)
    create_table(app.dynamodb, SILO)
    out = tmp_path / "texas.jsonl"
    real = transfer.tenant_items

    def moves_in_shard_2(table: Any, shard: int) -> Any:
        if shard == 2:
            source = app.table("texas")
            app.table("texas", SILO).batch_write(
                put=source.batch_get(list(source.enumerate_keys()))
            )
            app.admin.set_placement("texas", SILO, actor=OPERATOR)
            source.batch_write(delete=list(source.enumerate_keys()))
        yield from real(table, shard)

    monkeypatch.setattr(transfer, "tenant_items", moves_in_shard_2)
    with pytest.raises(ConflictError, match="moved"):
        export_tenant(app.spec, "texas", out, run("export", "texas"), admin=app.admin)
    assert not out.exists()
    monkeypatch.setattr(transfer, "tenant_items", real)

    manifest = export_tenant(app.spec, "texas", out, run("export", "texas"), admin=app.admin)

    pks = [decode_line(line)["pk"] for line in read_lines(out)]
    assert len(pks) == len(set(pks)) == manifest.items == 40


def test_a_key_twice_in_one_batch_imports_as_the_later_line(app: App, tmp_path: Path) -> None:
    """DynamoDB refuses one key twice in a batch: the later line wins, as across batches."""
    app.seed("idaho", 0)
    lines = [encode_line(park(i)) for i in range(30)]
    lines.append(encode_line(park(27, acres=5)))
    source = crafted(tmp_path, lines)

    assert import_tenant(app.spec, source, "idaho", run("import", "idaho"), admin=app.admin) == 31

    assert app.table("idaho").count_items() == 30
    stored = app.table("idaho").get_item({"pk": park(27)["pk"], "sk": "meta"})
    assert stored is not None
    assert stored["acres"] == 5
