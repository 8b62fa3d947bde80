"""Positions of libcst nodes read off their twins in the stdlib `ast` tree of the same text.

libcst computes positions by generating code for the whole statement, with a hook around
every node: about a millisecond for a one-line statement, a minute for a file with thousands
of findings. CPython's parser already knows where every expression is. Walking a libcst
statement and its `ast` twin side by side pairs the nodes whose ranges are the same in both
(expressions, keyword arguments, the names in `a.name` and `name=`, a `def`'s parameters). Anything
not paired (a `def`'s name, lambdas' parameters, slices, comprehension parts, a shape the two trees
disagree on) is left to libcst. `tests/test_locate.py` checks every pair against libcst's own positions.
"""

from __future__ import annotations

import ast
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import libcst as cst

# (first line, first column, last line, end column); columns in UTF-8 bytes, as `ast` has them.
ByteRange = Tuple[int, int, int, int]
Pairs = Dict[int, ByteRange]  # id(libcst node) -> its range


def _range(node: ast.AST) -> ByteRange:
    return (node.lineno, node.col_offset, node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]


class _Pairing:
    """One side-by-side walk. Every method gets a libcst node and the `ast` node that sits in the
    same place; a node whose twin has another type is skipped with all it contains."""

    def __init__(self) -> None:
        self.pairs: Pairs = {}

    # --- statements ----------------------------------------------------------------------
    def statements(self, nodes: Sequence[cst.CSTNode], twins: Sequence[ast.stmt]) -> None:
        """A libcst statement list against its `ast` list (`a; b` is one libcst line, two `ast` statements)."""
        index = 0
        for node in nodes:
            smalls: Sequence[cst.CSTNode] = node.body if isinstance(node, cst.SimpleStatementLine) else (node,)
            if index + len(smalls) > len(twins):
                return
            for small, twin in zip(smalls, twins[index:index + len(smalls)]):
                self.statement(small, twin)
            index += len(smalls)

    def block(self, body: cst.BaseSuite, twins: Sequence[ast.stmt]) -> None:
        """An indented block, or the statements after the colon of `if x: a; b`."""
        self.statements(body.body, twins)

    def statement(self, node: cst.CSTNode, twin: ast.stmt) -> None:
        handler = _STATEMENTS.get(type(node))
        if handler is not None and isinstance(twin, handler[0]):
            handler[1](self, node, twin)

    def orelse(self, node: Optional[cst.CSTNode], twins: Sequence[ast.stmt]) -> None:
        if isinstance(node, cst.If):  # `elif`: the `ast` else-branch is that one `If`
            if len(twins) == 1:
                self.statement(node, twins[0])
        elif node is not None:
            self.block(node.body, twins)  # type: ignore[attr-defined]

    # --- expressions ---------------------------------------------------------------------
    def expression(self, node: Optional[cst.CSTNode], twin: Optional[ast.AST]) -> None:
        if node is None or twin is None:
            return
        handler = _EXPRESSIONS.get(type(node))
        if handler is None or not isinstance(twin, handler[0]):
            return
        if not (node.lpar and isinstance(twin, _OWN_PARENTHESES)):  # type: ignore[attr-defined]
            self.pairs[id(node)] = _range(twin)
        handler[1](self, node, twin)

    def expressions(self, nodes: Sequence[Optional[cst.CSTNode]], twins: Sequence[Optional[ast.AST]]) -> None:
        if len(nodes) == len(twins):
            for node, twin in zip(nodes, twins):
                self.expression(node, twin)

    def arguments(self, args: Sequence[cst.Arg], positional: Sequence[ast.expr], keywords: Sequence[ast.keyword]) -> None:
        """Call (or class) arguments: `ast` keeps positional and keyword ones in two lists."""
        named = [arg for arg in args if arg.keyword is not None or arg.star == "**"]
        plain = [arg for arg in args if not (arg.keyword is not None or arg.star == "**")]
        if len(named) != len(keywords) or len(plain) != len(positional):
            return
        for arg, keyword in zip(named, keywords):
            self.pairs[id(arg)] = _range(keyword)
            if arg.keyword is not None and keyword.arg == arg.keyword.value:
                line, column = keyword.lineno, keyword.col_offset
                self.pairs[id(arg.keyword)] = (line, column, line, column + len(keyword.arg.encode("utf-8")))
            self.expression(arg.value, keyword.value)
        for arg, value in zip(plain, positional):
            if arg.star == "*" and isinstance(value, ast.Starred):
                self.pairs[id(arg)] = _range(value)
                self.expression(arg.value, value.value)
            elif arg.star == "":
                # libcst's Arg range holds the value's parentheses, `ast`'s generator the call's.
                if not arg.value.lpar and not isinstance(value, ast.GeneratorExp):  # type: ignore[attr-defined]
                    self.pairs[id(arg)] = _range(value)
                self.expression(arg.value, value)


