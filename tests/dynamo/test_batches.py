"""Batch chunking, retries with backoff and jitter, and the error when retries run out."""

from __future__ import annotations

from typing import Any

import pytest

from tenantkit.context import tenant_scope
from tenantkit.dynamo import TenantTable
from tenantkit.errors import UnprocessedItemsError

from .conftest import SECRET, TABLE, ctx


class Throttled:
    """Wraps the moto client: the first ``throttle`` batch calls process only half the request."""

    def __init__(self, inner: Any, throttle: int) -> None:
        self.inner = inner
        self.throttle = throttle
        self.sizes: list[int] = []

    def query(self, **request: Any) -> Any:
        return self.inner.query(**request)

    def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        requests = RequestItems[TABLE]
        self.sizes.append(len(requests))
        if self.throttle:
            self.throttle -= 1
            done, left = requests[: len(requests) // 2], requests[len(requests) // 2 :]
            if done:
                self.inner.batch_write_item(RequestItems={TABLE: done})
            return {"UnprocessedItems": {TABLE: left}}
        result: dict[str, Any] = self.inner.batch_write_item(RequestItems=RequestItems)
        return result

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        keys = RequestItems[TABLE]["Keys"]
        self.sizes.append(len(keys))
        if self.throttle:
            self.throttle -= 1
            done, left = keys[: len(keys) // 2], keys[len(keys) // 2 :]
            got = self.inner.batch_get_item(RequestItems={TABLE: {"Keys": done}}) if done else {}
            return {
                "Responses": {TABLE: got.get("Responses", {}).get(TABLE, [])},
                "UnprocessedKeys": {TABLE: {"Keys": left}},
            }
        result: dict[str, Any] = self.inner.batch_get_item(RequestItems=RequestItems)
        return result


def _table(client: Any, throttle: int) -> tuple[TenantTable, Throttled, list[float]]:
    wrapped = Throttled(client, throttle)
    table = TenantTable(TABLE, client=wrapped, tenant="texas", cursor_key=SECRET)  # type: ignore[arg-type]
    delays: list[float] = []
    table.sleep = delays.append  # type: ignore[method-assign]
    return table, wrapped, delays


def test_batch_write_retries_unprocessed_items_with_backoff(client: Any) -> None:
    table, wrapped, delays = _table(client, throttle=3)
    table.batch_write(put=[{"pk": "p", "sk": f"{i:02}"} for i in range(30)])
    assert wrapped.sizes[:5] == [25, 13, 7, 4, 5]  # 25 -> halves retried, then the last 5
    assert len(delays) == 3
    for attempt, delay in enumerate(delays):
        assert 0 <= delay <= table.backoff_base * 2**attempt
    with tenant_scope(ctx("texas")):
        assert table.count("p") == 30


def test_batch_write_takes_delete_by_keyword_only(client: Any) -> None:
    table = TenantTable(TABLE, client=client, tenant="texas")
    with pytest.raises(TypeError):
        table.batch_write([{"pk": "p", "sk": "1"}], [{"pk": "p", "sk": "2"}])  # type: ignore[misc]


def test_batch_get_retries_unprocessed_keys(client: Any) -> None:
    table, wrapped, delays = _table(client, throttle=0)
    table.batch_write(put=[{"pk": "p", "sk": f"{i:03}", "n": i} for i in range(150)])
    wrapped.throttle = 2
    got = table.batch_get([{"pk": "p", "sk": f"{i:03}"} for i in range(150)])
    assert [g["n"] for g in got] == list(range(150))
    assert wrapped.sizes[-4:] == [100, 50, 25, 50]
    assert len(delays) == 2


def test_exhausted_retries_raise_listing_what_was_not_processed(client: Any) -> None:
    table, wrapped, delays = _table(client, throttle=10**6)
    table.max_batch_attempts = 3
    table.backoff_cap = 0.06
    with pytest.raises(UnprocessedItemsError) as err:
        table.batch_write(
            put=[{"pk": "p", "sk": "1", "GSI1PK": "g", "GSI1SK": "1"}, {"pk": "p", "sk": "2"}],
            delete=[{"pk": "p", "sk": "3"}],
        )
    assert len(wrapped.sizes) == 3
    assert all(d <= 0.06 for d in delays)
    # Each write was halved away: whatever is left is listed in logical (unprefixed) form.
    assert err.value.unprocessed
    for entry in err.value.unprocessed:
        assert isinstance(entry, dict)
        ((verb, body),) = entry.items()
        assert verb in ("put", "delete")
        assert body["pk"] == "p"
        assert body.get("GSI1PK", "g") == "g"
    assert "3 attempts" in str(err.value)
    with pytest.raises(UnprocessedItemsError) as got_err:
        table.batch_get([{"pk": "p", "sk": "1"}, {"pk": "p", "sk": "2"}])
    assert got_err.value.unprocessed == [{"pk": "p", "sk": "2"}]
    assert [item["sk"] for item in got_err.value.processed] == ["1"]  # what was read is kept
    assert got_err.value.status_code == 503
