"""Callbacks building the ast.py dataclasses while the LALR parser reduces.

Checks stap makes while parsing (number ranges, sort directives, probe-point
suffix rules...) are made here and raise `ParseError`, so they surface in
stap's order, with the lookahead token where stap would have peeked.
"""
from __future__ import annotations

import re

from stapy.parser import ast as A
from stapy.parser.preprocess import ParseError
from stapy.parser.lalr import LarkToken

_U64 = (1 << 64) - 1


def wrap64(v: int) -> int:
    v &= _U64
    return v - (1 << 64) if v >> 63 else v


def number_value(text: str, neg: bool = False) -> int | None:
    """strtoull(s, 0, 0) with stap's range rules; None when invalid or out of range."""
    key = (text, neg)
    if key in _NUMBERS:
        return _NUMBERS[key]
    v = _number_value(text, neg)
    if len(_NUMBERS) < 4096:
        _NUMBERS[key] = v
    return v


_NUMBERS: dict = {}


def _number_value(text: str, neg: bool) -> int | None:
    if re.fullmatch(r"0[xX][0-9a-fA-F]+", text):
        v = int(text, 16)
    elif re.fullmatch(r"0[0-7]*", text):
        v = int(text, 8) if len(text) > 1 else 0
    elif re.fullmatch(r"[1-9][0-9]*", text):
        v = int(text)
    else:
        return None
    if v > _U64 or (neg and v > (1 << 63)):
        return None
    return wrap64(-v if neg else v)


def _st(x):
    return x.stap if isinstance(x, LarkToken) else None


def _toks(children, *types):
    return [c for c in children if isinstance(c, LarkToken) and (not types or c.type in types)]


def _nodes(children):
    return [c for c in children if not isinstance(c, LarkToken)]


class _NoToken:
    """Marks errors stap prints as `saw: <input> EOF` (its last_t was swallowed)."""


NO_TOKEN = _NoToken()


def _signed(children, *, swallowed: bool = False):
    """A `signed_number` subtree value: (value, number token)."""
    neg = any(c.type == "MINUS" for c in _toks(children))
    num = _toks(children, "NUMBER")[0]
    v = number_value(str(num), neg)
    if v is None:
        raise ParseError("number invalid or out of range", num.stap, explicit=False)
    return v, num.stap


