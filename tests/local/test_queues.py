"""SQS pollers: partial batch responses."""

from __future__ import annotations

from typing import Any

import pytest

from tenantkit.local.queues import failed_message_ids

IDS = ["m1", "m2", "m3"]


@pytest.mark.parametrize(
    ("result", "failed"),
    [
        (None, set()),
        ({}, set()),
        ({"batchItemFailures": []}, set()),
        ({"batchItemFailures": None}, set()),
        ({"batchItemFailures": [{"itemIdentifier": "m2"}]}, {"m2"}),
        ({"batchItemFailures": [{"itemIdentifier": "m9"}]}, set(IDS)),  # unknown id
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, set(IDS)),
        ({"batchItemFailures": [{"itemIdentifier": None}]}, set(IDS)),
        ({"batchItemFailures": [{"id": "m1"}]}, set(IDS)),
        ({"batchItemFailures": "m1"}, set(IDS)),
        ("garbage", set(IDS)),
    ],
)
def test_partial_batch_responses(result: Any, failed: set[str]) -> None:
    assert failed_message_ids(result, IDS) == failed
