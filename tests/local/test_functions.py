"""The runtime: functions in warm worker processes, with Lambda's limits and failures."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tenantkit.local.functions import (
    PER_TENANT,
    FunctionSpec,
    InvocationError,
    InvokeRefused,
    Runtime,
)
from tenantkit.local.template import TemplateError

APP = """\
import json, os, pathlib, time

SEEN = []


def handler(event, context):
    SEEN.append(event.get("value"))
    rendezvous = event.get("rendezvous")
    if rendezvous:  # wait until `count` invocations are in their handlers at once
        directory = pathlib.Path(rendezvous["dir"])
        (directory / str(os.getpid())).touch()
        deadline = time.monotonic() + 10
        while len(list(directory.iterdir())) < rendezvous["count"]:
            assert time.monotonic() < deadline, "the other invocations never came"
            time.sleep(0.01)
    if event.get("hold"):  # block until the file exists
        while not os.path.exists(event["hold"]):
            time.sleep(0.01)
    started = time.monotonic()  # CLOCK_MONOTONIC: one clock for every process
    time.sleep(event.get("sleep", 0))
    if event.get("crash"):
        os._exit(3)
    if event.get("print"):
        print("{not the protocol}")
    if event.get("unjson"):
        return {1, 2}
    if event.get("spawn"):  # a process of the handler's own, left running
        import subprocess
        return {"child": subprocess.Popen(["sleep", "60"]).pid}
    if event.get("garble"):  # write on every other pipe this process may write to
        for fd in map(int, os.listdir("/proc/self/fd")):
            if fd > 2:
                try:
                    os.write(fd, b"not json\\n")
                except OSError:
                    pass
    return {
        "seen": SEEN,
        "pid": os.getpid(),
        "tenant_id": context.tenant_id,
        "function_name": context.function_name,
        "request_id": context.aws_request_id,
        "remaining": context.get_remaining_time_in_millis(),
        "name": os.environ.get("NAME"),
        "ran": [started, time.monotonic()],
    }
"""


@pytest.fixture
def code(tmp_path: Path) -> Path:
    (tmp_path / "tklocal_app.py").write_text(APP)
    return tmp_path


def spec(code: Path, name: str = "App", **options: Any) -> FunctionSpec:
    return FunctionSpec(
        name, f"fn-{name}", f"arn:fn-{name}", "tklocal_app.handler", code, "python3.12", **options
    )


@pytest.fixture
def running() -> Iterator[Callable[..., Runtime]]:
    started: list[Runtime] = []

    def start(*specs: FunctionSpec, **options: int) -> Runtime:
        runtime = Runtime({s.logical_id: s for s in specs}, **{"concurrency": 2, **options})
        runtime.load()
        started.append(runtime)
        return runtime

    yield start
    for runtime in started:
        runtime.close()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_an_environment_is_warm_and_reused(code: Path, running: Callable[..., Runtime]) -> None:
    runtime = running(spec(code, timeout=5))
    first = runtime.invoke("App", {"value": 1})
    second = runtime.invoke("App", {"value": 2})
    assert second["seen"] == [1, 2]
    assert second["pid"] == first["pid"] != os.getpid()
    assert (second["function_name"], second["tenant_id"]) == ("fn-App", None)
    assert first["request_id"] != second["request_id"]
    assert 0 < second["remaining"] <= 5000


def test_each_function_has_its_own_process_and_variables(
    code: Path, running: Callable[..., Runtime]
) -> None:
    runtime = running(spec(code, "First", environment={"NAME": "first"}), spec(code, "Second"))
    first, second = runtime.invoke("First", {"value": 1}), runtime.invoke("Second", {"value": 2})
    assert (first["name"], second["name"]) == ("first", None)
    assert (first["seen"], second["seen"]) == ([1], [2])
    assert "NAME" not in os.environ  # the server's own environment is untouched


def test_attack_per_tenant_globals_never_cross_tenants(
    code: Path, running: Callable[..., Runtime]
) -> None:
    runtime = running(spec(code, tenant_isolation=PER_TENANT), spec(code, "Pool"))
    for tenant, value in [("a", "a1"), ("b", "b1"), ("a", "a2")]:
        result = runtime.invoke("App", {"value": value}, tenant_id=tenant)
        assert result["tenant_id"] == tenant
    assert runtime.invoke("App", {"value": "b2"}, tenant_id="b")["seen"] == ["b1", "b2"]
    assert runtime.invoke("App", {"value": "a3"}, tenant_id="a")["seen"] == ["a1", "a2", "a3"]
    runtime.invoke("Pool", {"value": "a1"})
    assert runtime.invoke("Pool", {"value": "b1"})["seen"] == ["a1", "b1"]


def test_attack_an_evicted_tenant_environment_starts_empty(
    code: Path, running: Callable[..., Runtime]
) -> None:
    """With room for one environment in all, tenant b's takes a's place: a's next
    invocation starts a fresh one, never b's."""
    runtime = running(spec(code, tenant_isolation=PER_TENANT), max_environments=1)
    runtime.invoke("App", {"value": "a1"}, tenant_id="a")
    runtime.invoke("App", {"value": "b1"}, tenant_id="b")
    assert runtime.invoke("App", {"value": "a2"}, tenant_id="a")["seen"] == ["a2"]
    assert runtime.environments("App") == 1


