"""Read a SAM template: CloudFormation YAML tags, Parameters, Globals and intrinsics.

Only the constructs ``tenantkit local`` can reproduce are accepted. Everything else
fails at load time with a :class:`TemplateError` naming the construct and where it is
(``Resources.Fn.Properties.Layers``), never silently ignored. Properties that change
nothing on a single machine (``Tracing``, ``Policies``, ``MemorySize``...) are accepted
and listed in ``docs/local.md``.

``loader`` reads the YAML, ``parameters`` fixes parameter values, ``parse`` validates
the rest against ``support``, ``intrinsics`` checks and resolves the intrinsics, and
``model`` is what the rest of ``tenantkit local`` reads, and ``creation`` creates resources
in dependency order. An API's OpenAPI document comes in through ``definition_body`` and
is read by ``openapi`` and ``security_schemes``.
"""

from tenantkit.local.template.creation import OnDemand
from tenantkit.local.template.intrinsics import NO_VALUE, Resolver
from tenantkit.local.template.loader import load_template
from tenantkit.local.template.model import Attributes, Resource, Template, TemplateError
from tenantkit.local.template.parse import parse_template
from tenantkit.local.template.support import BACKEND_TYPES

__all__ = [
    "BACKEND_TYPES",
    "NO_VALUE",
    "Attributes",
    "OnDemand",
    "Resolver",
    "Resource",
    "Template",
    "TemplateError",
    "load_template",
    "parse_template",
]
