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


def parse_yaml(text: str, filename: str) -> YamlDoc:
    """Parse one YAML document safely; a syntax error names the line and column."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
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
    doc = YamlDoc(value=None, filename=filename)
    if node is None:
        return doc
    doc.value = _convert(node, (), doc.lines)
    return doc


def _convert(node: yaml.Node, path: Path, lines: dict[Path, int]) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = yaml.SafeLoader(" ").construct_object(key_node)
            out[str(key)] = _convert(value_node, (*path, str(key)), lines)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_convert(v, (*path, i), lines) for i, v in enumerate(node.value)]
    loader = yaml.SafeLoader("")
    return loader.construct_object(node, deep=True)
