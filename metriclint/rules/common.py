"""Small queries several rules share (not a rule module: the registry loads only `kmNNN.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import libcst as cst

from ..diagnostics import Edit, apply_edits
from ..facts.arguments import Bound
from ..facts.collect import dotted_name
from ..facts.containers import metric_elements
from ..facts.entries import COMPILE_WEIGHTED_METRICS
from ..facts.models import MetricRef, metric_ref
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


# --- edits that change only the tokens that must change ---------------------------------------------
# A fix rewrites a few tokens in place and never re-renders a node it changes: libcst renders the
# continuation lines of a nested node without the indentation of the blocks around it (a call in a
# method came out with its arguments at column 4 or 0), and re-rendering moves comments too.


@dataclass(frozen=True)
class Items:
    """A bracketed, comma-separated list in the file's text (a call's arguments, a list's elements):
    where the brackets are and where each item's own text is (its parentheses included)."""

    text: str
    opening: int  # just after the opening bracket
    closing: int  # at the closing bracket
    spans: Tuple[Tuple[int, int], ...]

    def comma_after(self, index: int) -> Optional[int]:
        """Offset of the comma that follows item `index`, if there is one."""
        limit = self.spans[index + 1][0] if index + 1 < len(self.spans) else self.closing
        found = skip_trivia(self.text, self.spans[index][1], limit)
        return found if found < limit and self.text[found] == "," else None


def call_items(loc: Locator, call: cst.Call) -> Items:
    text = loc.lines.text
    _, func_end = loc.span(call.func)
    opening = func_end
    while True:  # past the callee's own closing parentheses to the call's `(`
        opening = skip_trivia(text, opening, len(text))
        if text[opening] != ")":
            break
        opening += 1
    _, end = loc.span(call)
    return Items(text, opening + 1, end - 1, tuple(loc.span(arg) for arg in call.args))


def list_items(loc: Locator, node: cst.List) -> Items:
    start, end = loc.span(node)
    return Items(loc.lines.text, start + 1, end - 1, tuple(loc.span(e) for e in node.elements))


def append_items(items: Items, texts: Sequence[str]) -> List[Edit]:
    """Edits adding `texts` after the last item, in the list's own layout: on the same line (after a
    trailing comma: ` x,`), or, when the items are one per line, on new lines with the last one's
    indentation (after any comment on its line), with a trailing comma when the list has one."""
    text = items.text
    if not texts:
        return []
    if not items.spans:
        return [Edit(items.opening, items.opening, ", ".join(texts))]
    start, end = items.spans[-1]
    comma = items.comma_after(len(items.spans) - 1)
    after = end if comma is None else comma + 1
    # one item per line: the last item starts its line, after a line break from the one before, or
    # it is the only one and has a trailing comma (`f(\n    x\n)` is one line of items, black's way)
    own_line = _starts_line(text, start) and (
        _has_line_break(text, items.spans[-2][1], start) if len(items.spans) > 1 else comma is not None)
    if not own_line:
        if comma is not None:
            return [Edit(after, after, " " + ", ".join(texts) + ",")]
        return [Edit(end, end, ", " + ", ".join(texts))]
    indent = _indentation(text, start)
    line_end = _line_end(text, after)
    newline = text[line_end:_next_line_start(text, after)] or "\n"
    if not _rest_is_trivia(text, after):  # the closing bracket follows on the same line
        joined = f",{newline}{indent}".join(texts)
        if comma is not None:
            return [Edit(after, after, f"{newline}{indent}{joined},")]
        return [Edit(end, end, f",{newline}{indent}{joined}")]
    next_start = _next_line_start(text, after)
    lines = "".join(
        f"{indent}{t}{',' if comma is not None or i + 1 < len(texts) else ''}{newline}" for i, t in enumerate(texts))
    return ([] if comma is not None else [Edit(end, end, ",")]) + [Edit(next_start, next_start, lines)]


