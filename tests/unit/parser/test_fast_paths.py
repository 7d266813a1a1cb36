"""The parser's fast paths agree with the slow ones they stand in for.

The lexer's regex fast path must give exactly the tokens of the
character-at-a-time scanner; the LALR tables must not depend on the
interpreter's hash seed (the syntax-error table is keyed by state number);
the tables' disk cache must survive being damaged; a macro that invokes
itself must end in an error, not loop (stap 4.8 loops forever).
"""
from __future__ import annotations

import glob
import os
import subprocess
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from stapy.diagnostics import SourceFile
from stapy.parser import lalr
from stapy.parser.frontend import parse_text
from stapy.parser.lexer import Lexer

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
CORPUS = sorted(glob.glob(os.path.join(REPO, "tests", "parse", "*", "*.stp")))


def _fields(t):
    return (t.kind, t.text, t.line, t.col, t.ws_before, t.junk)


def fast_tokens(text, args=()):
    return [_fields(t) for t in Lexer(SourceFile("x", text), args=args).tokens()]


def slow_tokens(text, args=()):
    lx = Lexer(SourceFile("x", text), args=args)
    out = []
    while (t := lx._scan(False)) is not None:
        out.append(_fields(t))
    return out


def test_fast_lexer_matches_slow_lexer_on_the_corpus():
    assert len(CORPUS) > 100
    for path in CORPUS:
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            text = f.read()
        assert fast_tokens(text, ("1", "a b")) == slow_tokens(text, ("1", "a b")), path


PIECES = ["x", "$y", "@z", "$1", "@1", "$#", "@#", "$$", "12", "0x1f", '"s"', '"a\\nb"', '"q\\"r"',
          '"a\\\nb"', '"open', "%{ c %}", "%{ x }%", "/* c */", "/*/", "# c\n", "// c\n", "\n",
          " ", "\t", "<<<", ">>=", "->", "%(", "%?", "%:", "%)", "%", "/", "*", "\x01", "é", "\\", "'"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=30), st.booleans())
def test_fast_lexer_matches_slow_lexer_on_any_text(pieces, glue):
    text = ("" if glue else " ").join(pieces)
    assert fast_tokens(text, ("7", "$1")) == slow_tokens(text, ("7", "$1"))


def test_tables_do_not_depend_on_the_hash_seed():
    code = ("import json, hashlib; from stapy.parser import lalr;"
            "print(hashlib.sha256(json.dumps(lalr._from_lark()).encode()).hexdigest())")
    digests = set()
    for seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        p = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True,
                           text=True, check=True)
        digests.add(p.stdout.strip())
    assert len(digests) == 1


def test_damaged_table_cache_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(lalr, "_TABLES", None)
    built = lalr.tables()
    (path,) = glob.glob(str(tmp_path / "stapy" / "lalr-*.marshal"))
    monkeypatch.setattr(lalr, "_TABLES", None)
    assert lalr.tables().actions == built.actions  # read back from the cache
    with open(path, "wb") as f:
        f.write(b"\x00garbage")
    monkeypatch.setattr(lalr, "_TABLES", None)
    again = lalr.tables()
    assert (again.actions, again.rules, again.digest) == (built.actions, built.rules, built.digest)


def test_self_invoking_macro_ends_in_an_error():
    import pytest

    from stapy.diagnostics import StapError

    with pytest.raises(StapError) as e:
        parse_text("@define m %( 1 + @m %)\nprobe begin { x = @m }\n")
    messages = [d.message for d in e.value.diagnostics]
    assert messages[0] == "macro expansion too deep (does a macro invoke itself?)"