# --- what each statement holds -------------------------------------------------------------------
def _function(p: _Pairing, node: cst.FunctionDef, twin: ast.FunctionDef) -> None:
    p.expressions([d.decorator for d in node.decorators], twin.decorator_list)
    _parameters(p, node.params, twin.args)
    if node.returns is not None:
        p.expression(node.returns.annotation, twin.returns)
    p.block(node.body, twin.body)


def _parameters(p: _Pairing, node: cst.Parameters, twin: ast.arguments) -> None:
    """Parameter names (an `ast.arg` starts at its name), annotations and defaults."""
    groups = [
        (node.posonly_params, twin.posonlyargs), (node.params, twin.args), (node.kwonly_params, twin.kwonlyargs),
        ([node.star_arg] if isinstance(node.star_arg, cst.Param) else [], [twin.vararg] if twin.vararg else []),
        ([node.star_kwarg] if node.star_kwarg is not None else [], [twin.kwarg] if twin.kwarg else []),
    ]
    if any(len(params) != len(args) for params, args in groups):
        return
    for params, args in groups:
        for param, arg in zip(params, args):
            if param.name.value != arg.arg:
                return
            line, column = arg.lineno, arg.col_offset
            p.pairs[id(param.name)] = (line, column, line, column + len(arg.arg.encode("utf-8")))
            if param.annotation is not None:
                p.expression(param.annotation.annotation, arg.annotation)
    positional = list(node.posonly_params) + list(node.params)
    p.expressions([param.default for param in positional if param.default is not None], twin.defaults)
    p.expressions([param.default for param in node.kwonly_params], twin.kw_defaults)


def _class(p: _Pairing, node: cst.ClassDef, twin: ast.ClassDef) -> None:
    p.expressions([d.decorator for d in node.decorators], twin.decorator_list)
    p.arguments(list(node.bases) + list(node.keywords), twin.bases, twin.keywords)
    p.block(node.body, twin.body)


def _test_body_orelse(p: _Pairing, node: "cst.If | cst.While", twin: "ast.If | ast.While") -> None:
    p.expression(node.test, twin.test)
    p.block(node.body, twin.body)
    p.orelse(node.orelse, twin.orelse)


def _for(p: _Pairing, node: cst.For, twin: ast.For) -> None:
    p.expression(node.target, twin.target)
    p.expression(node.iter, twin.iter)
    p.block(node.body, twin.body)
    p.orelse(node.orelse, twin.orelse)


def _with(p: _Pairing, node: cst.With, twin: ast.With) -> None:
    if len(node.items) == len(twin.items):
        for item, twin_item in zip(node.items, twin.items):
            p.expression(item.item, twin_item.context_expr)
            if item.asname is not None:
                p.expression(item.asname.name, twin_item.optional_vars)
    p.block(node.body, twin.body)


def _try(p: _Pairing, node: cst.Try, twin: ast.Try) -> None:
    p.block(node.body, twin.body)
    if len(node.handlers) == len(twin.handlers):
        for handler, twin_handler in zip(node.handlers, twin.handlers):
            p.expression(handler.type, twin_handler.type)
            p.block(handler.body, twin_handler.body)
    p.orelse(node.orelse, twin.orelse)
    if node.finalbody is not None:
        p.block(node.finalbody.body, twin.finalbody)


