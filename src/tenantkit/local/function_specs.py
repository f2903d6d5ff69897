"""Each ``AWS::Serverless::Function`` as the runtime runs it, and its SQS event sources
as the pollers feed it, checked against Lambda's limits when the stack starts so a
template ``sam deploy`` would refuse fails here too, naming where.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tenantkit.local.runtime.spec import PER_TENANT, FunctionSpec
from tenantkit.local.stack_specs import SqsSourceSpec, Stack
from tenantkit.local.template import Resolver, Resource, TemplateError

__all__ = ["function_by_arn", "function_spec", "sqs_source", "text_values"]

_SQS_RESPONSE_TYPES = {"ReportBatchItemFailures"}


def text_values(value: Any) -> dict[str, str] | None:
    """A map of template values as the text Lambda environments and API stage variables
    hold; ``None`` stays ``None`` (no variables at all)."""
    if value is None:
        return None
    return {str(k): _text(v) for k, v in value.items()}


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str | int | float):
        return str(value)
    raise TemplateError(f"an environment value must be a string, not {type(value).__name__}")


def function_spec(resolver: Resolver, stack: Stack, function: Resource) -> FunctionSpec:
    """The function with its properties resolved; its name and ARN are already in
    ``stack.attributes`` (created before anything references them)."""
    where = f"{function.where}.Properties"
    props = function.properties
    code_dir = (stack.template.directory / str(props["CodeUri"])).resolve()
    if not code_dir.is_dir():
        raise TemplateError(f"{where}.CodeUri: {code_dir} is not a directory")
    variables = resolver.resolve(
        (props.get("Environment") or {}).get("Variables") or {}, f"{where}.Environment.Variables"
    )
    environment: dict[str, str] = {}
    for key, value in variables.items():
        try:
            environment[str(key)] = _text(value)
        except TemplateError as error:
            raise TemplateError(f"{where}.Environment.Variables.{key}: {error}") from None
    attrs = stack.attributes[function.logical_id]
    reserved = resolver.resolve(
        props.get("ReservedConcurrentExecutions"), f"{where}.ReservedConcurrentExecutions"
    )
    if reserved is not None and not (str(reserved).isdigit() and int(reserved) <= 1000):
        raise TemplateError(f"{where}.ReservedConcurrentExecutions: an integer, 0 to 1000")
    return FunctionSpec(
        logical_id=function.logical_id,
        name=str(attrs.ref),
        arn=str(attrs.atts["Arn"]),
        handler=str(resolver.resolve(props["Handler"], f"{where}.Handler")),
        code_dir=code_dir,
        runtime=str(props["Runtime"]),
        timeout=float(resolver.resolve(props.get("Timeout", 3), f"{where}.Timeout")),
        memory=int(resolver.resolve(props.get("MemorySize", 128), f"{where}.MemorySize")),
        environment=environment,
        tenant_isolation=_tenant_isolation(props.get("TenancyConfig"), f"{where}.TenancyConfig"),
        reserved_concurrency=None if reserved is None else int(reserved),
    )


def _tenant_isolation(config: Any, where: str) -> str | None:
    """``TenancyConfig: {TenantIsolationMode: PER_TENANT}``, its one valid form."""
    if config is None:
        return None
    if not isinstance(config, dict) or set(config) != {"TenantIsolationMode"}:
        raise TemplateError(f"{where}: must be {{TenantIsolationMode: {PER_TENANT}}}")
    if config["TenantIsolationMode"] != PER_TENANT:
        raise TemplateError(f"{where}.TenantIsolationMode: the only mode is {PER_TENANT}")
    return PER_TENANT


def function_by_arn(stack: Stack, arn: Any, where: str) -> str:
    """The logical id of the template function an ARN names (an authorizer's, an
    integration's): a local stack can call no function outside its template."""
    for logical_id, spec in stack.functions.items():
        if arn == spec.arn:
            return logical_id
    raise TemplateError(f"{where}: {arn!r} is not the ARN of a function in this template")


def sqs_source(
    stack: Stack, function: Resource, props: Mapping[str, Any], where: str
) -> SqsSourceSpec:
    """An ``SQS`` event of the function, its properties resolved, on a template queue."""
    queue_arn = props["Queue"]
    queue = next(
        (
            logical_id
            for logical_id, attrs in stack.attributes.items()
            if stack.template.resources[logical_id].type == "AWS::SQS::Queue"
            and attrs.atts.get("Arn") == queue_arn
        ),
        None,
    )
    if queue is None:
        raise TemplateError(f"{where}.Properties.Queue: must be the Arn of a template queue")
    if stack.functions[function.logical_id].per_tenant:
        raise TemplateError(f"{where}: a {PER_TENANT} function takes no SQS event source")
    batch_size = int(props.get("BatchSize", 10))
    if not 1 <= batch_size <= 10000:
        raise TemplateError(f"{where}.Properties.BatchSize: between 1 and 10000")
    response_types = props.get("FunctionResponseTypes") or []
    unknown = set(response_types) - _SQS_RESPONSE_TYPES
    if unknown:
        raise TemplateError(f"{where}.Properties.FunctionResponseTypes: unknown {sorted(unknown)}")
    attrs = stack.attributes[queue]
    return SqsSourceSpec(
        function=function.logical_id,
        queue=queue,
        queue_url=str(attrs.atts["QueueUrl"]),
        queue_arn=str(queue_arn),
        batch_size=batch_size,
        report_failures="ReportBatchItemFailures" in response_types,
        enabled=props.get("Enabled", True) not in (False, "false"),
        where=where,
    )
