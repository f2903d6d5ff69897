"""The limit pattern against the tests' model: canonical decimal integers in 1..maximum."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from tenantkit.direct.limits import range_pattern


@settings(max_examples=50, deadline=None)
@given(maximum=st.integers(1, 5000), candidate=st.integers(-10, 6000))
def test_matches_exactly_one_to_maximum(maximum: int, candidate: int) -> None:
    pattern = range_pattern(maximum)
    assert (re.fullmatch(pattern, str(candidate)) is not None) == (1 <= candidate <= maximum)


@given(maximum=st.integers(1, 5000), text=st.text(max_size=6))
@settings(max_examples=50, deadline=None)
def test_matches_no_other_spelling(maximum: int, text: str) -> None:
    canonical = re.fullmatch(r"[1-9][0-9]*", text) is not None and int(text) <= maximum
    assert (re.fullmatch(range_pattern(maximum), text) is not None) == canonical


def test_leading_zeros_and_signs_are_refused() -> None:
    for text in ["0", "01", "+1", "-1", "1.0", " 1", "1 ", "1e1"]:
        assert re.fullmatch(range_pattern(100), text) is None