def _assign(p: _Pairing, node: cst.Assign, twin: ast.Assign) -> None:
    p.expressions([t.target for t in node.targets], twin.targets)
    p.expression(node.value, twin.value)


def _ann_assign(p: _Pairing, node: cst.AnnAssign, twin: ast.AnnAssign) -> None:
    p.expression(node.target, twin.target)
    p.expression(node.annotation.annotation, twin.annotation)
    p.expression(node.value, twin.value)


def _aug_assign(p: _Pairing, node: cst.AugAssign, twin: ast.AugAssign) -> None:
    p.expression(node.target, twin.target)
    p.expression(node.value, twin.value)


def _value(p: _Pairing, node: cst.CSTNode, twin: ast.AST) -> None:
    p.expression(node.value, twin.value)  # type: ignore[attr-defined]


def _raise(p: _Pairing, node: cst.Raise, twin: ast.Raise) -> None:
    p.expression(node.exc, twin.exc)
    if node.cause is not None:
        p.expression(node.cause.item, twin.cause)


def _assert(p: _Pairing, node: cst.Assert, twin: ast.Assert) -> None:
    p.expression(node.test, twin.test)
    p.expression(node.msg, twin.msg)


_Handler = Tuple[type, Callable[..., None]]
_STATEMENTS: Dict[type, _Handler] = {
    cst.FunctionDef: ((ast.FunctionDef, ast.AsyncFunctionDef), _function),
    cst.ClassDef: (ast.ClassDef, _class),
    cst.If: (ast.If, _test_body_orelse),
    cst.For: ((ast.For, ast.AsyncFor), _for),
    cst.While: (ast.While, _test_body_orelse),
    cst.With: ((ast.With, ast.AsyncWith), _with),
    cst.Try: (ast.Try, _try),
    cst.Assign: (ast.Assign, _assign),
    cst.AnnAssign: (ast.AnnAssign, _ann_assign),
    cst.AugAssign: (ast.AugAssign, _aug_assign),
    cst.Expr: (ast.Expr, _value),
    cst.Return: (ast.Return, _value),
    cst.Raise: (ast.Raise, _raise),
    cst.Assert: (ast.Assert, _assert),
}


# --- what each expression holds ------------------------------------------------------------------
def _leaf(p: _Pairing, node: cst.CSTNode, twin: ast.AST) -> None:
    pass


def _attribute(p: _Pairing, node: cst.Attribute, twin: ast.Attribute) -> None:
    p.expression(node.value, twin.value)
    if node.attr.value == twin.attr:  # the name ends where the attribute does
        end = twin.end_col_offset  # type: ignore[attr-defined]
        p.pairs[id(node.attr)] = (twin.end_lineno, end - len(twin.attr.encode("utf-8")), twin.end_lineno, end)  # type: ignore[assignment]


def _call(p: _Pairing, node: cst.Call, twin: ast.Call) -> None:
    p.expression(node.func, twin.func)
    p.arguments(node.args, twin.args, twin.keywords)


def _subscript(p: _Pairing, node: cst.Subscript, twin: ast.Subscript) -> None:
    p.expression(node.value, twin.value)
    if len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index) and not isinstance(twin.slice, (ast.Slice, ast.Tuple)):
        p.expression(node.slice[0].slice.value, twin.slice)


def _binary(p: _Pairing, node: cst.BinaryOperation, twin: ast.BinOp) -> None:
    p.expression(node.left, twin.left)
    p.expression(node.right, twin.right)


def _unary(p: _Pairing, node: cst.UnaryOperation, twin: ast.UnaryOp) -> None:
    p.expression(node.expression, twin.operand)


def _boolean(p: _Pairing, node: cst.BooleanOperation, twin: ast.BoolOp) -> None:
    if len(twin.values) == 2:  # `a and b and c` is one `ast` node, two libcst ones
        p.expression(node.left, twin.values[0])
        p.expression(node.right, twin.values[1])


