"""Values a .return probe needs from the function's entry: @entry(e), and $var/$$parms (which mean
the entry value in a .return probe) -- captured at entry as stap does [tapsets.cxx gen_mapped_saved_return].

For each such expression X of a .return probe this synthesizes, like stap 4.8:
    global __global_entry_tvar_<name>_<n>[tid, depth], __global_entry_tvar_<name>_<n>_ctr[tid]
    a synthetic probe `process(..).function(F).call` at F's probe address (after the prologue, where the
    frame holds the parameters), whose body stores X:
        G[tid, ++G_ctr[tid]] = X
    and, at the top of the .return probe:
        _tmp = G[tid, G_ctr[tid]]; delete G[tid, G_ctr[tid]--]; if (!G_ctr[tid]) delete G_ctr[tid]
    with X replaced by _tmp.  `tid` is ctx->tid (an EntryOp node with Plan('tid')).
The engine runs the .call probe on entry and the .return probe on return; the per-thread counter
keeps recursion straight.
"""
from __future__ import annotations

import dataclasses
from stapy.parser import ast, printer
from stapy.semantic.draft import ProbeDraft, clone, walk
from stapy.semantic.program import LONG, GlobalVar, LocalVar

_SKIP = ("tok", "file", "source", "referent")


def _uses_entry(plan) -> bool:
    if plan is None:
        return False
    if plan.kind == "entry":
        return True
    if plan.kind == "long":
        return bool(plan.access.entry)
    if plan.kind == "pretty":
        return any(isinstance(x, tuple) and x[1].entry for x in plan.items)
    return False


def _candidates(node, out):
    """Outermost expressions needing an entry value, in source order."""
    if isinstance(node, (ast.EntryOp, ast.TargetSymbol, ast.CastOp, ast.AtVar)) and _uses_entry(getattr(node, "tv", None)):
        out.append(node)
        return
    if not dataclasses.is_dataclass(node):
        return
    for f in dataclasses.fields(node):
        if f.name in _SKIP:
            continue
        v = getattr(node, f.name)
        for x in (v if isinstance(v, list) else [v]):
            if dataclasses.is_dataclass(x) and not isinstance(x, type):
                _candidates(x, out)


def _replace(node, mapping) -> None:
    if not dataclasses.is_dataclass(node):
        return
    for f in dataclasses.fields(node):
        if f.name in _SKIP:
            continue
        v = getattr(node, f.name)
        if isinstance(v, list):
            for i, x in enumerate(v):
                if id(x) in mapping:
                    v[i] = mapping[id(x)]
                else:
                    _replace(x, mapping)
        elif id(v) in mapping:
            setattr(node, f.name, mapping[id(v)])
        elif dataclasses.is_dataclass(v) and not isinstance(v, type):
            _replace(v, mapping)


def _tid_value(tok, listed: str = "tid"):
    from stapy.semantic.target_vars import Plan

    n = ast.EntryOp(ast.NumberLit(0, tok=tok), tok=tok)
    n.tv = Plan("tid", text=listed)  # text: the call -p2 -v shows (stap's tid() resolves in the .return probe)
    n.type = LONG
    return n


def _tid_local(probe, tok, listed: str = "tid"):
    """stap's `_entry_tvar_tid = tid()` at the top of a probe; returns the local."""
    var = probe.locals.get("_entry_tvar_tid")
    if var is None:
        var = LocalVar("_entry_tvar_tid", tok=tok, slot=len(probe.locals))
        probe.locals[var.name] = var
        probe.body.statements.insert(0, ast.ExprStmt(ast.Assignment("=", _sym(var, tok), _tid_value(tok, listed),
                                                                    tok=tok), tok=tok))
    return var


def _sym(var, tok):
    s = ast.Symbol(var.name, tok=tok)
    s.referent = var
    return s


def _at(g, indexes, tok):
    return ast.ArrayIndex(_sym(g, tok), indexes, tok=tok)


def _copy_referents(src, dst) -> None:
    for a, b in zip(walk(src), walk(dst)):
        if hasattr(a, "referent") and getattr(a, "referent", None) is not None:
            b.referent = a.referent


