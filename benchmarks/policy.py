"""Policy building: tenantkit's RoleMap against Powertools' APIGatewayAuthorizerResponse.

Both build the IAM policy of the same routes (the state-parks role map) for the same
method ARN. Powertools builds it from scratch each time; tenantkit compiles it once per
(role set, API) and serves the memoised document afterwards. Run:
``python benchmarks/policy.py`` (Powertools comes with the ``dev`` extra).
"""

from __future__ import annotations

import statistics
import timeit
from pathlib import Path
from typing import Any

from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerResponse,
)

from tenantkit.auth import RoleMap

ROLEMAP = Path(__file__).parent.parent / "examples" / "state_parks" / "roles.json"
ROLE_SETS = [frozenset({"admin", "member"}), frozenset({"visitor"})]
ARN = "arn:aws:execute-api:us-east-1:123456789012:{api}/prod/GET/parks"


def _median_us(fn: Any, number: int) -> float:
    runs = timeit.repeat(fn, number=number, repeat=7)
    return statistics.median(runs) / number * 1e6


def _powertools(roles: RoleMap, held: frozenset[str]) -> dict[str, Any]:
    response = APIGatewayAuthorizerResponse(
        principal_id="alice",
        region="us-east-1",
        aws_account_id="123456789012",
        api_id="abc123",
        stage="prod",
    )
    for key in sorted(roles.allowed_routes(held)):
        route = roles.routes[key]
        response.allow_route(route.method, route.resource.split("/", 1)[1])
    return response.asdict()


def results() -> list[dict[str, Any]]:
    roles = RoleMap.from_file(ROLEMAP)
    rows = []
    for held in ROLE_SETS:
        names = "+".join(sorted(held))
        baseline = _median_us(lambda held=held: _powertools(roles, held), 2000)
        arns = iter([ARN.format(api=f"api{n}") for n in range(400 * 7)])

        def first(held: frozenset[str] = held, arns: Any = arns) -> None:
            roles.policy(held, next(arns))

        compiled = _median_us(first, 400)
        warm = _median_us(lambda held=held: roles.policy(held, ARN.format(api="abc123")), 20000)
        rows.append(
            {
                "measure": f"policy for {names}, first sight of an API (µs)",
                "tenantkit": compiled,
                "baseline": baseline,
                "ratio": compiled / baseline,
                "target": "<= 1.0x",
            }
        )
        rows.append(
            {
                "measure": f"policy for {names}, memoised (µs)",
                "tenantkit": warm,
                "baseline": baseline,
                "ratio": warm / baseline,
                "target": "<= 0.1x",
            }
        )
    return rows


if __name__ == "__main__":
    for row in results():
        print(
            f"{row['measure']:55} {row['tenantkit']:8.2f} {row['baseline']:8.2f} "
            f"{row['ratio']:6.2f}x  target {row['target']}"
        )
