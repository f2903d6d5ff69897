"""``tenantkit tenant ...`` in-process: summaries on stdout, audit lines, exit codes."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from tenantkit.cli import main

from .conftest import SILO, TABLE, App, create_table

COMMON = ["--table", TABLE, "--shards", "4", "--actor", "ops-bob", "--no-progress"]


def tenant(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any]:
    code = main(["tenant", *args, *COMMON])
    out = capsys.readouterr().out
    return code, json.loads(out) if code == 0 else out


def test_export_then_import_by_the_cli(
    app: App, tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    app.seed("texas", 40)
    app.seed("idaho", 0)  # import writes only into a founded tenant
    out = tmp_path / "texas.jsonl"
    caplog.set_level(logging.INFO, logger="tenantkit.audit")

    code, summary = tenant(capsys, "export", "texas", "--out", str(out))

    assert code == 0
    assert summary["items"] == 40
    assert summary["outcome"] == "done"
    assert summary["checksum"].startswith("sha256-sum:")
    audit = [json.loads(r.getMessage()) for r in caplog.records if r.name == "tenantkit.audit"]
    assert audit[-1]["action"] == "export"
    assert audit[-1]["actor"] == "operator:ops-bob"
    assert audit[-1]["tenant"] == "texas"
    assert audit[-1]["outcome"] == "done"
    code, summary = tenant(capsys, "import", str(out), "--tenant", "idaho")
    assert (code, summary["items"]) == (0, 40)
    assert app.table("idaho").count_items() == 40


def test_offboard_is_a_dry_run_unless_yes(app: App, capsys: pytest.CaptureFixture[str]) -> None:
    app.seed("texas", 12)
    code, plan = tenant(capsys, "offboard", "texas")
    assert (code, plan["dryRun"], plan["items"]) == (0, True, 12)
    assert app.table("texas").count_items() == 12
    code, _ = tenant(capsys, "offboard", "texas", "--yes", "--sweep-after", "0")
    assert (code, app.admin.get("texas").status) == (1, "active")  # type: ignore[union-attr]
    yes = ("--yes", "--sweep-after", "0", "--assume-indexed")
    code, done = tenant(capsys, "offboard", "texas", *yes)
    assert (code, done["dryRun"], done["items"], done["status"]) == (0, False, 12, "deleted")
    assert done["indexed"] == "assumed"
    assert app.table("texas").count_items() == 0


def test_move_suspend_resume_and_tier(app: App, capsys: pytest.CaptureFixture[str]) -> None:
    app.seed("texas", 10)
    create_table(app.dynamodb, SILO)
    code, moved = tenant(
        capsys, "move", "texas", "--to-table", SILO, "--settle", "0", "--assume-indexed"
    )
    assert (code, moved["copied"], moved["toTable"]) == (0, 10, SILO)
    assert tenant(capsys, "suspend", "texas")[1]["status"] == "suspended"
    assert tenant(capsys, "resume", "texas")[1]["status"] == "active"
    assert tenant(capsys, "set-tier", "texas", "premium")[1]["tier"] == "premium"
    status = app.admin.get("texas")
    assert status is not None
    assert (status.table, status.tier) == (SILO, "premium")


def test_backfill_index_by_the_cli(app: App, capsys: pytest.CaptureFixture[str]) -> None:
    code, summary = tenant(capsys, "backfill-index")
    assert (code, summary["tagged"]) == (0, 0)


def test_refusals_exit_1_with_a_message(
    app: App, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["tenant", "offboard", "nobody", "--yes", *COMMON])
    assert code == 1
    assert "no tenant 'nobody'" in capsys.readouterr().err
    code = main(["tenant", "import", str(tmp_path / "missing.jsonl"), "--tenant", "x", *COMMON])
    assert code == 1
    assert "missing.jsonl" in capsys.readouterr().err


def test_aws_refusals_are_messages_not_tracebacks(
    app: App, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")  # the table is in us-east-1
    code = main(["tenant", "offboard", "texas", *COMMON])
    assert code == 1
    err = capsys.readouterr().err
    assert "ResourceNotFoundException" in err
    assert "Traceback" not in err


def test_an_action_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["tenant"])
    assert exit_info.value.code == 2
