"""Pass: the static call depth that sizes MAXNESTING (translate.cxx recursion_info).

MAXNESTING is the longest chain of distinct nested calls plus one for the
probe's own frame, plus 10 when any function (mutually) recurses; so a
lone recursive fact() gives 12 (LANGUAGE.md section 11).  -D MAXNESTING wins.
Also fills the other limits from -D.
"""
from __future__ import annotations

from stapy.parser import ast
from stapy.semantic.draft import Draft, walk
from stapy.semantic.program import Limits


def _calls(fd):
    if not isinstance(fd.body, ast.Block):
        return []
    out = []
    for n in walk(fd.body):
        if isinstance(n, ast.FunctionCall):
            out.extend(n.referent or ())
    return out


def call_depth(functions) -> tuple[int, bool]:
    """(longest chain of distinct nested calls, whether anything recurses)."""
    best, recursive = 0, False
    memo: dict = {}

    def depth(fd, stack):
        nonlocal recursive
        if id(fd) in memo:
            return memo[id(fd)]
        stack.append(fd)
        d = 1
        for callee in _calls(fd):
            if any(callee is s for s in stack):
                recursive = True
                continue
            d = max(d, 1 + depth(callee, stack))
        stack.pop()
        memo[id(fd)] = d
        return d

    for fd in functions:
        best = max(best, depth(fd, []))
    return best, recursive


def run(d: Draft) -> Draft:
    longest, recursive = call_depth([d.functions[k] for k in sorted(d.functions)])
    nesting = longest + 1 + (10 if recursive else 0)
    o = d.options
    d.recursive = recursive
    d.limits = Limits(
        MAXNESTING=o.define("MAXNESTING", nesting),
        MAXSTRINGLEN=o.define("MAXSTRINGLEN", 512),
        MAXACTION=o.define("MAXACTION", 1000),
        MAXACTION_INTERRUPTIBLE=o.define("MAXACTION_INTERRUPTIBLE", 10 * o.define("MAXACTION", 1000)),
        MAXMAPENTRIES=o.define("MAXMAPENTRIES", 2048),
        MAXERRORS=o.define("MAXERRORS", 0),
        MAXSKIPPED=o.define("MAXSKIPPED", 100),
        MAXBACKTRACE=o.define("MAXBACKTRACE", 20),
        HIST_WIDTH=o.define("HIST_WIDTH", 50),
        HIST_ELISION=o.define("HIST_ELISION", 2),
    )
    return d
