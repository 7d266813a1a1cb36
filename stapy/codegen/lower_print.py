"""Lowering of the print family.

A printf format is split at compile time into literal pieces and one native
formatting call per conversion (stp_fmt_*); `print`-style calls append their
values straight to the output buffer.  printf builds into the 8192-byte
scratch buffer (stap's one-printf limit) and then writes it out; sprintf
builds into a MAXSTRINGLEN temporary (cut at 511).
"""
from __future__ import annotations

from dataclasses import dataclass

from stapy.codegen.irbuilder import PTR, c32, c64, decode_stap_string
from stapy.codegen.lower_expr import translation_error
from stapy.parser import ast
from stapy.runtime.native import helpers as H

FLAG_BITS = {"-": H.FMT_LEFT, "+": H.FMT_PLUS, " ": H.FMT_SPACE, "#": H.FMT_SPECIAL, "0": H.FMT_ZEROPAD}
CONVERSIONS = "diuoxXpscbmM"


@dataclass
class Conv:
    flags: int
    width: object  # None, int, or '*'
    prec: object  # None, int, or '*'
    conv: str


def parse_format(fmt: bytes) -> list:
    """Split a decoded format into bytes literals and Conv pieces (stap's one-flag grammar)."""
    pieces: list = []
    lit = bytearray()
    i = 0
    n = len(fmt)
    while i < n:
        c = fmt[i]
        if c != 0x25:  # '%'
            lit.append(c)
            i += 1
            continue
        i += 1
        if i < n and fmt[i] == 0x25:
            lit.append(0x25)
            i += 1
            continue
        flags = 0
        if i < n and chr(fmt[i]) in FLAG_BITS:
            flags = FLAG_BITS[chr(fmt[i])]
            i += 1
        width = None
        if i < n and fmt[i] == 0x2A:
            width = "*"
            i += 1
        else:
            j = i
            while i < n and 0x30 <= fmt[i] <= 0x39:
                i += 1
            if i > j:
                width = int(fmt[j:i])
        prec = None
        if i < n and fmt[i] == 0x2E:
            i += 1
            if i < n and fmt[i] == 0x2A:
                prec = "*"
                i += 1
            else:
                j = i
                while i < n and 0x30 <= fmt[i] <= 0x39:
                    i += 1
                prec = int(fmt[j:i]) if i > j else 0
        if i < n and fmt[i] == 0x6C:  # 'l'
            i += 1
        if i >= n or chr(fmt[i]) not in CONVERSIONS:
            raise ValueError("invalid or missing conversion specifier")
        if lit:
            pieces.append(bytes(lit))
            lit = bytearray()
        pieces.append(Conv(flags, width, prec, chr(fmt[i])))
        i += 1
    if lit:
        pieces.append(bytes(lit))
    return pieces


