"""The Program handed to codegen: types, referents, families, limits (program.py)."""
from __future__ import annotations

import pytest

from stapy.diagnostics import StapError
from stapy.parser import ast
from stapy.semantic.draft import walk
from stapy.semantic.program import LONG, STATS, STRING, FunctionDef, GlobalVar, LocalVar
from tests.unit.semantic.helpers import analyze_text

SCRIPT = """
global counts, total, st
function label:string (n) { return sprintf("n%d", n) }
probe begin(3) { counts[label(1), 2] = "x"; total += strlen(execname()); st <<< 4 }
probe timer.ms(250).randomize(50) { printf("%d %d\\n", total, @count(st)) }
probe end { foreach ([a, b] in counts) println(a, b, counts[a, b]) }
"""


def bodies(program):
    for p in program.probes:
        yield p.body
    for f in program.functions:
        if isinstance(f.body, ast.Block):
            yield f.body


def test_every_expression_typed_and_resolved():
    program, _ = analyze_text(SCRIPT)
    for b in bodies(program):
        for n in walk(b):
            if isinstance(n, ast.Expr) and not isinstance(n, ast.HistOp):
                assert n.type in (LONG, STRING, STATS, None), n
                if not isinstance(n, ast.FunctionCall):
                    assert n.type is not None, n
            if isinstance(n, ast.Symbol):
                assert isinstance(n.referent, (LocalVar, GlobalVar)), n
            if isinstance(n, ast.FunctionCall):
                assert n.referent and all(isinstance(f, FunctionDef) for f in n.referent)


def test_globals_functions_probes():
    program, _ = analyze_text(SCRIPT)
    g = {v.name: v for v in program.globals}
    assert [v.name for v in program.globals] == ["counts", "total", "st"]
    assert (g["counts"].type, g["counts"].index_types) == (STRING, [STRING, LONG])
    assert (g["total"].type, g["st"].type) == (LONG, STATS)
    assert g["st"].stat_ops == {"count"}
    f = {fd.name: fd for fd in program.functions}
    assert f["label"].type == STRING and [(p.name, p.type) for p in f["label"].params] == [("n", LONG)]
    assert f["label"].mangled == "__global_label__overload_0" and not f["label"].native
    assert f["strlen"].native and f["execname"].native and "stable" in f["execname"].pragmas
    assert [fd.mangled for fd in program.functions] == sorted(fd.mangled for fd in program.functions)
    begin, timer, end = program.probes[:3]
    assert (begin.family, begin.params["sequence"], begin.location) == ("begin", 3, "begin(3)")
    assert timer.family == "timer" and timer.params["period_ns"] == 250_000_000
    assert timer.params["randomize_ns"] == 50_000_000 and timer.location == "timer.ms(250).randomize(50)"
    assert [v.name for v in end.locals] == ["a", "b"] and [v.type for v in end.locals] == [STRING, LONG]
    assert [p.index for p in program.probes] == list(range(len(program.probes)))


def test_unread_global_gets_a_dump_probe():
    program, _ = analyze_text("global g, arr; probe begin { g = 1; arr[1] = \"s\" }")
    dumps = [p for p in program.probes if p.synthetic]
    assert [p.family for p in dumps] == ["end", "end"]
    assert [v.name for v in dumps[1].locals] == ["__idx0", "__val"]
    fmt = [n for n in walk(dumps[0].body) if isinstance(n, ast.PrintFormat)][0].format
    assert fmt == "g=%d\\n"


def test_alias_derivation_and_pp():
    program, _ = analyze_text("probe a = begin(2) { x = 1 } probe a { print(x) }")
    p = program.probes[0]
    assert (p.location, p.derivation) == ("begin(2)", "a = begin(2) <- a")
    # pn() is the script-level point (elaborate.cxx derived_probe::script_location): the alias name
    assert p.point_name == "a"
    assert [v.name for v in p.locals] == ["x"]


@pytest.mark.parametrize("text, nesting, recursive", [
    ("probe begin { print(1) }", 1, False),
    ("function g() { return 1 } function f() { return g() } probe begin { print(f()) }", 3, False),
    ("function fact(n) { if (n <= 1) return 1; return n * fact(n - 1) } probe begin { print(fact(3)) }", 12, True),
])
def test_maxnesting(text, nesting, recursive):
    program, _ = analyze_text(text)
    assert (program.limits.MAXNESTING, program.recursive) == (nesting, recursive)


def test_limits_from_defines():
    program, _ = analyze_text("probe begin { print(1) }", defines=(("MAXNESTING", "7"), ("MAXACTION", "50")))
    assert program.limits.MAXNESTING == 7
    assert (program.limits.MAXACTION, program.limits.MAXACTION_INTERRUPTIBLE) == (50, 500)


def test_gopt_value_on_the_global():
    program, _ = analyze_text("global x = 3; probe begin { print(x) }", global_inits=(("x", "0x10"),))
    x = program.global_("x")
    assert (x.init, x.cmdline_init, x.initial_value) == (3, 16, 16)


def test_overload_order_by_priority():
    program, _ = analyze_text("function f(a) { if (a) next; return 1 } function f(a):2 { return 2 } "
                              "function f(a):1 { if (a > 1) next; return 3 } probe begin { print(f(1)) }")
    call = [n for n in walk(program.probes[0].body) if isinstance(n, ast.FunctionCall)][0]
    assert [fd.priority for fd in call.referent] == [0, 1, 2]
    assert [fd.mangled for fd in call.referent] == ["__global_f__overload_0", "__global_f__overload_2",
                                                     "__global_f__overload_1"]


def test_failure_raises_with_diagnostics():
    with pytest.raises(StapError) as e:
        analyze_text("probe begin { x = 1 }")
    assert [d.message for d in e.value.diagnostics][-1] == "no probes found"
