"""Small queries several rules share (not a rule module: the registry loads only `kmNNN.py`)."""

from __future__ import annotations

from typing import Dict, Iterator, List, Optional

import libcst as cst

from ..diagnostics import Edit
from ..facts.collect import dotted_name
from ..facts.values import ClassValue, Dotted
from ..keras import symbols
from ..locate import Locator
from .base import RuleContext


def classes_of_kind(ctx: RuleContext, kind: str) -> Iterator[ClassValue]:
    for cls in ctx.facts.classes:
        if ctx.resolver.class_kind(cls) == kind:
            yield cls


def methods(cls: ClassValue) -> Dict[str, cst.FunctionDef]:
    """Methods defined directly in the class body (the last definition wins, as in Python)."""
    out: Dict[str, cst.FunctionDef] = {}
    for name, bindings in cls.body.bindings.items():
        for binding in bindings:
            if binding.how == "function" and isinstance(binding.node, cst.FunctionDef):
                out[name] = binding.node
    return out


def keras_module_reference(ctx: RuleContext) -> Optional[str]:
    """How module-level code in this file names the Keras package (`keras`, `tf.keras`), if it does."""
    candidates: List[str] = []
    for name, bindings in ctx.facts.root.bindings.items():
        value = ctx.resolver.resolve_name(name, ctx.facts.root) if len(bindings) else None
        if isinstance(value, Dotted):
            split = symbols.split_keras(value.path)
            if split is not None and split[0] == "":
                candidates.append(name)
            elif value.path == "tensorflow":
                candidates.append(f"{name}.keras")
    if "keras" in candidates:
        return "keras"
    return sorted(candidates, key=len)[0] if candidates else None


def names_standalone_keras(ctx: RuleContext, name: str) -> bool:
    """Whether module-level `name` is the standalone `keras` package (so `name.ops` is Keras 3's ops)."""
    bindings = ctx.facts.root.bindings.get(name)
    if not bindings:
        return False
    value = ctx.resolver.resolve_name(name, ctx.facts.root)
    return isinstance(value, Dotted) and value.path == "keras"


def insert_line_after(loc: Locator, statement: cst.CSTNode, line: str) -> Edit:
    """Insert `line` as a new line right after `statement`, with the same indentation."""
    end = loc.end(statement)
    start = loc.start(statement)
    indent_text = loc.lines.line_text(start.line)
    indent = indent_text[: len(indent_text) - len(indent_text.lstrip())]
    if end.line < len(loc.lines.starts):
        offset = loc.lines.starts[end.line]  # start of the next line
        return Edit(offset, offset, f"{indent}{line}{loc.newline}")
    offset = len(loc.lines.text)
    return Edit(offset, offset, f"{loc.newline}{indent}{line}{loc.newline}")


def delete_statement(loc: Locator, statement: cst.SimpleStatementLine) -> Edit:
    """Remove a whole statement line: indentation, code, trailing comment and line break."""
    start, end = loc.start(statement), loc.end(statement)
    begin = loc.lines.starts[start.line - 1]
    finish = loc.lines.starts[end.line] if end.line < len(loc.lines.starts) else len(loc.lines.text)
    return Edit(begin, finish, "")


def is_identifier(name: str) -> bool:
    import keyword

    return name.isidentifier() and not keyword.iskeyword(name)


def string_value(node: cst.CSTNode) -> Optional[str]:
    """The value of a plain string literal, else None."""
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def class_import(ctx: RuleContext, name_node: cst.Name, target: str):
    """For a class used by its imported name (`Accuracy` from `from keras.metrics import Accuracy`):
    (name to use for `target` from the same module, optional edit builder adding its import),
    or None when the import cannot be found at module level."""
    bindings = ctx.facts.root.bindings.get(name_node.value) or []
    imports = [b for b in bindings if b.how == "import" and b.dotted and b.node is not None]
    if len(imports) != 1:
        return None
    module = imports[0].dotted.rsplit(".", 1)[0]
    existing = ctx.facts.root.bindings.get(target) or []
    if existing:
        if all(b.how == "import" and b.dotted == f"{module}.{target}" for b in existing):
            return target, None
        return None  # the name means something else here
    statement = ctx.facts.import_statement.get(imports[0].node)
    if statement is None:
        return None
    return target, lambda loc: insert_line_after(loc, statement, f"from {module} import {target}")


def parameter_names(function: cst.FunctionDef) -> List[str]:
    params = function.params
    return [p.name.value for p in list(params.posonly_params) + list(params.params) + list(params.kwonly_params)]


def has_star_kwargs(function: cst.FunctionDef) -> bool:
    return isinstance(function.params.star_kwarg, cst.Param)


def names_used(node: cst.CSTNode) -> set:
    from ..facts.walk import find_all

    return {n.value for n in find_all(node, cst.Name)}


def self_attributes_used(node: cst.CSTNode) -> set:
    """`x` for every `self.x` under `node`."""
    from ..facts.walk import find_all

    return {
        a.attr.value for a in find_all(node, cst.Attribute)
        if isinstance(a.value, cst.Name) and a.value.value == "self"
    }


def remove_arg(call: cst.Call, arg: cst.Arg):
    """An edit builder that removes one argument from a call, keeping the commas right."""

    def build(loc: Locator) -> List[Edit]:
        args = list(call.args)
        index = next(i for i, a in enumerate(args) if a is arg)
        del args[index]
        if args and index == len(args):  # removed the last: its comma (or none) moves to the new last
            args[-1] = args[-1].with_changes(comma=arg.comma)
        return [loc.replace(call, call.with_changes(args=args))]

    return build


def is_abstract(function: cst.FunctionDef) -> bool:
    """`@abstractmethod`, or a body that is only a docstring and `raise NotImplementedError` / `...`."""
    for decorator in function.decorators:
        if (dotted_name(decorator.decorator) or "").split(".")[-1] == "abstractmethod":
            return True
    body = function.body.body if isinstance(function.body, cst.IndentedBlock) else function.body.body
    statements = []
    for statement in body:
        if isinstance(statement, cst.SimpleStatementLine):
            statements.extend(statement.body)
        else:
            return False
    if statements and isinstance(statements[0], cst.Expr) and isinstance(statements[0].value, (cst.SimpleString, cst.ConcatenatedString)):
        statements = statements[1:]  # the docstring
    if len(statements) != 1:
        return False
    only = statements[0]
    if isinstance(only, cst.Expr) and isinstance(only.value, cst.Ellipsis):
        return True
    if isinstance(only, cst.Raise) and only.exc is not None:
        exc = only.exc.func if isinstance(only.exc, cst.Call) else only.exc
        return (dotted_name(exc) or "") == "NotImplementedError"
    return False


def add_keyword(loc: Locator, call: cst.Call, keyword: str, value: str) -> Edit:
    """An edit that appends `keyword=value` to a call, keeping its trailing comma."""
    args = list(call.args)
    new = cst.Arg(keyword=cst.Name(keyword), value=cst.parse_expression(value),
                  equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")))
    if args:
        new = new.with_changes(comma=args[-1].comma)
        args[-1] = args[-1].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
    return loc.replace(call, call.with_changes(args=args + [new]))
