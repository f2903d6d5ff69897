"""``update_items``: each item's clause, tokens and what it writes."""

from __future__ import annotations

import pytest

from tenantkit.direct.update_expression import UpdateItem, update_items


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("SET #s = :s", [UpdateItem("SET", ["#s", "=", ":s"], ["#s"])]),
        (
            "set a = :a, #0 = if_not_exists(#0, :z) remove b, c",
            [
                UpdateItem("SET", ["a", "=", ":a"], ["a"]),
                UpdateItem(
                    "SET",
                    ["#0", "=", "if_not_exists", "(", "#0", ",", ":z", ")"],
                    ["#0"],
                ),
                UpdateItem("REMOVE", ["b"], ["b"]),
                UpdateItem("REMOVE", ["c"], ["c"]),
            ],
        ),
        (
            "ADD n :one DELETE tags :t SET l = list_append(l, :x)",
            [
                UpdateItem("ADD", ["n", ":one"], ["n", ":one"]),
                UpdateItem("DELETE", ["tags", ":t"], ["tags", ":t"]),
                UpdateItem("SET", ["l", "=", "list_append", "(", "l", ",", ":x", ")"], ["l"]),
            ],
        ),
        (
            "SET a[1].#b = :v",
            [
                UpdateItem(
                    "SET",
                    ["a", "[", "1", "]", ".", "#b", "=", ":v"],
                    ["a", "[", "1", "]", ".", "#b"],
                )
            ],
        ),
        ("", []),
    ],
)
def test_items_split_on_clauses_and_top_level_commas(
    expression: str, expected: list[UpdateItem]
) -> None:
    assert update_items(expression) == expected


def test_text_before_any_clause_keyword_has_no_clause() -> None:
    assert update_items("pk = :p") == [UpdateItem("", ["pk", "=", ":p"], ["pk", "=", ":p"])]
