"""Mutation fuzz of the ok corpus: pass 1 never raises anything but StapError.

Random token deletions, insertions, duplications and swaps must end in
either a clean parse or stap-style diagnostics, never a Python traceback.
"""
from __future__ import annotations

import io
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stapy.diagnostics import SourceFile
from stapy.options import Options
from stapy.parser.lexer import Lexer
from stapy.session import Session

CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ok")
TEXTS = []
for name in sorted(os.listdir(CORPUS)):
    if name.endswith(".stp"):
        with open(os.path.join(CORPUS, name)) as f:
            TEXTS.append(f.read())

INSERTS = ["(", ")", "{", "}", "[", "]", ",", ";", "=", "+", "probe", "global", "function", "if",
           "else", "in", "@count", "@hist_log", '"s"', "1", "x", ".", "?", "!", ":", "->", "$x", "$",
           "%(", "%)", "%?", "%:", "@x", "@define", "%{ c %}", "*", "foreach", "try", "catch",
           "\x01", '"unterminated', "/*", "$1", "@1", "$#", "limit", "+=", "<<<", "printf"]


def token_spans(text):
    lines = text.split("\n")
    offs = [0]
    for line in lines:
        offs.append(offs[-1] + len(line) + 1)
    toks = list(Lexer(SourceFile("x", text), args=("1",)).tokens())
    starts = [offs[t.line - 1] + t.col - 1 for t in toks]
    return [(s, starts[i + 1] if i + 1 < len(starts) else len(text)) for i, s in enumerate(starts)]


@st.composite
def mutated(draw):
    text = draw(st.sampled_from(TEXTS))
    for _ in range(draw(st.integers(1, 3))):
        spans = token_spans(text)
        if not spans:
            break
        s0, s1 = spans[draw(st.integers(0, len(spans) - 1))]
        op = draw(st.sampled_from(["delete", "insert", "dup", "swap", "truncate"]))
        if op == "delete":
            text = text[:s0] + text[s1:]
        elif op == "insert":
            text = text[:s0] + draw(st.sampled_from(INSERTS)) + " " + text[s0:]
        elif op == "dup":
            text = text[:s1] + " " + text[s0:s1] + text[s1:]
        elif op == "truncate":
            text = text[:s1]
        else:
            j = [k for k, sp in enumerate(spans) if sp == (s0, s1)][0]
            if j + 1 < len(spans):
                t0, t1 = spans[j + 1]
                text = text[:s0] + text[t0:t1] + " " + text[s0:s1] + text[t1:]
    return text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(), st.booleans())
def test_mutations_never_crash(text, guru):
    out, err = io.StringIO(), io.StringIO()
    rc = Session(Options(script_text=text, last_pass=1, guru=guru, args=("1",)), out, err).main()
    assert rc in (0, 1)
    if rc == 0:
        assert out.getvalue().startswith("# parse tree dump\n")
    else:
        assert "Traceback" not in err.getvalue()
        assert "Pass 1: parse failed." in err.getvalue()
