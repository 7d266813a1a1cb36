"""Codegen unit tests on hand-built Programs: IR verifies, the exception table is right, the cache is used."""
from __future__ import annotations

import io

import pytest
from llvmlite import binding as llvm

from stapy.codegen.jit import compile_program, lookup_cached
from stapy.codegen.listing import print_translated
from stapy.codegen.lower_print import Conv, parse_format
from stapy.codegen.translate import translate
from stapy.options import Options
from stapy.runtime.native import helpers as H
from stapy.runtime.run import run_program

from . import handmade


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))


def test_ir_verifies_and_declares_handlers():
    t = translate(handmade.arith_program(), Options(script_text="a"))
    mod = llvm.parse_assembly(t.ir_text)
    mod.verify()
    names = {f.name for f in mod.functions}
    assert {"stapy_probe_0", "stapy_init", "stapy_flush"} <= names


def test_exception_table_rows():
    t = translate(handmade.division_error_program(), Options(script_text="b"))
    site = t.exctable.sites[0]
    assert (site.id, site.kind, site.location, site.fixup) == (1, "division", "<input>:1:21", "abort")
    assert site.token == "operator '/' at <input>:1:21"
    out = io.StringIO()
    print_translated(t, Options(), out)
    text = out.getvalue()
    assert "define i32 @\"stapy_probe_0\"" in text or "define i32 @stapy_probe_0" in text
    assert "\n1 <input>:1:21 division abort\n" in text


def test_division_error_runs_as_stap_says():
    o = Options(script_text="division")
    c = compile_program(translate(handmade.division_error_program(), o), o)
    out, err = io.StringIO(), io.StringIO()
    assert run_program(c, o, out, err) == 1
    assert out.getvalue() == ""  # no end probe after an error
    assert err.getvalue().splitlines() == [
        "ERROR: division by 0 near operator '/' at <input>:1:21 in probe begin",
        "WARNING: Number of errors: 1, skipped probes: 0",
        "Pass 5: run failed.  [man error::pass5]",
    ]


def test_run_and_cache_hit():
    o = Options(script_text="arith-program")
    c1 = compile_program(translate(handmade.arith_program(), o), o)
    assert not c1.cached
    out, err = io.StringIO(), io.StringIO()
    assert run_program(c1, o, out, err) == 0
    assert out.getvalue() == "abcd 3\n"
    c2 = lookup_cached(o)
    assert c2 is not None and c2.cached and c2.object_path == c1.object_path
    out2 = io.StringIO()
    assert run_program(c2, o, out2, io.StringIO()) == 0
    assert out2.getvalue() == "abcd 3\n"
    assert lookup_cached(Options(script_text="something else")) is None


def test_parse_format_one_flag_grammar():
    assert parse_format(b"a%-5dz%%") == [b"a", Conv(H.FMT_LEFT, 5, None, "d"), b"z%"]
    assert parse_format(b"%*.*s") == [Conv(0, "*", "*", "s")]
    assert parse_format(b"%+05d") == [Conv(H.FMT_PLUS, 5, None, "d")]  # a 0 after a flag is width
    for bad in (b"%-#x", b"%lld", b"%hd", b"abc%"):
        with pytest.raises(ValueError):
            parse_format(bad)


def test_p3_listing_through_the_pipeline():
    pytest.importorskip("stapy.parser.frontend")
    from stapy.session import Session

    out, err = io.StringIO(), io.StringIO()
    script = "function f(x) { return 10 / x } probe begin { try { println(f(0)) } catch { exit() } }"
    assert Session(Options(script_text=script, last_pass=3), out, err).main() == 0
    text = out.getvalue()
    llvm.parse_assembly(text.split("; exception table:")[0]).verify()
    rows = text.split("; exception table: id FILE:LINE:COL kind fixup\n")[1].splitlines()
    # the division in f aborts f (no try around it there); the call to f sits inside the probe's try
    assert "<input>:1:27 division abort" in [r.split(" ", 1)[1] for r in rows]
    assert any(r.endswith("<input>:1:61 call catch") for r in rows)
