"""`.callee` / `.callees(N)` probes run for real: each hit must come through the calls its probe point
names (stap's _caller_match checks on ustack), on gcc's DWARF 5 call sites (DW_TAG_call_site,
DW_AT_call_return_pc), DWARF 4 ones (DW_TAG_GNU_call_site) and a non-PIE executable.

Expected counts follow tests/targets/dbg_callee.c: foo(3) calls bar(0..2) in its loop then baz(3),
which calls bar(3); main calls foo(3), bar(7) and, through the inlined twice(argc), bar twice more.
bar(x) returns 2x+1 and baz(3) returns bar(3)+3 = 10.  The inlined twice() has no DW_AT_low_pc, so
stap neither probes it nor walks into it: main.callee("bar") is only main's own call.
"""
import pytest

from conftest import build_target, run_stapy

SCRIPT = r'''
global n
probe process("@P@").function("main").callee("bar") { n["main.callee(bar)", usymname(ustack(1))]++ }
probe process("@P@").function("foo").callee("bar") { n["foo.callee(bar)", usymname(ustack(1))]++ }
probe process("@P@").function("baz").callee("bar").call { n["baz.callee(bar).call", usymname(ustack(1))]++ }
probe process("@P@").function("main").callees(2) { n["main.callees(2) " . pn(), ppfunc()]++ }
probe process("@P@").function("main").callees(3) { n["main.callees(3) " . pn(), ppfunc()]++ }
probe process("@P@").function("foo").callee("ba*").return { n["foo.callee(ba*).return " . ppfunc(), sprint($return)]++ }
probe process("@P@").function("bar") { n["bar", ""]++ }
probe end { foreach ([a, b] in n) printf("%s|%s|%d\n", a, b, n[a, b]) }
'''

FLAGS = [("-O2", "-g"), ("-O2", "-gdwarf-4"), ("-O2", "-g", "-no-pie")]


@pytest.fixture(scope="module", params=FLAGS, ids=["dwarf5", "dwarf4", "nopie"])
def hits(request):
    prog = str(build_target("dbg_callee.c", flags=request.param))
    r = run_stapy("-e", SCRIPT.replace("@P@", prog), "-c", prog)
    assert r.returncode == 0, r.stderr
    out = {}
    for line in r.stdout.splitlines():
        if line.count("|") == 2:
            a, b, c = line.split("|")
            out[(a.replace(prog + ".c", "S").replace(prog, "P"), b)] = int(c)
    return out


def test_callee_fires_only_from_the_named_caller(hits):
    assert hits[("bar", "")] == 7
    assert hits[("main.callee(bar)", "main")] == 1
    assert hits[("foo.callee(bar)", "foo")] == 3
    assert hits[("baz.callee(bar).call", "baz")] == 1
    assert not [k for k in hits if k[0].endswith(".callee(bar)") and k[1] not in k[0]]


def _pn(caller, cline, callee, line):
    return f'process("P").function("{caller}@S:{cline}").callee("{callee}@S:{line}")'


def test_callees_n_checks_the_whole_chain(hits):
    two = {k: v for k, v in hits.items() if k[0].startswith("main.callees(2) ")}
    assert two == {
        ("main.callees(2) " + _pn("main", 22, "foo", 13), "foo"): 1,
        ("main.callees(2) " + _pn("main", 22, "bar", 7), "bar"): 1,
        ("main.callees(2) " + _pn("foo", 13, "bar", 7), "bar"): 3,
        ("main.callees(2) " + _pn("foo", 13, "baz", 9), "baz"): 1,
    }
    three = {k: v for k, v in hits.items() if k[0].startswith("main.callees(3) ")}
    assert three[("main.callees(3) " + _pn("baz", 9, "bar", 7), "bar")] == 1    # main -> foo -> baz -> bar
    assert sum(three.values()) == 7


def test_callee_return_sees_each_return_value(hits):
    ret = {k: v for k, v in hits.items() if k[0].startswith("foo.callee(ba*).return")}
    assert ret == {("foo.callee(ba*).return bar", "1"): 1, ("foo.callee(ba*).return bar", "3"): 1,
                   ("foo.callee(ba*).return bar", "5"): 1, ("foo.callee(ba*).return baz", "10"): 1}


TAIL = """__attribute__((noinline)) int bar(int x) { return x * 3; }
__attribute__((noinline)) int tail(int x) { return bar(x + 1); }
int main(int argc, char **argv) { return tail(argc) & 1; }
"""


@pytest.mark.parametrize("flags", [("-O2", "-g"), ("-O2", "-gdwarf-4")], ids=["dwarf5", "dwarf4"])
def test_tail_call_callee_warns_as_stap(flags):
    prog = str(build_target(TAIL, flags=flags, name="tailcall"))
    r = run_stapy("-p2", "-e", f'probe process("{prog}").function("tail").callees {{ println(1) }}')
    assert r.returncode == 0, r.stderr
    # stap 4.8's text for the same program (DW_AT_GNU_tail_call / DW_AT_call_tail_call on the call site)
    assert r.stderr == ('WARNING: Callee "bar" in function "tail" is a tail call: .callee probe may not fire. '
                        'Try placing the probe directly on the callee function instead.\n')


LIB = """__attribute__((noinline)) int bar(int a, int b) { return a % b; }
int foo(int a, int b) { return bar(b - a, b * a) + bar(a, b + 1); }
int other(int a) { return bar(a, 7); }
"""
MAIN = """extern int foo(int, int);
extern int other(int);
int main(int argc, char **argv) { return (foo(argc, 5) + other(argc)) & 0; }
"""


def test_callees_in_a_shared_library_relocate_the_return_addresses():
    """stap's callee.exp 'reloc' case: the caller checks name the library, whose load bias applies."""
    lib = build_target(LIB, flags=("-O", "-g", "-shared", "-fPIC"), name="libcalleereloc")
    prog = str(build_target(MAIN, flags=("-O", "-g", "-Wl,--no-as-needed", str(lib), f"-Wl,-rpath,{lib.parent}"), name="calleereloc"))
    script = (f'probe process("{prog}").library("{lib}").function("foo").callees '
              '{ printf("caller %s callee %s\\n", usymname(ustack(1)), ppfunc()) }')
    r = run_stapy("-e", script, "-c", prog)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "caller foo callee bar\n" * 2        # other()'s call of bar is not foo's
