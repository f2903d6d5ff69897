"""Export and import: JSON Lines without prefixes, a manifest that checks, resumable runs."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tenantkit.errors import ConflictError, InvalidInputError
from tenantkit.lifecycle import transfer
from tenantkit.lifecycle.records import Checksum, Manifest, decode_line, encode_line
from tenantkit.lifecycle.transfer import export_tenant, import_tenant, manifest_path, read_lines
from tests.calls import Calls

from .conftest import OPERATOR, TABLE, App, run

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


def all_items(app: App, tenant: str) -> list[dict[str, Any]]:
    table = app.table(tenant)
    return sorted(table.batch_get(list(table.enumerate_keys())), key=lambda i: i["pk"])


def test_export_is_the_tenants_items_unprefixed_with_a_manifest(app: App, tmp_path: Path) -> None:
    app.seed("texas", 1000)
    app.seed("utah", 50)
    app.table("texas").put_item(ODD)
    out = tmp_path / "texas.jsonl"
    calls = Calls(app.dynamodb)

    manifest = export_tenant(app.spec, "texas", out, run("export", "texas"))

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
    app.table("texas").put_item(ODD)
    out = tmp_path / "texas.jsonl"
    export_tenant(app.spec, "texas", out, run("export", "texas"))

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
    out = tmp_path / "texas.jsonl"
    export_tenant(app.spec, "texas", out, run("export", "texas"))
    lines = list(read_lines(out))
    lines[3] = lines[3].replace("texas", "tampered")
    out.write_text("\n".join(lines) + "\n")
    with pytest.raises(InvalidInputError):
        import_tenant(app.spec, out, "idaho", run("import", "idaho"))
    out.write_text("\n".join(lines[:-1]) + "\n")  # a line short, as after a cut copy
    with pytest.raises(InvalidInputError):
        import_tenant(app.spec, out, "idaho", run("import", "idaho"))
    assert app.table("idaho").count_items() == 0


def test_import_never_writes_a_control_plane_record(app: App, tmp_path: Path) -> None:
    """The attack (decision 16): a crafted file whose keys name registry records."""
    app.seed("texas", 1)
    forged = {"pk": "_events#topic#tk-5_texas-n-4_park", "sk": "_topic", "topic_arn": "arn:x"}
    line = encode_line(forged)
    source = tmp_path / "forged.jsonl"
    source.write_text(line + "\n")
    checksum = Checksum()
    checksum.add(line)
    manifest = Manifest("texas", TABLE, 1, checksum.hexdigest, "2026-01-01T00:00:00+00:00")
    manifest_path(source).write_text(manifest.to_json())

    import_tenant(app.spec, source, "idaho", run("import", "idaho"))

    raw = {"pk": {"S": forged["pk"]}, "sk": {"S": "_topic"}}
    assert "Item" not in app.dynamodb.get_item(TableName=TABLE, Key=raw)
    inert = {"pk": {"S": "idaho#" + forged["pk"]}, "sk": {"S": "_topic"}}
    assert "Item" in app.dynamodb.get_item(TableName=TABLE, Key=inert)


def test_a_file_carrying_the_index_attribute_is_refused(app: App, tmp_path: Path) -> None:
    line = json.dumps({"Item": {"pk": {"S": "a"}, "sk": {"S": "b"}, "tkshard": {"S": "utah#1"}}})
    source = tmp_path / "hidden.jsonl"
    source.write_text(line + "\n")
    checksum = Checksum()
    checksum.add(line)
    manifest_path(source).write_text(Manifest("x", TABLE, 1, checksum.hexdigest, "t").to_json())
    with pytest.raises(InvalidInputError):
        import_tenant(app.spec, source, "idaho", run("import", "idaho"))


def test_import_into_an_offboarded_tenant_is_refused(app: App, tmp_path: Path) -> None:
    app.seed("texas", 5)
    app.seed("gone", 0)
    out = tmp_path / "texas.jsonl"
    export_tenant(app.spec, "texas", out, run("export", "texas"))
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
        export_tenant(app.spec, "texas", out, run("export", "texas"))
    assert not out.exists()
    monkeypatch.setattr(transfer, "tenant_items", real)

    manifest = export_tenant(app.spec, "texas", out, run("export", "texas"))

    pks = [decode_line(line)["pk"] for line in list(read_lines(out))]
    assert len(pks) == len(set(pks)) == manifest.items == 150


def test_a_checkpoint_of_another_export_is_refused(app: App, tmp_path: Path) -> None:
    """Resuming with other shards (or another tenant) would skip or repeat items."""
    out = tmp_path / "texas.jsonl"
    out.with_name(out.name + ".partial").write_text("")
    checkpoint = {"tenant": "texas", "table": TABLE, "index": "TenantItems/16"}
    out.with_name(out.name + ".checkpoint").write_text(json.dumps(checkpoint))
    with pytest.raises(ConflictError):
        export_tenant(app.spec, "texas", out, run("export", "texas"))  # 4 shards here


def test_an_import_checkpoint_of_another_file_counts_for_nothing(app: App, tmp_path: Path) -> None:
    app.seed("texas", 30)
    out = tmp_path / "texas.jsonl"
    export_tenant(app.spec, "texas", out, run("export", "texas"))
    stale = {"lines": 30, "checksum": Checksum(30, 7).hexdigest}
    out.with_name(f"{out.name}.import-idaho-{TABLE}.checkpoint").write_text(json.dumps(stale))
    assert import_tenant(app.spec, out, "idaho", run("import", "idaho")) == 30
    assert app.table("idaho").count_items() == 30
