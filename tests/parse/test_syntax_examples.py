"""Every recorded bad example (stapy/parser/syntax_examples.tsv, stap48's first error for
each script in syntax_examples.txt) gets stap's message and saw/at/EOF form from stapy.

A few could in principle depend on things one LALR state cannot tell apart;
the test bounds those and lists them when it fails.
"""
from __future__ import annotations

from stapy.diagnostics import SourceFile
from stapy.parser.frontend import load_library_macros
from stapy.parser.parse import parse_source
from stapy.parser.syntax_errors import _load_examples

KNOWN_LIMIT = 5  # of ~1270; currently none


def first_error(script):
    res = parse_source(SourceFile("<input>", script), None, library_macros=load_library_macros())
    for d in res.diagnostics:
        if d.prefix == "parse error":
            tok = d.token
            if tok is None:
                form = "eof"
            elif getattr(d, "explicit", False) or (tok.kind == "junk" and tok.junk):
                form = "at"
            else:
                form = "saw"
            return d.message, form
    return None, None


def test_recorded_examples_reproduce_stap_messages():
    wrong = []
    examples = _load_examples()
    for form, msg, script in examples:
        if first_error(script) != (msg, form):
            wrong.append((script[-80:], msg, form, first_error(script)))
    assert len(examples) > 1000
    assert len(wrong) <= KNOWN_LIMIT, "\n".join(map(repr, wrong))
