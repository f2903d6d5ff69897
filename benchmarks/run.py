"""Run every benchmark script in this folder and print one table.

Each script exposes ``results() -> list[dict]`` with the keys measure, tenantkit,
baseline, ratio and target; every baseline is measured in the same run.
Usage: ``make bench`` (or ``python benchmarks/run.py``).
"""

from __future__ import annotations

import datetime
import importlib.util
import os
import platform
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
COLUMNS = ("measure", "tenantkit", "baseline", "ratio", "target")


def load(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(f"bench_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def main() -> int:
    rows: list[dict[str, Any]] = []
    for path in sorted(HERE.glob("*.py")):
        if path.name == "run.py":
            continue
        print(f"running {path.name} ...", file=sys.stderr, flush=True)
        rows.extend(load(path).results())
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"Benchmarks of {datetime.date.today().isoformat()} on {machine}\n")
    print("| " + " | ".join(COLUMNS) + " |")
    print("|" + "---|" * len(COLUMNS))
    for row in rows:
        print("| " + " | ".join(cell(row[c]) for c in COLUMNS) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
