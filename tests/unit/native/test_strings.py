"""String helpers and the string tapset, through the compiled code.

Expected values follow tapset/string.stp, tokenize.stp and runtime/stp_string.c
(_stp_text_str), reasoned by hand where noted.
"""
import ctypes

import pytest

from native_jit import native

N = native()


def call(fn, *args):
    d = N.s()
    fn(d, *[N.s(a) if isinstance(a, (str, bytes)) else a for a in args])
    return d.value


def test_copy_cuts_at_511():
    assert call(N.stp_str_copy, "x" * 600) == b"x" * 511
    assert call(N.stp_str_copy, "abc") == b"abc"


def test_concat_cuts_and_tolerates_aliasing():
    assert call(N.stp_str_concat, "a" * 300, "b" * 300) == b"a" * 300 + b"b" * 211
    a = N.s("foo")
    N.stp_str_concat(a, a, a)
    assert a.value == b"foofoo"
    b = N.s("tail")
    N.stp_str_concat(b, N.s("head-"), b)
    assert b.value == b"head-tail"
    c = N.s("x")
    N.stp_str_append(c, N.s("yz"))
    assert c.value == b"xyz"


@pytest.mark.parametrize("a,b,sign", [("a", "b", -1), ("b", "a", 1), ("", "a", -1), ("ab", "ab", 0),
                                      ("ab", "abc", -1), (b"\xff", b"a", 1)])
def test_compare_is_strcmp_order(a, b, sign):
    r = N.stp_str_cmp(N.s(a), N.s(b))
    assert (r > 0) - (r < 0) == sign


def test_strlen():
    assert N.stp_strlen(N.s("hello")) == 5
    assert N.stp_strlen(N.s("")) == 0


@pytest.mark.parametrize("s,start,length,expected", [
    ("hello", 1, 3, b"ell"), ("hello", 0, 100, b"hello"), ("hello", 1, 100, b"ello"),
    ("hello", -1, 2, b""), ("hello", 5, 2, b""), ("hello", 2, 0, b""), ("hello", 2, -1, b""),
    ("hello", 4, 1, b"o"), ("", 0, 1, b""),
])
def test_substr(s, start, length, expected):
    assert call(N.stp_substr, s, start, length) == expected


def test_stringat():
    ctx = N.ctx()
    out = ctypes.c_int64()
    assert N.stp_stringat(ctx, N.s("abc"), 1, ctypes.byref(out)) == 0 and out.value == ord("b")
    assert N.stp_stringat(ctx, N.s(b"\xe9"), 0, ctypes.byref(out)) == 0 and out.value == -23  # a signed char
    assert N.stp_stringat(ctx, N.s("abc"), 3, ctypes.byref(out)) == 1
    assert ctx.errmsg == b"Position out of bounds" and out.value == 0
    assert N.stp_stringat(ctx, N.s("abc"), -1, ctypes.byref(out)) == 1


def test_isinstr_strpos():
    assert N.stp_isinstr(N.s("hello"), N.s("ll")) == 1
    assert N.stp_isinstr(N.s("hello"), N.s("lo!")) == 0
    assert N.stp_isinstr(N.s("hello"), N.s("")) == 1
    assert N.stp_strpos(N.s("hello"), N.s("l")) == 2
    assert N.stp_strpos(N.s("hello"), N.s("")) == 0
    assert N.stp_strpos(N.s("hello"), N.s("z")) == -1
    assert N.stp_strpos(N.s("aaab"), N.s("aab")) == 1


def test_str_replace():
    assert call(N.stp_str_replace, "aXbXc", "X", "YY") == b"aYYbYYc"
    assert call(N.stp_str_replace, "abc", "", "Z") == b"abc"
    assert call(N.stp_str_replace, "abc", "abc", "") == b""
    assert call(N.stp_str_replace, "aaaa", "aa", "b") == b"bb"
    assert call(N.stp_str_replace, "x" * 300, "x", "yy") == b"y" * 511
    s = N.s("one two")
    N.stp_str_replace(s, s, N.s("o"), N.s("0"))
    assert s.value == b"0ne tw0"


# tapset/string.stp: strtol is the kernel's simple_strtol (a leading '-' only, no whitespace skip, base 0
# guesses 0x/0/10, "0x" skipped for base 16, digits 0-9a-f below the base, no saturation: u64 wrap)
@pytest.mark.parametrize("s,base,expected", [("0x1f", 16, 31), ("1f", 16, 31), ("  -12abc", 10, 0), ("-12abc", 10, -12),
                                             ("777", 8, 511), ("0x10", 0, 16), ("010", 0, 8), ("0x", 0, 0), ("0xg", 0, 0),
                                             ("12", 0, 12), ("zz", 10, 0), ("101", 2, 5), ("+5", 10, 0), ("0XFF", 16, 255),
                                             ("AbC", 16, 2748), ("z", 36, 0),
                                             ("99999999999999999999", 10, 99999999999999999999 - 5 * (1 << 64))])
def test_strtol(s, base, expected):
    assert N.stp_strtol(N.s(s), base) == expected


def test_isdigit():
    assert N.stp_isdigit(N.s("9a")) == 1
    assert N.stp_isdigit(N.s("a9")) == 0
    assert N.stp_isdigit(N.s("")) == 0


