"""Lexer rules from parse.cxx lexer::scan (values reasoned from the C code, checked with stap48)."""
from __future__ import annotations

import pytest

from stapy.diagnostics import SourceFile
from stapy.parser.lexer import Lexer, quote_arg


def lex(text, args=()):
    used = set()
    toks = list(Lexer(SourceFile("<input>", text), args=args, used_args=used).tokens())
    return [(t.kind, t.text) for t in toks], toks, used


def test_operators_longest_match():
    kinds, _, _ = lex("<<< >>> <<= >>= <<= == != =~ !~ -> ++ -- %( %? %: %) .= <<<=")
    assert [t for _, t in kinds] == ["<<<", ">>>", "<<=", ">>=", "<<=", "==", "!=", "=~", "!~",
                                      "->", "++", "--", "%(", "%?", "%:", "%)", ".=", "<<<", "="]


def test_keywords_identifiers_atwords():
    kinds, _, _ = lex("probe foo $bar $$vars @cast @foo next x$y")
    assert kinds == [("keyword", "probe"), ("identifier", "foo"), ("identifier", "$bar"),
                     ("identifier", "$$vars"), ("operator", "@cast"), ("operator", "@foo"),
                     ("keyword", "next"), ("identifier", "x$y")]


def test_numbers_are_alnum_runs():
    kinds, _, _ = lex("0x1f 08 1abc 1.5")
    assert kinds == [("number", "0x1f"), ("number", "08"), ("number", "1abc"), ("number", "1"),
                     ("operator", "."), ("number", "5")]


def test_string_escapes_kept_or_dropped():
    kinds, _, _ = lex(r'"a\nb\q\"c\\d\101\x41"')
    assert kinds == [("string", r"a\nbq" + '"' + r"c\\d\101\x41")]


def test_comments_and_glue_whitespace():
    _, toks, _ = lex("a/*x*/b c#z\nd//q\ne")
    assert [t.text for t in toks] == ["a", "b", "c", "d", "e"]
    assert [t.ws_before for t in toks] == [False, True, True, True, True]


def test_unclosed_string_and_embedded_are_junk():
    _, toks, _ = lex('"abc\n')
    assert toks[0].kind == "junk" and toks[0].junk == "Could not find matching closing quote"
    _, toks, _ = lex("%{ abc")
    assert toks[0].junk == "Could not find matching '%}' to close embedded function block"


def test_unknown_character_is_named_junk():
    _, toks, _ = lex("\x01")
    assert (toks[0].kind, toks[0].text, toks[0].junk) == ("junk", "\\x01", "")


def test_dollar_args_paste_raw_and_keep_location():
    kinds, toks, used = lex("x = $1 + @2 + $# + @#", args=("5+5", 'a"b'))
    texts = [t.text for t in toks]
    assert texts == ["x", "=", "5", "+", "5", "+", 'a"b', "+", "2", "+", "2"]
    assert [(t.line, t.col) for t in toks[2:5]] == [(1, 5)] * 3
    assert (toks[5].line, toks[5].col) == (1, 8)
    assert used == {0, 1}


def test_bad_argument_references():
    _, toks, _ = lex("$3", args=("a",))
    assert toks[0].junk == "command line argument out of range [1-1]"
    _, toks, _ = lex("$1", args=("$1",))
    assert toks[0].junk == "invalid nested substitution of command line arguments"


@pytest.mark.parametrize("arg,quoted", [("a", '"a"'), ('x"y', '"x\\"y"'), ("a\\b", '"a\\\\b"'),
                                        ("\t", '"\\011"')])
def test_quote_arg_is_lex_cast_qstring(arg, quoted):
    assert quote_arg(arg) == quoted