def _call_point(p, scope):
    """The Resolved and ProbePoint of the function's ordinary entry probe (stap's synthetic `.call`)."""
    from stapy.semantic.process_points import resolve_process_point
    from stapy.semantic.probe_points import ProbePointError

    comps = [c for c in p.point.components if c.functor != "return"]
    point = ast.ProbePoint(comps, p.point.optional, p.point.sufficient, None, p.point.tok)
    try:
        found = resolve_process_point(point, None)
    except (ProbePointError, Exception):
        found = []
    for r in found:
        site = r.params.get("site")
        if site is not None and site.entry_pc == scope.site.entry_pc:
            r.components = list(r.components) + [ast.ProbePointComponent("call", None, tok=p.point.tok)]
            return r, ast.ProbePoint(list(r.components), p.point.optional, p.point.sufficient, None, p.point.tok)
    return None, None


def save_at_entry(resolver, p, scope) -> None:
    xs: list = []
    _candidates(p.body, xs)
    if not xs:
        return
    r, point = _call_point(p, scope)
    if r is None:
        return  # keep the entry-register evaluation (ctx->entry_regs) the lowering falls back to
    d = resolver.d
    tok = p.tok
    call = ProbeDraft(point=point, chain=list(p.chain), resolved=r, body=ast.Block([], tok=p.body.tok),
                      user_probe=p.user_probe, synthetic=True, tok=tok, file=p.file)
    call.derivation_point = p.point
    prologue, mapping, values = [], {}, []
    ret_tid = None
    for x in xs:
        what = "entry" if isinstance(x, ast.EntryOp) else x.name[1:] if isinstance(x, ast.TargetSymbol) else "cast"
        if not isinstance(x, ast.EntryOp):
            # stap prints the whole target_symbol: `&`, members, indexes, `->$` of a pretty print
            shown = printer.expr(x) if isinstance(x, ast.TargetSymbol) else "..."
            d.reporter.warning(f"confusing usage, value is captured as @entry({shown}) in .return probe "
                               f"[man stapprobes] RETURN PROBES", x.tok)
        name = f"__global_entry_tvar_{what}_{resolver.entry_tick}"
        resolver.entry_tick += 1
        g = GlobalVar(name=name, mangled=name, index_types=[LONG, LONG], synthetic=True, tok=x.tok)
        ctr = GlobalVar(name=name + "_ctr", mangled=name + "_ctr", type=LONG, index_types=[LONG], synthetic=True,
                        tok=x.tok)
        d.globals += [g, ctr]
        src = x.operand if isinstance(x, ast.EntryOp) else x
        value = clone(src)
        _copy_referents(src, value)
        values.append(value)
        xt = x.tok
        if ret_tid is None:
            ret_tid = _tid_local(p, xt, "__global_tid__overload_0")
            call_tid = _tid_local(call, xt)
        call.body.statements.append(ast.ExprStmt(ast.Assignment(
            "=", _at(g, [_sym(call_tid, xt), ast.IncDec("++", _at(ctr, [_sym(call_tid, xt)], xt), True, tok=xt)], xt),
            value, tok=xt), tok=xt))
        tmp = LocalVar(name + "_tmp", tok=xt, slot=len(p.locals))
        p.locals[tmp.name] = tmp
        t = _sym(ret_tid, xt)
        prologue.append(ast.ExprStmt(ast.Assignment(
            "=", _sym(tmp, xt), _at(g, [t, _at(ctr, [_sym(ret_tid, xt)], xt)], xt), tok=xt), tok=xt))
        prologue.append(ast.Delete(_at(g, [_sym(ret_tid, xt), ast.IncDec("--", _at(ctr, [_sym(ret_tid, xt)], xt),
                                                                          False, tok=xt)], xt), tok=xt))
        prologue.append(ast.If(ast.Unary("!", _at(ctr, [_sym(ret_tid, xt)], xt), tok=xt),
                               ast.Delete(_at(ctr, [_sym(ret_tid, xt)], xt), tok=xt), None, tok=xt))
        mapping[id(x)] = _sym(tmp, xt)
    _replace(p.body, mapping)
    p.body.statements[1:1] = prologue  # after `_entry_tvar_tid = tid`
    # resolve the captured expressions where they are evaluated: at the .call probe's pc, current registers.
    # stap named the functions of `$var`/`$$parms` captures in the .return probe's walk: their copies
    # reuse those names; @entry operands get theirs now (the -p2 listing, tv_functions)
    for x, v in zip(xs, values):
        if not isinstance(x, ast.EntryOp):
            resolver.replay[id(v)] = list(getattr(x, "tv_ticks", ()))
    resolver.probe(call)
    d.probes.insert(d.probes.index(p), call)
