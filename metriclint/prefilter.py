"""Decide cheaply whether any enabled rule could fire in a file, before the costly libcst parse.

Two stages: a text search for the rules' trigger identifiers, then a structural summary
from the stdlib `ast` (C parser, ~10x faster than libcst): the identifiers that occur as
code (names, attributes, keywords, definitions, imports, short string constants), never
inside comments or docstrings. Each rule says, from that summary, whether it could fire.
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass, field
from typing import Dict, FrozenSet, Optional, Set, Tuple

UPDATE_STATE_WITHOUT_SAMPLE_WEIGHT = "update_state:no-sample-weight"
# `os.environ["TF_USE_LEGACY_KERAS"] = "1"` (or `setdefault`/`update`): `tf.keras` is tf_keras then
LEGACY_KERAS_ENVIRONMENT = "env:TF_USE_LEGACY_KERAS"
_LEGACY_KERAS_VARIABLE = "TF_USE_LEGACY_KERAS"
_TRUE_VALUES = ("true", "True", "1")  # what TensorFlow's Keras loader accepts (tensorflow/__init__.py)
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_KERAS_ROOTS = ("keras", "tensorflow", "tf_keras")
_STDLIB = frozenset(getattr(sys, "stdlib_module_names", ())) | {"__future__"}


@dataclass
class Summary:
    tokens: Set[str] = field(default_factory=set)
    attributes: Set[str] = field(default_factory=set)  # names read or written as `x.<name>`
    # (attribute called, keyword passed): `model.fit(nb_epoch=3)` -> ("fit", "nb_epoch")
    method_keywords: Set[Tuple[str, str]] = field(default_factory=set)
    imports_keras: bool = False
    imports: Set[str] = field(default_factory=set)  # full dotted names imported (`keras.backend`)
    foreign_imports: bool = False  # imports what may be a module of the project (see entries.ProjectImports)
    defs: Set[str] = field(default_factory=set)  # names of functions and methods defined
    called: Set[str] = field(default_factory=set)  # names called, as methods or plainly: `x.fit(...)`, `zip(...)`
    string_first: Set[str] = field(default_factory=set)  # methods called with a string (or f-string) first argument
    positional: Dict[str, int] = field(default_factory=dict)  # method -> most positional arguments in one call
    starred_calls: Set[str] = field(default_factory=set)  # methods called with `*args` or `**kwargs`
    flags: Set[str] = field(default_factory=set)  # shapes single rules ask about (see summarize)
    # `name.attribute` (and longer chains) read off a name an import binds, the name replaced by
    # what it binds: `import keras as k` ... `k.backend.sum` -> "keras.backend", "keras.backend.sum"
    module_attributes: Set[str] = field(default_factory=set)
    aliases: Dict[str, str] = field(default_factory=dict)  # name bound by an import -> the dotted path it binds
    # names used other than as the base of an attribute (`k = keras`, `f(keras)`, `keras = ...`):
    # a module bound to such a name may travel where the resolver follows values
    bare_names: Set[str] = field(default_factory=set)
    flavour: str = "3"  # set by the engine: the flavour the rules will check against


_SKIP_FIELDS = frozenset({"ctx", "op", "type_comment", "kind"})
_FIELDS: dict = {}


def _fields(cls: type) -> Tuple[str, ...]:
    found = _FIELDS.get(cls)
    if found is None:
        found = _FIELDS[cls] = tuple(n for n in cls._fields if n not in _SKIP_FIELDS)  # type: ignore[attr-defined]
    return found


def summarize(tree: ast.AST) -> Summary:
    """One pass over the tree (an explicit stack: about twice as fast as `ast.walk`)."""
    summary = Summary()
    name_attributes: Set[Tuple[str, str]] = set()
    name_uses: Dict[str, int] = {}
    attribute_bases: Dict[str, int] = {}
    tokens = summary.tokens
    add = tokens.add
    stack = [tree]
    pop, push = stack.pop, stack.append
    AST = ast.AST
    while stack:
        node = pop()
        kind = type(node)
        if kind is ast.Name:
            add(node.id)  # type: ignore[attr-defined]
            name_uses[node.id] = name_uses.get(node.id, 0) + 1  # type: ignore[attr-defined]
            continue
        if kind is ast.Attribute:
            add(node.attr)  # type: ignore[attr-defined]
            summary.attributes.add(node.attr)  # type: ignore[attr-defined]
            value = node.value  # type: ignore[attr-defined]
            if type(value) is ast.Name:
                name_attributes.add((value.id, node.attr))  # type: ignore[attr-defined]
                attribute_bases[value.id] = attribute_bases.get(value.id, 0) + 1
            else:  # `a.b.c`: the whole chain from its name, for `dotted_reads`
                chain = [node.attr]  # type: ignore[attr-defined]
                while type(value) is ast.Attribute:
                    chain.append(value.attr)
                    value = value.value
                if type(value) is ast.Name:
                    name_attributes.add((value.id, ".".join(reversed(chain))))
        elif kind is ast.Call:
            # the facts' `calls_by_method` reads calls the same way: `x.name(...)` and `name(...)`
            func = node.func  # type: ignore[attr-defined]
            kind_of_func = type(func)
            method = func.attr if kind_of_func is ast.Attribute else func.id if kind_of_func is ast.Name else None
            args = node.args  # type: ignore[attr-defined]
            if method is not None:
                summary.called.add(method)
                if args and ((type(args[0]) is ast.Constant and type(args[0].value) is str) or type(args[0]) is ast.JoinedStr):
                    summary.string_first.add(method)
                count = 0
                for arg in args:
                    if type(arg) is ast.Starred:
                        summary.starred_calls.add(method)
                        break
                    count += 1
                if count > summary.positional.get(method, 0):
                    summary.positional[method] = count
            if method in ("setdefault", "update", "__setitem__") and _environment_call_sets_legacy_keras(node):  # type: ignore[arg-type]
                summary.flags.add(LEGACY_KERAS_ENVIRONMENT)
            for keyword in node.keywords:  # type: ignore[attr-defined]
                if keyword.arg is not None:
                    add(keyword.arg)
                    if method is not None:
                        summary.method_keywords.add((method, keyword.arg))
                elif method is not None:
                    summary.starred_calls.add(method)
        elif kind is ast.Assign:
            if _sets_legacy_keras(node):  # type: ignore[arg-type]
                summary.flags.add(LEGACY_KERAS_ENVIRONMENT)
        elif kind is ast.Constant:
            value = node.value  # type: ignore[attr-defined]
            if type(value) is str and len(value) <= 48 and _WORD.match(value):
                add(value)
            continue
        elif kind is ast.FunctionDef or kind is ast.AsyncFunctionDef or kind is ast.ClassDef:
            add(node.name)  # type: ignore[attr-defined]
            if kind is not ast.ClassDef:
                summary.defs.add(node.name)  # type: ignore[attr-defined]
                if node.name == "update_state":  # type: ignore[attr-defined]
                    # KM112's check: `rules.common.parameter_names` and `has_star_kwargs`
                    arguments = node.args  # type: ignore[attr-defined]
                    names = {a.arg for a in arguments.posonlyargs + arguments.args + arguments.kwonlyargs}
                    if "sample_weight" not in names and arguments.kwarg is None:
                        summary.flags.add(UPDATE_STATE_WITHOUT_SAMPLE_WEIGHT)
                arguments = node.args  # type: ignore[attr-defined]
                for arg in arguments.posonlyargs + arguments.args + arguments.kwonlyargs:
                    add(arg.arg)
                for star in (arguments.vararg, arguments.kwarg):
                    if star is not None:
                        add(star.arg)
        elif kind is ast.Import:
            _imports(summary, node)  # type: ignore[arg-type]
            continue
        elif kind is ast.ImportFrom:
            _imports_from(summary, node)  # type: ignore[arg-type]
            continue
        for name in _fields(kind):
            value = getattr(node, name, None)
            if type(value) is list:
                for item in value:
                    if isinstance(item, AST):
                        push(item)
            elif isinstance(value, AST):
                push(value)
    aliases = summary.aliases
    summary.module_attributes = {f"{aliases[name]}.{attr}" for name, attr in name_attributes if name in aliases}
    summary.bare_names = {name for name, uses in name_uses.items() if uses > attribute_bases.get(name, 0)}
    return summary


def nesting_deeper_than(tree: ast.AST, limit: int) -> Optional[int]:
    """The depth of the most deeply nested node when it is more than `limit`, else None.

    libcst's parser slows down with the cube of nesting (1,000 chained subscripts take 2 s,
    2,000 take 11 s, 4,000 150 s) where CPython's does not; real code nests under 50 deep."""
    stack = [(tree, 1)]
    pop, push = stack.pop, stack.append
    AST = ast.AST
    deepest = 0
    while stack:
        node, depth = pop()
        if depth > deepest:
            deepest = depth
        for name in _fields(type(node)):
            value = getattr(node, name, None)
            if type(value) is list:
                for item in value:
                    if isinstance(item, AST):
                        push((item, depth + 1))
            elif isinstance(value, AST):
                push((value, depth + 1))
    return deepest if deepest > limit else None


