"""Runs: a progress bar only when asked or on a terminal, an audit line either way."""

from __future__ import annotations

import json
import logging

import pytest

from tenantkit.lifecycle.runs import Run


def audit_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "tenantkit.audit"]


def test_a_bar_on_request_and_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    with Run("export", "texas", actor="jane", progress=True) as run:
        run.stage("items", total=3)
        run.advance(3)
    err = capsys.readouterr().err
    assert "export items" in err
    assert "3/3" in err
    assert run.summary["outcome"] == "done"
    assert run.items == 3


def test_no_bar_when_stderr_is_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    with Run("export", "texas", actor="jane") as run:  # pytest's stderr is no terminal
        run.stage("items")
        run.advance(5)
    assert capsys.readouterr().err == ""


def test_a_failed_run_is_audited_as_failed(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="tenantkit.audit")
    with pytest.raises(RuntimeError), Run("move", "texas", actor="jane", progress=False):
        raise RuntimeError("boom")
    (line,) = audit_lines(caplog)
    assert line["outcome"] == "failed"
    assert line["detail"] == "RuntimeError: boom"
    assert line["actor"] == "operator:jane"
    assert line["action"] == "move"
