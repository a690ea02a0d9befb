"""YAML text to Python values, keeping the line of every value so errors can name it.

>>> doc = parse_yaml("a:\\n  b: 1\\n  c: [x, y]\\n", "f.yaml")
>>> doc.value["a"]["c"], doc.line_of(("a", "c", 1))
(['x', 'y'], 3)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import yaml

from liveops.errors import ProjectFileError

if TYPE_CHECKING:
    from pydantic import ValidationError

Path = tuple[str | int, ...]


@dataclass
class YamlDoc:
    """A parsed YAML document and the line (1-based) where each value starts."""

    value: Any
    filename: str
    lines: dict[Path, int] = field(default_factory=dict)

    def line_of(self, path: Sequence[str | int]) -> int | None:
        """The line of the value at ``path``, or of its nearest parent that has one."""
        p = tuple(path)
        while p:
            if p in self.lines:
                return self.lines[p]
            p = p[:-1]
        return self.lines.get((), None)

    def error(
        self, path: Sequence[str | int], message: str, hint: str | None = None
    ) -> ProjectFileError:
        """A :class:`ProjectFileError` that names the file, the line and the field."""
        line = self.line_of(path)
        where = f"{self.filename}:{line}" if line else self.filename
        dotted = ".".join(str(p) for p in path) or "(top level)"
        return ProjectFileError(
            f"{where}: {dotted}: {message}", hint=hint, file=self.filename, line=line, field=dotted
        )

    def validation_error(self, exc: ValidationError) -> ProjectFileError:
        """The first problem pydantic found, as an error that names the line and the field."""
        # An unknown key is usually a typo of a missing one: report it first.
        errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
        err = errors[0]
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field (a typo?)"
        elif err["type"] == "missing":
            msg = "this field is required"
        more = len(errors) - 1
        return self.error(loc, msg, hint=f"{more} more problem(s) after this one" if more else None)


class _AliasLineLoader(yaml.SafeLoader):
    """A safe loader that remembers the line of every alias (the node it yields has none)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        # (id of the containing node, index in a sequence or id of the key node) -> line
        self.alias_lines: dict[tuple[int, int], int] = {}

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if parent is not None and self.check_event(yaml.AliasEvent):
            where = index if isinstance(index, int) else id(index)
            event = self.peek_event()  # type: ignore[no-untyped-call]  # untyped in the stubs
            self.alias_lines[(id(parent), where)] = event.start_mark.line + 1
        return super().compose_node(parent, index)


def parse_yaml(text: str, filename: str) -> YamlDoc:
    """Parse one YAML document safely; a syntax error names the line and column.

    A key given twice in one mapping, and an alias inside the value it names, are errors too.
    """
    loader = _AliasLineLoader(text)
    try:
        node = loader.get_single_node()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{filename}:{mark.line + 1}:{mark.column + 1}" if mark else filename
        problem = getattr(exc, "problem", None) or str(exc)
        raise ProjectFileError(
            f"{where}: not valid YAML: {problem}",
            hint="check the indentation and quoting around that line",
            file=filename,
            line=mark.line + 1 if mark else None,
        ) from exc
    finally:
        loader.dispose()
    doc = YamlDoc(value=None, filename=filename)
    if node is None:
        return doc
    doc.value = _Converter(doc, loader.alias_lines).convert(node, (), frozenset())
    return doc


@dataclass
class _Converter:
    doc: YamlDoc
    alias_lines: dict[tuple[int, int], int]

    def convert(self, node: yaml.Node, path: Path, open_nodes: frozenset[int]) -> Any:
        """The value of ``node``; ``open_nodes`` are the ids of the nodes that contain it."""
        self.doc.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, open_nodes | {id(node)})
        if isinstance(node, yaml.SequenceNode):
            inner = open_nodes | {id(node)}
            return [self._child(node, i, v, (*path, i), inner) for i, v in enumerate(node.value)]
        return yaml.SafeLoader("").construct_object(node, deep=True)

    def _mapping(self, node: yaml.MappingNode, path: Path, open_nodes: frozenset[int]) -> Any:
        out: dict[str, Any] = {}
        key_lines: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(yaml.SafeLoader(" ").construct_object(key_node))
            key_path, line = (*path, key), key_node.start_mark.line + 1
            if key in key_lines:
                self.doc.lines[key_path] = line
                raise self.doc.error(
                    key_path,
                    f"the key '{key}' appears twice in this mapping "
                    f"(first on line {key_lines[key]})",
                    hint="keep one of the two; YAML does not allow a key twice",
                )
            key_lines[key] = line
            out[key] = self._child(node, id(key_node), value_node, key_path, open_nodes)
        return out

    def _child(
        self, parent: yaml.Node, where: int, node: yaml.Node, path: Path, open_nodes: frozenset[int]
    ) -> Any:
        if id(node) in open_nodes:
            # An alias inside the value it names: that value would have to contain itself.
            self.doc.lines[path] = self.alias_lines.get((id(parent), where), 0) or (
                node.start_mark.line + 1
            )
            raise self.doc.error(
                path,
                "a recursive alias: it refers to a value that contains it "
                f"(anchored on line {node.start_mark.line + 1})",
                hint="replace the alias with the values it should hold",
            )
        return self.convert(node, path, open_nodes)
