"""Direct integrations: API Gateway to DynamoDB and Step Functions with no function between.

A build-time tool (extra ``direct``: pydantic and PyYAML). A route spec declares what each
route does; :func:`render_openapi` turns it into an OpenAPI 3 ``DefinitionBody`` whose VTL
takes the tenant from ``$context.authorizer.tenantId`` only, writes keys in
``TenantTable``'s format and escapes every caller value. :func:`check_state_machine` refuses
state machines whose tenant tasks (DynamoDB, and Lambda or nested-execution hand-offs) could
address a key or a tenant that does not come from the execution's tenant field.
Nothing here is imported on a handler's path. See docs/direct.md.
"""

from tenantkit.direct.asl import (
    TENANT_PATH,
    UnsafeStateMachineError,
    check_state_machine,
    states_format,
    task_key,
)
from tenantkit.direct.iam import integration_policy
from tenantkit.direct.openapi import dump, render_openapi
from tenantkit.direct.spec import Spec, load_spec, parse_spec

__all__ = [
    "TENANT_PATH",
    "Spec",
    "UnsafeStateMachineError",
    "check_state_machine",
    "dump",
    "integration_policy",
    "load_spec",
    "parse_spec",
    "render_openapi",
    "states_format",
    "task_key",
]
