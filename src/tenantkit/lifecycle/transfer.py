"""Export one tenant's items to JSON Lines, and import such a file into a tenant.

Both are resumable. Export writes ``<out>.partial`` one shard of the enumeration index
at a time and, after each shard, a checkpoint (``<out>.checkpoint``: shards done, bytes
written, the partial checksum). A run killed halfway and started again cuts the partial
file back to the last checkpoint and goes on with the shards not done, so no item is
lost or written twice; the file takes its name, beside its manifest
(``<out>.manifest.json``), only when complete. Both files are the operator's alone
(mode 0600): they hold a tenant's data. Import checks the whole file before writing
anything: against its manifest, and every line as the table would check it (keys,
types, ``tkshard``), so a bad line anywhere means nothing is written. It then writes 25
items per request, checkpointing the lines done; writing an item twice would rewrite the
same item anyway.

Both act on the tenant's placement (its record's ``table``: the pool, or its silo), and
only on a founded tenant. Import refuses a tenant that is read-only (being moved), being
offboarded or deleted, and reads the record again before each batch, so a move that
starts meanwhile stops it; an export whose tenant moved while it ran fails, to be run
again.

Only tenant data is exported: the enumeration index lists no control-plane record.
Import never writes one either (decision 16): every partition key is prefixed with the
new tenant, so a line naming ``_events#...`` lands, inert, under ``<tenant>#_events#...``;
webhook subscriptions are made again by their owners (their full endpoints live in SNS).
An export of a tenant that keeps writing is not a snapshot: suspend it first, or
``move`` it, which holds it read-only.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tenantkit._shared.dynamodb.tenant_status import DELETED, OFFBOARDING, TenantStatus
from tenantkit.context import validate_tenant_id
from tenantkit.dynamo.enumeration import EnumeratingCodec
from tenantkit.dynamo.table import TenantTable
from tenantkit.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    TenantReadOnlyError,
)
from tenantkit.lifecycle.records import Checksum, Manifest, decode_line, encode_line
from tenantkit.lifecycle.runs import Run, TableSpec

if TYPE_CHECKING:
    from tenantkit.auth.tenant_admin import TenantAdmin

__all__ = [
    "checksum_of",
    "export_tenant",
    "import_tenant",
    "manifest_path",
    "read_lines",
    "tenant_items",
]

_BATCH_GET = 100
_BATCH_WRITE = 25


def manifest_path(out: Path) -> Path:
    return out.with_name(out.name + ".manifest.json")


def _private(path: Path, flags: int) -> int:
    """A descriptor of ``path`` opened with ``flags``, the file readable by its owner only
    (also one a killed run left with a wider mode)."""
    descriptor = os.open(path, flags | os.O_CREAT, 0o600)
    os.fchmod(descriptor, 0o600)
    return descriptor


def _replace(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (a killed run leaves the old file or the new)."""
    temporary = path.with_name(path.name + ".tmp")
    descriptor = _private(temporary, os.O_WRONLY | os.O_TRUNC)
    with open(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(path)


def _placed(admin: TenantAdmin, tenant: str) -> TenantStatus:
    """The tenant's record now; ``NotFoundError`` for an id never founded."""
    found = admin.get(validate_tenant_id(tenant))
    if found is None:
        raise NotFoundError(f"no tenant {tenant!r}")
    return found


def _writable(admin: TenantAdmin, tenant: str) -> str:
    """The table to write ``tenant``'s items to, refusing a tenant that may not get any:
    never founded (a later founder would inherit them), offboarded or deleted (its id is
    a tombstone, and its data would outlive the erasure), or read-only (being moved: the
    move would leave them behind)."""
    status = _placed(admin, tenant)
    if status.status in (OFFBOARDING, DELETED):
        raise ConflictError(f"tenant {tenant!r} is {status.status}; nothing more was imported")
    if status.read_only:
        raise TenantReadOnlyError(
            f"tenant {tenant!r} is read-only while it moves; nothing more was imported, run "
            "the import again once it has moved"
        )
    return status.table


def tenant_items(table: TenantTable, shard: int) -> Iterator[list[dict[str, Any]]]:
    """The items of ``table``'s tenant in one shard, a ``BatchGetItem`` (100) at a time."""
    keys: list[dict[str, Any]] = []
    for key in table.enumerate_keys(shards=[shard]):
        keys.append(key)
        if len(keys) == _BATCH_GET:
            yield table.batch_get(keys, consistent_read=True)
            keys = []
    if keys:
        yield table.batch_get(keys, consistent_read=True)


def checksum_of(table: TenantTable, shards: int) -> Checksum:
    """The count and order-independent checksum of every item of ``table``'s tenant."""
    checksum = Checksum()
    for shard in range(shards):
        for items in tenant_items(table, shard):
            for item in items:
                checksum.add(encode_line(item))
    return checksum


def export_tenant(
    spec: TableSpec, tenant: str, out: Path, run: Run, *, admin: TenantAdmin
) -> Manifest:
    """Write every item of ``tenant`` to ``out`` (JSON Lines) and its manifest beside it,
    reading the table its record places it in."""
    source = _placed(admin, tenant).table
    table = spec.tenant_table(tenant, source)
    partial = out.with_name(out.name + ".partial")
    checkpoint_file = out.with_name(out.name + ".checkpoint")
    index = f"{spec.enumeration.index}/{spec.enumeration.shards}"  # what the shards are of
    done: list[int] = []
    written = 0
    checksum = Checksum()
    if checkpoint_file.exists() and partial.exists():
        saved = json.loads(checkpoint_file.read_text(encoding="utf-8"))
        if [saved.get(k) for k in ("tenant", "table", "index")] != [tenant, spec.name, index]:
            raise ConflictError(
                f"{checkpoint_file} is the checkpoint of another export; remove it or "
                "choose another --out"
            )
        if saved.get("source") == source:  # else the tenant moved since: start over
            done, written = list(saved["shards"]), int(saved["bytes"])
            checksum = Checksum.parse(int(saved["items"]), saved["checksum"])
    run.stage("items")
    run.advance(checksum.count)
    with open(_private(partial, os.O_RDWR), "r+b") as handle:
        handle.truncate(written)  # drop what a killed run wrote after its last checkpoint
        handle.seek(written)
        for shard in range(spec.enumeration.shards):
            if shard in done:
                continue
            for items in tenant_items(table, shard):
                lines = [encode_line(item) for item in items]
                for line in lines:
                    checksum.add(line)
                handle.write("".join(line + "\n" for line in lines).encode("utf-8"))
                run.advance(len(lines))
            handle.flush()
            os.fsync(handle.fileno())
            done.append(shard)
            written = handle.tell()
            state = {
                "tenant": tenant,
                "table": spec.name,
                "index": index,
                "source": source,
                "shards": done,
                "bytes": written,
                "items": checksum.count,
                "checksum": checksum.hexdigest,
            }
            _replace(checkpoint_file, json.dumps(state))
    if _placed(admin, tenant).table != source:  # the next run starts over
        raise ConflictError(f"tenant {tenant!r} moved while it was exported; run the export again")
    manifest = Manifest(
        tenant=tenant,
        table=spec.name,
        items=checksum.count,
        checksum=checksum.hexdigest,
        exported_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    _replace(manifest_path(out), manifest.to_json())
    partial.replace(out)
    checkpoint_file.unlink()
    run.summary.update(
        items=manifest.items, checksum=manifest.checksum, out=str(out), sourceTable=source
    )
    return manifest


def read_lines(source: Path) -> Iterator[str]:
    """The lines of an export file, one at a time, split on ``\n`` only.

    JSON escapes every control character, but not U+2028 and U+2029, which
    ``str.splitlines`` would also split on; reading bytes keeps them inside their line.
    """
    with source.open("rb") as handle:
        for raw in handle:
            yield raw.removesuffix(b"\n").decode("utf-8")


def _check(source: Path, manifest: Manifest, codec: EnumeratingCodec, tenant: str) -> None:
    """Refuse a file that is not exactly what its manifest says, or has a line the table
    would refuse: each item goes through the codec's checks (key attributes and their
    types, value types and ranges, no ``tkshard``) as ``batch_write`` would, unsent."""
    checksum = Checksum()
    for number, line in enumerate(read_lines(source), 1):
        try:
            codec.item(decode_line(line), tenant)
        except InvalidInputError as error:
            raise InvalidInputError(
                f"{source}, line {number}: {error}; nothing was imported"
            ) from None
        checksum.add(line)
    if checksum != Checksum.parse(manifest.items, manifest.checksum):
        raise InvalidInputError(
            f"{source} does not match its manifest (count or checksum); it is incomplete or "
            "was changed, so nothing was imported"
        )


def import_tenant(
    spec: TableSpec, source: Path, tenant: str, run: Run, *, admin: TenantAdmin
) -> int:
    """Write every item of an export file into ``tenant``'s table; returns the number of
    lines imported. A tenant that may not be written is refused (see ``_writable``)."""
    validate_tenant_id(tenant)
    manifest = Manifest.from_json(manifest_path(source).read_text(encoding="utf-8"))
    placement = _writable(admin, tenant)
    codec = EnumeratingCodec(
        spec.enumeration, placement, spec.partition_key, spec.sort_key, spec.indexes
    )
    _check(source, manifest, codec, tenant)  # the whole file, before any write
    checkpoint_file = source.with_name(f"{source.name}.import-{tenant}-{spec.name}.checkpoint")
    done = 0
    if checkpoint_file.exists():
        saved = json.loads(checkpoint_file.read_text(encoding="utf-8"))
        # A checkpoint of another file of the same name counts for nothing: start over
        # (writing an item again rewrites the same item).
        done = int(saved["lines"]) if saved.get("checksum") == manifest.checksum else 0
    table = spec.tenant_table(tenant, placement)
    run.stage("items", total=manifest.items)
    run.advance(done)
    # One batch's items by key: DynamoDB refuses a key twice in one batch, so a later
    # line replaces an earlier one, as it does across batches.
    chunk: dict[tuple[Any, Any], dict[str, Any]] = {}
    for number, line in enumerate(read_lines(source), 1):
        if number <= done:
            continue
        item = decode_line(line)
        chunk[codec.identity(item)] = item
        if number % _BATCH_WRITE == 0 or number == manifest.items:
            if _writable(admin, tenant) != placement:
                raise ConflictError(f"tenant {tenant!r} moved; run the import again")
            table.batch_write(put=chunk.values())
            run.advance(number - done)
            done = number
            _replace(checkpoint_file, json.dumps({"lines": number, "checksum": manifest.checksum}))
            chunk = {}
    checkpoint_file.unlink(missing_ok=True)
    run.summary.update(
        items=manifest.items,
        fromTenant=manifest.tenant,
        checksum=manifest.checksum,
        table=placement,
    )
    return manifest.items
