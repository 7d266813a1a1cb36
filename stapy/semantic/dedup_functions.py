"""Pass: merge functions with identical signatures and bodies (stap's semantic_pass_opt6; off with -u).

The first one in mangled-name order is kept; calls to the others are
redirected to it.  It changes which functions -p2 lists.
"""
from __future__ import annotations

from stapy.parser import ast
from stapy.semantic.draft import Draft, walk


def _signature(fd):
    return (fd.type, tuple((p.name, p.type) for p in fd.params), fd.body)


def run(d: Draft) -> Draft:
    if d.options.unoptimized:
        return d
    kept: list = []
    replaced: dict = {}
    for name in sorted(d.functions):
        fd = d.functions[name]
        sig = _signature(fd)
        same = None
        if isinstance(fd.body, ast.Block):  # native placeholders all look alike; never merge them
            same = next((k for k in kept if isinstance(k.body, ast.Block) and _signature(k) == sig), None)
        if same is not None:
            replaced[id(fd)] = same
        else:
            kept.append(fd)
    if not replaced:
        return d
    bodies = [p.body for p in d.probes] + [f.body for f in kept if isinstance(f.body, ast.Block)]
    for b in bodies:
        for n in walk(b):
            if isinstance(n, ast.FunctionCall) and n.referent:
                n.referent = [replaced.get(id(f), f) for f in n.referent]
    d.functions = {f.mangled: f for f in kept}
    return d
