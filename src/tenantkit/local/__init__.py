"""``tenantkit local``: serve a SAM template's REST API on loopback, backed by moto.

It reads the same ``template.yaml`` the deployment uses, creates its tables, queues,
topics and secrets in moto (in-process, or any ``--endpoint-url``), imports the
handlers from ``CodeUri``, and answers HTTP requests the way API Gateway does, Lambda
authorizer, policy evaluation and result cache included. SQS event sources are polled
with Lambda's batch semantics. See ``docs/local.md``.

This package is generic: it knows SAM and API Gateway, not tenantkit's own modules.
Its extra dependencies (moto, PyYAML, werkzeug) come with
``pip install 'tenantkit[local]'`` and are imported only when the command runs.
"""

from tenantkit.local.seed import SeedContext

__all__ = ["SeedContext"]
