"""The function runtime: per-function module copies and Lambda's timeout."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenantkit.local.functions import FunctionSpec, InvocationError, Runtime


def test_each_function_has_its_own_copy_of_its_code(tmp_path: Path) -> None:
    """A module two functions share is imported once per function, under its environment."""
    (tmp_path / "tklocal_shared.py").write_text("import os\n\nNAME = os.environ.get('NAME')\n")
    for name in ("first", "second"):
        (tmp_path / f"tklocal_{name}.py").write_text(
            "import os\n\nimport tklocal_shared\n\n\ndef handler(event, context):\n"
            "    return {'imported': tklocal_shared.NAME, 'now': os.environ.get('NAME')}\n"
        )
    specs = {
        name: FunctionSpec(
            name,
            name,
            f"arn:{name}",
            f"tklocal_{name}.handler",
            tmp_path,
            "python3.12",
            environment={"NAME": name} if name == "first" else {},
        )
        for name in ("first", "second")
    }
    runtime = Runtime(specs)
    runtime.load()
    assert runtime.invoke("first", {}) == {"imported": "first", "now": "first"}
    # "second" does not set NAME: it must not see the value "first" imported with.
    assert runtime.invoke("second", {}) == {"imported": None, "now": None}
    assert runtime.invoke("first", {}) == {"imported": "first", "now": "first"}


def test_a_handler_past_its_timeout_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "tklocal_slow.py").write_text(
        "import time\n\n\ndef handler(event, context):\n    time.sleep(event['sleep'])\n"
        "    return 'done'\n"
    )
    spec = FunctionSpec(
        "Slow", "slow", "arn:slow", "tklocal_slow.handler", tmp_path, "python3.12", timeout=0.2
    )
    runtime = Runtime({"Slow": spec})
    runtime.load()
    assert runtime.invoke("Slow", {"sleep": 0}) == "done"
    with pytest.raises(InvocationError, match=r"Task timed out after 0\.20 seconds"):
        runtime.invoke("Slow", {"sleep": 0.3})
