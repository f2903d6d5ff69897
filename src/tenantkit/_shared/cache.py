"""An expiring, bounded LRU: the one cache of tenantkit.

Verified tokens, compiled policies, topic lookups and tenant credentials are each kept
in one of these: at most ``maxsize`` entries, the least recently used dropped first, and
an entry gone once its deadline passes (``ttl`` after it was put, or ``until`` given
with it; neither, and it stays until evicted).

``functools.lru_cache`` has no expiry and caches per call signature; cachetools would be
a dependency for forty lines. Reads take no lock: in CPython each ``OrderedDict``
operation used here is atomic under the GIL for keys hashed and compared in C (strings,
bytes, numbers, and frozensets and tuples of them, which are all tenantkit uses), and a
read racing an eviction only misses. Writes take the lock, so the size bound holds.
Reads are on hot paths (a repeated token, a memoised policy); get and put are O(1).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar, overload

__all__ = ["LruCache"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
D = TypeVar("D")


def _monotonic() -> float:
    return time.monotonic()  # looked up per call, so a test can move time.monotonic


class LruCache(Generic[K, V]):
    """At most ``maxsize`` entries (none if ``maxsize`` is 0), each expiring after ``ttl``
    seconds of ``clock`` if given. Thread-safe."""

    __slots__ = ("_clock", "_entries", "_find", "_lock", "_touch", "_ttl", "maxsize")

    def __init__(
        self,
        maxsize: int,
        *,
        ttl: float | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.maxsize = maxsize
        self._ttl = ttl
        self._clock = clock or _monotonic
        self._entries: OrderedDict[K, tuple[float | None, V]] = OrderedDict()
        self._find = self._entries.get  # bound once: reads are on hot paths
        self._touch = self._entries.move_to_end
        self._lock = threading.Lock()

    @overload
    def get(self, key: K) -> V | None: ...

    @overload
    def get(self, key: K, default: D) -> V | D: ...

    def get(self, key: K, default: object = None) -> object:
        """The value of ``key`` if present and not expired (it becomes the most recent)."""
        entry = self._find(key)
        if entry is None:
            return default
        if entry[0] is not None and entry[0] <= self._clock():
            with self._lock:
                if self._entries.get(key) is entry:
                    del self._entries[key]
            return default
        try:  # noqa: SIM105 - contextlib.suppress costs a context manager on a hot path
            self._touch(key)
        except KeyError:  # evicted by another thread since the read: still a hit
            pass
        return entry[1]

    def put(self, key: K, value: V, *, until: float | None = None) -> None:
        """Keep ``value`` until ``until`` (a time of ``clock``), else for ``ttl``."""
        if self.maxsize <= 0:
            return
        if until is None and self._ttl is not None:
            until = self._clock() + self._ttl
        with self._lock:
            self._entries[key] = (until, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)

    def discard(self, key: K) -> None:
        """Forget ``key`` (for example after the value changed elsewhere)."""
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
