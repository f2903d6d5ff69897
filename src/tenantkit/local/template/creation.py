"""Resources created in dependency order, whatever order the template declares them in.

CloudFormation creates a resource after everything it references (``Ref``,
``Fn::GetAtt``, ``Fn::Sub``) or names in ``DependsOn``. Here a resource is created the
first time its attributes are asked for: :class:`~.intrinsics.Resolver` asks while it
resolves the properties of the resource being created, so each reference creates its
target first, depth first, and only what a value really needs is waited for. A resource
asked for again while it is still being created is a real cycle, refused with its chain.
"""

from __future__ import annotations

from collections.abc import Callable

from tenantkit.local.template.model import Attributes, Resource, Template, TemplateError

__all__ = ["OnDemand"]


class OnDemand:
    """The ``attributes`` of a :class:`~.intrinsics.Resolver` that creates on first use.

    ``create`` makes one resource and records its :class:`Attributes` in ``attributes``
    (a resource with no value locally records none).
    """

    def __init__(
        self,
        template: Template,
        attributes: dict[str, Attributes],
        create: Callable[[Resource], None],
    ) -> None:
        self._template = template
        self._attributes = attributes
        self._create = create
        self._started: set[str] = set()
        self._chain: list[str] = []

    def __call__(self, logical_id: str) -> Attributes | None:
        """The resource's attributes, created now (with what it needs) if need be."""
        found = self._attributes.get(logical_id)
        resource = self._template.resources.get(logical_id)
        if found is not None or resource is None:
            return found
        if logical_id in self._chain:
            cycle = " -> ".join((*self._chain[self._chain.index(logical_id) :], logical_id))
            raise TemplateError(f"{resource.where}: circular reference {cycle}")
        if logical_id not in self._started:
            self._started.add(logical_id)
            self._chain.append(logical_id)
            try:
                for dependency in resource.depends_on:
                    self(dependency)
                self._create(resource)
            finally:
                self._chain.pop()
        return self._attributes.get(logical_id)

    def create_all(self) -> None:
        """Create every resource, in declaration order where nothing says otherwise."""
        for logical_id in self._template.resources:
            self(logical_id)
