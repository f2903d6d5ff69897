"""tenantkit.events.envelope: ``invoke_purpose`` for a function whose name looks like an ARN.

The mutation run (docs/testing.md) found that only real ARNs told the ARN branch apart:
a function may be named ``arn``, and that name with a qualifier or an account prefix is
a name, not a truncated ARN.
"""

from __future__ import annotations

import pytest

from tenantkit.events.envelope import invoke_purpose


@pytest.mark.parametrize(
    "function_name",
    ["arn", "arn:live", "123456789012:function:arn", "arn:aws:lambda:us-east-1:1:function:arn"],
)
def test_a_function_named_arn_is_a_name(function_name: str) -> None:
    assert invoke_purpose(function_name) == "invoke:arn"
