"""api.yaml, the definition generated from it, and the UpdateParkStatus state machine."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest

from tenantkit.direct import check_state_machine, dump, load_spec, render_openapi, task_key
from tenantkit.direct.asl import UnsafeStateMachineError
from tests.examples.conftest import EXAMPLE, load_template

MACHINE = EXAMPLE / "statemachine" / "update_park_status.asl.json"
# Attributes stored tenant-prefixed: the table's and GSI1's partition keys.
PARTITION_KEYS = ("pk", "GSI1PK")


def machine() -> dict[str, Any]:
    definition: dict[str, Any] = json.loads(MACHINE.read_text())
    return definition


def test_the_definition_is_generated_from_the_spec() -> None:
    """definition.yaml is `tenantkit openapi api.yaml`'s output, byte for byte: regenerate
    it (see api.yaml's header) after changing the spec or tenantkit.direct."""
    expected = dump(render_openapi(load_spec(EXAMPLE / "api.yaml")))
    assert (EXAMPLE / "definition.yaml").read_text() == expected


def test_the_definition_is_valid_openapi() -> None:
    import yaml
    from openapi_spec_validator import validate

    validate(yaml.safe_load((EXAMPLE / "definition.yaml").read_text()))


def test_the_status_machine_passes_the_tenant_key_check() -> None:
    check_state_machine(machine(), partition_keys=PARTITION_KEYS)


def test_the_status_machine_updates_the_park_under_its_tenants_key() -> None:
    """The key is the one tenantkit.direct builds for ``park#{parkId}`` (the format
    ``TenantTable`` and the generated templates use), and the update requires the park."""
    update = machine()["States"]["UpdatePark"]
    assert update["Resource"] == "arn:aws:states:::dynamodb:updateItem"
    parameters = update["Parameters"]
    assert parameters["Key"] == task_key(
        {"pk": "park#{parkId}", "sk": "park"}, partition_keys=PARTITION_KEYS
    )
    assert parameters["ConditionExpression"] == "attribute_exists(#pk)"
    assert parameters["ExpressionAttributeNames"]["#pk"] == "pk"


def test_the_announcer_gets_the_executions_tenant() -> None:
    announce = machine()["States"]["Announce"]
    assert announce["Parameters"]["Payload"]["tenantId.$"] == "$.tenantId"
    assert announce["Parameters"]["FunctionName"] == "${AnnouncerArn}"


@pytest.mark.parametrize(
    "key",
    [
        {"S.$": "$.parkId"},
        {"S.$": "States.Format('park#{}', $.parkId)"},
        {"S.$": "States.Format('{}#park#{}', $.userId, $.parkId)"},
        {"S": "texas#park#palo-duro-canyon"},
    ],
)
def test_attack_the_check_refuses_this_machine_with_a_key_not_from_the_tenant(
    key: dict[str, str],
) -> None:
    """The check bites on this very machine: any other key makes it unsafe."""
    changed = copy.deepcopy(machine())
    changed["States"]["UpdatePark"]["Parameters"]["Key"]["pk"] = key
    with pytest.raises(UnsafeStateMachineError) as refused:
        check_state_machine(changed, partition_keys=PARTITION_KEYS)
    assert refused.value.states == ("UpdatePark",)


def test_attack_the_check_refuses_a_state_that_could_replace_the_tenant() -> None:
    changed = copy.deepcopy(machine())
    changed["StartAt"] = "Rewrite"
    changed["States"]["Rewrite"] = {
        "Type": "Pass",
        "Result": "washington",
        "ResultPath": "$.tenantId",
        "Next": "UpdatePark",
    }
    with pytest.raises(UnsafeStateMachineError):
        check_state_machine(changed, partition_keys=PARTITION_KEYS)


def test_every_placeholder_of_the_machine_has_a_substitution() -> None:
    used = set(re.findall(r"\$\{([^}]+)\}", MACHINE.read_text()))
    resource = load_template()["Resources"]["UpdateParkStatus"]["Properties"]
    assert used == set(resource["DefinitionSubstitutions"])
    assert resource["Type"] == "EXPRESS"  # StartSyncExecution runs Express machines only
