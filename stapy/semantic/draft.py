"""The program while pass 2 builds it, and small AST helpers shared by the passes.

`Draft` is what flows down the pipeline: each pass receives it, reports
through `draft.reporter` and hands it on.  It becomes a `Program` at the end.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Iterator, Optional

from stapy.parser import ast
from stapy.semantic.library import Library
from stapy.semantic.program import DerivedProbe, FunctionDef, GlobalVar, Limits
from stapy.semantic.reporter import Reporter


@dataclass(eq=False)
class ProbeDraft:
    """A derived probe under construction.

    `point` is the concrete probe point, `chain` the derivation (innermost
    first): ast.Probe / ast.ProbeAlias values, `resolved` what the family said.
    """

    point: ast.ProbePoint
    chain: list
    resolved: object
    body: ast.Block
    user_probe: ast.Probe
    locals: dict = field(default_factory=dict)  # name -> LocalVar
    synthetic: bool = False
    tok: object = None
    file: object = None  # the StapFile of the user's probe
    user_point: object = None  # the point as the script wrote it (an alias name, say): stap's script location


@dataclass(eq=False)
class Draft:
    options: object
    reporter: Reporter
    library: Library
    user_files: list
    probes: list = field(default_factory=list)  # list[ProbeDraft]
    functions: dict = field(default_factory=dict)  # mangled -> FunctionDef
    globals: list = field(default_factory=list)  # list[GlobalVar], first-reference order
    embeds: list = field(default_factory=list)
    limits: Limits = field(default_factory=Limits)
    recursive: bool = False
    # function locals live on FunctionDef; probe locals on ProbeDraft.locals
    overload_count: dict = field(default_factory=dict)  # unmangled name -> count

    def global_named(self, name: str) -> Optional[GlobalVar]:
        for g in self.globals:
            if g.name == name:
                return g
        return None


# ------------------------------------------------------------------ AST helpers

_SHARED_FIELDS = {"tok", "file", "source", "referent"}


def clone(node):
    """A deep copy of an AST subtree that shares tokens and source files (so locations
    keep their identity) and drops semantic annotations."""
    if isinstance(node, list):
        return [clone(x) for x in node]
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        kw = {}
        for f in dataclasses.fields(node):
            v = getattr(node, f.name)
            if f.name in _SHARED_FIELDS:
                kw[f.name] = None if f.name == "referent" else v
            elif f.name == "type" and isinstance(node, ast.Expr):
                kw[f.name] = None
            else:
                kw[f.name] = clone(v)
        return type(node)(**kw)
    return node


_CHILD_FIELDS: dict = {}  # node class -> the names of its fields that may hold children (None: not a node)


def _child_fields(cls):
    names = _CHILD_FIELDS.get(cls, False)
    if names is False:
        names = None
        if dataclasses.is_dataclass(cls):
            names = tuple(f.name for f in dataclasses.fields(cls) if f.name not in _SHARED_FIELDS)
        _CHILD_FIELDS[cls] = names
    return names


def children(node) -> Iterator:
    """The direct AST children of a node (expressions and statements), in source order."""
    names = _child_fields(type(node))
    if names is None:
        return
    for name in names:
        v = getattr(node, name)
        if isinstance(v, list):
            for x in v:
                if isinstance(x, list):
                    for y in x:
                        if isinstance(y, (ast.Node, ast.TargetComponent)):
                            yield y
                elif isinstance(x, (ast.Node, ast.TargetComponent)):
                    yield x
        elif isinstance(v, (ast.Node, ast.TargetComponent)):
            yield v


def walk(node) -> Iterator:
    """Pre-order walk of a subtree."""
    stack = [node]
    while stack:
        n = stack.pop()
        if n is None:
            continue
        yield n
        kids = list(children(n))
        stack.extend(reversed(kids))


def replace_exprs(node, fn):
    """Rebuild a subtree in place, replacing each expression `e` by `fn(e)` (children first)."""
    if not dataclasses.is_dataclass(node):
        return node
    for f in dataclasses.fields(node):
        if f.name in _SHARED_FIELDS:
            continue
        v = getattr(node, f.name)
        if isinstance(v, list):
            setattr(node, f.name, [replace_exprs(x, fn) if isinstance(x, (ast.Node, ast.TargetComponent)) else x
                                   for x in v])
        elif isinstance(v, (ast.Node, ast.TargetComponent)):
            setattr(node, f.name, replace_exprs(v, fn))
    return fn(node) if isinstance(node, ast.Expr) else node
