"""Pass: no array may change while a foreach walks it (stap's semantic_pass_vars).

An element assignment, `++`/`--`, `delete` or `<<<` on the iterated array
inside the loop is an error, and so is calling a function whose own body
does one of those (only the direct body, as stap checks it).
"""
from __future__ import annotations

from stapy.parser import ast
from stapy.semantic.draft import Draft
from stapy.semantic.program import STATS


def _base_var(e):
    if isinstance(e, ast.ArrayIndex) and isinstance(e.base, ast.Symbol):
        return e.base.referent
    if isinstance(e, ast.Symbol):
        return e.referent
    return None


class _Walker:
    """Calls `on_write(var, node)` for array writes and `on_call(call)` for calls, tracking foreach nesting."""

    def __init__(self):
        self.iterating: list = []

    def stmt(self, s):
        if s is None:
            return
        if isinstance(s, ast.Block):
            for x in s.statements:
                self.stmt(x)
        elif isinstance(s, ast.ExprStmt):
            self.expr(s.expr)
        elif isinstance(s, ast.If):
            self.expr(s.cond)
            self.stmt(s.then)
            self.stmt(s.else_)
        elif isinstance(s, ast.For):
            self.stmt(s.init)
            self.expr(s.cond)
            self.stmt(s.incr)
            self.stmt(s.body)
        elif isinstance(s, ast.Foreach):
            var = s.array.referent if isinstance(s.array, ast.Symbol) else (
                _base_var(s.array.stat) if isinstance(s.array, ast.HistOp) else None)
            for x in s.slice or []:
                self.expr(x)
            self.expr(s.limit)
            if var is not None:
                self.iterating.append(var)
            self.stmt(s.body)
            if var is not None:
                self.iterating.pop()
        elif isinstance(s, ast.Return):
            self.expr(s.value)
        elif isinstance(s, ast.Delete):
            if isinstance(s.target, ast.ArrayIndex):
                self.write(s.target)
            self.expr(s.target)
        elif isinstance(s, ast.TryCatch):
            self.stmt(s.try_block)
            self.stmt(s.catch_block)

    def expr(self, e):
        if e is None:
            return
        if isinstance(e, ast.Assignment):
            if isinstance(e.left, ast.ArrayIndex):
                self.write(e.left)
            elif e.op == "<<<" and e.type is not None and isinstance(e.left, ast.Symbol) and e.left.type == STATS:
                self.write(e.left)
            self.expr(e.left)
            self.expr(e.right)
        elif isinstance(e, ast.IncDec):
            if isinstance(e.operand, ast.ArrayIndex):
                self.write(e.operand)
            self.expr(e.operand)
        elif isinstance(e, ast.FunctionCall):
            for a in e.args:
                self.expr(a)
            self.call(e)
        else:
            from stapy.semantic.draft import children
            for c in children(e):
                if isinstance(c, ast.Expr):
                    self.expr(c)

    def write(self, node):
        pass

    def call(self, e):
        pass


class _Collector(_Walker):
    def __init__(self):
        super().__init__()
        self.mutated: set = set()

    def write(self, node):
        v = _base_var(node)
        if v is not None:
            self.mutated.add(v)


class _Checker(_Walker):
    def __init__(self, d: Draft, mutates: dict):
        super().__init__()
        self.d = d
        self.mutates = mutates

    def write(self, node):
        v = _base_var(node)
        for it in self.iterating:
            if it is v:
                self.d.reporter.error(f"variable '{v.name}' modified during 'foreach' iteration", node.tok,
                                      key="foreach modified")

    def call(self, e):
        for fd in e.referent or ():
            m = self.mutates.get(id(fd), set())
            for it in self.iterating:
                if it in m:
                    self.d.reporter.error(f"function call modifies var '{it.name}' during 'foreach' iteration",
                                          e.tok, key="foreach call modifies")


def run(d: Draft) -> Draft:
    mutates = {}
    for name in sorted(d.functions):
        fd = d.functions[name]
        c = _Collector()
        if isinstance(fd.body, ast.Block):
            c.stmt(fd.body)
        mutates[id(fd)] = c.mutated
    chk = _Checker(d, mutates)
    for name in sorted(d.functions):
        fd = d.functions[name]
        if isinstance(fd.body, ast.Block):
            chk.stmt(fd.body)
    for p in d.probes:
        chk.stmt(p.body)
    return d
