"""Pass: elision of unused code (stap's semantic_pass_optimize1), off with -u.

Repeats until nothing changes: drop functions no probe reaches, variables
never read nor written, assignments to variables never read, statements
without side effects, code after `next`/`return`/`break`/`continue`, and
constant conditions.  Warnings are only given in the first round (stap
silences the later ones).  Finally probes left empty are dropped with
`Probe 'begin' has been elided`.
"""
from __future__ import annotations

from stapy.parser import ast
from stapy.semantic.draft import Draft
from stapy.semantic.program import GlobalVar
from stapy.semantic.suggest import similar
from stapy.semantic.varuse import VarUse, collect


def _user_tok(tok) -> bool:
    return tok is not None and tok.file is not None and not tok.file.is_tapset and not getattr(tok.file, "synthetic", False)


class ElideAbort(Exception):
    """An error that ends the elision pass (stap throws these out of its optimizer)."""

    def __init__(self, message, token, token2=None):
        self.message, self.token, self.token2 = message, token, token2


class Elider:
    def __init__(self, d: Draft):
        self.d = d
        self.rep = d.reporter
        self.relaxed = True
        self.empty_probes: set = set()
        self.dead_control = False  # 4.8 drops code after next/return only after type inference

    # -- opt1: unused functions -------------------------------------------
    def unused_functions(self):
        v = VarUse()
        for p in self.d.probes:
            v.stmt(p.body)
            v.expr(p.point.condition)
        for name in sorted(self.d.functions):
            fd = self.d.functions[name]
            if id(fd) not in v.seen_functions:
                if _user_tok(fd.tok):
                    self.rep.warning(f"Eliding unused function '{fd.name}'", fd.tok)
                del self.d.functions[name]
                self.relaxed = False

    # -- opt2: unused variables -------------------------------------------
    def unused_variables(self, iteration):
        vut = VarUse()
        for p in self.d.probes:
            vut.stmt(p.body)
            vut.expr(p.point.condition)
        gnames = [g.name for g in self.d.globals if not g.mangled.startswith("__private_")]
        for p in self.d.probes:
            for name, l in list(p.locals.items()):
                if getattr(l, "synthetic", False):
                    continue
                if l not in vut.read and l not in vut.written:
                    if _user_tok(l.tok):
                        self.rep.warning(f"Eliding unused variable '{l.name}'", l.tok)
                    del p.locals[name]
                    self.relaxed = False
                elif l not in vut.written and iteration == 0:
                    cands = set(p.locals) | set(gnames)
                    cands.discard(l.name)
                    self.rep.warning(f"never-assigned local variable '{l.name}'{similar(l.name, cands)}", l.tok)
        for mangled in sorted(self.d.functions):
            fd = self.d.functions[mangled]
            keep = []
            for l in fd.locals:
                if l not in vut.read and l not in vut.written:
                    if _user_tok(l.tok):
                        self.rep.warning(f"Eliding unused variable '{l.name}'", l.tok)
                    self.relaxed = False
                    continue
                if l not in vut.written and iteration == 0:
                    cands = {x.name for x in fd.params} | {x.name for x in fd.locals} | set(gnames)
                    cands.discard(l.name)
                    self.rep.warning(f"never-assigned local variable '{l.name}'{similar(l.name, cands)}", l.tok)
                keep.append(l)
            fd.locals = keep
        keep = []
        for g in self.d.globals:
            if g not in vut.read and g not in vut.written:
                if _user_tok(g.tok):
                    self.rep.warning(f"Eliding unused variable '{g.name}'", g.tok)
                self.relaxed = False
                continue
            if g not in vut.written and g.init is None and iteration == 0:
                if not any(n == g.name for n, _ in self.d.options.global_inits):
                    # stap leaves the name itself among the candidates (it erases the mangled one)
                    cands = {x.name for x in self.d.globals if not x.mangled.startswith("__private_")}
                    self.rep.warning(f"never-assigned global variable '{g.name}'{similar(g.name, cands)}", g.tok)
            keep.append(g)
        self.d.globals = keep

    # -- opt3: dead assignments -------------------------------------------
    def dead_assignments(self):
        vut = VarUse()
        for p in self.d.probes:
            vut.stmt(p.body)
        self.vut = vut
        for p in self.d.probes:
            p.body = self.rewrite_stmt(p.body, self.assign_expr)
        for name in sorted(self.d.functions):
            fd = self.d.functions[name]
            if isinstance(fd.body, ast.Block):
                fd.body = self.rewrite_stmt(fd.body, self.assign_expr)

    def assign_expr(self, e):
        """Rewrite `x = expr` into `expr` when x is never read (not globals)."""
        if isinstance(e, ast.Assignment):
            e.left = self.assign_expr(e.left)
            e.right = self.assign_expr(e.right)
            if not isinstance(e.left, (ast.Symbol, ast.ArrayIndex, ast.TargetSymbol, ast.CastOp, ast.AtVar,
                                       getattr(ast, "AutoCast", ast.TargetSymbol))):
                bad = e.left.tok
                msg = "Expecting lvalue for assignment"
                if bad is not None and bad.kind == "operator" and bad.text == ".":
                    msg += ", try -> instead"
                raise ElideAbort(msg, e.tok, bad)
            sym = _lvalue_symbol(e.left)
            if sym is not None and sym.referent is not None:
                var = sym.referent
                if var not in self.vut.read and not isinstance(var, GlobalVar):
                    lv = collect(e.left)
                    if lv.side_effect_free():
                        if _user_tok(e.left.tok):
                            self.rep.warning(f"Eliding assignment to '{var.name}'", e.tok)
                        self.relaxed = False
                        return e.right
            return e
        return _map_children(e, self.assign_expr)

    def rewrite_stmt(self, s, fexpr):
        """Apply `fexpr` to every expression of a statement tree (in place where possible)."""
        if s is None:
            return None
        if isinstance(s, ast.Block):
            s.statements = [self.rewrite_stmt(x, fexpr) for x in s.statements]
        elif isinstance(s, ast.ExprStmt):
            if not hasattr(s, "first_tok"):
                s.first_tok = first_token(s.expr)  # stap's statement token survives rewrites
            s.expr = fexpr(s.expr)
        elif isinstance(s, ast.If):
            s.cond = fexpr(s.cond)
            s.then = self.rewrite_stmt(s.then, fexpr)
            s.else_ = self.rewrite_stmt(s.else_, fexpr)
        elif isinstance(s, ast.For):
            s.init = self.rewrite_stmt(s.init, fexpr)
            if s.cond is not None:
                s.cond = fexpr(s.cond)
            s.incr = self.rewrite_stmt(s.incr, fexpr)
            s.body = self.rewrite_stmt(s.body, fexpr)
        elif isinstance(s, ast.Foreach):
            if s.limit is not None:
                s.limit = fexpr(s.limit)
            s.body = self.rewrite_stmt(s.body, fexpr)
        elif isinstance(s, ast.Return):
            if s.value is not None:
                s.value = fexpr(s.value)
        elif isinstance(s, ast.TryCatch):
            s.try_block = self.rewrite_stmt(s.try_block, fexpr)
            if s.var is not None and s.var.referent not in self.vut.read:
                s.var = None  # an unread catch variable goes (4.8 neither types it nor counts a change)
            s.catch_block = self.rewrite_stmt(s.catch_block, fexpr)
        return s

    # -- opt4: side-effect-free statements --------------------------------
    def dead_statements(self):
        for p in self.d.probes:
            self.focal = set(self.d.globals) | set(p.locals.values())
            body = self.prune(p.body)
            if body is None:
                p.body = ast.Block([], tok=p.body.tok)
                self.empty_probes.add(id(p))
            else:
                p.body = body if isinstance(body, ast.Block) else ast.Block([body], tok=p.body.tok)
        for name in sorted(self.d.functions):
            fd = self.d.functions[name]
            if not isinstance(fd.body, ast.Block):
                continue
            self.focal = set(fd.locals) | set(fd.params) | set(self.d.globals)
            body = self.prune(fd.body)
            if body is None:
                self.rep.warning(f"side-effect-free function '{fd.name}'", fd.tok)
                fd.body = ast.Block([], tok=fd.body.tok)
            else:
                fd.body = body if isinstance(body, ast.Block) else ast.Block([body], tok=fd.body.tok)

    def prune(self, s):
        """The statement without side-effect-free parts, or None if nothing is left."""
        if s is None:
            return None
        if isinstance(s, ast.NullStmt):
            return None
        if isinstance(s, ast.Block):
            out = []
            for x in s.statements:
                n = self.prune(x)
                if n is None:
                    continue
                if isinstance(n, ast.Block):
                    out.extend(n.statements)
                    self.relaxed = False
                else:
                    out.append(n)
            if not out:
                return None
            if len(out) == 1:
                return out[0]
            s.statements = out
            return s
        if isinstance(s, ast.TryCatch):
            t = self.prune(s.try_block)
            c = self.prune(s.catch_block)
            if t is None:
                return None  # 4.8 leaves the catch variable untyped (PR30570 came later)
            s.try_block = t if isinstance(t, ast.Block) else ast.Block([t], tok=s.try_block.tok)
            s.catch_block = c if isinstance(c, ast.Block) else ast.Block([c] if c else [], tok=s.catch_block.tok)
            return s
        if isinstance(s, ast.If):
            s.then = self.prune(s.then)
            s.else_ = self.prune(s.else_)
            if s.then is None:
                if s.else_ is None:
                    if collect(s.cond).side_effect_free():
                        return None
                    return ast.ExprStmt(s.cond, tok=s.cond.tok)
                s.cond = ast.Unary("!", s.cond, tok=s.cond.tok)
                s.then, s.else_ = s.else_, None
            return s
        if isinstance(s, ast.Foreach):
            s.body = self.prune(s.body)
            if s.body is None:
                return None
            return s
        if isinstance(s, ast.For):
            s.body = self.prune(s.body)
            if s.body is None:
                if collect(s.init, s.cond, s.incr).side_effect_free():
                    return None
                s.body = ast.NullStmt(tok=s.tok)
            return s
        if isinstance(s, ast.ExprStmt):
            v = collect(s.expr)
            if v.side_effect_free_wrt(self.focal):
                if _user_tok(getattr(s, "first_tok", None) or s.expr.tok):
                    tok = getattr(s, "first_tok", None) or first_token(s.expr) or s.tok
                    self.rep.warning("Eliding side-effect-free expression ", tok)
                self.relaxed = False
                return None
            return s
        return s

    # -- constant folding and dead control --------------------------------
    def fold_all(self):
        for p in self.d.probes:
            p.body = _as_block(self.fold_stmt(p.body), p.body.tok)
        for name in sorted(self.d.functions):
            fd = self.d.functions[name]
            if isinstance(fd.body, ast.Block):
                fd.body = _as_block(self.fold_stmt(fd.body), fd.body.tok)

    def fold_stmt(self, s):
        if s is None:
            return None
        if isinstance(s, ast.Block):
            out = []
            for x in s.statements:
                n = self.fold_stmt(x)
                if n is None:
                    continue
                out.append(n)
                if self.dead_control and isinstance(n, (ast.Next, ast.Return, ast.Break, ast.Continue)):
                    if len(out) < len([y for y in s.statements if y is not None]):
                        self.relaxed = False
                    break
            s.statements = out
            return s
        if isinstance(s, ast.If):
            s.cond = fold(s.cond)
            s.then = self.fold_stmt(s.then)
            s.else_ = self.fold_stmt(s.else_)
            if isinstance(s.cond, ast.NumberLit):
                self.relaxed = False
                return s.then if s.cond.value else (s.else_ if s.else_ is not None else ast.NullStmt(tok=s.tok))
            return s
        if isinstance(s, ast.ExprStmt):
            s.expr = fold(s.expr)
            return s
        if isinstance(s, ast.For):
            s.init = self.fold_stmt(s.init)
            if s.cond is not None:
                s.cond = fold(s.cond)
            s.incr = self.fold_stmt(s.incr)
            s.body = self.fold_stmt(s.body)
            if isinstance(s.cond, ast.NumberLit) and s.cond.value == 0:
                self.relaxed = False
                return s.init if s.init is not None else ast.NullStmt(tok=s.tok)
            return s
        if isinstance(s, ast.Foreach):
            s.body = self.fold_stmt(s.body)
            return s
        if isinstance(s, ast.Return):
            if s.value is not None:
                s.value = fold(s.value)
            return s
        if isinstance(s, ast.TryCatch):
            s.try_block = _as_block(self.fold_stmt(s.try_block), s.try_block.tok)
            s.catch_block = _as_block(self.fold_stmt(s.catch_block), s.catch_block.tok)
            return s
        return s

    # -- opt5: statements whose value is unused ----------------------------
    def void_statements(self):
        """Rewrite expression statements into simpler ones (stap's void_statement_reducer):
        a pure call with arguments becomes its arguments, `a op b` becomes `a; b`,
        `a || b` becomes `if (!a) b`, `c ? a : b` an if/else."""
        self.focal = set(self.d.globals)
        for p in self.d.probes:
            p.body = _as_block(self.void_stmt(p.body), p.body.tok)
        for name in sorted(self.d.functions):
            fd = self.d.functions[name]
            if isinstance(fd.body, ast.Block):
                fd.body = _as_block(self.void_stmt(fd.body), fd.body.tok)

    def void_stmt(self, s):
        if isinstance(s, ast.Block):
            s.statements = [self.void_stmt(x) for x in s.statements]
            return s
        if isinstance(s, ast.If):
            s.then = self.void_stmt(s.then)
            s.else_ = self.void_stmt(s.else_) if s.else_ is not None else None
            return s
        if isinstance(s, (ast.For, ast.Foreach)):
            s.body = self.void_stmt(s.body)
            return s
        if isinstance(s, ast.ExprStmt):
            return self.void_expr(s.expr, s)
        return s

    def _expr_stmt(self, e):
        st = ast.ExprStmt(e, tok=e.tok)
        st.first_tok = first_token(e)
        return self.void_expr(e, st)

    def void_expr(self, e, stmt):
        if isinstance(e, ast.FunctionCall) and e.args and e.referent:
            for fd in e.referent:
                v = VarUse()
                v.seen_functions.add(id(fd))
                v.stmt(fd.body)
                if not v.side_effect_free():  # 4.8: any write, even to the callee's own locals
                    return stmt
            self.relaxed = False
            return ast.Block([self._expr_stmt(a) for a in e.args], tok=e.tok)
        if isinstance(e, ast.Binary) and e.op in ("&&", "||"):
            self.relaxed = False
            cond = e.left if e.op == "&&" else ast.Unary("!", e.left, tok=e.tok)
            if cond is not e.left:
                cond.type = "long"
            return ast.If(cond, self._expr_stmt(e.right), tok=e.tok)
        if isinstance(e, ast.Ternary):
            self.relaxed = False
            return ast.If(e.cond, self._expr_stmt(e.then), self._expr_stmt(e.else_), tok=e.tok)
        if isinstance(e, ast.Binary):
            self.relaxed = False
            return ast.Block([self._expr_stmt(e.left), self._expr_stmt(e.right)], tok=e.tok)
        if isinstance(e, ast.Unary):
            self.relaxed = False
            return self._expr_stmt(e.operand)
        if isinstance(e, ast.PrintFormat) and e.name.startswith("s") and e.args and getattr(e, "hist", None) is None:
            self.relaxed = False
            return ast.Block([self._expr_stmt(a) for a in e.args], tok=e.tok)
        return stmt

    # -- overloads that can never run ------------------------------------
    def dead_overloads(self):
        """After an overload without `next`, later ones are unreachable (stap's semantic_pass_overload)."""
        from stapy.semantic.draft import walk
        bodies = [p.body for p in self.d.probes] + [f.body for f in self.d.functions.values()
                                                     if isinstance(f.body, ast.Block)]
        for b in bodies:
            for n in walk(b):
                if isinstance(n, ast.FunctionCall) and n.referent and len(n.referent) > 1:
                    for i, fd in enumerate(n.referent):
                        if not _has_next(fd):
                            if i + 1 < len(n.referent):
                                n.referent = n.referent[: i + 1]
                                self.relaxed = False
                            break

    # -- the driver -------------------------------------------------------
    def run(self):
        unopt = self.d.options.unoptimized
        iteration = 0
        while True:
            self.relaxed = True
            self.rep.quiet = iteration > 0 and self.d.options.verbose <= 2
            if unopt:
                self.unused_functions()
                self.void_statements()
            else:
                self.unused_functions()
                self.unused_variables(iteration)
                self.dead_assignments()
                self.dead_statements()
                self.void_statements()
            self.fold_all()
            if not unopt:
                self.dead_overloads()
            iteration += 1
            if self.relaxed or iteration > 50:
                break
        self.rep.quiet = False
        kept = []
        for p in self.d.probes:
            if p.synthetic or id(p) not in self.empty_probes:
                kept.append(p)
            elif not unopt:
                self.rep.warning(f"Probe '{p.point.components[0].functor}' has been elided", p.tok)
        if not unopt:
            self.d.probes = kept


