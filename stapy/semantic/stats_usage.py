"""Pass: which aggregate operators each statistic needs (stap's semantic_pass_stats).

Records on every STATS global the @-operators applied to it and its
histogram shape, so codegen allocates only what is used.  Two different
histograms on one statistic are an error, as in stap.
"""
from __future__ import annotations

from stapy.parser import ast
from stapy.semantic.draft import Draft, walk
from stapy.semantic.program import GlobalVar


def _stat_global(e):
    s = e.stat
    if isinstance(s, ast.ArrayIndex):
        s = s.base
    if isinstance(s, ast.Symbol) and isinstance(s.referent, GlobalVar):
        return s.referent
    return None


def run(d: Draft) -> Draft:
    bodies = [p.body for p in d.probes] + [f.body for f in d.functions.values() if isinstance(f.body, ast.Block)]
    for b in bodies:
        for n in walk(b):
            if isinstance(n, ast.StatOp):
                g = _stat_global(n)
                if g is None:
                    continue
                shift = n.params[0].value if n.params and isinstance(n.params[0], ast.NumberLit) else 0
                if shift < 0 or shift > 62:
                    d.reporter.error(f"bit shift ({shift}) out of range <0..62>", n.tok, key="bit shift range")
                    return d
                g.stat_ops.add(n.op)
                if n.op == "variance":
                    if g.variance_shift and shift != g.variance_shift:
                        d.reporter.error(f"conflicting bit shifts declared (previously {g.variance_shift})", n.tok,
                                         key="bit shift conflict")
                        return d
                    g.variance_shift = shift
            elif isinstance(n, ast.HistOp):
                g = _stat_global(n)
                if g is None:
                    continue
                if n.kind == "log":
                    shape = ("log",)
                else:
                    shape = ("linear",) + tuple(getattr(p, "value", None) for p in n.params)
                if g.histograms and g.histograms[0] != shape:
                    d.reporter.error(f"multiple histogram types declared on '{g.mangled}'", n.tok)
                elif not g.histograms:
                    g.histograms.append(shape)
            elif isinstance(n, ast.Foreach) and n.sort_aggregate and isinstance(n.array, ast.Symbol):
                g = n.array.referent
                if isinstance(g, GlobalVar):
                    g.stat_ops.add(n.sort_aggregate)
    return d
