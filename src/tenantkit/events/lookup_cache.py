"""A bounded TTL cache of topic records for ``publish``, negative results included.

Publishing is the hot path: with the cache, a warm container publishes with no read
at all. Entries live ``ttl`` seconds, so another process's subscribe or unsubscribe is
seen after at most that long; the least recently used entry goes first when full.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

__all__ = ["LookupCache"]


class LookupCache:
    """A bounded TTL cache of topic records, negative results included."""

    def __init__(self, ttl: float, max_entries: int) -> None:
        self._ttl = ttl
        self._max = max_entries
        self._entries: OrderedDict[str, tuple[float, dict[str, Any] | None]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[bool, dict[str, Any] | None]:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] <= time.monotonic():
                self._entries.pop(key, None)
                return False, None
            self._entries.move_to_end(key)
            return True, entry[1]

    def put(self, key: str, record: dict[str, Any] | None) -> None:
        with self._lock:
            self._entries[key] = (time.monotonic() + self._ttl, record)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def discard(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)
