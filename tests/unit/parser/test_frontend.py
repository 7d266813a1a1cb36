"""parse_pass / parse_text / Tapsets: the interfaces other rooms use."""
from __future__ import annotations

import io
import os

import pytest

from stapy.diagnostics import StapError
from stapy.options import Options
from stapy.parser import ast as A
from stapy.parser.frontend import Tapsets, parse_pass, parse_text
from stapy.session import Session


def run(**kw):
    out, err = io.StringIO(), io.StringIO()
    rc = Session(Options(last_pass=1, **kw), out, err).main()
    return rc, out.getvalue(), err.getvalue()


def test_parse_text_builds_located_ast():
    f = parse_text("global g = 3\nfunction f:long(x) { return x + g }\nprobe begin { f(1) }\n")
    (g,), (fn,), (p,) = f.globals, f.functions, f.probes
    assert (g.name, g.init, g.tok.line, g.tok.col) == ("g", A.NumberLit(3), 1, 8)
    assert (fn.name, fn.type, [x.name for x in fn.params]) == ("f", "long", ["x"])
    ret = fn.body.statements[0]
    assert isinstance(ret, A.Return) and ret.value.op == "+" and ret.value.tok.col == 31
    assert p.points[0].components[0].functor == "begin"


def test_parse_text_raises_stap_error():
    with pytest.raises(StapError) as e:
        parse_text("probe begin { x = }")
    assert [d.message for d in e.value.diagnostics] == ["expected literal string or number",
                                                         "1 parse error."]


def test_missing_and_empty_files(tmp_path):
    rc, out, err = run(script_file=str(tmp_path / "nope.stp"))
    assert (rc, err) == (1, f"Input file '{tmp_path}/nope.stp' is missing.\n"
                            "Pass 1: parse failed.  [man error::pass1]\n")
    empty = tmp_path / "e.stp"
    empty.write_text("# only a comment\n")
    rc, out, err = run(script_file=str(empty))
    assert err == f"Input file '{empty}' is empty.\nPass 1: parse failed.  [man error::pass1]\n"
    rc, out, err = run(script_text='%( arch == "nope" %? probe begin {} %)')
    assert err.startswith("Input file '<input>' is empty after preprocessing.\n")


def test_extra_scripts_are_input1_input2():
    rc, out, err = run(script_text="probe begin {}", extra_scripts=("probe end {}", "global x"))
    assert rc == 0
    assert out == ("# parse tree dump\n# file <input>\nprobe begin{\n}\n# file <input1>\nprobe end{\n}\n"
                   "# file <input2>\nglobal x\n\n")


def test_file_script_uses_its_path(tmp_path):
    p = tmp_path / "s.stp"
    p.write_text("probe begin { x = ) }\n")
    rc, out, err = run(script_file=str(p))
    assert f"saw: operator ')' at {p}:1:19\n" in err


def test_used_args_are_reported():
    parsed = parse_pass(Options(script_text="probe begin { x = $2 }", args=("a", "1")), io.StringIO())
    assert parsed.used_args == {1}


def test_tapsets_parse_lazily_and_cache():
    t = Tapsets(Options())
    assert t._files is None
    files = t.files()
    assert files and all(f.privileged for f in files)
    assert t.files() is files
    again = Tapsets(Options()).files()
    assert [id(f) for f in again] == [id(f) for f in files]  # cached by path+mtime


def test_tapset_dirs_include_dashI(tmp_path):
    (tmp_path / "mine.stp").write_text("function mine:long() { return 7 }\n")
    t = Tapsets(Options(include_dirs=(str(tmp_path),)))
    assert [f.name for f in t.find_function("mine")] == ["mine"]
    assert t.find_function("mine")[0].file.name == os.path.join(str(tmp_path), "mine.stp")


def test_tapset_parse_depends_on_the_macros_in_force():
    """A library parsed without the .stpm macros (user_string uses @MAXSTRINGLEN) must not be
    handed to a session that has them, in memory or on disk."""
    from stapy.parser.frontend import load_library_macros

    bare = Tapsets(Options())
    bare.files()
    full = Tapsets(Options(), load_library_macros(Options()))
    assert full.find_function("user_string")


def test_parsed_tapsets_are_cached_on_disk(tmp_path):
    import subprocess
    import sys

    code = ("from stapy.parser.frontend import Tapsets, load_library_macros; from stapy.options import Options;"
            "o = Options(); t = Tapsets(o, load_library_macros(o));"
            "print(sorted(fn.name for f in t.files() for fn in f.functions)[:5], len(t.files()))")
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path))
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    cached = list((tmp_path / "stapy").glob("tapsets-*.pickle"))
    assert len(cached) == 1
    second = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert first.stdout == second.stdout and first.stdout.strip()
