"""Pass: the caller checks of `.callee` / `.callees(N)` probes [tapsets.cxx dwarf_derived_probe, "adding
caller checks for callee"].

A callee probe sits on the callee's entry, which every caller reaches; stap keeps only the calls made
from the call sites it found by putting, in front of the probe's body, one check per call on the way:

    if (!(_caller_match(1, LEVEL, "MODULE", ".dynamic", 0xRETURN_ADDRESS))) next

highest level first (LEVEL is one less in .return probes).  The probe also remembers the well-formed
point it was derived from, `function(CALLER@file:line).callee(CALLEE@file:line)`: the `/* <- */` chain of
-p2 and pn() show it, while pp() shows `function(CALLEE@file:line)`.

Every user-space probe with a debuginfo site also gets its pn() point here (the site's -l text: stap's
script location), and library probes their `<-` chain point (`process(EXE).library(LIB)...`).
"""
from __future__ import annotations

from stapy.parser import ast
from stapy.semantic.draft import Draft, clone


def _check(level: int, module: str, section: str, addr: int, tok) -> ast.Stmt:
    call = ast.FunctionCall("_caller_match", [ast.NumberLit(1, tok=tok), ast.NumberLit(level, tok=tok),
                                              ast.StringLit(module, tok=tok), ast.StringLit(section, tok=tok),
                                              ast.NumberLit(addr, tok=tok, hex=True)], tok=tok)
    return ast.If(ast.Unary("!", call, tok=tok), ast.Next(tok=tok), None, tok=tok)


def _point(text: str, like: ast.ProbePoint) -> ast.ProbePoint:
    from stapy.semantic.process_points import _components_of

    tok = like.components[0].tok if like.components else like.tok
    comps = _components_of(text, tok)
    for c in comps:                      # only addresses print in hex: callees(2) stays decimal
        if isinstance(c.arg, ast.NumberLit) and c.functor not in ("function", "statement"):
            c.arg.hex = False
    return ast.ProbePoint(comps, like.optional, like.sufficient, like.condition, like.tok)


def run(d: Draft) -> Draft:
    # The probes one point resolved to share one body AST; later passes rewrite bodies per probe
    # (stable_calls hoists pp() into a probe's own local), so each probe gets its own copy.
    seen: set[int] = set()
    for p in d.probes:
        if id(p.body) in seen:
            p.body = clone(p.body)
        seen.add(id(p.body))
    for p in d.probes:
        params = getattr(p.resolved, "params", None)
        site = params.get("site") if isinstance(params, dict) else None
        if site is None:
            continue
        if not any(isinstance(c, ast.ProbeAlias) for c in p.chain):
            # pn() is stap's script location: the last well-formed point of the derivation, which
            # is what -l lists (mark("NAME"), plt("NAME"), library("/abs").function("f@file:line"));
            # an alias's own name wins over it [elaborate.cxx derived_probe::script_location]
            p.script_point = _point(site.pp, p.point)
        if getattr(site, "derivation", None) is None:
            continue
        if getattr(site, "tail_call", ""):
            d.reporter.warning(f'Callee "{site.function}" in function "{site.tail_call}" is a tail call: '
                               ".callee probe may not fire. Try placing the probe directly on the callee "
                               "function instead.")
        p.derivation_point = _point(site.derivation, p.point)
        if not site.caller_checks:
            continue
        tok = p.tok
        checks = [_check(level, site.module, site.caller_section, addr, tok) for level, addr in site.caller_checks]
        p.body = ast.Block(checks + [p.body], tok=p.body.tok)
    return d
