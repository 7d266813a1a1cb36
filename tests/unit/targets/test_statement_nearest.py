"""statement("F@FILE:N").nearest snaps a line without code to the nearest one with code (within 5 lines of
F; a tie goes to the later line), and without .nearest stap says which lines would do.  Expected
texts were recorded from stap 4.8 (-p2) on the same target (tests/targets/dbg_callee.c, -O0)."""
import pytest

from conftest import build_target, run_stapy

NO_RECORDS = {
    'statement("main@*.c:21")': "no line records for @SRC@:21 [man error::dwarf] (try :23)",
    'statement("main@*.c:100")': "no line records for @SRC@:100 [man error::dwarf]",
    'statement("*@*.c:6")': "no line records for @SRC@:6 [man error::dwarf] (try :7)",
    'statement("main@*.c+0")': "no line records for @SRC@:22 [man error::dwarf] (try :23)",
}

STAP48 = """semantic error: @ADVICE@

semantic error: while resolving probe point: identifier 'process' at <input>:1:7
        source: probe process("@BIN@").@POINT@ { println(1) }
                      ^

semantic error: no match

Pass 2: analysis failed.  [man error::pass2]
"""


@pytest.fixture(scope="module")
def prog():
    return str(build_target("dbg_callee.c", flags=("-O0", "-g")))


@pytest.mark.parametrize("point", sorted(NO_RECORDS))
def test_no_line_records_says_which_lines_would_do(prog, point):
    r = run_stapy("-p2", "-e", f'probe process("{prog}").{point} {{ println(1) }}')
    assert r.returncode == 1
    want = STAP48.replace("@ADVICE@", NO_RECORDS[point]).replace("@POINT@", point)
    assert r.stderr == want.replace("@SRC@", prog + ".c").replace("@BIN@", prog)


def test_nearest_probes_the_snapped_line(prog):
    script = f'''
    global n
    probe process("{prog}").statement("bar@*.c:8").nearest {{ n[pp(), pn()]++ }}
    probe process("{prog}").statement("main@*.c:21").nearest {{ n[pp(), pn()]++ }}
    probe end {{ foreach ([a, b] in n) printf("%s|%s|%d\\n", a, b, n[a, b]) }}
    '''
    r = run_stapy("-e", script, "-c", prog)
    assert r.returncode == 0, r.stderr
    src = prog + ".c"
    lines = set(r.stdout.replace(src, "S").replace(prog, "P").splitlines())
    # bar (line 7) runs 7 times (see test_callee.py), main once; pp() is the probed line, pn() the line
    # asked for with .nearest (stap48 -p3's .pn: its script location, as -l lists it)
    assert 'process("P").statement("bar@S:7")|process("P").statement("bar@S:8").nearest|7' in lines
    assert 'process("P").statement("main@S:23")|process("P").statement("main@S:21").nearest|1' in lines