def _comparison(p: _Pairing, node: cst.Comparison, twin: ast.Compare) -> None:
    p.expression(node.left, twin.left)
    p.expressions([c.comparator for c in node.comparisons], twin.comparators)


def _if_expression(p: _Pairing, node: cst.IfExp, twin: ast.IfExp) -> None:
    p.expression(node.test, twin.test)
    p.expression(node.body, twin.body)
    p.expression(node.orelse, twin.orelse)


def _lambda(p: _Pairing, node: cst.Lambda, twin: ast.Lambda) -> None:
    p.expression(node.body, twin.body)


def _elements(p: _Pairing, node: cst.CSTNode, twin: ast.AST) -> None:
    elements: Sequence[cst.BaseElement] = node.elements  # type: ignore[attr-defined]
    twins: List[ast.expr] = twin.elts  # type: ignore[attr-defined]
    if len(elements) != len(twins):
        return
    for element, item in zip(elements, twins):
        if isinstance(element, cst.StarredElement):
            p.expression(element, item)
        else:
            p.expression(element.value, item)


def _starred(p: _Pairing, node: cst.StarredElement, twin: ast.Starred) -> None:
    p.expression(node.value, twin.value)


def _dict(p: _Pairing, node: cst.Dict, twin: ast.Dict) -> None:
    if len(node.elements) != len(twin.keys):
        return
    for element, key, value in zip(node.elements, twin.keys, twin.values):
        if isinstance(element, cst.DictElement) and key is not None:
            p.expression(element.key, key)
            p.expression(element.value, value)
        elif isinstance(element, cst.StarredDictElement) and key is None:
            p.expression(element.value, value)


def _await(p: _Pairing, node: cst.Await, twin: ast.Await) -> None:
    p.expression(node.expression, twin.value)


_CONSTANT = (ast.Constant,)
# `ast` counts a tuple's parentheses as its own; libcst leaves them out. (A generator's too,
# even when they are a call's: `f(x for x in y)`; so generators are not paired at all.)
_OWN_PARENTHESES = (ast.Tuple,)
_EXPRESSIONS: Dict[type, _Handler] = {
    cst.Name: (ast.Name, _leaf),
    cst.Attribute: (ast.Attribute, _attribute),
    cst.Call: (ast.Call, _call),
    cst.Subscript: (ast.Subscript, _subscript),
    cst.BinaryOperation: (ast.BinOp, _binary),
    cst.UnaryOperation: (ast.UnaryOp, _unary),
    cst.BooleanOperation: (ast.BoolOp, _boolean),
    cst.Comparison: (ast.Compare, _comparison),
    cst.IfExp: (ast.IfExp, _if_expression),
    cst.Lambda: (ast.Lambda, _lambda),
    cst.List: (ast.List, _elements),
    cst.Tuple: (ast.Tuple, _elements),
    cst.Set: (ast.Set, _elements),
    cst.StarredElement: (ast.Starred, _starred),
    cst.Dict: (ast.Dict, _dict),
    cst.Await: (ast.Await, _await),
    cst.Integer: (_CONSTANT, _leaf),
    cst.Float: (_CONSTANT, _leaf),
    cst.Imaginary: (_CONSTANT, _leaf),
    cst.SimpleString: (_CONSTANT, _leaf),
    cst.ConcatenatedString: ((ast.Constant, ast.JoinedStr), _leaf),
    cst.FormattedString: (ast.JoinedStr, _leaf),
    cst.Ellipsis: (_CONSTANT, _leaf),
    cst.ListComp: (ast.ListComp, _leaf),
    cst.SetComp: (ast.SetComp, _leaf),
    cst.DictComp: (ast.DictComp, _leaf),
}


def pair_statement(statement: cst.CSTNode, twins: Iterable[ast.stmt]) -> Pairs:
    """The paired nodes of one top-level libcst statement (its `ast` statements: more than one for `a; b`)."""
    pairing = _Pairing()
    pairing.statements([statement], list(twins))
    return pairing.pairs
