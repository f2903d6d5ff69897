"""Execution environments: the worker processes that run the template's functions.

:mod:`~tenantkit.local.runtime.worker` is the program inside one environment,
:mod:`~tenantkit.local.runtime.environment` drives one from the server,
:mod:`~tenantkit.local.runtime.pool` keeps a function's environments, and
:mod:`tenantkit.local.functions` puts them together as the stack's ``Runtime``.
"""
