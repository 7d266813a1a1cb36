"""Just enough of stap's print-format parser for pass 2: which arguments a format wants.

The parser room rejects bad formats in pass 1; here a format is split into
its conversions so type inference can check the argument count and types.
"""
from __future__ import annotations

from dataclasses import dataclass

from stapy.semantic.program import LONG, STRING


@dataclass
class Conversion:
    conv: str  # d i u o x X p s c b m M
    dynamic_width: bool = False
    dynamic_precision: bool = False

    @property
    def wanted(self) -> str:
        return STRING if self.conv == "s" else LONG


def conversions(fmt: str) -> list[Conversion]:
    out = []
    i, n = 0, len(fmt)
    while i < n:
        if fmt[i] != "%":
            i += 1
            continue
        i += 1
        if i < n and fmt[i] == "%":
            i += 1
            continue
        while i < n and fmt[i] in "-+ #0":
            i += 1
        dw = dp = False
        if i < n and fmt[i] == "*":
            dw = True
            i += 1
        while i < n and fmt[i].isdigit():
            i += 1
        if i < n and fmt[i] == ".":
            i += 1
            if i < n and fmt[i] == "*":
                dp = True
                i += 1
            while i < n and fmt[i].isdigit():
                i += 1
        while i < n and fmt[i] in "lLhqjzt":
            i += 1
        if i < n:
            out.append(Conversion(fmt[i], dw, dp))
            i += 1
    return out


def expected_args(fmt: str) -> int:
    return sum(1 + c.dynamic_width + c.dynamic_precision for c in conversions(fmt))
