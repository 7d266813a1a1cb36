"""The `no match (similar functions: ...)` of a misspelt function: stap 4.8 suggests from the symbol
table's names (mangled, for C++) plus the DWARF names of inline functions [tapsets.cxx
suggest_dwarf_functions].  Expected texts recorded with stap48 -p2 on the same targets."""
import pytest

from conftest import build_target, run_stapy

CASES = [
    ("dbg_cpp.cc", ("-O0", "-g"), "twic", "main, _init, _fini, _start, _Z4overi"),
    ("dbg_cpp.cc", ("-O2", "-g"), "ns::Box::gt", "get, _init, _start, main, over"),
    ("dbg_cpp.cc", ("-O2", "-g"), "ns::helpr", "helper, over, get, main, _ZN2ns6helperEi"),
    ("dbg_cpp.cc", ("-O2", "-g"), "get@dbg*", "get, over, _init, _start, helper"),
    ("dbg_inline.c", ("-O2", "-g"), "squre", "square, _start, atoi, main, _fini"),
    ("dbg_callee.c", ("-O2", "-g"), "twce", "twice, bar, baz, foo, _start"),
]


@pytest.mark.parametrize("target,flags,func,want", CASES, ids=[f"{c[0]}{c[1][0]}-{c[2]}" for c in CASES])
def test_similar_functions_as_stap(target, flags, func, want):
    prog = build_target(target, flags=flags)
    r = run_stapy("-p2", "-e", f'probe process("{prog}").function("{func}") {{ println(1) }}')
    assert r.returncode == 1
    assert f"semantic error: no match (similar functions: {want})\n" in r.stderr