def _has_next(fd) -> bool:
    from stapy.semantic.draft import walk
    if isinstance(fd.body, ast.EmbeddedStmt):
        return "STAP_NEXT" in fd.body.code
    return any(isinstance(n, ast.Next) for n in walk(fd.body))


def first_token(e):
    """The token that starts an expression's text (stap's expr_statement token)."""
    while True:
        if isinstance(e, (ast.Assignment, ast.Binary, ast.RegexMatch)):
            e = e.left
        elif isinstance(e, ast.Ternary):
            e = e.cond
        elif isinstance(e, ast.IncDec) and not e.prefix:
            e = e.operand
        elif isinstance(e, ast.ArrayIndex):
            e = e.base
        elif isinstance(e, ast.ArrayIn):
            idx = e.index
            if len(idx.indexes) == 1 and idx.indexes[0] is not None and e.tok is not None and e.tok.text != "[":
                e = idx.indexes[0]
            else:
                return e.tok
        else:
            return getattr(e, "tok", None)


def _as_block(s, tok):
    if s is None:
        return ast.Block([], tok=tok)
    return s if isinstance(s, ast.Block) else ast.Block([s], tok=tok)


def _lvalue_symbol(e):
    if isinstance(e, ast.Symbol):
        return e
    if isinstance(e, ast.ArrayIndex) and isinstance(e.base, ast.Symbol):
        return e.base
    return None


