"""``tenantkit local``: serve a SAM template's REST API on loopback, backed by moto.

It reads the same ``template.yaml`` the deployment uses, creates its tables, queues,
topics, secrets, state machines and EventBridge rules in a loopback moto server (or any
``--endpoint-url``), runs each function in warm worker processes (one per tenant for
``PER_TENANT`` functions), and answers HTTP requests the way API Gateway does: Lambda
authorizer, policy evaluation and result cache, Lambda proxy and direct (VTL) DynamoDB
and Step Functions integrations, request validators. SQS event sources are polled with
Lambda's batch semantics, and a loopback AWS endpoint answers ``lambda:Invoke``. See
``docs/local.md``.

This package is generic: it knows SAM and API Gateway, not tenantkit's own modules.
Its extra dependencies (moto, PyYAML, werkzeug, airspeed, jsonschema) come with
``pip install 'tenantkit[local]'`` and are imported only when the command runs.
"""

from tenantkit.local.seed import SeedContext

__all__ = ["SeedContext"]
