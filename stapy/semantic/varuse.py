"""Which variables code reads and writes, and whether it has side effects.

A port of stap's varuse_collecting_visitor: it follows calls into function
bodies (once each), treats printing to the stream and embedded C without
`/* pure */` as side effects, and marks sorted foreach as writing its array.
Elision and the unread-global dump are built on it.
"""
from __future__ import annotations

from stapy.parser import ast


class VarUse:
    def __init__(self):
        self.read: set = set()
        self.written: set = set()
        self.used: set = set()
        self.embedded_seen = False
        self.seen_functions: set = set()
        self.lvalue = None
        self.lrvalue = None
        self.lvalue_read = False

    def side_effect_free(self) -> bool:
        return not self.written and not self.embedded_seen

    def side_effect_free_wrt(self, focal: set) -> bool:
        return not (self.written & focal) and not self.embedded_seen

    # -- statements -------------------------------------------------------
    def stmt(self, s):
        if s is None:
            return
        if isinstance(s, ast.Block):
            for x in s.statements:
                self.stmt(x)
        elif isinstance(s, ast.ExprStmt):
            self.expr(s.expr)
        elif isinstance(s, ast.If):
            self.lvalue_read = True
            self.expr(s.cond)
            self.lvalue_read = False
            self.stmt(s.then)
            self.stmt(s.else_)
        elif isinstance(s, ast.For):
            self.stmt(s.init)
            self.lvalue_read = True
            self.expr(s.cond)
            self.lvalue_read = False
            self.stmt(s.incr)
            self.stmt(s.body)
        elif isinstance(s, ast.Foreach):
            self.expr(s.array)
            if s.sort_dir and isinstance(s.array, ast.Symbol):
                self.written.add(s.array.referent)
            for k in s.keys:
                last, self.lvalue = self.lvalue, k
                self.expr(k)
                self.lvalue = last
            self.lvalue_read = True
            for x in s.slice or []:
                self.expr(x)
            self.lvalue_read = False
            if s.value is not None:
                last, self.lvalue = self.lvalue, s.value
                self.expr(s.value)
                self.lvalue = last
            if s.limit is not None:
                self.lvalue_read = True
                self.expr(s.limit)
                self.lvalue_read = False
            self.stmt(s.body)
        elif isinstance(s, ast.Return):
            self.lvalue_read = True
            self.expr(s.value)
            self.lvalue_read = False
        elif isinstance(s, ast.Delete):
            last = self.lrvalue
            self.lrvalue = s.target
            self.lvalue_read = True
            self.expr(s.target)
            self.lrvalue = last
            self.lvalue_read = False
        elif isinstance(s, ast.TryCatch):
            self.stmt(s.try_block)
            if s.var is not None:
                self.written.add(s.var.referent)
            self.stmt(s.catch_block)
        elif isinstance(s, ast.EmbeddedStmt):
            if "/* pure */" not in s.code:
                self.embedded_seen = True

    # -- expressions ------------------------------------------------------
    def expr(self, e):
        if e is None:
            return
        if isinstance(e, ast.Symbol):
            ref = e.referent
            if self.lvalue is e or self.lrvalue is e:
                self.written.add(ref)
            if self.lvalue is not e or self.lrvalue is e:
                self.read.add(ref)
            if self.lrvalue is e:
                if self.lvalue_read:
                    self.used.add(ref)
            elif self.lvalue is not e:
                self.used.add(ref)
        elif isinstance(e, ast.ArrayIndex):
            old = self.lvalue_read
            self.lvalue_read = True
            for i in e.indexes:
                self.expr(i)
            self.lvalue_read = old
            last_lr, last_l = self.lrvalue, self.lvalue
            value = e.base if isinstance(e.base, ast.Symbol) else e.base.stat
            if self.lrvalue is e:
                self.lrvalue = value
            if self.lvalue is e:
                self.lvalue = value
            self.expr(e.base)
            self.lrvalue, self.lvalue = last_lr, last_l
        elif isinstance(e, ast.Assignment):
            if e.op in ("=", "<<<"):
                last_l, last_r = self.lvalue, self.lvalue_read
                self.lvalue = e.left
                self.lvalue_read = True
                self.expr(e.left)
                self.expr(e.right)
                self.lvalue, self.lvalue_read = last_l, last_r
            else:
                last = self.lrvalue
                self.lrvalue = e.left
                self.expr(e.left)
                self.expr(e.right)
                self.lrvalue = last
        elif isinstance(e, ast.IncDec):
            last = self.lrvalue
            self.lrvalue = e.operand
            self.expr(e.operand)
            self.lrvalue = last
        elif isinstance(e, ast.Ternary):
            old = self.lvalue_read
            self.lvalue_read = True
            self.expr(e.cond)
            self.lvalue_read = old
            self.expr(e.then)
            self.expr(e.else_)
        elif isinstance(e, ast.FunctionCall):
            old = self.lvalue_read
            self.lvalue_read = True
            for a in e.args:
                self.expr(a)
            self.lvalue_read = False
            for fd in e.referent or ():
                if id(fd) in self.seen_functions:
                    continue
                self.seen_functions.add(id(fd))
                saved = (self.lvalue, self.lrvalue)
                self.lvalue = self.lrvalue = None
                self.stmt(fd.body)
                self.lvalue, self.lrvalue = saved
            self.lvalue_read = old
        elif isinstance(e, ast.PrintFormat):
            old = self.lvalue_read
            self.lvalue_read = True
            if not e.name.startswith("s"):
                self.embedded_seen = True
            self.expr(getattr(e, "hist", None))
            for a in e.args:
                self.expr(a)
            self.lvalue_read = old
        elif isinstance(e, ast.EmbeddedExpr):
            if "/* pure */" not in e.code:
                self.embedded_seen = True
        elif isinstance(e, ast.TargetSymbol):
            if self.lvalue is e or self.lrvalue is e:
                self.embedded_seen = True
            for c in e.components:
                self.expr(c.index)
        elif isinstance(e, ast.ArrayIn):
            self.expr(e.index)
        elif isinstance(e, (ast.StatOp, ast.HistOp)):
            self.expr(e.stat)
            for p in e.params:
                self.expr(p)
        elif isinstance(e, ast.Unary):
            self.expr(e.operand)
        elif isinstance(e, ast.Binary):
            self.expr(e.left)
            self.expr(e.right)
        elif isinstance(e, ast.RegexMatch):
            self.expr(e.left)
        elif isinstance(e, (ast.EntryOp, ast.DefinedOp, ast.CastOp)):
            self.expr(e.operand)
        elif isinstance(e, ast.AtOp):
            for a in e.args:
                self.expr(a)


def collect(*nodes) -> VarUse:
    v = VarUse()
    for n in nodes:
        if isinstance(n, ast.Expr):
            v.expr(n)
        else:
            v.stmt(n)
    return v
