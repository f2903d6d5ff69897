"""The ``tenantkit`` command dispatcher."""

from __future__ import annotations

import pytest

from tenantkit.cli import main


def test_no_command_prints_help_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "token" in capsys.readouterr().err


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert all(name in out for name in ("token", "policy", "local"))


def test_unknown_command_names_the_known_ones(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["bogus"])
    assert exit_info.value.code == 2
    assert "choose from" in capsys.readouterr().err


def test_commands_dispatch_to_their_module(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "--secret", "s" * 32, "--sub", "alice"]) == 0
    assert capsys.readouterr().out.count(".") == 2  # one compact JWT
