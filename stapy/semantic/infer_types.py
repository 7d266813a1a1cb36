"""Pass: whole-program type inference (a port of stap's typeresolution_info).

Types flow between expressions and declarations until nothing changes; then
one last round reports what is still unknown.  Messages, the tokens they
point at and how often they are raised follow stap, because stap's duplicate
suppression counts them (`Number of similar error messages suppressed: N`).
4.8 stops after the first round that reports an error.
"""
from __future__ import annotations

from stapy.diagnostics import Diagnostic, KEYWORD, OPERATOR
from stapy.parser import ast
from stapy.semantic.draft import Draft
from stapy.semantic.print_formats import conversions
from stapy.semantic.program import LONG, STATS, STRING, FunctionDef, GlobalVar, LocalVar, type_name

NUMERIC_ASSIGN = {"+=", "-=", "*=", "/=", "%=", "&=", "^=", "|=", "<<=", ">>="}
COMPARISONS = {"<", ">", "<=", ">=", "==", "!="}
PRINT_TO_STREAM = {"print", "println", "printf", "printd", "printdln"}


class TypeAbort(Exception):
    """A thrown (not just printed) error: ends the pass at once.  With `wrap`, 4.8 reports
    it chained under `while processing probe P` / `while processing function F`."""

    def __init__(self, message, token, key, wrap=False):
        self.message, self.token, self.key, self.wrap = message, token, key, wrap


