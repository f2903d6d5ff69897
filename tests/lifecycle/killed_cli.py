"""Run ``tenantkit`` and SIGKILL this very process before its Nth call of one operation.

Usage: ``python killed_cli.py OPERATION N tenant ...``. Nothing is cleaned up, flushed or
caught: the test then starts the same command again and checks it finishes the job.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from botocore.client import BaseClient

from tenantkit.cli import main

operation, limit = sys.argv[1], int(sys.argv[2])
seen = 0
real = BaseClient._make_api_call


def dying(self: BaseClient, name: str, params: Any) -> Any:
    global seen
    if name == operation:
        seen += 1
        if seen == limit:
            os.kill(os.getpid(), signal.SIGKILL)
    return real(self, name, params)


BaseClient._make_api_call = dying  # type: ignore[method-assign]
sys.exit(main(sys.argv[3:]))
