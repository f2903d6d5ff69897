"""The one backoff: full jitter under an exponential ceiling, never past the cap."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tenantkit._shared.backoff import Backoff


@settings(max_examples=200, deadline=None)
@given(
    st.floats(min_value=0.001, max_value=1.0),
    st.floats(min_value=0.001, max_value=10.0),
    st.integers(min_value=0, max_value=10_000),
)
def test_delay_is_within_the_exponential_ceiling_and_the_cap(
    base: float, cap: float, attempt: int
) -> None:
    delay = Backoff(base, cap).delay(attempt)
    assert 0 <= delay <= min(cap, base * 2 ** min(attempt, 64))


def test_wait_sleeps_the_delay_and_delays_are_jittered() -> None:
    slept: list[float] = []
    backoff = Backoff(0.05, 5.0, sleep=slept.append)
    for attempt in range(6):
        backoff.wait(attempt)
    assert len(slept) == 6
    assert all(0 <= s <= 0.05 * 2**n for n, s in enumerate(slept))
    assert len({Backoff(1.0, 1.0).delay(0) for _ in range(20)}) > 1  # not in lockstep
