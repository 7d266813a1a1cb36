"""Pass 2 on process probe points: the -p2 probe lines against the stap 4.8 goldens of
tests/unit/debuginfo/goldens (recorded there by record_goldens.py), through the whole pipeline."""
import io
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "debuginfo"))
from golden_cases import cases, p2_probe_lines, to_golden  # noqa: E402

from stapy.options import Options  # noqa: E402
from stapy.session import Session  # noqa: E402

P2 = [c for c in cases() if c.mode == "-p2"]


def p2(script: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = Session(Options(script_text=script, last_pass=2), out, err).main()
    return status, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("case", P2, ids=[c.name for c in P2])
def test_process_probe_lines_match_stap(case):
    binary = case.build()
    point = case.point.replace("BIN", str(binary))
    status, out, err = p2(f"probe {point} {{ println(1) }}")
    expected = case.golden.read_text().rstrip("\n")
    if not expected:  # stap 4.8 found nothing either
        assert status == 1 and "semantic error: no match" in err
        return
    assert status == 0, err
    got = to_golden("\n".join(p2_probe_lines(out)), binary, case.source_of(binary))
    assert got == expected


PN = [c for c in cases() if c.mode == "-pn"]


@pytest.mark.parametrize("case", PN, ids=[c.name for c in PN])
def test_pn_is_stap_script_location(case):
    """pn() is the point as -l lists it (mark("NAME"), plt("NAME"), CALLER.callee(CALLEE)), pp() the
    concrete one: both as stap 4.8 -p3 names them in its probe table."""
    binary = case.build()
    point = case.point.replace("BIN", str(binary))
    s = Session(Options(script_text=f"probe {point} {{ println(pn()) }}", last_pass=2), io.StringIO(), io.StringIO())
    probes = s.analyze().probes
    got = sorted(f"{p.location} | {p.point_name}" for p in probes if not p.synthetic)
    assert to_golden("\n".join(got), binary, case.source_of(binary)) == case.golden.read_text().rstrip("\n")


def test_derivation_names_the_resolved_point(cbuild):
    binary = cbuild("dbg_basic.c", flags=("-O0", "-g"))
    status, out, err = p2(f'probe process("{binary}").function("add") {{ println(1) }}')
    assert status == 0, err
    line = [l for l in out.splitlines() if l.startswith("process(")][0]
    loc = line.split(" /* ")[0]
    assert line.endswith(f"/* <- {loc} */") and "add@" in loc


def test_no_match_suggests_similar_functions(cbuild):
    binary = cbuild("dbg_basic.c", flags=("-O0", "-g"))
    status, out, err = p2(f'probe process("{binary}").function("ad") {{ println(1) }}')
    assert status == 1
    assert "semantic error: while resolving probe point: identifier 'process' at <input>:1:7\n" in err
    assert "\nsemantic error: no match (similar functions: add, " in err


def test_process_begin_and_bare_process_under_c(cbuild):
    binary = cbuild("dbg_basic.c", flags=("-O0", "-g"))
    status, out, err = p2(f'probe process("{binary}").begin {{ println(1) }}')
    assert status == 0 and f'process("{binary}").begin /* <- process("{binary}").begin */' in out
    out2, err2 = io.StringIO(), io.StringIO()
    opts = Options(script_text='probe process.function("add") { println(1) }', last_pass=2, target_cmd=str(binary))
    assert Session(opts, out2, err2).main() == 0, err2.getvalue()
    assert f'process("{binary}").function("add@' in out2.getvalue()


@pytest.mark.parametrize("point,expected", [
    ('process("libc.so.6").function("malloc")', "semantic error: cannot find executable 'libc.so.6'\n"),
    ('process("./nonexist").function("malloc")', "semantic error: no match\n"),
])
def test_missing_executables_as_stap_says(point, expected):
    """Texts recorded from stap 4.8 -p2."""
    status, out, err = p2(f"probe {point} {{ println(1) }}")
    assert status == 1 and expected in err and "source:" in err


def test_lifecycle_points_keep_paths_stap_cannot_find():
    status, out, err = p2('probe process("nonexist").begin { println(1) }')
    assert status == 0 and 'process("nonexist").begin /* <- process("nonexist").begin */' in out


# stap48 -p2 of LIBRARY_POINTS (recorded with /work/shared/tools/stap48; @HOST@/@LIB@ = the built files): a
# library's probe is named by the library file, its `<-` chain keeps process(HOST).library(LIB)
LIBRARY_P2 = '''\
process("@LIB@").function("lib_count@@LIB@.c:7") /* pc=.dynamic+0x1115 */ /* <- process("@HOST@").library("@LIB@").function("lib_count@@LIB@.c:7") */
process("@LIB@").function("lib_hidden@@LIB@.c:14") /* pc=.dynamic+0x114e */ /* <- process("@HOST@").library("@LIB@").function("lib_hidden@@LIB@.c:14") */
process("@LIB@").function("lib_apply@@LIB@.c:16") /* pc=.dynamic+0x1169 */ /* <- process("@HOST@").library("@LIB@").function("lib_apply@@LIB@.c:16") */
process("@LIB@").statement(0x1030) /* pc=.dynamic+0x1030 */ /* <- process("@HOST@").library("@LIB@").statement(0x1030) */'''


def test_library_derivation_keeps_the_process(cbuild):
    lib = cbuild("dbg_lib.c", flags=("-O0", "-g", "-shared", "-fPIC"))
    host = cbuild('int lib_count(const char*);\nint main(void){return lib_count("x")!=2;}\n',
                  flags=("-O0", "-g", "-Wl,--no-as-needed", str(lib), "-Wl,-rpath," + str(lib.parent)), name="libhost")
    status, out, err = p2(f'probe process("{host}").library("{lib.name}").function("lib_*") {{ println(1) }} '
                          f'probe process("{host}").library("{lib.name}").plt("strlen") {{ println(1) }}')
    assert status == 0, err
    lines = [ln.replace(str(lib), "@LIB@").replace(str(host), "@HOST@") for ln in out.splitlines()
             if ln.startswith("process(")]
    assert "\n".join(lines) == LIBRARY_P2


# stap48 -p2 (stderr) on dbg_callee.c -O0: 0x1146 lies inside line 7's record at 0x1140; 0x1020 is in .plt
STMT_MID = '''\
semantic error: address 0x1146 does not match the beginning of a statement (try 0x1140)

semantic error: while resolving probe point: identifier 'process' at <input>:1:7
        source: probe process("@BIN@").statement(0x1146){println(1)}
                      ^

semantic error: no match

Pass 2: analysis failed.  [man error::pass2]
'''
STMT_MID_OPTIONAL = '''\
semantic error: address 0x1146 does not match the beginning of a statement (try 0x1140)

Pass 2: analysis failed.  [man error::pass2]
'''
STMT_PLT = '''\
semantic error: while resolving probe point: identifier 'process' at <input>:1:7
        source: probe process("@BIN@").statement(0x1020){println(1)}
                      ^

semantic error: no match

Pass 2: analysis failed.  [man error::pass2]
'''


def test_statement_address_must_start_a_line_record(cbuild):
    binary = str(cbuild("dbg_callee.c", flags=("-O0", "-g")))
    status, out, err = p2(f'probe process("{binary}").statement(0x1146){{println(1)}}')
    assert status == 1 and err == STMT_MID.replace("@BIN@", binary)
    status, out, err = p2(f'probe process("{binary}").statement(0x1146)?{{println(1)}} probe begin{{}}')
    assert status == 1 and err == STMT_MID_OPTIONAL            # even a `?` point fails pass 2
    status, out, err = p2(f'probe process("{binary}").statement(0x1020){{println(1)}}')
    assert status == 1 and err == STMT_PLT.replace("@BIN@", binary)
    status, out, err = p2(f'probe process("{binary}").statement(0x1140){{println(1)}}')
    assert status == 0 and err == ""


def test_statement_address_mid_line_under_guru_warns(cbuild):
    binary = str(cbuild("dbg_callee.c", flags=("-O0", "-g")))
    out, err = io.StringIO(), io.StringIO()
    status = Session(Options(script_text=f'probe process("{binary}").statement(0x1146){{println(1)}}', last_pass=2,
                             guru=True), out, err).main()
    assert status == 0
    assert err.getvalue() == "WARNING: address 0x1146 does not match the beginning of a statement (try 0x1140)\n"
    assert (f'process("{binary}").statement(0x1146) /* pc=.dynamic+0x1146 */ /* <- process("{binary}")'
            '.statement(0x1146) */') in out.getvalue()


# stap48 -p2 (stderr) on dbg_inline.c: at -O0 square is never inlined, so .inline (and .exported: it is
# static) match nothing, though the symbol table has it; at -O2 it is only inlined, so .return warns
NOT_INLINED = '''\
semantic error: while resolving probe point: identifier 'process' at <input>:1:7
        source: probe process("@BIN@").function("square").@SUFFIX@{println(1)}
                      ^

semantic error: no match (similar functions: square, _start, main, _fini, _init)

Pass 2: analysis failed.  [man error::pass2]
'''
ONLY_INLINED_RETURN = '''\
WARNING: cannot probe .return of 1 inlined functions  square
semantic error: while resolving probe point: identifier 'process' at <input>:1:7
        source: probe process("@BIN@").function("square").return{println(1)}
                      ^

semantic error: no match (similar functions: square, _start, main, atoi, _fini)

Pass 2: analysis failed.  [man error::pass2]
'''


@pytest.mark.parametrize("suffix", ["inline", "exported"])
def test_function_filters_fail_in_pass_2(cbuild, suffix):
    binary = str(cbuild("dbg_inline.c", flags=("-O0", "-g")))
    status, out, err = p2(f'probe process("{binary}").function("square").{suffix}{{println(1)}}')
    assert status == 1 and err == NOT_INLINED.replace("@BIN@", binary).replace("@SUFFIX@", suffix)


def test_return_of_an_only_inlined_function_warns(cbuild):
    binary = str(cbuild("dbg_inline.c", flags=("-O2", "-g")))
    status, out, err = p2(f'probe process("{binary}").function("square").return{{println(1)}}')
    assert status == 1 and err == ONLY_INLINED_RETURN.replace("@BIN@", binary)


# stap48 -p2 (stderr) for a suffix no process pattern continues with [elaborate.cxx build_with_suffix]; the
# suffix's token prints with an empty file name, as stap 4.8 does
INVALID_SUFFIX = '''\
semantic error: while resolving probe point: identifier 'process' at <input>:1:7
        source: @SCRIPT@
                      ^

semantic error: invalid suffix for probe: @TOKEN@ at :1:@COL@
        source: @SCRIPT@
                @CARET@^

Pass 2: analysis failed.  [man error::pass2]
'''


@pytest.mark.parametrize("suffix,bad,token", [
    ("statement(0x1140).return", "return", "keyword"), ("statement(\"main@*.c:21\").call", "call", "identifier 'call'"),
    ("function(0x1140).inline", "inline", "identifier 'inline'"), ("function(\"main\").call.return", "return", "keyword"),
    ("function(\"main\").return.maxactive(3)", "maxactive", "identifier 'maxactive'"),
    ("function(\"main\").label(\"x\").return", "return", "keyword")])
def test_invalid_suffixes(cbuild, suffix, bad, token):
    binary = str(cbuild("dbg_callee.c", flags=("-O0", "-g")))
    script = f'probe process("{binary}").{suffix}{{println(1)}}'
    status, out, err = p2(script)
    col = script.index("." + bad) + 2
    want = (INVALID_SUFFIX.replace("@SCRIPT@", script).replace("@TOKEN@", token).replace("@COL@", str(col))
            .replace("@CARET@", " " * (col - 1)))
    assert status == 1 and err == want


# stap48 -p2's last error line for names that match nothing [tapsets.cxx suggest_marks / suggest_plt_functions]
@pytest.mark.parametrize("target,point,want", [
    ("dbg_sdt.c", 'mark("strt")', "no match (similar marks: start, args, tick, busy, mixed)"),
    ("dbg_sdt.c", 'provider("pv").mark("arg")', "no match (similar marks: args, start, busy, mixed)"),
    ("dbg_basic.c", 'plt("prinf")', "no match (similar functions: printf, strcmp, strcpy, sleep)")])
def test_no_match_suggests_marks_and_plt_names(cbuild, target, point, want):
    binary = cbuild(target, flags=("-O0", "-g"))
    status, out, err = p2(f'probe process("{binary}").{point}{{println(1)}}')
    assert status == 1 and f"\nsemantic error: {want}\n" in err


def test_library_no_match_suggests_nothing(cbuild):
    lib = cbuild("dbg_lib.c", flags=("-O0", "-g", "-shared", "-fPIC"))
    host = cbuild('int lib_count(const char*);\nint main(void){return lib_count("x")!=2;}\n',
                  flags=("-O0", "-g", "-Wl,--no-as-needed", str(lib), "-Wl,-rpath," + str(lib.parent)), name="libhost")
    status, out, err = p2(f'probe process("{host}").library("{lib.name}").function("lib_coun") {{ println(1) }}')
    assert status == 1 and "\nsemantic error: no match\n" in err       # stap48 -p2 says just that


NODEBUG = "int f(int x){return x*2;}\nint main(void){return f(1)-2;}\n"


def test_module_without_dwarf(cbuild):
    """stap48 -p2: function/statement queries on a file without DWARF warn once; function("f") still finds
    the symbol, statement("f") does not (only function names consult the symbol table); .plt does not warn."""
    binary = str(cbuild(NODEBUG, flags=("-O0",), name="nodebug"))
    warn = (f"WARNING: cannot find module {binary} debuginfo: No DWARF information found "
            "[man warning::debuginfo]\n")
    status, out, err = p2(f'probe process("{binary}").function("f"){{print(1)}}')
    assert status == 0 and err == warn and f'process("{binary}").function("f") /* pc=' in out
    status, out, err = p2(f'probe process("{binary}").statement("f"){{print(1)}}')
    assert status == 1 and err.startswith(warn + "semantic error: while resolving probe point") and \
        "\nsemantic error: no match\n" in err
    status, out, err = p2(f'probe process("{binary}").plt{{print(1)}} probe begin {{}}')
    assert "WARNING: cannot find module" not in err
