"""Reading the taxonomy YAML file (the shell side of ``bot.domain.taxonomy``).

``load_taxonomy_file(None)`` reads the copy packaged in ``bot/data``; errors are
``ConfigError`` carrying the key and, when the YAML says where, the line.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

import yaml

from bot.domain.errors import ConfigError
from bot.domain.taxonomy import Taxonomy, TaxonomyError, load_taxonomy

PACKAGED = "taxonomy.yaml"


def _read(path: str | None) -> tuple[str, str]:
    if path is None:
        text = resources.files("bot.data").joinpath(PACKAGED).read_text(encoding="utf-8")
        return text, f"packaged {PACKAGED}"
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read(), path
    except OSError as exc:
        raise ConfigError(f"cannot read taxonomy {path}: {exc.strerror}") from exc


def _line_of(root: yaml.Node | None, dotted: str | None) -> int | None:
    """1-based line of the node at ``dotted`` (``topics.ai.phrases``, ``events[2].start``)."""
    if root is None or not dotted:
        return None
    node: yaml.Node = root
    line = node.start_mark.line + 1
    for part in dotted.replace("[", ".[").split("."):
        if not part:
            continue
        child: yaml.Node | None = None
        if part.startswith("[") and isinstance(node, yaml.SequenceNode):
            index = int(part.strip("[]"))
            child = node.value[index] if index < len(node.value) else None
        elif isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if str(key_node.value) == part:
                    line = key_node.start_mark.line + 1
                    child = value_node
                    break
        if child is None:
            return line
        node = child
        line = node.start_mark.line + 1
    return line


def parse_taxonomy_text(text: str, where: str = "taxonomy") -> Taxonomy:
    """Parse and validate taxonomy YAML text; errors name the key and line."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data: Any = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or "invalid YAML"
        raise ConfigError(f"{where}: {problem}", line=line) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: invalid YAML ({exc})") from exc
    if data is None:
        raise ConfigError(f"{where}: the file is empty")
    try:
        return load_taxonomy(data)
    except TaxonomyError as exc:
        # from None: the cause is this same message without the file name and line
        raise TaxonomyError(
            f"{where}: {exc.detail}", key=exc.key, line=_line_of(root, exc.key)
        ) from None


def load_taxonomy_file(path: str | None = None) -> Taxonomy:
    """Load the taxonomy at ``path``, or the packaged one when ``path`` is None."""
    text, where = _read(path)
    return parse_taxonomy_text(text, where)


@functools.cache
def default_taxonomy() -> Taxonomy:
    """The packaged taxonomy, read and validated once per process."""
    return load_taxonomy_file(None)
