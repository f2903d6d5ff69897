"""``parse_reference_path``: the segments of dotted and bracket paths, ``None`` for the rest."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenantkit.direct.reference_path import parse_reference_path

_NAME = st.from_regex(r"[A-Za-z0-9_-]{1,8}", fullmatch=True)


@st.composite
def _paths(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A path written segment by segment in any notation, with the segments it names."""
    segments: list[str] = []
    text = "$"
    for _ in range(draw(st.integers(0, 4))):
        if draw(st.booleans()):
            index = draw(st.integers(0, 99))
            text, segments = text + f"[{index}]", [*segments, str(index)]
            continue
        name = draw(_NAME)
        text += draw(st.sampled_from([f".{name}", f"['{name}']", f'["{name}"]']))
        segments.append(name)
    return text, segments


@settings(max_examples=100, deadline=None)
@given(path=_paths())
def test_each_notation_reads_as_its_segments(path: tuple[str, list[str]]) -> None:
    text, segments = path
    assert parse_reference_path(text) == segments


@pytest.mark.parametrize(
    "path",
    [None, 7, "", "x", "tenantId", " $", "$ ", "$..a", "$.*", "$[*]", "$.a.", "$[a]", "$['a b']",
     "$['a\\'b']", "$[?(@.a)]", "$['a\"]", "$[-1]", "$.a[0"],
)  # fmt: skip
def test_what_it_cannot_read_exactly_is_none(path: object) -> None:
    assert parse_reference_path(path) is None
