"""Tenant-agnostic DynamoDB pieces: the marshaller, expressions, the transaction builder,
AWS error mapping and the control-plane store.

``tenantkit.dynamo`` adds tenant prefixing on top of them; ``tenantkit.auth`` and
``tenantkit.events`` use them directly for the reserved ``_`` key namespace, which no
tenant key can name. Importing this package imports no boto3.
"""
