"""Differential tests against SystemTap's own runtime C, compiled at test time from the source tree.

The functions under comparison (vsprintf.c number/_stp_vsprint_char/_stp_vsprint_binary,
stp_string.c _stp_text_str, stat-common.c __stp_stat_add/_stp_stat_print_histogram_buf)
are cut out of /work/systemtap-src (STAP_SRC) when the test runs -- nothing of stap's
is kept in this repository -- wrapped in small shims and built with gcc.  Random
inputs must give byte-identical results.  Skipped when the source tree is absent.
"""
from __future__ import annotations

import ctypes
import os
import random
import re
import subprocess
from pathlib import Path

import pytest

from native_jit import native

STAP_SRC = Path(os.environ.get("STAP_SRC", "/work/systemtap-src")) / "runtime"
BUILD = Path(__file__).resolve().parents[2] / ".build"

SHIMS = r"""
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <ctype.h>
#define noinline __attribute__((noinline))
#define unlikely(x) (x)
#define fallthrough
#define STP_BUFFER_SIZE 8192
#define MAXSTRINGLEN 512
#define EFAULT 14
#define max(a,b) ((a)>(b)?(a):(b))
#define min(a,b) ((a)<(b)?(a):(b))
#define clamp_t(t,v,lo,hi) ((t)(v) < (t)(lo) ? (t)(lo) : (t)(v) > (t)(hi) ? (t)(hi) : (t)(v))
#define min_t(t,a,b) ((t)(a) < (t)(b) ? (t)(a) : (t)(b))
static inline uint32_t div_rem(uint64_t *n, uint32_t base) { uint32_t r = *n % base; *n /= base; return r; }
#define do_div(n, base) div_rem((uint64_t *)&(n), base)
#define to_oct_digit(c) ((c) + '0')
#define _stp_deref_nofault(v, size, addr, seg) (memcpy(&(v), (addr), 1), 0)
#define STP_USER_DS 0
#define STP_KERNEL_DS 0
#define _stp_warn(...) 0
#define _stp_print_flush() 0
#define _stp_snprintf snprintf
#define u32 uint32_t
static int64_t _stp_div64(const char **e, int64_t x, int64_t y) { return y == 0 ? 0 : y == -1 ? -x : x / y; }
static size_t strlcpy(char *d, const char *s, size_t n) {
    size_t l = strlen(s); if (n) { size_t k = l < n - 1 ? l : n - 1; memcpy(d, s, k); d[k] = 0; } return l; }
enum print_flag { STP_ZEROPAD=1, STP_SIGN=2, STP_PLUS=4, STP_SPACE=8, STP_LEFT=16, STP_SPECIAL=32, STP_LARGE=64 };
static int _stp_vsprint_char_size(char c, int width, enum print_flag flags);
static int check_binary_precision(int precision);
#define STP_MAX_BUCKETS 128
struct context { int unused; };
static struct context the_context;
#define _stp_runtime_get_context() (&the_context)
#define uread(p) (*(p))
#define kread(p) (*(p))
#define PAGE_SIZE 4096
"""