def test_each_tenant_has_environments_of_its_own(
    code: Path, running: Callable[..., Runtime], tmp_path: Path
) -> None:
    """The --concurrency cap is per tenant: two invocations of each of two tenants run at
    once in four environments, none evicted."""
    runtime = running(spec(code, timeout=15, tenant_isolation=PER_TENANT), concurrency=2)
    rendezvous = tmp_path / "rendezvous"
    rendezvous.mkdir()
    event = {"rendezvous": {"dir": str(rendezvous), "count": 4}}
    with ThreadPoolExecutor(4) as pool:
        results = list(
            pool.map(lambda tenant: runtime.invoke("App", event, tenant_id=tenant), "abab")
        )
    assert len({r["pid"] for r in results}) == 4
    assert [r["tenant_id"] for r in results] == list("abab")
    assert runtime.environments("App") == 4


@pytest.mark.parametrize(
    ("tenant_id", "isolated"),
    [(None, True), ("a", False), ("", True), ("a\nb", True), ("x" * 257, True)],
)
def test_tenancy_mismatches_are_refused_as_lambda_does(
    code: Path, running: Callable[..., Runtime], tenant_id: str | None, isolated: bool
) -> None:
    runtime = running(spec(code, tenant_isolation=PER_TENANT if isolated else None))
    with pytest.raises(InvokeRefused) as refused:
        runtime.invoke("App", {}, tenant_id=tenant_id)
    assert (refused.value.status, refused.value.code) == (400, "InvalidParameterValueException")
    assert runtime.environments("App") == 0  # refused before any environment starts


def test_invocations_run_concurrently_in_separate_environments(
    code: Path, running: Callable[..., Runtime], tmp_path: Path
) -> None:
    runtime = running(spec(code, timeout=15), concurrency=2)
    rendezvous = tmp_path / "rendezvous"
    rendezvous.mkdir()
    event = {"rendezvous": {"dir": str(rendezvous), "count": 2}}
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: runtime.invoke("App", event), range(2)))
    assert len({r["pid"] for r in results}) == 2


def test_past_the_local_limit_an_invocation_waits_for_a_free_environment(
    code: Path, running: Callable[..., Runtime]
) -> None:
    runtime = running(spec(code, timeout=5), concurrency=1)
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda v: runtime.invoke("App", {"value": v, "sleep": 0.1}), "xyz"))
    assert len({r["pid"] for r in results}) == 1
    assert sorted(max((r["seen"] for r in results), key=len)) == ["x", "y", "z"]


def test_serial_runs_one_invocation_at_a_time_across_functions(code: Path) -> None:
    runtime = Runtime({s.logical_id: s for s in (spec(code, "A"), spec(code, "B"))}, serial=True)
    try:
        with ThreadPoolExecutor(2) as pool:
            runs = list(pool.map(lambda f: runtime.invoke(f, {"sleep": 0.2})["ran"], "AB"))
    finally:
        runtime.close()
    (first, second) = sorted(runs)
    assert first[1] <= second[0]


def test_concurrency_is_at_least_one(code: Path) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Runtime({"App": spec(code)}, concurrency=0)


def test_reserved_concurrency_throttles_past_it(
    code: Path, running: Callable[..., Runtime], tmp_path: Path
) -> None:
    runtime = running(spec(code, timeout=10, reserved_concurrency=1), concurrency=4)
    release = tmp_path / "release"
    busy = threading.Thread(target=runtime.invoke, args=("App", {"hold": str(release)}))
    busy.start()
    try:
        deadline = time.monotonic() + 10
        while runtime.environments("App") == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        with pytest.raises(InvokeRefused) as refused:
            runtime.invoke("App", {})
        assert (refused.value.status, refused.value.code) == (429, "TooManyRequestsException")
    finally:
        release.touch()
        busy.join()
    assert runtime.invoke("App", {"value": "after"})["seen"][-1] == "after"


def test_zero_reserved_concurrency_throttles_everything(
    code: Path, running: Callable[..., Runtime]
) -> None:
    runtime = running(spec(code, reserved_concurrency=0))
    with pytest.raises(InvokeRefused, match="TooManyRequestsException"):
        runtime.invoke("App", {})


def test_a_timeout_kills_the_environment(code: Path, running: Callable[..., Runtime]) -> None:
    runtime = running(spec(code, timeout=0.5))
    pid = runtime.invoke("App", {"value": 1})["pid"]
    with pytest.raises(InvocationError, match=r"Task timed out after 0\.50 seconds") as failed:
        runtime.invoke("App", {"sleep": 5})
    assert failed.value.payload["errorType"] == "Sandbox.Timedout"
    assert not alive(pid)
    fresh = runtime.invoke("App", {"value": 2})
    assert (fresh["seen"], fresh["pid"] != pid) == ([2], True)