class Builder:
    """Callbacks named after grammar rules/aliases (lalr.reducers calls them with each
    rule's children); `ctx` is the per-file tokens.Context."""

    def __init__(self, ctx):
        self.ctx = ctx

    def _current(self):
        return self.ctx.current

    # -- literals -------------------------------------------------------------
    def signed_number(self, c):
        return ("signed", c)

    def _num(self, sn):
        return _signed(sn[1])

    def lit_string(self, c):
        t = c[0]
        return A.StringLit(str(t), tok=t.stap)

    def lit_number(self, c):
        v, tok = self._num(c[0])
        return A.NumberLit(v, tok=tok)

    def number(self, c):
        t = c[0]
        v = number_value(t.value)
        if v is None:
            raise ParseError("number invalid or out of range", t.stap, explicit=False)
        return A.NumberLit(v, tok=t.stap)

    def string(self, c):
        return A.StringLit(c[0].value, tok=c[0].stap)

    def embedded_expr(self, c):
        return A.EmbeddedExpr(c[0].value, tok=c[0].stap)

    # -- top level ------------------------------------------------------------
    def start(self, c):
        return c

    def embed(self, c):
        return [A.Embed(str(c[0]), tok=c[0].stap)]

    def global_decl(self, c):
        return c[1]

    def private_global(self, c):
        gl = c[-1]
        for g in gl:
            g.private = True
        return gl

    def global_list(self, c):
        return [g for g in c if isinstance(g, A.Global)]

    def global_wrap(self, c):
        return ("wrap", c[0])

    def global_size(self, c):
        v, tok = self._num(c[1])
        if v <= 0 or v > 2147483647:
            raise ParseError("array size out of range", None, explicit=False, site="size", no_token=True)
        return ("size", v)

    def global_init(self, c):
        return ("init", c[1], c[0])

    def global_name(self, c):
        t = c[0]
        name, private = str(t), t.private
        if name in self.ctx.globals_seen:
            msg = ("duplicate global name" if self.ctx.globals_seen[name] == private
                   else "global versus private variable declaration conflict")
            raise ParseError(msg, t.stap, explicit=False)
        self.ctx.globals_seen[name] = private
        return t

    def global_var(self, c):
        name = c[0]
        g = A.Global(str(name), tok=name.stap)
        for part in c[1:]:
            if part[0] == "wrap":
                g.wrap = True
            elif part[0] == "size":
                g.size = part[1]
                g.array = True
            elif part[0] == "init":
                g.init = part[1]
        return g

    def private_function(self, c):
        f = c[-1]
        f.private = True
        return [f]

    def function_decl(self, c):
        return [c[-1]]

    def fname(self, c):
        return c[0]

    def type_kw(self, c):
        return "string" if c[0].type == "STRING_KW" else "long"

    def ret_type(self, c):
        return ("ret", c[1])

    def param(self, c):
        t = c[0]
        if str(t) in self.ctx.params:
            raise ParseError("duplicate parameter names", t.stap, explicit=False)
        self.ctx.params.add(str(t))
        ty = c[2] if len(c) > 2 else None
        return A.Param(str(t), ty, tok=t.stap)

    def params(self, c):
        return [p for p in c if isinstance(p, A.Param)]

    def priority(self, c):
        lit = c[1]
        if not isinstance(lit, A.NumberLit):
            raise ParseError("expected literal number", None, explicit=False)
        if lit.value < 1:
            raise ParseError("specified priority must be > 0", lit.tok, explicit=False)
        return ("prio", lit.value)

    def embedded_body(self, c):
        return A.EmbeddedStmt(str(c[0]), tok=c[0].stap)

    def function_rest(self, c):
        name = c[0]
        f = A.Function(str(name), [], None, tok=name.stap, file=self.ctx.source)
        for part in c[1:]:
            if isinstance(part, tuple) and part[0] == "ret":
                f.type = part[1]
            elif isinstance(part, tuple) and part[0] == "prio":
                f.priority = part[1]
            elif isinstance(part, list):
                f.params = part
            elif isinstance(part, (A.Block, A.EmbeddedStmt)):
                f.body = part
        if not self.ctx.user_file and not any(isinstance(p, tuple) and p[0] == "prio" for p in c[1:]):
            f.priority = 1
        return f

    # -- probes -----------------------------------------------------------------
    def probe(self, c):
        return [A.Probe(c[1], c[2], privileged=self.ctx.privileged, tok=c[0].stap)]

    def alias_op(self, c):
        if c[0].type == "PLUSEQ":
            self.ctx.epilogue_alias = True
        return c[0]

    def alias_head(self, c):
        pps, op = c
        for pp in pps:
            if pp.optional or pp.sufficient:
                raise ParseError("probe point alias name cannot be optional nor sufficient",
                                 pp.components[0].tok)
        return (pps, op.type == "PLUSEQ")

    def alias_comma(self, c):
        if self.ctx.epilogue_alias:
            raise ParseError("Combined prologue and epilogue cannot be defined with '+='",
                             c[0].stap, explicit=False)
        return c[0]

    def alias_epilogue(self, c):
        return c[1]

    def alias(self, c):
        names = []
        epilogue = False
        rest = []
        for part in c[1:]:
            if isinstance(part, tuple):
                names.extend(part[0])
                epilogue = epilogue or part[1]
            else:
                rest.append(part)
        points, body = rest[0], rest[1]
        body2 = rest[2] if len(rest) > 2 else None
        if body2 is not None and epilogue:
            raise ParseError("Combined prologue and epilogue cannot be defined with '+='", None,
                             explicit=False)
        return [A.ProbeAlias(names, points, body, epilogue=epilogue, epilogue_body=body2,
                             privileged=self.ctx.privileged, tok=c[0].stap)]

    def pp_list(self, c):
        out = []
        for x in c:
            if isinstance(x, list):
                out.extend(x)
        return out

    def pp_arg(self, c):
        return c[1]

    def pp_word(self, c):
        t = c[0]
        comp = A.ProbePointComponent(str(t), c[1] if len(c) > 1 else None, tok=t.stap)
        return [A.ProbePoint([comp], tok=t.stap)]

    def pp_group(self, c):
        return c[1]

    def pp_components(self, c):
        pps = None
        for suffix in c:
            if isinstance(suffix, LarkToken):
                continue
            if pps is None:
                pps = suffix
                continue
            product = []
            for p in pps:
                if p.optional or p.sufficient or p.condition is not None:
                    raise ParseError("'?', '!' or condition must only be specified in suffix",
                                     p.components[0].tok)
                for s in suffix:
                    product.append(A.ProbePoint(p.components + s.components, s.optional,
                                                s.sufficient, s.condition, tok=p.tok))
            pps = product
        return pps

    def pp_optional(self, c):
        return ("opt", c[0].type == "BANG")

    def pp_condition(self, c):
        return ("cond", c[2])

    def probe_point(self, c):
        pps = c[0]
        for part in c[1:]:
            if part[0] == "opt":
                for p in pps:
                    if p.optional or p.sufficient:
                        raise ParseError("'?' or '!' respecified", None, explicit=False)
                    p.optional = True
                    p.sufficient = part[1]
            else:
                for p in pps:
                    if p.condition is not None:
                        raise ParseError("condition respecified", None, explicit=False)
                    p.condition = part[1]
        return pps

    # -- statements -------------------------------------------------------------
    def block(self, c):
        return A.Block([s for s in c[1:-1]], tok=c[0].stap)

    def null_stmt(self, c):
        return A.NullStmt(tok=c[0].stap)

    def try_stmt(self, c):
        blocks = _nodes(c)
        var = None
        if len(blocks) == 3:
            var = blocks[1]
            blocks = [blocks[0], blocks[2]]
        return A.TryCatch(blocks[0], blocks[1], var, tok=c[0].stap)

    def catch_var(self, c):
        return A.Symbol(str(c[1]), tok=c[1].stap)

    def if_stmt(self, c):
        n = _nodes(c)
        return A.If(n[0], n[1], n[2] if len(n) > 2 else None, tok=c[0].stap)

    def for_stmt(self, c):
        slots = [None, None, None]
        k = 0
        for x in c[2:-1]:
            if isinstance(x, LarkToken):
                if x.type in ("SEMI", "RPAR"):
                    k += 1
                continue
            slots[k] = x
        init = A.ExprStmt(slots[0], tok=slots[0].tok) if slots[0] is not None else None
        incr = A.ExprStmt(slots[2], tok=slots[2].tok) if slots[2] is not None else None
        return A.For(init, slots[1], incr, c[-1], tok=c[0].stap)

    def while_stmt(self, c):
        return A.For(None, c[2], None, c[4], tok=c[0].stap)

    def return_stmt(self, c):
        n = _nodes(c)
        return A.Return(n[0] if n else None, tok=c[0].stap)

    def delete_stmt(self, c):
        return A.Delete(c[1], tok=c[0].stap)

    def break_stmt(self, c):
        return A.Break(tok=c[0].stap)

    def continue_stmt(self, c):
        return A.Continue(tok=c[0].stap)

    def next_stmt(self, c):
        return A.Next(tok=c[0].stap)

    def expr_stmt(self, c):
        return A.ExprStmt(c[0], tok=getattr(c[0], "start_tok", None) or c[0].tok)

    # -- foreach ------------------------------------------------------------------
    def sort_mark(self, c):
        # stap rejects a second mark as soon as it peeks it (it is still the error token)
        self.ctx.sort_marks += 1
        if self.ctx.sort_marks > 1:
            raise ParseError("multiple sort directives", c[0].stap, explicit=False)
        return c[0]

    def foreach_aggr_sort(self, c):
        return [c[0], c[1]]

    def nonempty_string(self, c):
        if str(c[0]) == "":
            raise ParseError("expected non-empty string", None, explicit=False)
        return c[0]

    def foreach_var(self, c):
        sym = A.Symbol(str(c[0]), tok=c[0].stap)
        return (sym, c[1] if len(c) > 1 else None)

    def foreach_value(self, c):
        return ("value", c[0])

    def foreach_key1(self, c):
        return ("keys", [c[0]])

    def foreach_keyn(self, c):
        return ("keys", [x for x in c if isinstance(x, tuple)])

    def foreach_slice(self, c):
        return ("slice", [None if isinstance(x, _Star) else x for x in c
                          if not isinstance(x, LarkToken)])

    def foreach_aggr(self, c):
        return ("aggr", c[0])

    def foreach_limit(self, c):
        return ("limit", c[1])

    def foreach(self, c):
        f = A.Foreach([], None, None, tok=c[0].stap)
        marks = []  # (column, mark token) in source order
        for part in c[2:]:
            if isinstance(part, tuple):
                kind = part[0]
                if kind == "value":
                    f.value, mark = part[1]
                    if mark is not None:
                        marks.append((-1, mark))
                elif kind == "keys":
                    for i, (sym, mark) in enumerate(part[1]):
                        f.keys.append(sym)
                        if mark is not None:
                            marks.append((i + 1, mark))
                elif kind == "slice":
                    f.slice = part[1]
                elif kind == "aggr":
                    f.sort_aggregate = str(part[1])[1:]
                elif kind == "limit":
                    f.limit = part[1]
            elif isinstance(part, LarkToken) and part.type in ("PLUS", "MINUS"):
                marks.append((-1, part))
            elif isinstance(part, list):  # @agg then its mark
                f.sort_aggregate = str(part[0][1])[1:]
                marks.append((-1, part[1]))
            elif isinstance(part, (A.Symbol, A.HistOp)) and f.array is None:
                f.array = part
            elif isinstance(part, A.Stmt):
                f.body = part
        if len(marks) > 1:
            raise ParseError("multiple sort directives", marks[1][1].stap, explicit=False)
        if marks:
            col, mark = marks[0]
            f.sort_column = 0 if col == -1 else col
            f.sort_dir = 1 if mark.type == "PLUS" else -1
            if col == -1:
                f.sort_column = -1
        return f

    def indexable_name(self, c):
        return A.Symbol(str(c[0]), tok=c[0].stap)

    # -- expressions --------------------------------------------------------------
    def assignment(self, c):
        return A.Assignment(c[1].value, c[0], c[2], tok=c[1].stap)

    def ternary(self, c):
        return A.Ternary(c[0], c[2], c[4], tok=c[1].stap)

    def logic_chain(self, c):
        return _climb(c, _LOGIC_PREC)

    def arith_chain(self, c):
        return _climb(c, _ARITH_PREC)

    def binary(self, c):
        return A.Binary(c[1].value, c[0], c[2], tok=c[1].stap)

    def regex(self, c):
        return A.RegexMatch(c[1].value, c[0], c[2].value, tok=c[1].stap)

    def unary(self, c):
        return A.Unary(c[0].value, c[1], tok=c[0].stap)

    def pre_crement(self, c):
        return A.IncDec(c[0].value, c[1], True, tok=c[0].stap)

    def post_crement(self, c):
        return A.IncDec(c[1].value, c[0], False, tok=c[1].stap)

    def star(self, c):
        return _Star()

    def array_in1(self, c):
        idx = A.ArrayIndex(c[2], [c[0]], tok=c[2].tok)
        return A.ArrayIn(idx, tok=c[1].stap)

    def array_in_n(self, c):
        items = [None if isinstance(x, _Star) else x for x in c[1:]
                 if not isinstance(x, LarkToken)]
        ins = _toks(c, "IN")
        if not ins:
            base_items = items
            if len(base_items) != 1 or base_items[0] is None:
                raise ParseError("unexpected comma-separated expression list", None, explicit=False)
            return base_items[0]
        base = items.pop()
        idx = A.ArrayIndex(base, items, tok=base.tok)
        return A.ArrayIn(idx, tok=ins[0].stap)

    def paren(self, c):
        e = c[1]
        e._paren = True  # `($x)->a` is an autocast of ($x), not more components of $x
        return e

    def target(self, c):
        t = c[0]
        name = str(t)
        core = name.rstrip("$")
        if 0 < len(core) < len(name):
            return A.TargetSymbol(core, [A.TargetComponent("pretty", name[len(core):], tok=t.stap)],
                                  tok=t.stap)
        return A.TargetSymbol(name, tok=t.stap)

    def symbol(self, c):
        return A.Symbol(c[0].value, tok=c[0].stap)

    def index_list(self, c):
        return [None if isinstance(x, _Star) else x for x in c if not isinstance(x, LarkToken)]

    def array_index(self, c):
        base = c[0]
        if isinstance(base, LarkToken):
            base = A.Symbol(str(base), tok=base.stap)
        return A.ArrayIndex(base, c[2], tok=base.tok)

    def bare_hist(self, c):
        raise ParseError("base histogram operator where expression expected", c[0].tok)

    def hist_op(self, c):
        t = c[0]
        if t.type == "AT_HIST_LINEAR":
            params = []
            for x in c[4:]:
                if isinstance(x, tuple):
                    v, tok = self._num(x)
                    params.append(A.NumberLit(v, tok=tok))
            return A.HistOp("linear", c[2], params, tok=t.stap)
        return A.HistOp("log", c[2], tok=t.stap)

    def args(self, c):
        return [x for x in c if not isinstance(x, LarkToken)]

    def call(self, c):
        args = c[2] if len(c) > 3 else []
        return A.FunctionCall(c[0].value, args, tok=c[0].stap)

    def cast(self, c):
        strs = _toks(c, "STRING")
        return A.CastOp(c[2], str(strs[0]), str(strs[1]) if len(strs) > 1 else "", tok=c[0].stap)

    def atvar(self, c):
        strs = _toks(c, "STRING")
        return A.AtVar(str(strs[0]), str(strs[1]) if len(strs) > 1 else "", tok=c[0].stap)

    def defined(self, c):
        return A.DefinedOp(c[2], tok=c[0].stap)

    def entry(self, c):
        return A.EntryOp(c[2], tok=c[0].stap)

    def probewrite(self, c):
        return A.ProbewriteOp(str(c[2]), tok=c[0].stap)

    def const_op(self, c):
        return A.EmbeddedExpr("/* pure */ /* unprivileged */ /* stable */ " + str(c[2]), tok=c[0].stap)

    def perf_op(self, c):
        return A.AtOp("perf", [A.StringLit(str(c[2]), tok=c[2].stap)], tok=c[0].stap)

    def register_op(self, c):
        v, tok = self._num(c[2])
        return A.AtOp(str(c[0])[1:], [A.NumberLit(v, tok=tok)], tok=c[0].stap)

    def deref_op(self, c):
        v, tok = self._num(c[2])
        return A.AtOp(str(c[0])[1:], [A.NumberLit(v, tok=tok), c[4]], tok=c[0].stap)

    def stat_op(self, c):
        params = []
        for x in c[3:]:
            if isinstance(x, tuple):
                v, tok = self._num(x)
                params.append(A.NumberLit(v, tok=tok))
        return A.StatOp(str(c[0])[1:], c[2], params, tok=c[0].stap)

    def print_fmt(self, c):
        args = [x for x in c[3:] if not isinstance(x, LarkToken)]
        return A.PrintFormat(c[0].value, format=c[2].value, args=args, tok=c[0].stap)

    def print_sep(self, c):
        return c[0]

    def print_delim(self, c):
        args = [x for x in c[3:-1] if not isinstance(x, LarkToken)]
        return A.PrintFormat(str(c[0]), delimiter=str(c[2]), args=args, tok=c[0].stap)

    def print_plain(self, c):
        args = c[2] if len(c) > 3 else []
        return A.PrintFormat(str(c[0]), args=args, tok=c[0].stap)

    def print_hist(self, c):
        return A.PrintFormat(str(c[0]), hist=c[2], tok=c[0].stap)

    # -- target suffixes ----------------------------------------------------------
    def comp_member(self, c):
        arrow, member = c
        m = str(member)
        core = m.rstrip("$")
        out = []
        if core:
            out.append(A.TargetComponent("field", core, tok=arrow.stap))
        if core != m:
            out.append(A.TargetComponent("pretty", m[len(core):], tok=arrow.stap))
        return out

    def comp_index(self, c):
        return [A.TargetComponent("index", index=c[1], tok=c[0].stap)]

    def comp_pretty(self, c):
        return [A.TargetComponent("pretty", str(c[0]), tok=c[0].stap)]

    def components(self, c):
        out = []
        for part in c:
            if out and out[-1].kind == "pretty":
                raise ParseError("-> and [ are not accepted for a pretty-printing variable", None,
                                 explicit=False)
            out.extend(part)
        return out

    def _attach(self, value, comps, addressof, amp_tok=None):
        targets = (A.TargetSymbol, A.CastOp, A.AtVar, A.AutoCast)
        if addressof and isinstance(value, targets) and getattr(value, "_paren", False):
            # parse_dwarf_value: `&(target)` takes the parenthesized target itself
            if value.addressof:
                raise ParseError("cannot take address more than once", amp_tok)
            value.components = value.components + comps
            value.addressof = True
            return value
        if isinstance(value, (A.TargetSymbol, A.CastOp, A.AtVar)) and not getattr(value, "_paren", False):
            if value.components and value.components[-1].kind == "pretty" and comps:
                raise ParseError("-> and [ are not accepted for a pretty-printing variable", None,
                                 explicit=False)
            value.components = value.components + comps
            value.addressof = addressof
            return value
        if addressof and isinstance(value, (A.TargetSymbol, A.CastOp, A.AtVar, A.AutoCast)) \
                and value.addressof:
            raise ParseError("cannot take address more than once", amp_tok)
        tok = amp_tok if amp_tok is not None else (comps[0].tok if comps else value.tok)
        return A.AutoCast(value, comps, addressof, tok=tok)

    def with_components(self, c):
        return self._attach(c[0], c[1], False)

    def address_of_pretty(self, c):
        t = self.target([c[1]])
        t.addressof = True
        return t

    def address_of(self, c):
        comps = c[2] if len(c) > 2 else []
        return self._attach(c[1], comps, True, c[0].stap)


_LOGIC_PREC = {"||": 1, "&&": 2, "|": 3, "^": 4, "&": 5}
_ARITH_PREC = {"<<": 1, ">>": 1, ">>>": 1, ".": 2, "+": 3, "-": 3, "*": 4, "/": 4, "%": 4}


def _climb(items, prec):
    """operand (op operand)* -> left-associative Binary nodes by precedence."""
    return _climb_from(items, prec, 0, 0)[0]


def _climb_from(items, prec, pos, min_prec):
    # a plain recursive function: a nested closure calling itself would be a reference
    # cycle keeping every operand alive until the cyclic GC runs
    lhs = items[pos]
    pos += 1
    while pos < len(items) and prec[items[pos].value] >= min_prec:
        op = items[pos]
        rhs, pos = _climb_from(items, prec, pos + 1, prec[op.value] + 1)
        lhs = A.Binary(op.value, lhs, rhs, tok=op.stap)
    return lhs, pos


class _Star:
    """A `*` slice index (None in the AST)."""