DRIVERS = r"""
/* translate.cxx's compiled printf: width/precision cut to the room left, then the runtime call */
#define ROOM(v) ((v) == -1 ? -1 : clamp_t(int, (v), 0, end - str + 1))
long o_num(char *buf, long len, long size, int64_t v, int flags, long w, long p, int base) {
  char *str = buf + len, *end = buf + size - 1;
  int width = ROOM(w), prec = ROOM(p);
  str = number(str, end, v, base, width, prec, flags);
  return min(str - buf, size);
}
long o_char(char *buf, long len, long size, int64_t v, int flags, long w) {
  char *str = buf + len, *end = buf + size - 1;
  int width = ROOM(w);
  str = _stp_vsprint_char(str, end, v, width, flags);
  return min(str - buf, size);
}
long o_bin(char *buf, long len, long size, int64_t v, int flags, long w, long p) {
  char *str = buf + len, *end = buf + size - 1;
  int width = ROOM(w), prec = ROOM(p);
  str = _stp_vsprint_binary(str, end, v, width, prec, flags);
  return min(str - buf, size);
}
long o_mem(char *buf, long len, long size, const char *p, int flags, long w, long pr, int conv) {
  char *str = buf + len, *end = buf + size - 1;
  int width = ROOM(w), prec = ROOM(pr);
  str = _stp_vsprint_memory(str, end, p, width, prec, conv, flags);
  return min(str - buf, size);
}
void o_text(char *out, const char *in, int inlen, int outlen, int quoted) { _stp_text_str(out, in, inlen, outlen, quoted, 0, 0); }
void o_buf(char *out, const char *in, int inlen, int outlen) { _stp_text_str(out, in, inlen, outlen, 1, 1, 1); }
static char sdbuf[sizeof(stat_data) + 128 * 8];
void o_hist(int type, int start, int stop, int interval, const int64_t *vals, int n, char *out, int size, int64_t *w) {
  struct _Hist h = { type, start, stop, interval, 0, w[0], 0xffff };
  h.buckets = type == HIST_LOG ? HIST_LOG_BUCKETS : type == HIST_LINEAR ? _stp_stat_calc_buckets(stop, start, interval) : 0;
  stat_data *sd = (stat_data *)sdbuf;
  memset(sdbuf, 0, sizeof sdbuf);
  for (int i = 0; i < n; i++) __stp_stat_add(&h, sd, vals[i], 1, 1, 1, 1, 1);
  if (type != HIST_NONE) _stp_stat_print_histogram_buf(out, size, &h, sd);
  w[0] = sd->count; w[1] = sd->sum; w[2] = sd->min; w[3] = sd->max; w[4] = sd->avg_s; w[5] = sd->_M2; w[6] = sd->variance_s;
}
"""


def _cut(text: str, start_pattern: str) -> str:
    """A top-level C function (from its signature line to the closing brace at column 0)."""
    m = re.search(start_pattern, text, re.M)
    assert m, start_pattern
    end = text.index("\n}\n", m.start()) + 3
    return text[m.start():end]


@pytest.fixture(scope="module")
def oracle():
    if not (STAP_SRC / "vsprintf.c").exists():
        pytest.skip("SystemTap source tree not available")
    vs = (STAP_SRC / "vsprintf.c").read_text()
    ss = (STAP_SRC / "stp_string.c").read_text()
    sh = (STAP_SRC / "stat.h").read_text()
    sc = (STAP_SRC / "stat-common.c").read_text()
    sth = (STAP_SRC / "stp_string.h").read_text()
    parts = [SHIMS, next(line for line in sth.splitlines() if line.startswith("#define to_hex_digit"))]
    for name, ret in (("number", "char *"), ("_stp_vsprint_char", "char *"), ("_stp_vsprint_char_size", "int"),
                      ("_stp_vsprint_binary", "char *"), ("_stp_vsprint_memory", "char *")):
        parts.append(f"static {ret} " + _cut(vs, rf"^{name}\("))
    parts.append(_cut(vs, r"^static int check_binary_precision"))
    parts.append(_cut(ss, r"^static int _stp_decode_utf8"))
    parts.append(_cut(ss, r"^static int _stp_text_str\("))
    parts.append(sh[sh.index("#define HIST_LOG_BUCKETS"):sh.index("#if defined(__KERNEL__)")])
    parts.append(sc[sc.index("static int _stp_stat_calc_buckets"):sc.rindex("#endif /* _STAT_COMMON_C_ */")])
    parts.append(DRIVERS)
    source = "\n".join(parts)
    BUILD.mkdir(exist_ok=True)
    src = BUILD / "stap_runtime_oracle.c"
    lib = BUILD / "stap_runtime_oracle.so"
    src.write_text(source)
    subprocess.run(["gcc", "-O1", "-Werror=implicit-function-declaration", "-Werror=implicit-int", "-shared", "-fPIC", "-o", str(lib), str(src)], check=True)
    so = ctypes.CDLL(str(lib))
    i64, i32, vp = ctypes.c_int64, ctypes.c_int32, ctypes.c_void_p
    so.o_num.argtypes = [vp, i64, i64, i64, i32, i64, i64, i32]
    so.o_char.argtypes = [vp, i64, i64, i64, i32, i64]
    so.o_bin.argtypes = [vp, i64, i64, i64, i32, i64, i64]
    for f in (so.o_num, so.o_char, so.o_bin):
        f.restype = i64
    so.o_mem.argtypes = [vp, i64, i64, vp, i32, i64, i64, i32]
    so.o_mem.restype = i64
    so.o_text.argtypes = [vp, vp, i32, i32, i32]
    so.o_buf.argtypes = [vp, vp, i32, i32]
    so.o_hist.argtypes = [i32, i32, i32, i32, vp, i32, vp, i32, vp]
    return so


