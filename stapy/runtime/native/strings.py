"""String helpers and the string tapset functions (tapset/string.stp, tokenize.stp, stp_string.c).

Strings are NUL-terminated buffers of MAXSTRINGLEN bytes: at most
MAXSTRINGLEN-1 characters, longer results cut silently.  Every helper that
writes a string tolerates `dst` aliasing its inputs (it builds into a
stack buffer or moves bytes in a safe order).
"""
from __future__ import annotations

from stapy.runtime.native.irkit import I8, I32, I64, PTR, Fn, c64


def build(lib):
    m = lib.limits.maxstringlen
    strlen = lib.external("strlen", I64, [PTR])
    lib.external("strtol", I64, [PTR, PTR, I32])

    def slen(f, s):
        return f.b.call(strlen, [s])

    # ---- internal: bounded length of a string (never past m-1)
    f = Fn(lib, "stp_i_strnlen", I64, [PTR, I64], ["s", "max"], internal=True)
    i = f.var(I64, 0)
    with f.while_(lambda: f.lt(f.get(i), f["max"])):
        f.break_if(f.eq(f.ld8(f["s"], f.get(i)), 0))
        f.inc(i)
    f.finish(f.get(i))

    # ---- internal: index of needle in hay from 0, or -1 (naive strstr)
    f = Fn(lib, "stp_i_strstr", I64, [PTR, PTR], ["hay", "needle"], internal=True)
    nl = slen(f, f["needle"])
    hl = slen(f, f["hay"])
    pos = f.var(I64, 0)
    with f.while_(lambda: f.le(f.b.add(f.get(pos), nl), hl)):
        j = f.var(I64)
        f.set(j, c64(0))
        with f.while_(lambda: f.lt(f.get(j), nl)):
            a = f.ld8(f["hay"], f.b.add(f.get(pos), f.get(j)))
            bb = f.ld8(f["needle"], f.get(j))
            f.break_if(f.ne(a, bb))
            f.inc(j)
        f.return_if(f.eq(f.get(j), nl), f.get(pos))
        f.inc(pos)
    f.finish(c64(-1))

    # ---- copy / concat / append / compare
    f = Fn(lib, "stp_str_copy", "void", ["ptr", "ptr"], ["dst", "src"])
    n = f.call("stp_i_strnlen", f["src"], c64(m - 1))
    f.memmove(f["dst"], f["src"], n)
    f.st8(f["dst"], n, 0)
    f.finish()

    f = Fn(lib, "stp_str_concat", "void", ["ptr", "ptr", "ptr"], ["dst", "a", "b"])
    la = f.call("stp_i_strnlen", f["a"], c64(m - 1))
    lb = f.call("stp_i_strnlen", f["b"], f.b.sub(c64(m - 1), la))
    # b first, then a: safe whether dst is a, b, both or neither
    f.memmove(f.at(f["dst"], la), f["b"], lb)
    f.memmove(f["dst"], f["a"], la)
    f.st8(f["dst"], f.b.add(la, lb), 0)
    f.finish()

    f = Fn(lib, "stp_str_append", "void", ["ptr", "ptr"], ["dst", "src"])
    f.call("stp_str_concat", f["dst"], f["dst"], f["src"])
    f.finish()

    f = Fn(lib, "stp_str_cmp", "i64", ["ptr", "ptr"], ["a", "b"])
    i = f.var(I64, 0)
    with f.while_():
        ca = f.byte(f["a"], f.get(i))
        cb = f.byte(f["b"], f.get(i))
        f.return_if(f.ne(ca, cb), f.b.sub(ca, cb))
        f.return_if(f.eq(ca, 0), c64(0))
        f.inc(i)
    f.finish(c64(0))

    f = Fn(lib, "stp_strlen", "i64", ["ptr"], ["s"])
    f.finish(slen(f, f["s"]))

    # ---- substr: strlcpy(dst, s+start, clamp(len+1, 0, M)) when 0 <= start < strlen(s)
    f = Fn(lib, "stp_substr", "void", ["ptr", "ptr", "i64", "i64"], ["dst", "s", "start", "len"])
    size = f.b.add(f["len"], c64(1))
    size = f.max(f.min(size, c64(m)), c64(0))
    total = slen(f, f["s"])
    ok = f.b.and_(f.ge(f["start"], 0), f.lt(f["start"], total))
    with f.if_else(f.b.and_(ok, f.gt(size, 0))) as (then, other):
        with then:
            src = f.at(f["s"], f["start"])
            n = f.min(slen(f, src), f.b.sub(size, c64(1)))
            f.memmove(f["dst"], src, n)
            f.st8(f["dst"], n, 0)
        with other:
            f.st8(f["dst"], 0, 0)
    f.finish()

    # ---- stringat: the (signed) char, or error
    f = Fn(lib, "stp_stringat", "i32", ["ptr", "ptr", "i64", "ptr"], ["ctx", "s", "pos", "out"])
    total = slen(f, f["s"])
    ok = f.b.and_(f.ge(f["pos"], 0), f.lt(f["pos"], total))
    with f.if_(ok):
        f.st64(f["out"], 0, f.b.sext(f.ld8(f["s"], f["pos"]), I64))
        f.ret(0)
    f.st64(f["out"], 0, 0)
    f.call("stp_i_error", f["ctx"], f.cstr("Position out of bounds"))
    f.finish(1)

    f = Fn(lib, "stp_isinstr", "i64", ["ptr", "ptr"], ["s1", "s2"])
    f.finish(f.b.zext(f.ge(f.call("stp_i_strstr", f["s1"], f["s2"]), 0), I64))

    f = Fn(lib, "stp_strpos", "i64", ["ptr", "ptr"], ["s1", "s2"])
    f.finish(f.call("stp_i_strstr", f["s1"], f["s2"]))

    # ---- str_replace: built in a stack buffer (dst may alias an input), strlcat cuts
    f = Fn(lib, "stp_str_replace", "void", ["ptr", "ptr", "ptr", "ptr"], ["dst", "s", "find", "repl"])
    fl = slen(f, f["find"])
    with f.if_(f.eq(fl, 0)):
        f.call("stp_str_copy", f["dst"], f["s"])
        f.ret()
    tmp = f.buffer(m)
    f.st8(tmp, 0, 0)
    base = f.var(PTR, f["s"])
    with f.while_():
        at = f.call("stp_i_strstr", f.get(base), f["find"])
        f.break_if(f.lt(at, 0))
        # strlcat(tmp, base[0:at]) then strlcat(tmp, repl)
        tl = slen(f, tmp)
        n = f.min(at, f.b.sub(c64(m - 1), tl))
        f.memcpy(f.at(tmp, tl), f.get(base), n)
        f.st8(tmp, f.b.add(tl, n), 0)
        f.call("stp_str_append", tmp, f["repl"])
        f.set(base, f.at(f.get(base), f.b.add(at, fl)))
    f.call("stp_str_append", tmp, f.get(base))
    f.call("stp_str_copy", f["dst"], tmp)
    f.finish()

    # the kernel's simple_strtol (tapset/string.stp; strtol.exp wants " 1 2 3 4" -> 0): a leading '-' only,
    # no whitespace skipped, base 0 guesses 8/10/16, "0x" skipped for base 16, digits 0-9 a-f below base, wraps
    f = Fn(lib, "stp_strtol", "i64", ["ptr", "i64"], ["s", "base"])
    b = f.b
    neg = f.eq(f.byte(f["s"], 0), ord("-"))
    p = f.var(I64, f.select(neg, c64(1), c64(0)))
    base = f.var(I64, b.and_(f["base"], c64(0xFFFFFFFF)))

    def at(k):
        return f.byte(f["s"], b.add(f.get(p), c64(k)))

    def is_x(k):
        return f.eq(b.or_(at(k), c64(0x20)), ord("x"))

    with f.if_(f.eq(f.get(base), 0)):
        with f.if_else(f.eq(at(0), ord("0"))) as (zero, other):
            with zero:
                f.set(base, c64(8))
                with f.if_(is_x(1)):
                    c2 = at(2)
                    lc2 = b.or_(c2, c64(0x20))
                    hexd = b.or_(b.and_(f.ge(c2, ord("0")), f.le(c2, ord("9"))),
                                 b.and_(f.ge(lc2, ord("a")), f.le(lc2, ord("f"))))
                    f.set(base, f.select(hexd, c64(16), c64(8)))
            with other:
                f.set(base, c64(10))
    with f.if_(f.eq(f.get(base), 16)):
        with f.if_(f.eq(at(0), ord("0"))):
            with f.if_(is_x(1)):
                f.inc(p, 2)
    res = f.var(I64, 0)
    with f.while_():
        ch = at(0)
        lc = b.or_(ch, c64(0x20))
        digit = b.and_(f.ge(ch, ord("0")), f.le(ch, ord("9")))
        letter = b.and_(f.ge(lc, ord("a")), f.le(lc, ord("f")))
        f.break_if(b.not_(b.or_(digit, letter)))
        val = f.select(digit, b.sub(ch, c64(ord("0"))), b.sub(lc, c64(ord("a") - 10)))
        f.break_if(b.icmp_unsigned(">=", val, f.get(base)))
        f.set(res, b.add(b.mul(f.get(res), f.get(base)), val))
        f.inc(p)
    f.finish(f.select(neg, b.neg(f.get(res)), f.get(res)))

    f = Fn(lib, "stp_isdigit", "i64", ["ptr"], ["s"])
    c = f.byte(f["s"], 0)
    f.finish(f.b.zext(f.b.and_(f.ge(c, ord("0")), f.le(c, ord("9"))), I64))

    # ---- tokenize: strsep over a saved copy; state = tok_str[m], start+1 (0 = NULL), end
    f = Fn(lib, "stp_tokenize", "void", ["ptr", "ptr", "ptr", "ptr"], ["dst", "state", "input", "delim"])
    st = f["state"]
    startp, endp = f.at(st, m), f.at(st, m + 8)
    with f.if_(f.ne(f.ld8(f["input"], 0), 0)):
        f.call("stp_str_copy", st, f["input"])
        f.st(I64, startp, 0, c64(1))
        f.st(I64, endp, 0, slen(f, st))
    tok = f.var(I64, -1)
    with f.while_():
        start1 = f.ld(I64, startp)
        with f.if_(f.eq(start1, 0)):
            f.set(tok, c64(-1))
            f.brk()
        t = f.b.sub(start1, c64(1))
        f.set(tok, t)
        # find the first delimiter at or after t
        p = f.var(I64)
        f.set(p, t)
        found = f.var(I64)
        f.set(found, c64(0))
        with f.while_():
            ch = f.ld8(st, f.get(p))
            f.break_if(f.eq(ch, 0))
            k = f.var(I64)
            f.set(k, c64(0))
            with f.while_():
                d = f.ld8(f["delim"], f.get(k))
                f.break_if(f.eq(d, 0))
                with f.if_(f.eq(d, ch)):
                    f.set(found, c64(1))
                f.break_if(f.eq(d, ch))
                f.inc(k)
            f.break_if(f.ne(f.get(found), 0))
            f.inc(p)
        with f.if_else(f.ne(f.get(found), 0)) as (then, other):
            with then:
                f.st8(st, f.get(p), 0)
                f.st(I64, startp, 0, f.b.add(f.get(p), c64(2)))
            with other:
                f.st(I64, startp, 0, c64(0))
        f.break_if(f.ne(f.ld8(st, t), 0))
    t = f.get(tok)
    with f.if_else(f.ge(t, 0)) as (then, other):
        with then:
            start1 = f.ld(I64, startp)
            tend = f.select(f.ne(start1, 0), f.b.sub(start1, c64(2)), f.ld(I64, endp))
            f.memcpy(f["dst"], f.at(st, t), f.b.add(f.b.sub(tend, t), c64(1)))
        with other:
            f.st8(f["dst"], 0, 0)
    f.finish()

    _build_text_str(lib)


