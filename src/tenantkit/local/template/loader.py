"""Read template text: CloudFormation's short tags in a SafeLoader, and source lines.

PyYAML's ``SafeLoader`` builds plain data only; the subclass adds a constructor for the
``!Ref``/``!GetAtt``/``!Sub``... tags that turns them into their long form, and keeps
``2010-09-09`` a string as CloudFormation reads it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tenantkit.local.template.model import TemplateError

__all__ = ["line_numbers", "load_template"]


def _yaml_loader() -> type[Any]:
    """A SafeLoader that understands the CloudFormation short tags and keeps dates as text."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def construct(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
        value: Any
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        if suffix == "Ref" or suffix == "Condition":
            return {suffix: value}
        if suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
        return {f"Fn::{suffix}": value}

    Loader.add_multi_constructor("!", construct)
    return Loader


def load_template(path: Path) -> dict[str, Any]:
    """Parse a YAML or JSON template into plain data, short tags turned into long form."""
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise TemplateError(f"cannot read template {path}: {error.strerror}") from None
    try:
        # A SafeLoader subclass that only adds the CloudFormation tags: no object construction.
        data = yaml.load(text, Loader=_yaml_loader())  # noqa: S506  # nosec B506
    except yaml.YAMLError as error:
        raise TemplateError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise TemplateError(f"{path}: a template is a mapping with a Resources section")
    return data


def line_numbers(text: str) -> dict[str, int]:
    """Line of every key and list item, by its dotted path (``Resources.Fn.Properties``)."""
    import yaml

    lines: dict[str, int] = {}

    def walk(node: yaml.Node, path: str) -> None:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode):
                    child = f"{path}.{key_node.value}" if path else str(key_node.value)
                    lines[child] = key_node.start_mark.line + 1
                    walk(value_node, child)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                child = f"{path}[{index}]"
                lines[child] = item.start_mark.line + 1
                walk(item, child)

    try:
        root = yaml.compose(text, Loader=_yaml_loader())
    except yaml.YAMLError:
        return lines
    if root is not None:
        walk(root, "")
    return lines
