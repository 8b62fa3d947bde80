"""`ModelCheckpoint` file names as templates: the `{fields}` the run formats with its logs.

Read where they are written: a literal, a name assigned once, the text of an f-string, `a + b`,
`os.path.join(...)`, `path / "name"`. Shared by KM207 and the project index.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator, List

import libcst as cst

from .collect import dotted_name

if TYPE_CHECKING:  # pragma: no cover
    from .resolve import Resolver

_FIELD_END = r"(?=[.\[:!}])"


@dataclass(frozen=True)
class TemplatePiece:
    """A literal part of a checkpoint file name: `ModelCheckpoint` formats the whole name with the
    logs (`str.format(epoch=..., **logs)`), so each `{field}` in it must be a log key."""

    node: cst.CSTNode  # a SimpleString, or the text part of an f-string
    text: str  # the characters the run sees (escapes undone; `{{` of an f-string is `{`)

    def keys(self) -> List[str]:
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(self.text) if f]
        except ValueError:
            return []
        return [field.split(".")[0].split("[")[0] for field in fields if field]

    def renamed(self, key: str, new: str) -> str:
        """The piece's code with the field `key` renamed: `"{val_acc:.2f}"` -> `"{val_accuracy:.2f}"`."""
        code = self.node.value  # type: ignore[attr-defined]
        brace = "{{" if isinstance(self.node, cst.FormattedStringText) else "{"
        return re.sub(re.escape(brace + key) + _FIELD_END, lambda _: brace + new, code)


def template_pieces(resolver: "Resolver", node: cst.BaseExpression, scope, depth: int = 0) -> Iterator[TemplatePiece]:
    """The literal pieces of a file name expression: a string, an f-string's text, a name assigned
    once, `a + b`, `os.path.join(...)`, `path / "name"`. Pieces of parts it cannot read are skipped
    (their text reaches the file name unchanged, so what is read is sound); `"...".format(...)`
    and `%` fill the fields themselves and are not read."""
    if depth > 6:
        return
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        if isinstance(value, str):
            yield TemplatePiece(node, value)
    elif isinstance(node, cst.ConcatenatedString):
        yield from template_pieces(resolver, node.left, scope, depth + 1)
        yield from template_pieces(resolver, node.right, scope, depth + 1)  # type: ignore[arg-type]
    elif isinstance(node, cst.FormattedString):
        for part in node.parts:
            if isinstance(part, cst.FormattedStringText) and "{{" in part.value:
                yield TemplatePiece(part, part.value.replace("{{", "{").replace("}}", "}"))
    elif isinstance(node, cst.Name):
        assigned = resolver.assigned_values(node, scope)
        if assigned is not None and len(assigned) == 1:
            value, inner = assigned[0]
            yield from template_pieces(resolver, value, inner, depth + 1)  # type: ignore[arg-type]
    elif isinstance(node, cst.BinaryOperation) and isinstance(node.operator, (cst.Add, cst.Divide)):
        yield from template_pieces(resolver, node.left, scope, depth + 1)
        yield from template_pieces(resolver, node.right, scope, depth + 1)
    elif isinstance(node, cst.Call) and dotted_name(node.func) in ("os.path.join", "path.join", "join"):
        for arg in node.args:
            if arg.keyword is None and not arg.star:
                yield from template_pieces(resolver, arg.value, scope, depth + 1)
