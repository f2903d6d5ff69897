"""`tenantkit local` under load: 8 real HTTP clients of two tenants against the example.

The load is ``benchmarks/local_load.py``'s (it reports the throughput): parks through
direct integrations, the ``PER_TENANT`` webhooks function and a pool function. This test
checks what the clients observed, for ``TENANTKIT_LOAD_SECONDS`` seconds (5 unless set): no 5xx,
no response carrying another tenant's park, and every write readable afterwards. Both
tenants write the same park ids, each with its own name, so a response that crossed
tenants shows it.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).parents[2]
SEED = ROOT / "examples" / "state_parks" / "seed.json"

pytestmark = pytest.mark.integration


def load_driver() -> ModuleType:
    spec = importlib.util.spec_from_file_location("local_load", ROOT / "benchmarks/local_load.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def crossed(tenant: str, park: dict[str, Any], seeded: dict[str, set[str]]) -> bool:
    """Whether ``park``, in a response to ``tenant``, is another tenant's."""
    if park["id"].startswith("load-"):
        return not park["name"].startswith(f"{tenant} ")
    return park["id"] not in seeded.get(tenant, set())


def test_concurrent_tenants_get_no_5xx_no_foreign_item_and_keep_every_write(
    tmp_path: Path,
) -> None:
    driver = load_driver()
    seconds = float(os.environ.get("TENANTKIT_LOAD_SECONDS", "5"))
    seeded = {
        tenant: {park["id"] for park in parks}
        for tenant, parks in json.loads(SEED.read_text())["parks"].items()
    }
    log = tmp_path / "local.log"
    with driver.serve(log, "--concurrency", "2") as served:
        observations, written, _ = driver.drive(served, seconds)
        reader = {tenant: user for user, tenant in driver.WRITERS.items()}
        missing = [
            (tenant, park_id)
            for tenant, ids in written.items()
            for park_id in ids
            if driver.call(served, reader[tenant], "GET", f"/parks/{park_id}")[0] != 200
        ]
    failures = [o for o in observations if o.status >= 500]
    assert not failures, (failures[:5], log.read_text()[-3000:])
    webhooks = [o.status for o in observations if o.route == "GET /parks/{id}/webhooks"]
    assert set(webhooks) == {200}  # the PER_TENANT function found each tenant's own park
    foreign = [(o.tenant, p) for o in observations for p in o.parks if crossed(o.tenant, p, seeded)]
    assert not foreign, foreign[:5]
    assert all(written.values()), written  # both tenants wrote
    assert not missing, missing[:5]
    assert served.process.returncode == 0
    assert "cold start" in log.read_text()