def _map_children(e, f):
    """Apply f to the direct sub-expressions of e (in place)."""
    if isinstance(e, (ast.Unary, ast.IncDec, ast.EntryOp, ast.DefinedOp)):
        e.operand = f(e.operand)
    elif isinstance(e, ast.Binary):
        e.left = f(e.left)
        e.right = f(e.right)
    elif isinstance(e, ast.Ternary):
        e.cond, e.then, e.else_ = f(e.cond), f(e.then), f(e.else_)
    elif isinstance(e, (ast.FunctionCall, ast.PrintFormat)):
        e.args = [f(a) for a in e.args]
    elif isinstance(e, ast.ArrayIndex):
        e.indexes = [f(i) if i is not None else None for i in e.indexes]
    elif isinstance(e, ast.RegexMatch):
        e.left = f(e.left)
    return e


def _fold_binary(op, a, b):
    from stapy.semantic.arith import binary_op
    return binary_op(op, a, b)


def fold(e):
    """Fold constant sub-expressions (literals only; stap's const_folder, simplified)."""
    if e is None:
        return None
    e = _map_children(e, fold)
    if isinstance(e, ast.DefinedOp):
        from stapy.semantic.draft import walk
        has_target = any(isinstance(n, (ast.TargetSymbol, ast.CastOp, ast.AtVar)) for n in walk(e.operand))
        return ast.NumberLit(0 if has_target else 1, tok=e.tok)
    if isinstance(e, ast.Unary) and isinstance(e.operand, ast.NumberLit):
        v = e.operand.value
        r = {"+": v, "-": -v, "!": int(not v), "~": ~v}[e.op]
        return ast.NumberLit(_wrap(r), tok=e.tok)
    if isinstance(e, ast.Binary) and isinstance(e.left, ast.NumberLit) and isinstance(e.right, ast.NumberLit):
        r = _fold_binary(e.op, e.left.value, e.right.value)
        if r is not None:
            return ast.NumberLit(r, tok=e.tok)
    if isinstance(e, ast.Ternary) and isinstance(e.cond, ast.NumberLit):
        return e.then if e.cond.value else e.else_
    return e


def _wrap(v: int) -> int:
    v &= (1 << 64) - 1
    return v - (1 << 64) if v >= 1 << 63 else v


def run(d: Draft) -> Draft:
    try:
        Elider(d).run()
    except ElideAbort as e:
        d.reporter.quiet = False
        d.reporter.error(e.message, e.token, key=e.message, token2=e.token2)
    return d


def run_dead_control(d: Draft) -> Draft:
    """After type inference: drop statements after next/return/break/continue, then the
    functions and variables only they used (silently, as 4.8's later rounds are)."""
    if d.options.unoptimized:
        return d
    e = Elider(d)
    e.dead_control = True
    e.rep.quiet = True
    try:
        while True:
            e.relaxed = True
            e.fold_all()
            e.unused_functions()
            e.unused_variables(1)
            if e.relaxed:
                break
    finally:
        e.rep.quiet = False
    return d