N = native()
VALUES = [0, 1, -1, 7, -7, 255, -(1 << 63), (1 << 63) - 1, 12345678901, -98765, 10, 39, 92, 200, 65, 9, 127]


def test_conversions_match(oracle):
    rng = random.Random(1)
    for _ in range(20000):
        size = rng.choice([8, 16, 64, 512])
        pre = max(0, min(size, rng.choice([0, 0, 1, 3, size - 5, size - 1, size])))
        v = rng.choice(VALUES) if rng.random() < 0.7 else rng.getrandbits(64) - (1 << 63)
        flags = rng.choice([0, 1, 2, 4, 8, 16, 32]) | rng.choice([0, 0, 2, 64]) | (rng.choice([0, 1, 16]) * (rng.random() < .2))
        w = rng.choice([-1, -1, 0, 1, 2, 3, 5, 8, 12, 30, 100, 600])
        p = rng.choice([-1, -1, 0, 1, 2, 3, 4, 8, 12, 30, 100])
        kind = rng.choice(["num", "char", "bin"])
        a = ctypes.create_string_buffer(b"Z" * (size + 8))
        b = ctypes.create_string_buffer(b"Z" * (size + 8))
        if kind == "num":
            base = rng.choice([8, 10, 16])
            args = (pre, size, v, flags, w, p, base)
            ra, rb = N.stp_fmt_num(a, *args), oracle.o_num(b, *args)
        elif kind == "char":
            args = (pre, size, v, flags, w)
            ra, rb = N.stp_fmt_char(a, *args), oracle.o_char(b, *args)
        else:
            args = (pre, size, v, flags, w, p)
            ra, rb = N.stp_fmt_bin(a, *args), oracle.o_bin(b, *args)
        assert (ra, a.raw[:size]) == (rb, b.raw[:size]), (kind, args)


READFN = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p, ctypes.c_int64)


@READFN
def _read_own_memory(ctx, addr, dst, n):
    ctypes.memmove(dst, addr, n)
    return 0


def test_string_and_memory_conversions_match(oracle):
    rng = random.Random(5)
    data = ctypes.create_string_buffer(bytes(range(256)) * 40)
    for _ in range(6000):
        size = rng.choice([8, 16, 64, 512])
        pre = max(0, min(size, rng.choice([0, 0, 1, 3, size - 5, size - 1, size])))
        flags = rng.choice([0, 0, 1, 16, 32])
        w = rng.choice([-1, -1, 0, 1, 3, 8, 20, 100, 600])
        p = rng.choice([-1, -1, 0, 1, 2, 5, 30, 300])
        conv = rng.choice("smM")
        a = ctypes.create_string_buffer(b"Z" * (size + 8))
        b = ctypes.create_string_buffer(b"Z" * (size + 8))
        if conv == "s":
            src = N.s(bytes(rng.choice(b"abc xyz") for _ in range(rng.choice([0, 1, 5, 40, 300]))))
            ra = N.stp_fmt_str(a, pre, size, src, flags, w, p)
            rb = oracle.o_mem(b, pre, size, src, flags, w, p, ord("s"))
        else:
            addr = ctypes.addressof(data) + rng.randrange(0, 256)
            ra = N.stp_fmt_mem(N.ctx(), a, pre, size, addr, flags, w, p, int(conv == "M"), _read_own_memory)
            rb = oracle.o_mem(b, pre, size, addr, flags, w, p, ord(conv))
        assert (ra, a.raw[:size]) == (rb, b.raw[:size]), (conv, pre, size, flags, w, p)


PIECES = [b"a", b" ", b"\n", b"\t", b'"', b"\\", b"\x01", b"\x7f", b"\xc3\xa9", b"\xf0\x9f\x98\x80", b"\xe2\x82\xac",
          b"\xc3", b"\x80", b"\xed\xa0\x80", b"\xff", b"'"]


