"""examples/state_parks/build.py: repeatable, edits no tracked file, ships no SDK of its own."""

from __future__ import annotations

import hashlib
import importlib.util
import subprocess
import sys
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

from tests.examples.conftest import EXAMPLE

ROOT = EXAMPLE.parents[1]


def load_build() -> ModuleType:
    spec = importlib.util.spec_from_file_location("state_parks_build", EXAMPLE / "build.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = load_build()


def fake_wheel(directory: Path) -> Path:
    """A stand-in for tenantkit's wheel: building the real one needs hatchling from an index."""
    wheel = directory / "tenantkit-0.0.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("tenantkit/__init__.py", "MARKER = 'staged'\n")
        archive.writestr(
            "tenantkit-0.0.0.dist-info/METADATA",
            "Metadata-Version: 2.1\nName: tenantkit\nVersion: 0.0.0\n",
        )
        archive.writestr(
            "tenantkit-0.0.0.dist-info/WHEEL",
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        archive.writestr("tenantkit-0.0.0.dist-info/RECORD", "")
    return wheel


def tree_digest(directory: Path) -> dict[str, str]:
    return {
        str(path.relative_to(directory)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(directory.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def tracked_changes() -> str:
    """``git status`` of the example: what a build must leave as it found it."""
    return subprocess.run(
        ["git", "status", "--porcelain", "--", str(EXAMPLE)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_the_functions_requirements_leave_out_what_the_runtime_provides() -> None:
    app = (EXAMPLE / "app" / "requirements.txt").read_text()
    lines = build.function_requirements(app, ROOT / "pyproject.toml")
    names = [build.requirement_name(line) for line in lines]
    assert "boto3" not in names
    assert "botocore" not in names
    assert "tenantkit" not in names
    # the app's own, and tenantkit's runtime and powertools-extra requirements
    assert {"pydantic", "aws-lambda-powertools", "pyjwt"} <= set(names)
    assert len(names) == len(set(names))
    assert not any("/" in line or "\\" in line for line in lines)  # no host paths


def test_the_app_requirements_name_neither_tenantkit_nor_the_sdk() -> None:
    app = build.requirement_lines((EXAMPLE / "app" / "requirements.txt").read_text())
    names = {build.requirement_name(line) for line in app}
    assert names.isdisjoint({"tenantkit", "boto3", "botocore"})


def test_a_tenantkit_line_in_the_app_requirements_is_refused() -> None:
    with pytest.raises(ValueError, match="tenantkit"):
        build.function_requirements("Tenantkit>=0.1\n", ROOT / "pyproject.toml")


def test_requirements_of_one_project_merge_into_one_line(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[project]\ndependencies = ["boto3>=1.34", "PyJWT[crypto]>=2.15"]\n'
        '[project.optional-dependencies]\npowertools = ["aws-lambda-powertools>=3.11"]\n'
    )
    app = "aws_lambda_powertools >= 3.0\npyjwt[crypto]<3  # comment\n"
    assert build.function_requirements(app, pyproject) == [
        "aws_lambda_powertools>=3.0,>=3.11",
        "pyjwt[crypto]<3,>=2.15",
    ]


@pytest.mark.parametrize(
    ("line", "name"),
    [("PyJWT[crypto]>=2.15", "pyjwt"), ("aws_lambda.Powertools>=3", "aws-lambda-powertools")],
)
def test_requirement_names_are_normalized(line: str, name: str) -> None:
    assert build.requirement_name(line) == name


def test_staging_twice_gives_the_same_tree_and_edits_no_tracked_file(tmp_path: Path) -> None:
    before = tracked_changes()
    wheel = fake_wheel(tmp_path)
    cache = EXAMPLE / "app" / ".build-test-cache"  # a tool's cache beside the sources
    cache.mkdir(exist_ok=True)
    out = tmp_path / "state_parks"
    command = [sys.executable, str(EXAMPLE / "build.py"), "--out", str(out), "--wheel", str(wheel)]
    try:
        subprocess.run([*command, "--no-vendor"], check=True, capture_output=True, timeout=120)
        first = tree_digest(out)
        subprocess.run([*command, "--no-vendor"], check=True, capture_output=True, timeout=120)
    finally:
        cache.rmdir()
    assert tree_digest(out) == first
    assert tracked_changes() == before
    assert not (out / "app" / cache.name).exists()

    # CodeUri: app/, the included definition and the state machine's DefinitionUri still
    # hold beside the copied template, with tenantkit installed in app/.
    assert (out / "template.yaml").read_bytes() == (EXAMPLE / "template.yaml").read_bytes()
    for staged_file in ("definition.yaml", "statemachine/update_park_status.asl.json"):
        assert (out / staged_file).read_bytes() == (EXAMPLE / staged_file).read_bytes()
    assert (out / "app" / "tenantkit" / "__init__.py").read_text() == "MARKER = 'staged'\n"
    assert (out / "app" / "announcer.py").is_file()
    assert not (out / "app" / "bin").exists()
    staged = build.requirement_lines((out / "app" / "requirements.txt").read_text())
    app = (EXAMPLE / "app" / "requirements.txt").read_text()
    assert staged == build.function_requirements(app, ROOT / "pyproject.toml")
