"""``python -m tenantkit`` runs the ``tenantkit`` command."""

from __future__ import annotations

import subprocess
import sys


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tenantkit", *args], capture_output=True, text=True, check=False
    )


def test_help_lists_the_commands() -> None:
    result = run("--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: tenantkit")
    assert all(name in result.stdout for name in ("token", "policy", "local"))


def test_a_command_runs_with_its_exit_status() -> None:
    assert run("token", "--secret", "s" * 32, "--sub", "alice").stdout.count(".") == 2
    refused = run()
    assert refused.returncode == 2
    assert "token" in refused.stderr