def test_text_str_family_matches(oracle):
    rng = random.Random(2)
    for _ in range(3000):
        n = rng.choice([0, 1, 3, 10, 100, 505, 507, 509, 510, 511, 600])
        s = b"".join(rng.choice(PIECES) if rng.random() < 0.3 else b"x" for _ in range(n))[:511]
        src = N.s(s)
        mine, theirs = N.s(), ctypes.create_string_buffer(600)
        which = rng.choice(["text_str", "strn", "quoted"])
        if which == "text_str":
            N.stp_text_str(mine, src)
            oracle.o_text(theirs, src, 0, 0, 0)
        elif which == "strn":
            length, quoted = rng.choice([0, 1, 2, 4, 5, 6, 10, 100, 511, 512, 700]), rng.choice([0, 1])
            N.stp_text_strn(mine, src, length, quoted)
            oracle.o_text(theirs, src, 0, max(0, min(length, 512)), quoted)  # text_strn's clamp_t
        else:
            N.stp_string_quoted(mine, src)
            oracle.o_text(theirs, src, 512, 512, 1)
        assert mine.value == theirs.value, (which, s)


def test_text_buffer_quoted_matches(oracle):
    """user_buffer_quoted's _stp_text_str(..., quoted 1, user 1, buffer 1): NULs inside, inlen bytes exactly."""
    rng = random.Random(4)
    for _ in range(3000):
        n = rng.choice([1, 2, 3, 5, 10, 100, 505, 510, 511])
        data = b"".join(rng.choice(PIECES + [b"\0"]) if rng.random() < 0.3 else b"x" for _ in range(n))[:n]
        src = ctypes.create_string_buffer(data, 512)
        outlen = rng.choice([1, 2, 4, 5, 6, 8, 20, 100, 511, 512])
        mine, theirs = N.s(), ctypes.create_string_buffer(600)
        N.stp_text_buffer_quoted(mine, src, n, outlen)
        oracle.o_buf(theirs, src, n, outlen)
        assert mine.value == theirs.value, (data, n, outlen)


def test_stats_and_histogram_text_match(oracle):
    rng = random.Random(3)
    for _ in range(600):
        kind = rng.choice(["log", "linear", "none"])
        start = stop = interval = 0
        if kind == "linear":
            start, interval = rng.choice([0, -50, 10, 1000]), rng.choice([1, 3, 10, 25])
            stop = start + interval * rng.randrange(1, 126)
        n = rng.choice([1, 2, 5, 30, 200])
        spread = rng.choice([5, 100, 10000, 1 << 33])
        vals = [rng.randrange(-spread // (8 if rng.random() < .7 else 1), spread) for _ in range(n)]
        if rng.random() < 0.2:
            vals = [rng.choice([1, 1, 1, 2, 1024, 0]) for _ in range(n)]
        shift = rng.choice([0, 0, 1, 3])
        words = (ctypes.c_int64 * 7)(shift)
        text = ctypes.create_string_buffer(1 << 16)
        stap_type = {"none": 0, "log": 1, "linear": 2}[kind]  # stat.h: HIST_NONE, HIST_LOG, HIST_LINEAR
        oracle.o_hist(stap_type, start, stop, interval, (ctypes.c_int64 * n)(*vals), n, text, 1 << 16, words)
        ours = {"none": 0, "log": 2, "linear": 1}[kind]
        st = ctypes.create_string_buffer(N.stp_stat_bytes(ours, start, stop, interval))
        N.stp_stat_init(st, ours, start, stop, interval, shift)
        for v in vals:
            N.stp_stat_add(st, v)
        mine = list((ctypes.c_int64 * 7).from_buffer(st, 5 * 8))
        if n == 1:
            mine[6] = words[6]  # variance_s: untouched by a first sample in both
        assert mine == list(words), (kind, vals)
        if kind != "none":
            buf = ctypes.create_string_buffer(1 << 16)
            length = N.stp_stat_hist_format(N.ctx(), st, buf, 0, 1 << 16)
            assert buf.raw[:length] == text.value, (kind, start, stop, interval, vals)