def remove_items(items: Items, indices: Iterable[int]) -> List[Edit]:
    """Edits removing the items at `indices` with exactly one separating comma each, and the line
    of an item that has a line of its own (with a comment on that line); every other line, comment
    and indentation stays as it is."""
    text = items.text
    spans = items.spans
    removed = sorted(set(indices))
    edits: List[Edit] = []
    index = 0
    while index < len(removed):
        first = last = removed[index]
        while index + 1 < len(removed) and removed[index + 1] == last + 1:
            index += 1
            last = removed[index]
        index += 1
        start, end = spans[first][0], spans[last][1]
        comma = items.comma_after(last)
        after = end if comma is None else comma + 1
        has_next = last + 1 < len(spans)
        if _starts_line(text, start) and _rest_is_trivia(text, after) and (comma is not None or not has_next):
            edits.append(Edit(_line_start(text, start), _next_line_start(text, after), ""))
        elif has_next:
            resume = after
            while text[resume] in " \t\f":
                resume += 1
            if not _rest_is_trivia(text, resume):
                edits.append(Edit(start, resume, ""))  # `item, ` before the next item on the line
            elif first > 0:
                # the item ends its line: drop it and the blanks before it, keep the line break
                begin = start
                while text[begin - 1] in " \t\f":
                    begin -= 1
                edits.append(Edit(begin, after, ""))
            else:
                edits.append(Edit(start, after, ""))
        elif first > 0 and "#" not in text[spans[first - 1][1]:start]:
            edits.append(Edit(spans[first - 1][1], end, ""))  # `, item` (a trailing comma stays)
        else:
            edits.append(Edit(start, after, ""))
    return edits


def add_keywords(loc: Locator, call: cst.Call, keywords: Sequence[Tuple[str, str]]) -> List[Edit]:
    """Edits appending `keyword=value` arguments (values as source text) to a call, in its layout."""
    return append_items(call_items(loc, call), [f"{k}={v}" for k, v in keywords])


def add_keyword(loc: Locator, call: cst.Call, keyword: str, value: str) -> List[Edit]:
    return add_keywords(loc, call, [(keyword, value)])


def remove_args(loc: Locator, call: cst.Call, args: Iterable[cst.Arg]) -> List[Edit]:
    wanted = {id(arg) for arg in args}
    return remove_items(call_items(loc, call), [i for i, a in enumerate(call.args) if id(a) in wanted])


def remove_arg(call: cst.Call, arg: cst.Arg):
    """An edit builder that removes one argument from a call, keeping the commas right."""
    return lambda loc: remove_args(loc, call, [arg])


