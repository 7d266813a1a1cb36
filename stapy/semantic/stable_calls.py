"""Pass: cache calls of stable functions in locals (stap's semantic_pass_opt7; off with -u).

A zero-argument function whose embedded-C body is tagged `/* stable */`
(pid(), execname(), pp()...) returns the same value during one probe hit, so
stap evaluates it once into `__stable_<mangled>_value` at the start of the
enclosing block (outside loops) and reads the local afterwards.  The locals
show in -p2, hence this pass.
"""
from __future__ import annotations

from stapy.parser import ast
from stapy.semantic.draft import Draft
from stapy.semantic.program import LocalVar


def stable_functions(d: Draft) -> set:
    out = set()
    for mangled, fd in d.functions.items():
        if isinstance(fd.body, ast.EmbeddedStmt) and "/* stable */" in fd.body.code and not fd.params:
            out.add(mangled)
    return out


def _has_stable_call(node, stable, shallow=False) -> bool:
    from stapy.semantic.draft import children
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, ast.FunctionCall) and n.referent and n.referent[0].mangled in stable:
            return True
        if shallow and isinstance(n, (ast.Block, ast.If, ast.For, ast.Foreach, ast.TryCatch)) and n is not node:
            continue
        stack.extend(children(n))
    return False


class StableRewriter:
    def __init__(self, stable: set, add_local):
        self.stable = stable
        self.add_local = add_local
        self.new_vars: dict = {}
        self.scope_vars: set = set()
        self.new_stmts: list = []  # (stmt, block)
        self.loop_depth = 0
        self.top_scope = None
        self.curr_scope = None

    def convert(self, s):
        if s is None:
            return None
        if self.top_scope is None and isinstance(s, (ast.For, ast.Foreach)):
            if _has_stable_call(s, self.stable):
                return ast.Block([s], tok=s.tok)
        elif self.top_scope is None and not isinstance(s, ast.Block):
            if _has_stable_call(s, self.stable, shallow=True):
                return ast.Block([s], tok=s.tok)
        return s

    def stmt(self, s):
        if s is None:
            return
        if isinstance(s, ast.Block):
            prev_top, prev_cur = self.top_scope, self.curr_scope
            if self.loop_depth == 0:
                self.top_scope = s
            self.curr_scope = s
            saved = set(self.scope_vars)
            for x in s.statements:
                self.stmt(x)
            if self.loop_depth == 0:
                self.top_scope = prev_top
            self.curr_scope = prev_cur
            self.scope_vars = saved
        elif isinstance(s, ast.ExprStmt):
            s.expr = self.expr(s.expr)
        elif isinstance(s, ast.If):
            prev_top = self.top_scope
            if self.loop_depth == 0:
                self.top_scope = None
            s.cond = self.expr(s.cond)
            s.then = self.convert(s.then)
            self.stmt(s.then)
            if self.loop_depth == 0:
                self.top_scope = None
            s.else_ = self.convert(s.else_)
            self.stmt(s.else_)
            self.top_scope = prev_top
        elif isinstance(s, ast.For):
            self.stmt(s.init)
            if s.cond is not None:
                s.cond = self.expr(s.cond)
            self.stmt(s.incr)
            self.loop_depth += 1
            s.body = self.convert(s.body)
            self.stmt(s.body)
            self.loop_depth -= 1
        elif isinstance(s, ast.Foreach):
            if s.limit is not None:
                s.limit = self.expr(s.limit)
            self.loop_depth += 1
            s.body = self.convert(s.body)
            self.stmt(s.body)
            self.loop_depth -= 1
        elif isinstance(s, ast.Return):
            if s.value is not None:
                s.value = self.expr(s.value)
        elif isinstance(s, ast.TryCatch):
            s.try_block = self.convert(s.try_block)
            self.stmt(s.try_block)
            s.catch_block = self.convert(s.catch_block)
            self.stmt(s.catch_block)
        elif isinstance(s, ast.Delete):
            s.target = self.expr(s.target)

    def expr(self, e):
        from stapy.semantic.elide import _map_children
        if e is None:
            return None
        if isinstance(e, ast.Assignment):
            e.left = self.expr(e.left)
            e.right = self.expr(e.right)
            return e
        if isinstance(e, ast.ArrayIn):
            self.expr(e.index)
            return e
        if isinstance(e, (ast.StatOp, ast.HistOp)):
            e.params = [self.expr(p) for p in e.params]
            return e
        e = _map_children(e, self.expr)
        if isinstance(e, ast.FunctionCall) and e.referent and e.referent[0].mangled in self.stable:
            fn = e.referent[0].mangled
            name = f"__stable_{fn}_value"
            if fn not in self.new_vars:
                v = LocalVar(name, e.type, tok=e.tok)
                v.synthetic = True
                self.add_local(v)
                self.new_vars[fn] = v
            var = self.new_vars[fn]
            sym = ast.Symbol(name, tok=e.tok)
            sym.referent, sym.type = var, e.type
            if fn not in self.scope_vars:
                lhs = ast.Symbol(name, tok=e.tok)
                lhs.referent, lhs.type = var, e.type
                assign = ast.Assignment("=", lhs, e, tok=e.tok)
                assign.type = e.type
                block = self.top_scope if self.loop_depth != 0 else self.curr_scope
                self.new_stmts.append((ast.ExprStmt(assign, tok=e.tok), block))
                self.scope_vars.add(fn)
            return sym
        return e

    def finish(self):
        for st, block in self.new_stmts:
            if block is not None:
                block.statements.insert(0, st)


def run(d: Draft) -> Draft:
    if d.options.unoptimized:
        return d
    stable = stable_functions(d)
    if not stable:
        return d
    for p in d.probes:
        def add(v, p=p):
            v.slot = len(p.locals)
            p.locals[v.name] = v
        r = StableRewriter(stable, add)
        body = r.convert(p.body)
        r.stmt(body)
        r.finish()
        p.body = body if isinstance(body, ast.Block) else ast.Block([body], tok=p.body.tok)
    for name in sorted(d.functions):
        fd = d.functions[name]
        if not isinstance(fd.body, ast.Block):
            continue

        def add(v, fd=fd):
            v.slot = len(fd.params) + len(fd.locals)
            fd.locals.append(v)
        r = StableRewriter(stable, add)
        r.stmt(fd.body)
        r.finish()
    return d
