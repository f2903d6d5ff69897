"""Tenant lifecycle: export, import, offboarding, moves between tables (issue 15).

Operator tools, built on ``tenantkit.dynamo``'s enumeration index (no scans) and
``tenantkit.auth``'s tenant records; the CLI is ``tenantkit tenant ...``
(:mod:`tenantkit.lifecycle.cli`). Nothing here is on a handler's path. See
docs/lifecycle.md.
"""