def edit_distance(a: str, b: str) -> int:
    """Optimal-string-alignment distance: insertions, deletions, substitutions and adjacent swaps
    (`weigth`/`weight` is one edit)."""
    previous2: List[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[len(b)]


def name_argument(loc: Locator, arg: cst.Arg, keyword: str) -> Edit:
    """Turn a positional argument into `keyword=value`."""
    start, _ = loc.span(arg)
    return Edit(start, start, f"{keyword}=")


def call_text_with_keywords(loc: Locator, call: cst.Call, keywords: Sequence[Tuple[str, str]]) -> str:
    """The call's source text with `keyword=value` arguments appended (its layout and comments kept)."""
    start, end = loc.span(call)
    edits = [Edit(e.start - start, e.end - start, e.content) for e in add_keywords(loc, call, keywords)]
    return apply_edits(loc.lines.text[start:end], edits)


def moved_text(loc: Locator, source: cst.CSTNode, code: str, target: cst.CSTNode) -> str:
    """`code` (the text of `source`, possibly changed) to put where `target` is: its continuation
    lines keep their indentation relative to the first line's. Text with a triple-quoted string
    is left as it is (re-indenting would change the string)."""
    lines = code.splitlines(keepends=True)
    if len(lines) < 2 or '"""' in code or "'''" in code:
        return code
    text = loc.lines.text
    old = _indentation(text, loc.span(source)[0])
    new = _indentation(text, loc.span(target)[0])
    return lines[0] + "".join(new + line[len(old):] if line.startswith(old) and line.strip() else line for line in lines[1:])


def skip_trivia(text: str, offset: int, limit: int) -> int:
    """The first offset at or after `offset` (before `limit`) that is not blank, a comment or a
    backslash continuation (between the tokens of a bracketed list nothing else is there)."""
    while offset < limit:
        char = text[offset]
        if char in " \t\f\r\n":
            offset += 1
        elif char == "\\" and text[offset + 1:offset + 2] in ("\n", "\r"):
            offset += 2
        elif char == "#":
            offset = _line_end(text, offset)
        else:
            break
    return offset


def _line_start(text: str, offset: int) -> int:
    # look for a `\r` only after the last `\n`: a search of the whole text per edit adds up
    newline = text.rfind("\n", 0, offset)
    return max(newline, text.rfind("\r", max(newline, 0), offset)) + 1


def _line_end(text: str, offset: int) -> int:
    """Where the line holding `offset` ends (before its line break)."""
    newline = text.find("\n", offset)
    if newline < 0:
        newline = len(text)
    carriage = text.find("\r", offset, newline)
    return carriage if carriage >= 0 else newline


def _next_line_start(text: str, offset: int) -> int:
    end = _line_end(text, offset)
    return end + (2 if text.startswith("\r\n", end) else 1) if end < len(text) else end


def _starts_line(text: str, offset: int) -> bool:
    return text[_line_start(text, offset):offset].strip(" \t\f") == ""


def _rest_is_trivia(text: str, offset: int) -> bool:
    """Whether only blanks and a comment follow `offset` on its line."""
    rest = text[offset:_line_end(text, offset)].lstrip(" \t\f")
    return rest == "" or rest.startswith("#")


def _has_line_break(text: str, start: int, end: int) -> bool:
    return "\n" in text[start:end] or "\r" in text[start:end]


def _indentation(text: str, offset: int) -> str:
    """The blanks that start the line holding `offset`."""
    line = text[_line_start(text, offset):_line_end(text, offset)]
    return line[: len(line) - len(line.lstrip(" \t\f"))]


def compile_metric_refs(ctx: RuleContext, info) -> List[MetricRef]:
    """`metrics=[...]` as the model facts read it, and `weighted_metrics=[...]` read the same way."""
    refs = list(info.metrics)
    if info.site is None:
        return refs
    weighted = COMPILE_WEIGHTED_METRICS.bind(ctx.resolver, info.site.node, info.site.scope, ctx.flavour)
    if isinstance(weighted, Bound):
        for node, scope in metric_elements(ctx.resolver, weighted.value, weighted.scope) or ():
            refs.append(metric_ref(node, scope, ctx.resolver))
    return refs


def literal_metric_string(ctx: RuleContext, metric: MetricRef) -> Optional[str]:
    """A metric's string when this file writes it as a plain string literal (in the list, or in a
    name assigned once): the prefilter's `Words` see exactly those, never another module's."""
    if metric.string is None or metric.spec is not None or metric.scope is None:
        return None
    literal = ctx.resolver.string_literal(metric.node, metric.scope)
    return metric.string if isinstance(literal, cst.SimpleString) else None


def rename_class(ctx: RuleContext, call: cst.Call, target: str) -> Optional[Callable[[Locator], List[Edit]]]:
    """An edit builder that makes `call` construct `target` instead, from the same module:
    `keras.metrics.MeanIoU(...)` -> `keras.metrics.OneHotMeanIoU(...)`; for a class imported by
    name, the new name is imported next to it. None when the import cannot be found."""
    func = call.func
    if isinstance(func, cst.Attribute):
        return lambda loc: [loc.replace(func.attr, target)]
    if not isinstance(func, cst.Name):
        return None
    imported = class_import(ctx, func, target)
    if imported is None:
        return None
    name, add_import = imported

    def build(loc: Locator) -> List[Edit]:
        edits = [loc.replace(func, name)]
        if add_import is not None:
            edits.append(add_import(loc))
        return edits

    return build
