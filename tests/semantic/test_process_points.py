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