def _keras_root(summary: Summary, module: str) -> None:
    if module.split(".")[0] in _KERAS_ROOTS:
        summary.imports_keras = True


def _foreign(module: str) -> bool:
    root = module.split(".")[0]
    return root not in _KERAS_ROOTS and root not in _STDLIB


def _imports(summary: Summary, node: ast.Import) -> None:
    for alias in node.names:
        if _foreign(alias.name):
            summary.foreign_imports = True
        summary.tokens.update(alias.name.split("."))
        summary.imports.add(alias.name)
        if alias.asname:
            summary.tokens.add(alias.asname)
            summary.aliases[alias.asname] = alias.name
        else:  # `import a.b.c` binds `a` to the package `a`
            top = alias.name.split(".")[0]
            summary.aliases[top] = top
        _keras_root(summary, alias.name)


def _imports_from(summary: Summary, node: ast.ImportFrom) -> None:
    module = node.module or ""
    if node.level or _foreign(module):
        summary.foreign_imports = True
    summary.tokens.update(module.split("."))
    for alias in node.names:
        summary.tokens.add(alias.name)
        if node.level == 0:
            summary.imports.add(f"{module}.{alias.name}")
            if alias.name != "*":
                summary.aliases[alias.asname or alias.name] = f"{module}.{alias.name}"
        if alias.asname:
            summary.tokens.add(alias.asname)
    if node.level == 0:
        _keras_root(summary, module)