class Inference:
    def __init__(self, d: Draft):
        self.d = d
        self.rep = d.reporter
        self.t = None
        self.newly = 0
        self.still = 0
        self.assert_resolvability = False
        self.current_function = None
        self.resolved_types: list = []  # [decl, index, tok]
        self.complexity = 0
        self.dry = False
        self.where = None

    # -- bookkeeping ------------------------------------------------------
    def resolved(self, tok, t, decl=None, index=-1):
        self.newly += 1
        if decl is not None:
            for r in self.resolved_types:
                if r[0] is decl and r[1] == index:
                    r[2] = tok
                    return
            self.resolved_types.append([decl, index, tok])

    def _report(self, level: int) -> bool:
        """4.8 reports only the most specific kind of mismatch found (its mismatch_complexity):
        a dry round finds the highest level, the reporting round prints that level only."""
        if self.dry:
            self.complexity = max(self.complexity, level)
            return False
        return level == self.complexity

    def unresolved(self, tok):
        self.still += 1
        if self.assert_resolvability and not self.dry and self.complexity == 0:
            self.rep.error("unresolved type ", tok, key="unresolved type")

    def invalid(self, tok, t):
        self.still += 1
        if self.assert_resolvability and not self.dry and self.complexity == 0:
            if tok is not None and tok.kind == OPERATOR:
                self.rep.error("invalid operator", tok, key="invalid operator")
            else:
                self.rep.error(f"invalid type {type_name(t)}", tok, key="invalid type")

    def mismatch_binary(self, e):
        self.still += 1
        if not self.assert_resolvability:
            return
        if not self._report(1):
            return
        self.rep.error(f"type mismatch: left and right sides don't agree "
                       f"({type_name(e.left.type)} vs {type_name(e.right.type)})", e.tok, key="mismatch binary")

    def mismatch(self, tok, t1, t2):
        self.still += 1
        if not self.assert_resolvability:
            return
        if not self._report(2):
            return
        msg = f"type mismatch: expected {type_name(t1)}"
        if t2 is not None:
            msg += f" but found {type_name(t2)}"
        self.rep.error(msg, tok, key="mismatch types")

    def mismatch_decl(self, tok, typ, decl, index=-1):
        self.still += 1
        if not self.assert_resolvability:
            return
        if not self._report(3):
            return
        if self.current_function is not None and index == -1:
            for i, p in enumerate(self.current_function.params):
                if p is decl:
                    index = i
                    break
        original = None
        for r in self.resolved_types:
            if r[0] is decl and r[1] == index:
                original = r
                break
        dtype = decl.type  # stap prints the declaration type even for an index (sic)
        if original is None:
            self.rep.error(f"type mismatch: expected {type_name(typ)} but found {type_name(dtype)}", tok,
                           key="mismatch decl basic")
            return
        msg = (f"index {index} " if index >= 0 else "") + f"type mismatch ({type_name(typ)})"
        chain_msg = "type" + (f" of index {index}" if index >= 0 else "") + f" was first inferred here ({type_name(dtype)})"
        self.rep.error(msg, tok, key="mismatch decl", chain=[Diagnostic("semantic error", chain_msg, original[2])])

    def resolve_2types(self, ref, decl, t, accept_unknown=False):
        while True:
            re, te = ref.type, decl.type
            if t is not None and re == t and re == te:
                return
            if t is None and re is not None and re == te:
                return
            if re is not None and te is not None and re != te:
                return self.mismatch_decl(ref.tok, re, decl)
            if re is not None and t is not None and re != t:
                return self.mismatch_decl(ref.tok, t, decl)
            if te is not None and t is not None and te != t:
                return self.mismatch_decl(ref.tok, t, decl)
            # 4.8 propagates one step per visit and catches disagreements in a later round
            if re is None and t is not None:
                ref.type = t
                self.resolved(ref.tok, t)
                return
            if re is None and te is not None:
                ref.type = te
                self.resolved(ref.tok, te)
                return
            if re is not None and te is None:
                decl.type = re
                self.resolved(ref.tok, re, decl)
                return
            if not accept_unknown:
                self.unresolved(ref.tok)
            return

    def set_type(self, e, typ):
        if e.type is None:
            e.type = typ
            self.resolved(e.tok, typ)

    # -- expressions ------------------------------------------------------
    def expr(self, e):
        t = self.t
        if isinstance(e, (ast.NumberLit, ast.StringLit)):
            e.type = LONG if isinstance(e, ast.NumberLit) else STRING
            if t is not None and t != e.type:
                self.mismatch(e.tok, t, e.type)
        elif isinstance(e, ast.Symbol):
            self.resolve_2types(e, e.referent, t)
        elif isinstance(e, ast.Binary):
            self.binary(e, t)
        elif isinstance(e, ast.RegexMatch):
            if t in (STATS, STRING):
                self.invalid(e.tok, t)
            self.t = STRING
            self.expr(e.left)
            self.set_type(e, LONG)
        elif isinstance(e, ast.Assignment):
            self.assignment(e, t)
        elif isinstance(e, (ast.Unary, ast.IncDec)):
            if t in (STATS, STRING):
                self.invalid(e.tok, t)
            self.t = LONG
            self.expr(e.operand)
            self.set_type(e, LONG)
        elif isinstance(e, ast.Ternary):
            self.ternary(e, t)
        elif isinstance(e, ast.ArrayIndex):
            self.array_index(e, t)
        elif isinstance(e, ast.ArrayIn):
            self.t = None
            self.array_index(e.index, None)
            if t is None and e.type is not None:
                pass
            elif t in (STRING, STATS):
                self.mismatch(e.tok, t, LONG)
            elif e.type is None:
                e.type = LONG
                self.resolved(e.tok, LONG)
        elif isinstance(e, ast.FunctionCall):
            self.call(e, t)
        elif isinstance(e, ast.PrintFormat):
            self.print_format(e)
        elif isinstance(e, ast.StatOp):
            self.t = STATS
            self.expr(e.stat)
            for p in e.params:
                self.t = LONG
                self.expr(p)
            if e.type is None:
                e.type = LONG
                self.resolved(e.tok, LONG)
        elif isinstance(e, ast.HistOp):
            self.t = STATS
            self.expr(e.stat)
            for p in e.params:
                self.t = LONG
                self.expr(p)
        elif isinstance(e, ast.EmbeddedExpr):
            self.set_type(e, STRING if "/* string */" in e.code else LONG)
        elif isinstance(e, ast.DefinedOp):
            self.set_type(e, LONG)
        elif isinstance(e, (ast.TargetSymbol, ast.CastOp, ast.AtVar, ast.EntryOp)) and getattr(e, "tv", None):
            from stapy.semantic.target_vars import infer_hook
            infer_hook(self, e, t)
        elif isinstance(e, ast.EntryOp):
            raise TypeAbort("internal error: @entry is only valid in .return probes", e.tok, "entry", wrap=True)
        elif isinstance(e, (ast.TargetSymbol, ast.CastOp, ast.AtVar)):
            # a failed target expression stays unresolved even when its use gave it a type (printf("%d", $x))
            if getattr(e, "tv_error", None):
                if self.assert_resolvability and not self.dry:
                    from stapy.semantic.target_vars import report_unresolved
                    report_unresolved(self, e)
                self.still += 1
            else:  # never resolved (no tv), even if its use gave it a type: never let it reach pass 3
                if self.assert_resolvability and not self.dry:
                    what = {"TargetSymbol": "unresolved target-symbol expression",
                            "AtVar": "unresolved @var() expression"}.get(type(e).__name__, "unresolved target-symbol expression")
                    self.rep.error(what, e.tok, key=what)
                self.still += 1
        elif isinstance(e, ast.AtOp):
            for a in e.args:
                self.t = None
                self.expr(a)
            self.set_type(e, LONG)
        elif isinstance(e, ast.ProbewriteOp):
            raise TypeAbort("unexpected @probewrite", e.tok, "probewrite", wrap=True)

    def binary(self, e, t):
        if e.op == ".":
            if t is not None and t != STRING:
                self.invalid(e.tok, t)
            self.t = STRING
            self.expr(e.left)
            self.t = STRING
            self.expr(e.right)
            self.set_type(e, STRING)
        elif e.op in COMPARISONS:
            if t in (STATS, STRING):
                self.invalid(e.tok, t)
            self.t = e.right.type
            self.expr(e.left)
            self.t = e.left.type
            self.expr(e.right)
            if e.left.type is not None and e.right.type is not None and e.left.type != e.right.type:
                self.mismatch_binary(e)
            self.set_type(e, LONG)
        else:
            self.binary_numeric(e, t)

    def binary_numeric(self, e, t):
        if t in (STATS, STRING):
            self.invalid(e.tok, t)
        self.t = LONG
        self.expr(e.left)
        self.t = LONG
        self.expr(e.right)
        if e.left.type is not None and e.right.type is not None and e.left.type != e.right.type:
            self.mismatch_binary(e)
        self.set_type(e, LONG)

    def assignment(self, e, t):
        if t == STATS:
            self.invalid(e.tok, t)
        if e.op == "<<<":
            if t == STRING:
                self.invalid(e.tok, t)
            self.t = STATS
            self.expr(e.left)
            self.t = LONG
            self.expr(e.right)
            if e.type is None or e.type == STATS:
                e.type = LONG
                self.resolved(e.tok, LONG)
        elif e.left.type == STATS:
            self.invalid(e.left.tok, e.left.type)
        elif e.right.type == STATS:
            self.invalid(e.right.tok, e.right.type)
        elif e.op in NUMERIC_ASSIGN:
            self.binary_numeric(e, t)
        elif e.op == ".=":
            if t in (LONG, STATS):
                self.invalid(e.tok, t)
            self.t = STRING
            self.expr(e.left)
            self.t = STRING
            self.expr(e.right)
            self.set_type(e, STRING)
        else:  # '='
            sub = t
            if sub is None and e.type is not None:
                sub = e.type
            self.t = sub if sub is not None else e.right.type
            self.expr(e.left)
            self.t = sub if sub is not None else e.left.type
            self.expr(e.right)
            if sub is not None and e.type is None:
                e.type = sub
                self.resolved(e.tok, sub)
            if sub is None and e.left.type is not None and e.type is None:
                e.type = e.left.type
                self.resolved(e.tok, e.type)
            if e.left.type is not None and e.right.type is not None and e.left.type != e.right.type:
                self.mismatch_binary(e)

    def ternary(self, e, t):
        sub = t
        self.t = LONG
        self.expr(e.cond)
        if sub is None and e.type is not None:
            sub = e.type
        self.t = sub
        self.expr(e.then)
        self.t = sub
        self.expr(e.else_)
        if sub is None and e.type is not None:
            pass
        elif sub is not None and e.type is None:
            e.type = sub
            self.resolved(e.tok, sub)
        elif sub is None and e.then.type is not None:
            e.type = e.then.type
            self.resolved(e.tok, e.type)
        elif sub is None and e.else_.type is not None:
            e.type = e.else_.type
            self.resolved(e.tok, e.type)
        elif e.type != sub:
            self.mismatch(e.tok, sub, e.type)

    def index_list(self, indexes, decl, tok, expect=False):
        for i, ee in enumerate(indexes):
            if ee is None:
                continue
            ft = decl.index_types[i]
            self.t = ft
            self.expr(ee)
            at = ee.type
            if at in (STRING, LONG) and ft is None:
                decl.index_types[i] = ft = at
                self.resolved(ee.tok, ft, decl, i)
            if at == STATS:
                self.invalid(ee.tok, at)
            if ft == STATS:
                self.invalid(ee.tok, ft)
            if at is not None and ft is not None and ft != at:
                self.mismatch_decl(ee.tok, ee.type, decl, i)
            if at is None:
                self.unresolved(ee.tok)

    def array_index(self, e, t):
        if isinstance(e.base, ast.HistOp):
            if len(e.indexes) != 1:
                self.unresolved(e.tok)
            self.t = LONG
            self.expr(e.indexes[0])
            if e.indexes[0].type != LONG:
                self.unresolved(e.tok)
            self.expr(e.base)
            if e.type != LONG:
                e.type = LONG
                self.resolved(e.tok, LONG)
            return
        decl = e.base.referent
        self.resolve_2types(e, decl, t)
        e.base.type = decl.type
        if len(e.indexes) != len(getattr(decl, "index_types", [])):
            self.unresolved(e.tok)
        else:
            self.index_list(e.indexes, decl, e.tok)

    def call(self, e, t):
        original = t
        for fd in e.referent:
            self.t = original
            self.resolve_2types(e, fd, self.t, accept_unknown=True)
            if e.type == STATS:
                self.invalid(e.tok, e.type)
            if len(e.args) != len(fd.params):
                self.unresolved(e.tok)
                continue
            for i, ee in enumerate(e.args):
                p = fd.params[i]
                ft = p.type
                self.t = None  # 4.8 passes no expected type into call arguments
                self.expr(ee)
                at = ee.type
                if at in (STRING, LONG) and ft is None:
                    p.type = ft = at
                    self.resolved(ee.tok, ft, p, i)
                if at == STATS:
                    self.invalid(ee.tok, at)
                if ft == STATS:
                    self.invalid(p.tok, ft)
                elif at is not None and ft is not None and ft != at:
                    self.mismatch_decl(ee.tok, ee.type, p, i)
                if at is None:
                    self.unresolved(ee.tok)

    def check_arg_type(self, wanted, arg):
        self.t = wanted
        self.expr(arg)
        if arg.type is None:
            arg.type = wanted
            self.resolved(arg.tok, wanted)
        elif arg.type != wanted:
            self.mismatch(arg.tok, wanted, arg.type)

    def print_format(self, e):
        unresolved_args = 0
        hist = getattr(e, "hist", None)
        if hist is None and len(e.args) == 1 and isinstance(e.args[0], ast.HistOp):
            hist = e.args[0]
        if hist is not None:
            self.t = None
            self.expr(hist)
        elif e.format is not None:
            convs = conversions(e.format)
            expected = sum(1 + c.dynamic_width + c.dynamic_precision for c in convs)
            if expected != len(e.args):
                raise TypeAbort("Wrong number of args to formatted print operator", e.tok, "print args")
            argno = 0
            for c in convs:
                if c.dynamic_width:
                    self.check_arg_type(LONG, e.args[argno])
                    argno += 1
                if c.dynamic_precision:
                    self.check_arg_type(LONG, e.args[argno])
                    argno += 1
                self.check_arg_type(c.wanted, e.args[argno])
                argno += 1
        else:
            for a in e.args:
                self.t = None
                self.expr(a)
                if a.type is None:
                    self.unresolved(a.tok)
                    unresolved_args += 1
        if unresolved_args == 0:
            self.set_type(e, LONG if e.name in PRINT_TO_STREAM else STRING)
        else:
            e.type = None
            self.unresolved(e.tok)

    # -- statements -------------------------------------------------------
    def stmt(self, s):
        if isinstance(s, ast.Block):
            for x in s.statements:
                self.t = None
                self.stmt(x)
        elif isinstance(s, ast.ExprStmt):
            self.t = None
            self.expr(s.expr)
        elif isinstance(s, ast.If):
            self.t = LONG
            self.expr(s.cond)
            self.t = None
            self.stmt(s.then)
            if s.else_ is not None:
                self.t = None
                self.stmt(s.else_)
        elif isinstance(s, ast.For):
            self.t = None
            if s.init is not None:
                self.stmt(s.init)
            self.t = LONG
            if s.cond is not None:
                self.expr(s.cond)
            self.t = None
            if s.incr is not None:
                self.stmt(s.incr)
            self.t = None
            self.stmt(s.body)
        elif isinstance(s, ast.Foreach):
            self.foreach(s)
        elif isinstance(s, ast.Return):
            self.ret(s)
        elif isinstance(s, ast.Delete):
            self.t = None
            tgt = s.target
            if isinstance(tgt, ast.Symbol):
                self.resolve_2types(tgt, tgt.referent, None)
            elif isinstance(tgt, ast.ArrayIndex):
                self.array_index(tgt, None)
            else:
                raise TypeAbort("invalid operand of delete expression", tgt.tok, "delete operand")
        elif isinstance(s, ast.TryCatch):
            self.stmt(s.try_block)
            if s.var is not None:
                self.t = STRING
                self.expr(s.var)
            self.stmt(s.catch_block)

    def foreach(self, s):
        wanted = None
        if s.array is None:
            pass
        elif isinstance(s.array, ast.HistOp):
            if len(s.keys) != 1:
                self.unresolved(s.tok)
            self.t = LONG
            self.expr(s.keys[0])
            if s.keys[0].type != LONG:
                self.unresolved(s.tok)
            self.expr(s.array)
            wanted = LONG
        else:
            decl = s.array.referent
            if len(s.keys) != len(decl.index_types):
                self.unresolved(s.tok)
            else:
                self.index_list(s.keys, decl, s.tok, expect=True)
                if s.slice:
                    self.index_list(s.slice, decl, s.tok, expect=True)
            self.t = None
            self.expr(s.array)
            wanted = s.array.type
        if s.value is not None:
            if wanted == STATS:
                self.invalid(s.value.tok, wanted)
            elif wanted is not None:
                self.check_arg_type(wanted, s.value)
            else:
                self.t = None
                self.expr(s.value)
        if wanted is not None and s.sort_aggregate and wanted != STATS:
            self.invalid(s.array.tok, wanted)
        if s.limit is not None:
            self.t = LONG
            self.expr(s.limit)
        self.t = None
        self.stmt(s.body)

    def ret(self, s):
        fd = self.current_function
        if fd is None:
            return
        self.t = fd.type
        if s.value is None:
            if fd.type is not None:
                self.mismatch_decl(s.tok, None, fd)
            return
        self.expr(s.value)
        v = s.value
        if fd.type is not None and v.type is not None and fd.type != v.type:
            self.mismatch_decl(v.tok, v.type, fd)
        if fd.type is None and v.type in (LONG, STRING):
            fd.type = v.type
            self.resolved(v.tok, fd.type, fd)
        if v.type == STATS:
            self.invalid(v.tok, v.type)

    def check_local(self, v: LocalVar, arity):
        if arity:
            self.still += 1
            if self.assert_resolvability and not self.dry:
                self.rep.error("array locals not supported, missing global declaration? ", v.tok, key="array locals")
        if v.type is None:
            self.unresolved(v.tok)
        elif v.type == STATS:
            self.still += 1
            if self.assert_resolvability and not self.dry:
                self.rep.error("stat locals not supported, missing global declaration? ", v.tok, key="stat locals")

    # -- the driver -------------------------------------------------------
    def round(self):
        arity = getattr(self.d, "arity", {})
        for name in sorted(self.d.functions):
            fd = self.d.functions[name]
            if not isinstance(fd.body, ast.Block):
                continue
            self.where = f"while processing function {fd.name}"
            self.current_function = fd
            self.t = None
            self.stmt(fd.body)
            for v in fd.locals:
                self.check_local(v, arity.get(v, (0,))[0])
        self.current_function = None
        for p in self.d.probes:
            from stapy.semantic.printing import probe_point
            self.where = f"while processing probe {probe_point(p.point)}"
            self.t = None
            self.stmt(p.body)
            for v in p.locals.values():
                self.check_local(v, arity.get(v, (0,))[0])
            if p.point.condition is not None:
                self.t = LONG
                self.expr(p.point.condition)
        for g in self.d.globals:
            if g.type is None:
                self.unresolved(g.tok)
            if not g.index_types and g.wrap:
                raise TypeAbort("wrapping not supported for scalars", g.tok, "wrap scalar")

    def preset_literals(self):
        """Literals are typed from birth in stap (their type is known before any round)."""
        from stapy.semantic.draft import walk
        bodies = [p.body for p in self.d.probes] + [p.point.condition for p in self.d.probes]
        bodies += [f.body for f in self.d.functions.values()]
        for b in bodies:
            if b is None:
                continue
            for n in walk(b):
                if isinstance(n, ast.NumberLit):
                    n.type = LONG
                elif isinstance(n, ast.StringLit):
                    n.type = STRING

    def run(self):
        self.preset_literals()
        while True:
            self.newly = self.still = 0
            before = self.rep.error_count
            try:
                self.round()
            except TypeAbort as e:
                if e.wrap and self.where is not None:
                    inner = Diagnostic("semantic error", e.message, e.token)
                    self.rep.error(self.where, None, key="while processing " + e.key, chain=[inner])
                else:
                    self.rep.error(e.message, e.token, key=e.key)
                return
            if self.rep.error_count > before:
                return
            if self.newly == 0:
                if self.still == 0:
                    return
                if self.assert_resolvability:
                    return
                self.assert_resolvability = True
                self.dry = True  # find the most specific mismatch kind without printing
                self.newly = self.still = 0
                try:
                    self.round()
                except TypeAbort:
                    pass
                self.dry = False


def run(d: Draft) -> Draft:
    Inference(d).run()
    return d
