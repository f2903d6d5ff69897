"""An HTTP server that behaves like an API Gateway REST API: Lambda proxy integrations,
and the ``aws`` and ``mock`` integrations of an OpenAPI ``DefinitionBody``.

For each request, in API Gateway's order:

0. A path with an encoded ``/`` or ``\\`` (``%2F``, ``%5C``) is 400
   (:mod:`~tenantkit.local.gateway.router`). A body that ``Content-Length`` does not
   frame exactly (any ``Transfer-Encoding``) is refused and the connection closed
   (:mod:`~tenantkit.local.gateway.server`).
1. Route with :mod:`tenantkit._shared.apigw`'s REST model (literal segment, then
   ``{param}``, then ``{proxy+}``; an exact method before ``ANY``). No route: 403
   ``{"message":"Missing Authentication Token"}``.
2. With an authorizer (:mod:`~tenantkit.local.gateway.authorizer`), a missing identity
   source is 401 without calling it. Otherwise the cached result for the same
   identity-source values is reused for the authorizer's TTL (``ReauthorizeEvery``), or
   the authorizer is invoked with a REQUEST (or TOKEN) event whose ``methodArn`` is
   ``arn:aws:execute-api:<region>:<account>:<api id>/<stage>/<METHOD>/<path>``.
   ``Exception("Unauthorized")`` is 401; any other failure, a malformed policy or a
   context value that is not a string, number or boolean is 500 ``{"message":null}``.
3. The policy is evaluated against the method ARN (:mod:`tenantkit.local.policy`);
   a deny is 403.
4. For a route from an API's ``DefinitionBody``: its request validator
   (:mod:`~tenantkit.local.gateway.validation`, 400 before any template), then its
   ``requestParameters`` (:mod:`~tenantkit.local.gateway.request_parameters`).
5. The integration runs: the Lambda proxy
   (:mod:`~tenantkit.local.gateway.integrations.lambda_proxy`), or a mapping-template
   integration (:mod:`~tenantkit.local.gateway.integrations.transform` with
   :mod:`~tenantkit.local.gateway.vtl`): ``aws`` (a service action on the backend,
   :mod:`~tenantkit.local.gateway.integrations.aws_service`) or ``mock``.
"""

from tenantkit.local.gateway.core import Gateway
from tenantkit.local.gateway.messages import Request, Response
from tenantkit.local.gateway.server import serve

__all__ = ["Gateway", "Request", "Response", "serve"]
