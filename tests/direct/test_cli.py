"""``tenantkit openapi``: the document on stdout or in a file; an invalid spec exits 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tenantkit.cli import main

from .conftest import PARKS


def test_prints_yaml(capsys: pytest.CaptureFixture[str], parks_document: dict[str, Any]) -> None:
    assert main(["openapi", str(PARKS)]) == 0
    assert yaml.safe_load(capsys.readouterr().out) == parks_document


def test_writes_json_by_suffix(tmp_path: Path, parks_document: dict[str, Any]) -> None:
    out = tmp_path / "openapi.json"
    assert main(["openapi", str(PARKS), "--out", str(out)]) == 0
    assert json.loads(out.read_text()) == parks_document


def test_an_invalid_spec_names_where(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = yaml.safe_load(PARKS.read_text())
    spec["routes"][2]["dynamodb"]["key"]["sk"] = "park#{nope}"
    bad = tmp_path / "spec.yaml"
    bad.write_text(yaml.safe_dump(spec))
    assert main(["openapi", str(bad)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "tenantkit openapi: invalid route spec: routes[2].dynamodb.key.sk:" in captured.err
