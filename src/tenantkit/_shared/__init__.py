"""Private building blocks shared by ``auth``, ``dynamo``, ``events`` and ``local``.

Nothing here is public API. ``_shared`` imports only ``tenantkit.errors``.
"""