class PrintLowering:
    """Mixin of the per-function lowerer: print, println, printf, printd(ln) and their s-forms."""

    def expr_PrintFormat(self, e):
        name = e.name
        to_string = name.startswith("s")
        base = name[1:] if to_string else name
        if to_string:
            buf = self.fb.temp_str()
            size = c64(self.fb.mb.maxstringlen)
        else:
            buf = self.globals.printf_buf
            size = c64(H.PRINTF_MAX)
        hist = getattr(e, "hist", None)
        if hist is not None:  # print(@hist_*(s)) / sprint(@hist_*(s))
            stat = self.stat_object(hist.stat)
            if to_string:
                n = self.checked("stp_stat_hist_format", [self.fb.ctx, stat, buf, c64(0), size], "aggregate", e.tok)
                self.helper("stp_fmt_finish", [buf, n, size])
                return buf
            self.checked("stp_out_hist", [self.fb.ctx, self.globals.out, stat], "aggregate", e.tok)
            return None
        if base == "printf":
            try:
                pieces = parse_format(decode_stap_string(e.format or ""))
            except ValueError as err:
                raise translation_error(str(err), e.tok)
            values = self.printf_args(pieces, e.args, e.tok)
            length = c64(0)
            for piece, vals in zip(pieces, values):
                length = self.fmt_piece(buf, length, size, piece, vals, e.tok)
        else:
            items: list = []
            delim = decode_stap_string(e.delimiter) if e.delimiter is not None else None
            values = [(a, self.print_value(a)) for a in e.args]
            for k, (a, v) in enumerate(values):
                if k and delim:
                    items.append(delim)
                items.append((a, v))
            if base.endswith("ln"):
                items.append(b"\n")
            if not to_string and not any(isinstance(it, tuple) and isinstance(it[0], ast.HistOp) for it in items):
                return self.print_direct(items)
            length = c64(0)
            for it in items:
                if isinstance(it, bytes):
                    length = self.fmt_piece(buf, length, size, it, None, e.tok)
                    continue
                a, v = it
                if isinstance(a, ast.HistOp):
                    if to_string:
                        length = self.checked_len("stp_stat_hist_format", [self.fb.ctx, v, buf, length, size], e.tok)
                    else:
                        self.helper("stp_out_write", [self.globals.out, buf, length])
                        self.checked("stp_out_hist", [self.fb.ctx, self.globals.out, v], "aggregate", a.tok)
                        length = c64(0)
                elif v.type == PTR:
                    length = self.helper("stp_fmt_str", [buf, length, size, v, c32(0), c64(-1), c64(-1)])
                else:
                    length = self.helper("stp_fmt_num", [buf, length, size, v, c32(H.FMT_SIGN), c64(-1), c64(-1), c32(10)])
        if to_string:
            self.helper("stp_fmt_finish", [buf, length, size])
            return buf
        self.helper("stp_out_write", [self.globals.out, buf, length])
        return None

    def print_value(self, a):
        if isinstance(a, ast.HistOp):
            return self.stat_object(a.stat)
        return self.expr(a)

    def print_direct(self, items) -> None:
        out = self.globals.out
        for it in items:
            if isinstance(it, bytes):
                if len(it) == 1:
                    self.helper("stp_out_char", [out, c64(it[0])])
                else:
                    self.helper("stp_out_str", [out, self.fb.str_const(it)])
                continue
            _, v = it
            if v.type == PTR:
                self.helper("stp_out_str", [out, v])
            else:
                self.helper("stp_out_long", [out, v])
        return None

    def checked_len(self, name, args, tok):
        n = self.checked(name, args, "aggregate", tok)
        return n

    def printf_args(self, pieces, args, tok) -> list:
        """Evaluate the arguments in order; one tuple (width, prec, value) per piece."""
        out = []
        k = 0

        def take():
            nonlocal k
            if k >= len(args):
                raise translation_error("Wrong number of args to formatted print operator", tok)
            a = args[k]
            k += 1
            return self.expr(a)

        for p in pieces:
            if isinstance(p, bytes):
                out.append(None)
                continue
            w = take() if p.width == "*" else None
            pr = take() if p.prec == "*" else None
            out.append((w, pr, take()))
        if k != len(args):
            raise translation_error("Wrong number of args to formatted print operator", tok)
        return out

    def fmt_piece(self, buf, length, size, piece, vals, tok):
        if isinstance(piece, bytes):
            piece = piece.split(b"\0", 1)[0]  # stap copies a literal piece as a C string: up to its NUL
            if not piece:
                return length
            return self.helper("stp_fmt_lit", [buf, length, size, self.fb.str_const(piece), c64(len(piece))])
        w, pr, v = vals
        # a `*` argument is clamped to [0, room] (translate.cxx), so a negative one is 0, never "absent"
        width = self.helper("stp_fmt_star", [w]) if w is not None else c64(-1 if piece.width is None else piece.width)
        prec = self.helper("stp_fmt_star", [pr]) if pr is not None else c64(-1 if piece.prec is None else piece.prec)
        flags = piece.flags
        c = piece.conv
        if c in "di":
            return self.helper("stp_fmt_num", [buf, length, size, v, c32(flags | H.FMT_SIGN), width, prec, c32(10)])
        if c in "uoxXp":
            base = {"u": 10, "o": 8, "x": 16, "X": 16, "p": 16}[c]
            if c == "X":
                flags |= H.FMT_LARGE
            if c == "p":
                flags |= H.FMT_SPECIAL
            return self.helper("stp_fmt_num", [buf, length, size, v, c32(flags), width, prec, c32(base)])
        if c == "s":
            return self.helper("stp_fmt_str", [buf, length, size, v, c32(flags), width, prec])
        if c == "c":
            return self.helper("stp_fmt_char", [buf, length, size, v, c32(flags), width])
        if c == "b":
            return self.helper("stp_fmt_bin", [buf, length, size, v, c32(flags), width, prec])
        if c in "mM":
            reader = self.user_reader()
            n = self.helper("stp_fmt_mem", [self.fb.ctx, buf, length, size, v, c32(flags), width, prec,
                                            c32(1 if c == "M" else 0), reader])
            bad = self.b.icmp_signed("<", n, c64(0))
            fb = self.fb
            fail, ok = fb.new_block("fmtmem.fail"), fb.new_block("fmtmem.ok")
            self.b.cbranch(bad, fail, ok)
            self.b.position_at_end(fail)
            fb.set_error(fb.new_site("format", tok), None)
            self.b.branch(fb.current_fixup())
            self.b.position_at_end(ok)
            return n
        raise translation_error("invalid or missing conversion specifier", tok)