def test_a_timeout_also_stops_what_the_handler_started(
    code: Path, running: Callable[..., Runtime]
) -> None:
    runtime = running(spec(code, timeout=0.5))
    child = runtime.invoke("App", {"spawn": True})["child"]
    assert alive(child)
    with pytest.raises(InvocationError, match="Task timed out"):
        runtime.invoke("App", {"sleep": 5})
    deadline = time.monotonic() + 10
    while alive(child) and time.monotonic() < deadline:  # until its new parent reaps it
        time.sleep(0.05)
    assert not alive(child)


def test_a_crash_is_a_runtime_exit_error(code: Path, running: Callable[..., Runtime]) -> None:
    runtime = running(spec(code))
    pid = runtime.invoke("App", {})["pid"]
    with pytest.raises(InvocationError, match="Runtime exited with error: exit status 3") as failed:
        runtime.invoke("App", {"crash": True})
    assert failed.value.payload["errorType"] == "Runtime.ExitError"
    assert runtime.invoke("App", {})["pid"] != pid


def test_a_handler_that_garbles_the_protocol_loses_its_environment(
    code: Path, running: Callable[..., Runtime]
) -> None:
    runtime = running(spec(code))
    pid = runtime.invoke("App", {})["pid"]
    with pytest.raises(InvocationError, match="outside its protocol"):
        runtime.invoke("App", {"garble": True})
    assert not alive(pid)
    assert runtime.invoke("App", {})["pid"] != pid


def test_handler_errors_keep_the_environment(
    code: Path, running: Callable[..., Runtime], capfd: pytest.CaptureFixture[str]
) -> None:
    runtime = running(spec(code))
    pid = runtime.invoke("App", {})["pid"]
    with pytest.raises(InvocationError) as failed:
        runtime.invoke("App", {"unjson": True})
    assert failed.value.payload["errorType"] == "Runtime.MarshalError"
    with pytest.raises(InvocationError) as raised:
        runtime.invoke("App", {"value": "x", "rendezvous": {"dir": "/nonexistent", "count": 1}})
    assert raised.value.payload["errorType"] == "FileNotFoundError"
    assert any("tklocal_app.py" in line for line in raised.value.payload["stackTrace"])
    assert "FileNotFoundError" in capfd.readouterr().err  # the traceback reaches the log
    assert runtime.invoke("App", {"print": True})["pid"] == pid  # prints go to the log
    assert "{not the protocol}" in capfd.readouterr().err


def test_cold_starts_are_logged_once_per_environment(
    code: Path, running: Callable[..., Runtime], capfd: pytest.CaptureFixture[str]
) -> None:
    runtime = running(spec(code, tenant_isolation=PER_TENANT))
    for tenant in ("a", "b", "a", "b", "a"):
        runtime.invoke("App", {}, tenant_id=tenant)
    cold = [line for line in capfd.readouterr().err.splitlines() if "cold start" in line]
    assert len(cold) == 2
    assert "App [tenant 'a']: cold start, init " in cold[0]
    assert " ms (pid " in cold[0]


def test_an_import_error_fails_each_invocation(
    tmp_path: Path, running: Callable[..., Runtime]
) -> None:
    (tmp_path / "tklocal_broken.py").write_text("import tklocal_nowhere\n")
    broken = FunctionSpec("B", "b", "arn:b", "tklocal_broken.handler", tmp_path, "python3.12")
    runtime = running(broken)
    for _ in range(2):
        with pytest.raises(InvocationError) as failed:
            runtime.invoke("B", {})
        assert failed.value.payload["errorType"] == "Runtime.ImportModuleError"
    assert runtime.environments("B") == 0


@pytest.mark.parametrize(
    ("handler", "message"),
    [("nodot", "is not of the form module.function"), ("tklocal_absent.handler", "no module")],
)
def test_load_checks_handlers_without_importing_them(
    code: Path, handler: str, message: str
) -> None:
    broken = FunctionSpec("B", "b", "arn:b", handler, code, "python3.12")
    with pytest.raises(TemplateError, match=message):
        Runtime({"B": broken}).load()


def test_close_stops_every_environment(code: Path, tmp_path: Path) -> None:
    runtime = Runtime({"App": spec(code, timeout=30)})
    release = tmp_path / "never"
    outcome: list[BaseException] = []

    def busy() -> None:
        try:
            runtime.invoke("App", {"hold": str(release)})
        except InvocationError as error:
            outcome.append(error)

    thread = threading.Thread(target=busy)
    thread.start()
    deadline = time.monotonic() + 10
    while runtime.environments("App") < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    idle = runtime.invoke("App", {})["pid"]  # a second environment: the first is busy
    runtime.close()
    thread.join(timeout=10)
    assert not alive(idle)
    assert isinstance(outcome[0], InvocationError)
    with pytest.raises(InvokeRefused, match="stopping"):
        runtime.invoke("App", {})
