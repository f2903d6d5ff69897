"""Reading mutmut's survivors and matching them against mutation/survivors.toml.

A mutant is keyed by its function (module.Class.method) and the lines it removes and adds,
without indentation, not by mutmut's numbered name: the numbers shift whenever the function
changes, and line numbers whenever anything above it does.
"""

from __future__ import annotations

import io
import json
import tokenize
import tomllib
from dataclasses import dataclass
from pathlib import Path

CLASS_MARK = "ǁ"  # mutmut names a method's mutants xǁClassǁmethod__mutmut_N
_LAYOUT_TOKENS = {tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT}
_LAYOUT_TOKENS |= {tokenize.COMMENT, tokenize.ENDMARKER}


@dataclass(frozen=True)
class Change:
    """The lines a mutation removes and adds, unindented: unaffected by edits elsewhere."""

    removed: tuple[str, ...]
    added: tuple[str, ...]

    @classmethod
    def from_diff(cls, diff: str) -> Change:
        """Read `mutmut show`'s unified diff, or a survivors.toml entry (no headers)."""
        lines = diff.splitlines()
        hunks = [i for i, line in enumerate(lines) if line.startswith("@@")]
        lines = lines[hunks[0] + 1 :] if hunks else lines
        return cls(
            removed=tuple(line[1:].strip() for line in lines if line.startswith("-")),
            added=tuple(line[1:].strip() for line in lines if line.startswith("+")),
        )

    def rewrites_strings_only(self) -> bool:
        """True if the code around the string literals is unchanged (None counts as one)."""
        before, after = _shape(self.removed), _shape(self.added)
        return before is not None and before == after


def _shape(lines: tuple[str, ...]) -> list[str] | None:
    """The tokens of `lines`, with each run of string literals (or None) as one '"'."""
    shape: list[str] = []
    try:
        for token in tokenize.generate_tokens(io.StringIO("\n".join(lines)).readline):
            if token.type in _LAYOUT_TOKENS:
                continue
            text = '"' if token.type == tokenize.STRING or token.string == "None" else token.string
            if text != '"' or shape[-1:] != ['"']:
                shape.append(text)
    except tokenize.TokenError:  # an unclosed bracket at the end: the tokens so far count
        pass
    except SyntaxError:
        return None
    return shape


@dataclass(frozen=True)
class Survivor:
    name: str
    status: str
    diff: str

    @property
    def function(self) -> str:
        return function_of(self.name)

    @property
    def change(self) -> Change:
        return Change.from_diff(self.diff)


@dataclass(frozen=True)
class Reviewed:
    """An entry of survivors.toml: a mutation that changes no behaviour, and why.

    It covers exactly the mutation it shows. An entry with removed lines only also marks
    them as message text: it covers every mutation of some of them that rewrites string
    literals and nothing else.
    """

    function: str
    change: Change
    reason: str

    def covers(self, survivor: Survivor) -> bool:
        change = survivor.change
        if survivor.function != self.function:
            return False
        if change == self.change:
            return True
        return (
            not self.change.added
            and set(change.removed) <= set(self.change.removed)
            and change.rewrites_strings_only()
        )


def mangle(function: str) -> str:
    """mutmut's name for a function ("x_name") or a method ("xǁClassǁname")."""
    owner, _, name = function.rpartition(".")
    return f"x{CLASS_MARK}{owner}{CLASS_MARK}{name}" if owner else f"x_{name}"


def function_of(mutant: str) -> str:
    """tenantkit.m.xǁC‖f__mutmut_3 -> tenantkit.m.C.f: the key that survives renumbering."""
    module, _, local = mutant.partition("__mutmut_")[0].rpartition(".")
    if local.startswith("x" + CLASS_MARK):
        _, owner, name = local.split(CLASS_MARK)
        return f"{module}.{owner}.{name}"
    return f"{module}.{local.removeprefix('x_')}"


def load_reviewed(path: Path) -> list[Reviewed]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    if set(data) - {"survivor"}:
        raise SystemExit(f"{path.name}: only [[survivor]] entries belong here")
    reviewed = []
    for entry in data.get("survivor", []):
        if set(entry) != {"function", "diff", "reason"}:
            raise SystemExit(f"{path.name}: an entry has function, diff, reason: {entry}")
        change = Change.from_diff(entry["diff"])
        if not change.removed or not entry["reason"].strip():
            raise SystemExit(f"{path.name}: no removed lines or no reason in {entry}")
        reviewed.append(Reviewed(entry["function"], change, entry["reason"]))
    return reviewed


def toml_entry(function: str, lines: list[str]) -> str:
    """A survivors.toml entry to paste after review, with the reason left to fill in."""
    diff = "\n".join(lines)
    quoted = f"'''\n{diff}\n'''" if "'''" not in diff else json.dumps(diff)
    return f'[[survivor]]\nfunction = "{function}"\ndiff = {quoted}\nreason = ""'


def message_entries(survivors: list[Survivor]) -> list[str]:
    """One entry per message: the string-only survivors whose removed lines overlap."""
    groups: list[tuple[str, list[str]]] = []  # function, message lines
    for s in survivors:
        lines = list(s.change.removed)
        for group in [g for g in groups if g[0] == s.function and set(g[1]) & set(lines)]:
            groups.remove(group)
            lines = group[1] + [line for line in lines if line not in group[1]]
        groups.append((s.function, lines))
    return [toml_entry(function, ["-" + line for line in lines]) for function, lines in groups]
