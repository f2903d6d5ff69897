"""Invoke a tenant-isolated Lambda function from async work, for the current tenant.

A function with ``TenancyConfig: {TenantIsolationMode: PER_TENANT}`` needs a tenant id
on every ``Invoke``, and Lambda never lets two tenants share one of its execution
environments. But whoever may call ``lambda:InvokeFunction`` chooses that id, so the
function must not take it on trust: the payload carries a signed tenant envelope, sealed
for that function only (``invoke:<function name>``), and ``tenant_handler(signer=...)``
on the other side verifies it and checks that it names the same tenant as
``context.tenant_id`` (round-2 decision 4).

Fanning queued or evented work out per tenant is :meth:`TenantFunction.invoke` as the
record handler: ``process_sqs_batch(event, reports.invoke, signer=signer)`` runs each
record inside its own tenant, so each invocation goes to that tenant's environments
with that record's user, and a failed invocation fails that record only. (Grouping a
batch into one invocation per tenant would merge several users' contexts into one and
make one bad record fail its whole group.)
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from tenantkit._shared.clients import ClientOptions
from tenantkit.context import current_tenant
from tenantkit.errors import ConfigurationError, InvokedFunctionError, UnexpectedResponseError
from tenantkit.events.carried import carry
from tenantkit.events.envelope import invoke_purpose

if TYPE_CHECKING:
    import boto3
    from botocore.config import Config

    from tenantkit.events.envelope import EnvelopeSigner

__all__ = ["TenantFunction"]


class TenantFunction:
    """A tenant-isolated function, invoked with the current tenant as ``TenantId``.

    Build it once in module scope; the Lambda client is ``client``, or one built from
    ``boto3_session`` and ``boto_config`` on first use. Both methods raise
    ``NoTenantContextError`` outside a tenant scope, before any call.
    """

    def __init__(
        self,
        function_name: str,
        *,
        signer: EnvelopeSigner,
        qualifier: str | None = None,
        client: Any = None,
        boto3_session: boto3.session.Session | None = None,
        boto_config: Config | None = None,
    ) -> None:
        if not isinstance(function_name, str) or not function_name:
            raise ConfigurationError("TenantFunction needs the function's name or ARN")
        self.function_name = function_name
        self.qualifier = qualifier
        # Sealed for this function only: its envelopes run no other function.
        self._purpose = invoke_purpose(function_name)
        self._signer = signer
        self._client = ClientOptions(
            "lambda", client=client, boto3_session=boto3_session, boto_config=boto_config
        )

    def __repr__(self) -> str:
        return f"TenantFunction({self.function_name!r})"

    def invoke(self, payload: object) -> Any:
        """Invoke synchronously (``RequestResponse``) and return the decoded result.

        A function that raised becomes :class:`InvokedFunctionError`; a result that is
        not JSON, ``UnexpectedResponseError``.
        """
        response = self._invoke(payload, "RequestResponse")
        body = response["Payload"].read()
        if response.get("FunctionError"):
            error_type, error_message = _reported_error(body)
            raise InvokedFunctionError(self.function_name, error_type, error_message)
        if not body:
            return None
        try:
            return json.loads(body)
        except ValueError:
            raise UnexpectedResponseError(
                f"{self.function_name} returned a result that is not JSON"
            ) from None

    def invoke_async(self, payload: object) -> None:
        """Queue an asynchronous invocation (``Event``); Lambda retries it as configured."""
        self._invoke(payload, "Event")

    def _invoke(self, payload: object, invocation_type: str) -> Any:
        tenant_id = current_tenant().tenant_id
        request: dict[str, Any] = {
            "FunctionName": self.function_name,
            "InvocationType": invocation_type,
            "TenantId": tenant_id,
            "Payload": json.dumps(
                carry(self._signer, payload, purpose=self._purpose), separators=(",", ":")
            ),
        }
        if self.qualifier is not None:
            request["Qualifier"] = self.qualifier
        return self._client.get().invoke(**request)


def _reported_error(body: bytes) -> tuple[str, str]:
    """The ``errorType`` and ``errorMessage`` of a function error's payload, if readable."""
    try:
        document = json.loads(body)
    except ValueError:
        return "UnknownError", ""
    if not isinstance(document, dict):
        return "UnknownError", ""
    error_type, error_message = document.get("errorType"), document.get("errorMessage")
    return (
        error_type if isinstance(error_type, str) else "UnknownError",
        error_message if isinstance(error_message, str) else "",
    )
