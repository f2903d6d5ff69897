"""`tenantkit local` under load: the example served with execution environments, against
the same server run serially (one invocation at a time, as before environments), in one run.

Eight real HTTP clients (threads with ``urllib``) mix two tenants' admins for
``TENANTKIT_LOAD_SECONDS`` seconds each (default 20): each round adds a park, reads it
back and lists parks (direct DynamoDB integrations), lists the new park's webhooks (the
``PER_TENANT`` webhooks function) and reads the caller's settings (a pool function).
Clients of different tenants write the *same* park ids, with names that say whose they
are, so a response that crossed tenants is visible in its names.
Reported: requests per second, p50 and p95 latency, serial as the baseline, measured in
alternating rounds with both servers up.

``tests/local/test_load.py`` drives the same load for a few seconds and checks what it
observed: no 5xx, no other tenant's item, every write readable afterwards.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, NamedTuple

EXAMPLE = Path(__file__).parents[1] / "examples" / "state_parks"
READY = "tenantkit local: listening on "
WRITERS = {"alice": "texas", "bob": "washington"}  # each an admin of their active tenant
CLIENTS = 8


class Observation(NamedTuple):
    """One response: who asked (tenant), what, its status and time, and the parks in it."""

    tenant: str
    route: str
    status: int
    seconds: float
    parks: tuple[dict[str, Any], ...] = ()


class Served(NamedTuple):
    url: str
    tokens: dict[str, str]
    process: subprocess.Popen[str]
    log: Path


@contextmanager
def serve(log: Path, *options: str) -> Iterator[Served]:
    """``tenantkit local`` on the seeded example, on a free loopback port; stopped by PID."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [
        sys.executable, "-m", "tenantkit.cli", "local", str(EXAMPLE / "template.yaml"),
        "--seed", str(EXAMPLE / "seed.json"), "--port", str(port), "--print-tokens",
        "--parameter-overrides", f"JwtSecret={secrets.token_urlsafe(32)}", *options,
    ]  # fmt: skip
    with log.open("w") as errors:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True)  # noqa: S603
    try:
        tokens: dict[str, str] = {}
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("token "):
                _, user, token = line.split()
                tokens[user] = token
            elif line.startswith(READY):
                served = Served(line[len(READY) :].strip(), tokens, process, log)
                break
        else:
            raise RuntimeError(f"tenantkit local did not start:\n{log.read_text()[-3000:]}")
        threading.Thread(target=process.stdout.read, daemon=True).start()
        yield served
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def call(
    served: Served, user: str, method: str, path: str, body: Any = None
) -> tuple[int, Any, float]:
    request = urllib.request.Request(  # noqa: S310 - loopback only
        served.url + path,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={
            "Authorization": f"Bearer {served.tokens[user]}",
            "Content-Type": "application/json",
        },
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    elapsed = time.perf_counter() - started
    try:
        answer = json.loads(raw) if raw else None
    except ValueError:
        answer = raw.decode(errors="replace")
    return status, answer, elapsed


def _client(
    served: Served, run: str, index: int, until: float
) -> tuple[list[Observation], list[str]]:
    user = list(WRITERS)[index % len(WRITERS)]
    tenant = WRITERS[user]
    seen: list[Observation] = []
    written: list[str] = []
    round_ = 0
    while round_ == 0 or time.monotonic() < until:  # at least one round each
        park_id = f"load-{run}-{index // len(WRITERS)}-{round_}"
        park = {"id": park_id, "name": f"{tenant} {park_id}"}
        status, _, seconds = call(served, user, "POST", "/parks", park)
        seen.append(Observation(tenant, "POST /parks", status, seconds))
        if status == 201:
            written.append(park_id)
        status, answer, seconds = call(served, user, "GET", f"/parks/{park_id}")
        parks = (answer,) if status == 200 else ()
        seen.append(Observation(tenant, "GET /parks/{id}", status, seconds, parks))
        status, answer, seconds = call(served, user, "GET", "/parks?limit=50")
        parks = tuple(answer.get("items") or ()) if status == 200 else ()
        seen.append(Observation(tenant, "GET /parks", status, seconds, parks))
        status, _, seconds = call(served, user, "GET", f"/parks/{park_id}/webhooks")
        seen.append(Observation(tenant, "GET /parks/{id}/webhooks", status, seconds))
        status, _, seconds = call(served, user, "GET", "/settings")
        seen.append(Observation(tenant, "GET /settings", status, seconds))
        round_ += 1
    return seen, written


def drive(
    served: Served, seconds: float, clients: int = CLIENTS
) -> tuple[list[Observation], dict[str, list[str]], float]:
    """Run the clients for ``seconds``; every observation, each tenant's writes (park
    ids), and the wall time."""
    run = secrets.token_hex(3)  # park ids differ between runs, and tenants share them
    started = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        outcomes = list(
            pool.map(lambda i: _client(served, run, i, started + seconds), range(clients))
        )
    elapsed = time.monotonic() - started
    written: dict[str, list[str]] = {tenant: [] for tenant in WRITERS.values()}
    for index, (_, ids) in enumerate(outcomes):
        written[WRITERS[list(WRITERS)[index % len(WRITERS)]]].extend(ids)
    return [o for seen, _ in outcomes for o in seen], written, elapsed


def summary(observations: list[Observation], elapsed: float) -> dict[str, float]:
    times = sorted(o.seconds for o in observations)
    return {
        "rps": len(observations) / elapsed,
        "p50": statistics.median(times) * 1000,
        "p95": times[int(0.95 * (len(times) - 1))] * 1000,
    }


ROUNDS = 5
MODES = {"serial": ("--serial",), "workers": ("--concurrency", "4")}


def results() -> list[dict[str, Any]]:
    """Both servers up and warm at once, measured in alternating rounds (each mode
    ``TENANTKIT_LOAD_SECONDS`` in all), so that a busy machine's drift hits both alike;
    the requests/s row names the spread of the per-round ratios."""
    import tempfile

    seconds = float(os.environ.get("TENANTKIT_LOAD_SECONDS", "20"))
    seen: dict[str, list[Observation]] = {mode: [] for mode in MODES}
    elapsed = dict.fromkeys(MODES, 0.0)
    ratios: list[float] = []
    with tempfile.TemporaryDirectory() as scratch, ExitStack() as servers:
        served = {
            mode: servers.enter_context(serve(Path(scratch) / f"{mode}.log", *options))
            for mode, options in MODES.items()
        }
        for server in served.values():
            drive(server, 0)  # warm up: cold starts and the authorizer cache, not measured
        for _ in range(ROUNDS):
            rate = {}
            for mode, server in served.items():
                observations, _, took = drive(server, seconds / ROUNDS)
                seen[mode] += observations
                elapsed[mode] += took
                rate[mode] = len(observations) / took
            ratios.append(rate["workers"] / rate["serial"])
    for mode, observations in seen.items():
        errors = sum(o.status >= 500 for o in observations)
        if errors:
            raise RuntimeError(f"{mode}: {errors} responses were 5xx")
    workers, serial = (summary(seen[m], elapsed[m]) for m in ("workers", "serial"))
    label = f"tenantkit local, {CLIENTS} clients, {seconds:.0f} s each"
    spread = f"per-round ratio {min(ratios):.2f}..{max(ratios):.2f}"
    rows = [("requests/s", "rps", "> 1"), ("p50 ms", "p50", "< 1"), ("p95 ms", "p95", "< 1")]
    return [
        {
            "measure": f"{label}: {name} (workers vs serial"
            + (f"; {spread})" if key == "rps" else ")"),
            "tenantkit": workers[key],
            "baseline": serial[key],
            "ratio": workers[key] / serial[key],
            "target": target,
        }
        for name, key, target in rows
    ]


if __name__ == "__main__":
    for row in results():
        print(row)
