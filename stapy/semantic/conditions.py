"""Pass: probe-point conditions (stap's semantic_pass_conditions).

`probe P if (cond)` runs only while cond holds: the handler starts with
`if (!(cond)) next`.  stap also adds a synthetic empty `begin` probe that
evaluates the conditions once at start-up; it shows in -p2, so we add it too.
"""
from __future__ import annotations

from stapy.parser import ast
from stapy.semantic.derive_probes import Resolved
from stapy.semantic.draft import Draft, ProbeDraft, clone


def run(d: Draft) -> Draft:
    any_condition = False
    for p in d.probes:
        cond = p.point.condition
        if cond is None:
            continue
        any_condition = True
        guard = ast.If(ast.Unary("!", clone_resolved(cond), tok=cond.tok), ast.Next(tok=cond.tok), tok=cond.tok)
        p.body = ast.Block([guard] + list(p.body.statements), tok=p.body.tok)
    if any_condition:
        first = d.probes[0] if d.probes else None
        tok = first.tok if first else None
        point = ast.ProbePoint([ast.ProbePointComponent("begin", tok=tok)], tok=tok)
        user = ast.Probe([point], ast.Block([], tok=tok), tok=tok)
        d.probes.append(ProbeDraft(point=point, chain=[user], resolved=Resolved("begin", {"sequence": 0}),
                                   body=ast.Block([], tok=tok), user_probe=user, synthetic=True, tok=tok))
    return d


def clone_resolved(e):
    """A copy of a resolved expression that keeps its referents (conditions name globals only)."""
    c = clone(e)
    from stapy.semantic.draft import walk
    for a, b in zip(walk(e), walk(c)):
        if hasattr(a, "referent"):
            b.referent = a.referent
    return c