def _build_text_str(lib):
    """_stp_text_str (stp_string.c): escape non-printables, UTF-8 as \\uXXXX, optional quoting."""
    m = lib.limits.maxstringlen
    hexd = lib.table("stp.hexdigits", b"0123456789ABCDEF")  # to_hex_digit: uppercase
    f = Fn(lib, "stp_i_text_str", "void", [PTR, PTR, I64, I64, I64, I64],
           ["dst", "in", "inlen", "outlen", "quoted", "buffer"], internal=True)
    b = f.b
    inlen = f.var(I64, f["inlen"])
    outlen = f.var(I64, f["outlen"])
    with f.if_(b.or_(f.le(f.get(inlen), 0), f.gt(f.get(inlen), m - 1))):
        f.set(inlen, c64(m - 1))
    with f.if_(b.or_(f.le(f.get(outlen), 0), f.gt(f.get(outlen), m - 1))):
        f.set(outlen, c64(m - 1))
    out = f.buffer(m + 16)
    o = f.var(I64, 0)  # write index into out
    inp = f.var(I64, 0)  # read index into in
    c = f.var(I64, 0)
    esc = f.var(I64, -1)
    esc_len = f.var(I64, 0)
    quoted = f.ne(f["quoted"], 0)

    def put(ch):
        f.st8(out, f.get(o), ch)
        f.inc(o)

    with f.if_(quoted):
        f.set(outlen, b.sub(f.max(f.get(outlen), c64(5)), c64(2)))
        put(ord('"'))

    def rd(k):
        return f.byte(f["in"], b.add(f.get(inp), c64(k)))

    with f.while_(lambda: f.gt(f.get(inlen), 0)):
        # decode one UTF-8 sequence (verbatim byte unless a valid, shortest 2..4 byte form)
        b0 = rd(0)
        size = b.sub(f.get(inlen), c64(1))
        n = f.var(I64, 1)
        cp = f.var(I64, b0)
        with f.if_(b.and_(f.eq(b.and_(b0, c64(0xE0)), 0xC0), f.ge(size, 1))):
            f.set(n, c64(2))
            f.set(cp, b.and_(b0, c64(0x1F)))
        with f.if_(b.and_(f.eq(b.and_(b0, c64(0xF0)), 0xE0), f.ge(size, 2))):
            f.set(n, c64(3))
            f.set(cp, b.and_(b0, c64(0xF)))
        with f.if_(b.and_(f.eq(b.and_(b0, c64(0xF8)), 0xF0), f.ge(size, 3))):
            f.set(n, c64(4))
            f.set(cp, b.and_(b0, c64(0x7)))
        with f.if_(f.gt(f.get(n), 1)):
            ok = f.var(I64, 1)
            k = f.var(I64, 1)
            with f.while_(lambda: f.lt(f.get(k), f.get(n))):
                b2 = f.byte(f["in"], b.add(f.get(inp), f.get(k)))
                with f.if_(f.ne(b.and_(b2, c64(0xC0)), 0x80)):
                    f.set(ok, c64(0))
                f.break_if(f.eq(f.get(ok), 0))
                f.set(cp, b.or_(b.shl(f.get(cp), c64(6)), b.and_(b2, c64(0x3F))))
                f.inc(k)
            v = f.get(cp)
            nn = f.get(n)
            bad = b.or_(b.and_(f.ge(v, 0xD800), f.le(v, 0xDFFF)), f.gt(v, 0x10FFFF))
            bad = b.or_(bad, f.lt(v, 0x80))
            bad = b.or_(bad, b.and_(f.eq(nn, 3), f.lt(v, 0x800)))
            bad = b.or_(bad, b.and_(f.eq(nn, 4), f.lt(v, 0x10000)))
            bad = b.or_(bad, f.eq(f.get(ok), 0))
            with f.if_(bad):
                f.set(n, c64(1))
                f.set(cp, b0)
        f.set(c, f.get(cp))
        nul_ends = b.and_(f.eq(f.get(c), 0), f.eq(f["buffer"], 0))  # a buffer goes on past NULs
        f.break_if(b.or_(nul_ends, f.le(f.get(outlen), 0)))
        f.set(inp, b.add(f.get(inp), f.get(n)))
        f.set(inlen, b.sub(f.get(inlen), f.get(n)))
        num = f.var(I64, 1)
        cv = f.get(c)
        with f.if_else(f.gt(f.get(n), 1)) as (utf, single):
            with utf:
                f.set(num, f.select(f.le(cv, 0xFFFF), c64(6), c64(10)))
                with f.if_(b.and_(f.lt(f.get(esc), 0), f.lt(b.sub(f.get(outlen), c64(3)), f.get(num)))):
                    f.set(esc, f.get(o))
                    f.set(esc_len, f.get(num))
                f.break_if(f.lt(f.get(outlen), f.get(num)))
                put(ord("\\"))
                put(b.trunc(f.select(f.le(cv, 0xFFFF), c64(ord("u")), c64(ord("U"))), I8))
                i = f.var(I64)
                f.set(i, b.sub(f.get(num), c64(3)))
                with f.while_(lambda: f.ge(f.get(i), 0)):
                    nib = b.and_(b.lshr(cv, b.mul(f.get(i), c64(4))), c64(0xF))
                    put(f.ld8(hexd, nib))
                    f.set(i, b.sub(f.get(i), c64(1)))
            with single:
                printable = b.and_(f.ge(cv, 0x20), f.le(cv, 0x7E))
                plain = b.and_(printable, b.and_(f.ne(cv, ord('"')), f.ne(cv, ord("\\"))))
                with f.if_else(plain) as (p_then, p_else):
                    with p_then:
                        put(b.trunc(cv, I8))
                    with p_else:
                        short = {7: "a", 8: "b", 12: "f", 10: "n", 13: "r", 9: "t", 11: "v", 34: '"', 92: "\\"}
                        letter = f.var(I64, 0)
                        for code, ch in short.items():
                            with f.if_(f.eq(cv, code)):
                                f.set(letter, c64(ord(ch)))
                        f.set(num, f.select(f.ne(f.get(letter), 0), c64(2), c64(4)))
                        with f.if_(f.eq(cv, 0)):  # only a buffer gets here: `\0`, yet num stays 4 as in stap
                            f.set(letter, c64(ord("0")))
                        with f.if_(b.and_(f.lt(f.get(esc), 0), f.lt(b.sub(f.get(outlen), c64(3)), f.get(num)))):
                            f.set(esc, f.get(o))
                            f.set(esc_len, f.get(num))
                        f.break_if(f.lt(f.get(outlen), f.get(num)))
                        put(ord("\\"))
                        with f.if_else(f.ne(f.get(letter), 0)) as (l_then, l_else):
                            with l_then:
                                put(b.trunc(f.get(letter), I8))
                            with l_else:
                                put(b.trunc(b.add(b.and_(b.lshr(cv, c64(6)), c64(3)), c64(48)), I8))
                                put(b.trunc(b.add(b.and_(b.lshr(cv, c64(3)), c64(7)), c64(48)), I8))
                                put(b.trunc(b.add(b.and_(cv, c64(7)), c64(48)), I8))
        f.set(outlen, b.sub(f.get(outlen), f.get(num)))
    with f.if_(quoted):
        cut = b.and_(f.ne(f.get(c), 0), f.gt(f.get(inlen), 0))
        with f.if_else(cut) as (then, other):
            with then:
                trunc = b.add(b.sub(f.get(o), c64(3)), f.get(outlen))
                e = f.get(esc)
                inside = b.and_(f.ge(e, 0), b.and_(f.lt(e, trunc), f.lt(trunc, b.add(e, f.get(esc_len)))))
                f.set(o, f.select(inside, e, trunc))
                for ch in '"...':
                    put(ord(ch))
            with other:
                put(ord('"'))
    f.st8(out, f.get(o), 0)
    f.memcpy(f["dst"], out, b.add(f.get(o), c64(1)))
    f.finish()

    f = Fn(lib, "stp_text_str", "void", ["ptr", "ptr"], ["dst", "s"])
    f.call("stp_i_text_str", f["dst"], f["s"], c64(0), c64(0), c64(0), c64(0))
    f.finish()

    f = Fn(lib, "stp_text_strn", "void", ["ptr", "ptr", "i64", "i64"], ["dst", "s", "len", "quoted"])
    n = f.max(f.min(f["len"], c64(m)), c64(0))
    f.call("stp_i_text_str", f["dst"], f["s"], c64(0), n, f["quoted"], c64(0))
    f.finish()

    f = Fn(lib, "stp_string_quoted", "void", ["ptr", "ptr"], ["dst", "s"])
    f.call("stp_i_text_str", f["dst"], f["s"], c64(m), c64(m), c64(1), c64(0))
    f.finish()

    f = Fn(lib, "stp_text_buffer_quoted", "void", ["ptr", "ptr", "i64", "i64"], ["dst", "buf", "inlen", "outlen"])
    f.call("stp_i_text_str", f["dst"], f["buf"], f["inlen"], f["outlen"], c64(1), c64(1))
    f.finish()