def text_pattern(words: FrozenSet[str]) -> "re.Pattern[str]":
    return re.compile(r"\b(?:" + "|".join(map(re.escape, sorted(words))) + r")\b")


def _string(node: ast.AST) -> Optional[str]:
    return node.value if type(node) is ast.Constant and type(node.value) is str else None  # type: ignore[attr-defined]


def _is_environ(node: ast.AST) -> bool:
    return (type(node) is ast.Attribute and node.attr == "environ") or (type(node) is ast.Name and node.id == "environ")  # type: ignore[attr-defined]


def _sets_legacy_keras(node: ast.Assign) -> bool:
    """`os.environ["TF_USE_LEGACY_KERAS"] = "1"`."""
    return _string(node.value) in _TRUE_VALUES and any(
        type(target) is ast.Subscript and _is_environ(target.value) and _string(target.slice) == _LEGACY_KERAS_VARIABLE
        for target in node.targets
    )


def _environment_call_sets_legacy_keras(node: ast.Call) -> bool:
    """`os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")`, `os.environ.update({"TF_USE_LEGACY_KERAS": "1"})`,
    `os.environ.update(TF_USE_LEGACY_KERAS="1")`."""
    func = node.func
    if type(func) is not ast.Attribute or not _is_environ(func.value):  # type: ignore[attr-defined]
        return False
    args = node.args
    if func.attr in ("setdefault", "__setitem__"):  # type: ignore[attr-defined]
        return len(args) == 2 and _string(args[0]) == _LEGACY_KERAS_VARIABLE and _string(args[1]) in _TRUE_VALUES
    if args and type(args[0]) is ast.Dict:
        return any(_string(k) == _LEGACY_KERAS_VARIABLE and _string(v) in _TRUE_VALUES
                   for k, v in zip(args[0].keys, args[0].values) if k is not None)
    return any(k.arg == _LEGACY_KERAS_VARIABLE and _string(k.value) in _TRUE_VALUES for k in node.keywords)
