"""Number conversion, printf format checking and version comparison rules."""
from __future__ import annotations

import pytest

from stapy.parser.build import number_value
from stapy.parser.preprocess import strverscmp
from stapy.parser.tokens import check_format


@pytest.mark.parametrize("text,neg,value", [
    ("0", False, 0), ("010", False, 8), ("0x1f", False, 31), ("0XFF", False, 255),
    ("9223372036854775807", False, 2**63 - 1), ("9223372036854775808", False, -2**63),
    ("18446744073709551615", False, -1), ("9223372036854775808", True, -2**63),
    ("08", False, None), ("0x", False, None), ("1abc", False, None),
    ("18446744073709551616", False, None), ("9223372036854775809", True, None),
])
def test_number_value_is_strtoull_with_stap_ranges(text, neg, value):
    assert number_value(text, neg) == value


@pytest.mark.parametrize("fmt,err", [
    ("%d %s %%\\n", None), ("%-5.3s %#x %+d % d %0*d %.*s %lu", None), ("%p %c %b %m %M %X %o", None),
    ("%q", "invalid or missing conversion specifier"), ("%", "invalid or missing conversion specifier"),
    ("%5", "trailing incomplete print format conversion"),
    ("%-", "trailing incomplete print format conversion"), ("%l", None),
])
def test_format_checks(fmt, err):
    assert check_format(fmt) == err


@pytest.mark.parametrize("a,b,sign", [
    ("2.6.32", "2.6.9", 1), ("5.15.0-91-generic", "5.15", 1), ("4.0", "4.0", 0),
    ("3.10", "3.9", 1), ("1.01", "1.1", -1), ("000", "00", -1), ("a", "b", -1),
])
def test_strverscmp(a, b, sign):
    assert strverscmp(a, b) == sign
    assert strverscmp(b, a) == -sign
