"""Pass: the end probes that print user globals written but never read (stap's
add_global_var_display; off with --no-global-var-display).

One synthetic `probe end` per such global, built as AST: a scalar prints
`name=%d` / `name="%s"`, an array walks its entries by decreasing value with
`foreach (__val = [__idx0, ...] in name-)`, a statistic prints @count, @min,
@max, @sum and @avg (`name @count=0x0` when empty).
"""
from __future__ import annotations

from stapy.diagnostics import SourceFile, Token
from stapy.parser import ast
from stapy.semantic.derive_probes import Resolved
from stapy.semantic.draft import Draft, ProbeDraft
from stapy.semantic.program import LONG, STATS, STRING, LocalVar
from stapy.semantic.varuse import VarUse

SYNTHETIC = SourceFile("<synthetic>", "", privileged=True)
SYNTHETIC.synthetic = True


def _tok(kind, text, like: Token | None):
    t = Token(kind, text, SYNTHETIC, like.line if like else 0, like.col if like else 0)
    return t


def run(d: Draft) -> Draft:
    if not d.options.global_var_display:
        return d
    vut = VarUse()
    for p in d.probes:
        vut.stmt(p.body)
        vut.expr(p.point.condition)
    for g in list(d.globals):
        if (g in vut.read and g in vut.used) or g not in vut.written:
            continue
        if g.synthetic or getattr(g, "from_tapset", False):
            continue
        d.probes.append(_dump_probe(d, g))
    return d


def _sym(name, var, tok):
    s = ast.Symbol(name, tok=tok)
    s.referent = var
    s.type = var.type
    return s


def _dump_probe(d: Draft, g) -> ProbeDraft:
    tok = _tok("identifier", g.name, g.tok)
    kw = _tok("keyword", "probe", g.tok)
    stats = ("count", "min", "max", "sum", "avg")
    locals_: dict = {}
    fmt = g.name
    if g.index_types:
        keys = []
        parts = []
        for i, it in enumerate(g.index_types):
            v = LocalVar(f"__idx{i}", it, slot=len(locals_), tok=tok)
            v.synthetic = True
            locals_[v.name] = v
            keys.append(v)
            parts.append('\\"%#s\\"' if it == STRING else "%#d")
        fmt += "[" + ",".join(parts) + "]"
        value_var = None
        if g.type != STATS:
            value_var = LocalVar("__val", g.type, slot=len(locals_), tok=tok)
            value_var.synthetic = True
            locals_["__val"] = value_var
        if g.type == STATS:
            fmt += "".join(f" @{s}=%#d" for s in stats)
            elem = lambda: ast.ArrayIndex(_sym(g.name, g, tok), [_sym(k.name, k, tok) for k in keys], tok=tok)
            args = [_sym(k.name, k, tok) for k in keys] + [ast.StatOp(s, elem(), tok=tok) for s in stats]
        else:
            fmt += '=\\"%#s\\"' if g.type == STRING else "=%d"
            args = [_sym(k.name, k, tok) for k in keys] + [_sym("__val", value_var, tok)]
        printf = ast.PrintFormat("printf", format=fmt + "\\n", args=args, tok=tok)
        loop = ast.Foreach(keys=[_sym(k.name, k, tok) for k in keys], array=_sym(g.name, g, tok),
                           body=ast.ExprStmt(printf, tok=tok),
                           value=_sym("__val", value_var, tok) if value_var else None,
                           sort_column=-1, sort_dir=-1, tok=tok)
        body = ast.Block([loop], tok=tok)
    elif g.type == STATS:
        fmt += "".join(f" @{s}=%#d" for s in stats)
        empty = ast.PrintFormat("printf", format=f"{g.name} @count=0x0\\n", args=[], tok=tok)
        full = ast.PrintFormat("printf", format=fmt + "\\n",
                               args=[ast.StatOp(s, _sym(g.name, g, tok), tok=tok) for s in stats], tok=tok)
        cond = ast.Binary("==", ast.StatOp("count", _sym(g.name, g, tok), tok=tok), ast.NumberLit(0, tok=tok), tok=tok)
        body = ast.Block([ast.If(cond, ast.ExprStmt(empty, tok=tok), ast.ExprStmt(full, tok=tok), tok=tok)], tok=tok)
    else:
        fmt += '=\\"%#s\\"' if g.type == STRING else "=%d"
        printf = ast.PrintFormat("printf", format=fmt + "\\n", args=[_sym(g.name, g, tok)], tok=tok)
        body = ast.Block([ast.ExprStmt(printf, tok=tok)], tok=tok)
    point = ast.ProbePoint([ast.ProbePointComponent("end", tok=tok)], tok=tok)
    user = ast.Probe([point], body, tok=kw)
    _type_dump_body(body)
    return ProbeDraft(point=point, chain=[user], resolved=Resolved("end", {"sequence": 0}), body=body,
                      user_probe=user, locals=locals_, synthetic=True, tok=kw, file=None)


def _type_dump_body(body):
    """Fill the types of the synthesized expressions (they are fully known)."""
    from stapy.semantic.draft import walk
    for n in walk(body):
        if isinstance(n, (ast.StatOp, ast.NumberLit, ast.Binary)):
            n.type = LONG
        elif isinstance(n, ast.PrintFormat):
            n.type = LONG
        elif isinstance(n, ast.ArrayIndex):
            n.type = n.base.referent.type
