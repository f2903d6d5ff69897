"""One backoff for every retry loop: batch leftovers and contended control-plane writes.

Exponential with full jitter, as AWS's architecture blog recommends for contended
retries: attempt ``n`` (from 0) sleeps a uniform time in ``[0, min(cap, base * 2**n)]``,
so callers that collided once spread out instead of colliding again in step.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

__all__ = ["Backoff"]


class Backoff:
    """Full-jitter exponential backoff; ``sleep`` is injectable so tests never wait."""

    __slots__ = ("base", "cap", "sleep")

    def __init__(
        self, base: float, cap: float, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.base = base
        self.cap = cap
        self.sleep = sleep

    def delay(self, attempt: int) -> float:
        """How long to wait before retry ``attempt`` (0 for the first retry)."""
        ceiling = min(self.cap, self.base * 2 ** min(attempt, 64))
        return random.uniform(0, ceiling)  # noqa: S311 - jitter, not a secret

    def wait(self, attempt: int) -> None:
        """Sleep ``delay(attempt)``."""
        self.sleep(self.delay(attempt))