def test_tokenize_skips_empty_tokens_and_keeps_state():
    state = ctypes.create_string_buffer(N.M + 16)
    d = N.s()

    def tok(inp, delim):
        N.stp_tokenize(d, state, N.s(inp), N.s(delim))
        return d.value

    assert tok("", ",") == b""  # nothing saved yet
    assert tok(",a,,b c,", ", ") == b"a"
    assert tok("", ", ") == b"b"
    assert tok("", ", ") == b"c"
    assert tok("", ", ") == b""
    assert tok("", ", ") == b""
    assert tok("x:y", ":") == b"x"  # a new input restarts
    assert tok("", "") == b"y"  # an empty delimiter set returns the rest
    assert tok("", ":") == b""


TEXT = [
    ("a\tb\x7f", b"a\\tb\\177"),
    ("\a\b\f\n\r\v", b"\\a\\b\\f\\n\\r\\v"),
    ('q"b\\', b'q\\"b\\\\'),
    ("\x01", b"\\001"),
    ("é", b"\\u00E9"),  # to_hex_digit() is uppercase
    ("😀", b"\\U0001F600"),
    (b"\xc3(", b"\\303("),  # a bad continuation is taken verbatim
    (b"\xc0\x80", b"\\300\\200"),  # an overlong form is taken verbatim
    (b"\xed\xa0\x80", b"\\355\\240\\200"),  # a UTF-16 surrogate is rejected
]


@pytest.mark.parametrize("s,expected", TEXT)
def test_text_str(s, expected):
    assert call(N.stp_text_str, s) == expected


def test_string_quoted():
    assert call(N.stp_string_quoted, 'a\nb"c') == b'"a\\nb\\"c"'
    assert call(N.stp_string_quoted, "") == b'""'


def test_string_quoted_cut():
    # outlen = 511-2 = 509 characters; the 510th does not fit, so the last 3 give way to `"...`
    assert call(N.stp_string_quoted, "a" * 511) == b'"' + b"a" * 506 + b'"...'
    # exactly 509 characters fit without a cut
    assert call(N.stp_string_quoted, "a" * 509) == b'"' + b"a" * 509 + b'"'
    # an escape straddling the cut point is removed whole: 505 a's, \001 (written at 506..509), then b's
    assert call(N.stp_string_quoted, "a" * 505 + "\x01bbbb") == b'"' + b"a" * 505 + b'"...'


def test_text_strn():
    assert call(N.stp_text_strn, "abcdef", 3, 0) == b"abc"
    assert call(N.stp_text_strn, "abcdef", 0, 0) == b"abcdef"  # 0 means MAXSTRINGLEN
    # quoted, len 10: 8 characters of room, cut leaves `"abcde"...` (10 long)
    assert call(N.stp_text_strn, "abcdefghijklmnop", 10, 1) == b'"abcde"...'
    assert call(N.stp_text_strn, "abc", 10, 1) == b'"abc"'
    # len below 5 is raised to 5 for the quotes: `""...`
    assert call(N.stp_text_strn, "abcdef", 2, 1) == b'""...'


def test_strtol_testsuite():
    """testsuite/systemtap.string/strtol.{stp,exp}"""
    got = [N.stp_strtol(N.s(t), base) for t, base in [("1", 10), ("-1", 10), ("123456789", 10), ("-123456789", 10),
                                                       ("abcdef", 10), ("1a2b3c4d5e6f7g8h9", 10), (" 1 2 3 4", 10),
                                                       ("", 10), ("1000", 10), ("1000", 16), ("1000", 8), ("1000", 2)]]
    assert got == [1, -1, 123456789, -123456789, 0, 1, 0, 0, 1000, 4096, 512, 8]


def test_string_quoted_utf_overlong():
    """testsuite/systemtap.base/utf_overlong.{stp,exp}: overlong forms raw octal, the rest uppercase \\u/\\U."""
    assert call(N.stp_string_quoted, b"\300\200 \301\277 \302\200 \337\277") == \
        b'"\\300\\200 \\301\\277 \\u0080 \\u07FF"'
    assert call(N.stp_string_quoted, b"\340\200\200 \340\237\277 \340\240\200 \357\277\277") == \
        b'"\\340\\200\\200 \\340\\237\\277 \\u0800 \\uFFFF"'
    assert call(N.stp_string_quoted, b"\360\200\200\200 \360\217\277\277 \360\220\200\200 \364\217\277\277") == \
        b'"\\360\\200\\200\\200 \\360\\217\\277\\277 \\U00010000 \\U0010FFFF"'


def buffer_quoted(data: bytes, inlen: int, outlen: int) -> bytes:
    d = N.s()
    src = ctypes.create_string_buffer(data, max(len(data), 1))
    N.stp_text_buffer_quoted(d, src, inlen, outlen)
    return d.value


def test_text_buffer_quoted():
    """_stp_text_str(..., quoted=1, user, buffer=1) as user_buffer_quoted calls it (stp_string.c)."""
    # a NUL is escaped `\\0` (and counts 4 of outlen), not the end of the buffer
    assert buffer_quoted(b"ab\0c\n", 5, 20) == b'"ab\\0c\\n"'
    # outlen 8 -> 6 characters of room; cut: `"abc"...`
    assert buffer_quoted(b"abcdefghij", 10, 8) == b'"abc"...'
    # a NUL that does not fit ends the loop with c == 0: no "..." even though it was cut
    assert buffer_quoted(b"ab\0", 3, 5) == b'"ab"'
    # only inlen bytes are taken
    assert buffer_quoted(b"abcdef", 2, 20) == b'"ab"'
