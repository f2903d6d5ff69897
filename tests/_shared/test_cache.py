"""LruCache: bounded, least recently used out first, entries expiring on their clock."""

from __future__ import annotations

import sys
import threading
import time

import pytest

from tenantkit._shared.cache import LruCache


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_least_recently_used_goes_first() -> None:
    cache: LruCache[str, int] = LruCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # a is now the most recent
    cache.put("c", 3)  # evicts b
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (1, None, 3)
    assert len(cache) == 2


def test_put_again_replaces_and_refreshes() -> None:
    cache: LruCache[str, int] = LruCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.put("a", 10)
    cache.put("c", 3)  # evicts b, not the re-put a
    assert (cache.get("a"), cache.get("b")) == (10, None)


def test_entries_expire_after_ttl_on_the_injected_clock() -> None:
    clock = Clock()
    cache: LruCache[str, int] = LruCache(4, ttl=10, clock=clock)
    cache.put("a", 1)
    clock.now += 9.9
    assert cache.get("a") == 1
    clock.now += 0.1
    assert cache.get("a") is None
    assert len(cache) == 0  # an expired entry read is dropped


def test_until_overrides_the_ttl_and_works_without_one() -> None:
    clock = Clock()
    cache: LruCache[str, int] = LruCache(4, ttl=60, clock=clock)
    cache.put("soon", 1, until=clock.now + 5)
    forever: LruCache[str, int] = LruCache(4, clock=clock)
    forever.put("kept", 2)
    forever.put("timed", 3, until=clock.now + 5)
    clock.now += 5
    assert cache.get("soon") is None
    assert (forever.get("kept"), forever.get("timed")) == (2, None)


def test_the_default_clock_is_read_at_each_call(monkeypatch: pytest.MonkeyPatch) -> None:
    cache: LruCache[str, int] = LruCache(4, ttl=5)
    cache.put("a", 1)
    later = time.monotonic() + 6
    monkeypatch.setattr(time, "monotonic", lambda: later)
    assert cache.get("a") is None


def test_a_cached_none_is_told_from_a_miss_by_the_default() -> None:
    cache: LruCache[str, int | None] = LruCache(4)
    missing = object()
    cache.put("absent", None)
    assert cache.get("absent", missing) is None
    assert cache.get("never", missing) is missing


def test_size_zero_keeps_nothing_and_discard_and_clear_forget() -> None:
    none: LruCache[str, int] = LruCache(0)
    none.put("a", 1)
    assert none.get("a") is None
    cache: LruCache[str, int] = LruCache(4)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.discard("a")
    cache.discard("never")
    assert (cache.get("a"), cache.get("b")) == (None, 2)
    cache.clear()
    assert len(cache) == 0


def test_concurrent_use_keeps_the_bound_and_never_raises() -> None:
    clock = Clock()
    cache: LruCache[int, int] = LruCache(8, ttl=1, clock=clock)
    errors: list[BaseException] = []

    def work(offset: int) -> None:
        try:
            for n in range(3000):
                key = (n + offset) % 20
                value = cache.get(key)
                assert value is None or value == key
                cache.put(key, key)
                if n % 7 == 0:
                    cache.discard(key)
                if n % 500 == 0:
                    clock.now += 2  # everything expires at once
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(offset,)) for offset in range(4)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often, inside get and put
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == []
    assert len(cache) <= 8
