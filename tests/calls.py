"""A count of the DynamoDB operations a boto3 client sends, for tests that bound them."""

from __future__ import annotations

from collections import Counter
from typing import Any


class Calls:
    """Every DynamoDB operation a client sends, counted."""

    def __init__(self, client: Any) -> None:
        self.seen: Counter[str] = Counter()
        client.meta.events.register("before-call.dynamodb.*", self._count)

    def _count(self, model: Any, **_: Any) -> None:
        self.seen[model.name] += 1
