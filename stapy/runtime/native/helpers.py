"""The table of every exported native runtime helper: the contract codegen links against.

Each row is (name, return type, argument types, can_fail).  Types are LLVM
spellings with opaque pointers: "void", "i32", "i64", "ptr".

Conventions (read once, they hold for every row):
- A *string* is a `ptr` to a NUL-terminated buffer of MAXSTRINGLEN bytes
  (at most MAXSTRINGLEN-1 characters; longer results are cut silently).
  A helper that produces a string writes it into a caller-provided `dst`
  buffer of MAXSTRINGLEN bytes; `dst` may alias any input.
- `ctx` is the handler's `struct stapy_context *` (stapy.codegen.abi.Context).
  Helpers marked can_fail return an i32 STATUS_OK (0) / STATUS_ERROR (1)
  status, or an i64 that is negative on failure (stp_fmt_mem, stp_stat_hist_format); on
  failure they have written stap's exact message text into ctx->errmsg.  The
  handler then stores its site id into ctx->error_site and returns
  STATUS_ERROR.  Helpers not marked can_fail never fail.
- Formatting: a printf/sprintf is pre-split by codegen into literal pieces and
  one call per conversion.  Each stp_fmt_* call appends to `buf` at offset
  `len` without writing at or past `size`, and returns the new length (never
  more than `size`).  sprintf: buf is a string (size = MAXSTRINGLEN), start at
  len 0, end with stp_fmt_finish(buf, len, size) which NUL-terminates (so at
  most 511 chars).  printf: buf is a scratch of PRINTF_MAX (8192) bytes, size
  = 8192, then stp_out_write(out, buf, len).  `flags` are stap's print_flag
  bits (FMT_* below); `width`/`prec` are -1 when absent, else the static
  value or stp_fmt_star(`*` argument); the helper then cuts it to the room
  left, like stap's compiled printf.
  Numeric conversions pass `base` 8/10/16: %d %i = FMT_SIGN base 10,
  %u = base 10, %o = base 8, %x = base 16, %X = FMT_LARGE base 16,
  %p = FMT_SPECIAL base 16.
- Maps: `keys` points to 9 consecutive i64 slots, one per index column in
  order: a long column holds the value, a string column holds the string's
  address.  Missing elements read 0/"" and are not created.  Iteration gives
  slot numbers (i64, -1 = end) in the array's current order.
- A *stat* is a `ptr` to a stat object (stp_stat_bytes bytes; histogram
  shape fixed at stp_stat_init).  Map stat values are stat objects too
  (stp_map_stat_ref / stp_map_slot_stat).
- Output: `out` is an output buffer object (OUT_BYTES bytes) set up once by
  stp_out_init over preallocated memory; appends flush with write(2) when full.
"""
from __future__ import annotations

from typing import NamedTuple


class Helper(NamedTuple):
    name: str
    ret: str
    args: tuple[str, ...]
    can_fail: bool
    doc: str


# stap's enum print_flag (runtime/vsprintf.h)
FMT_ZEROPAD = 1
FMT_SIGN = 2
FMT_PLUS = 4
FMT_SPACE = 8
FMT_LEFT = 16
FMT_SPECIAL = 32
FMT_LARGE = 64

PRINTF_MAX = 8192  # STP_BUFFER_SIZE: one printf writes at most this many bytes
MEMDUMP_MAX = 4096  # %m/%M precision above this: "N is too many bytes for a memory dump"

# map value types
MAP_LONG = 0
MAP_STRING = 1
MAP_STAT = 2

# histogram types
HIST_NONE = 0
HIST_LINEAR = 1
HIST_LOG = 2

# stp_stat_get ops
STAT_COUNT = 0
STAT_SUM = 1
STAT_MIN = 2
STAT_MAX = 3
STAT_AVG = 4
STAT_VARIANCE = 5
STAT_VARIANCE_ELEMENT = 6   # @variance of an array element: map.c _new_map_copy_stat copies variance_s

# stp_map_sort column: 0 = the value, 1..9 = that index column
SORT_VALUE = 0

OUT_BYTES = 64  # size of an output buffer object
OUT_ROTATE_WORD = 6  # i64 word of an output object: 0, or i64 (*)(i64 n) giving the fd for the next n bytes (-S)
TOKENIZE_STATE_BYTES_EXTRA = 16  # tokenize state = MAXSTRINGLEN + this many bytes (zero-filled = empty)


def _h(name, ret, args, can_fail, doc):
    return Helper(name, ret, tuple(args.split()) if args else (), can_fail, doc)


HELPERS: list[Helper] = [
    # ---- strings
    _h("stp_str_copy", "void", "ptr ptr", False, "dst, src: dst = src (cut)"),
    _h("stp_str_concat", "void", "ptr ptr ptr", False, "dst, a, b: dst = a . b (cut); any aliasing allowed"),
    _h("stp_str_append", "void", "ptr ptr", False, "dst, src: dst .= src (cut)"),
    _h("stp_str_cmp", "i64", "ptr ptr", False, "a, b: <0/0/>0 in strcmp (unsigned byte) order"),
    _h("stp_str_from_long", "void", "ptr i64", False, "dst, v: decimal text of v (sprint of a long)"),
    _h("stp_strlen", "i64", "ptr", False, "s: strlen"),
    _h("stp_substr", "void", "ptr ptr i64 i64", False, "dst, s, start, len: substr() (bad start gives \"\")"),
    _h("stp_stringat", "i32", "ptr ptr i64 ptr", True, "ctx, s, pos, *out_i64: stringat() ('Position out of bounds')"),
    _h("stp_isinstr", "i64", "ptr ptr", False, "s1, s2: isinstr()"),
    _h("stp_strpos", "i64", "ptr ptr", False, "s1, s2: strpos() (-1 if absent)"),
    _h("stp_str_replace", "void", "ptr ptr ptr ptr", False, "dst, s, find, repl: str_replace() (all occurrences)"),
    _h("stp_strtol", "i64", "ptr i64", False, "s, base: strtol() (libc strtol semantics)"),
    _h("stp_isdigit", "i64", "ptr", False, "s: isdigit() of the first character"),
    _h("stp_tokenize", "void", "ptr ptr ptr ptr", False,
       "dst, state, input, delim: tokenize(); input \"\" continues; state = MAXSTRINGLEN+16 zeroed bytes"),
    _h("stp_text_str", "void", "ptr ptr", False, "dst, s: text_str()"),
    _h("stp_text_strn", "void", "ptr ptr i64 i64", False, "dst, s, len, quoted: text_strn()"),
    _h("stp_string_quoted", "void", "ptr ptr", False, "dst, s: string_quoted()"),
    _h("stp_text_buffer_quoted", "void", "ptr ptr i64 i64", False,
       "dst, buf, inlen, outlen: _stp_text_str over inlen bytes of buf (NULs included), quoted (user_buffer_quoted)"),
    # ---- formatting (printf/sprintf pieces)
    _h("stp_fmt_lit", "i64", "ptr i64 i64 ptr i64", False, "buf, len, size, text, textlen -> len"),
    _h("stp_fmt_num", "i64", "ptr i64 i64 i64 i32 i64 i64 i32", False,
       "buf, len, size, value, flags, width, prec, base -> len (%d %i %u %o %x %X %p)"),
    _h("stp_fmt_char", "i64", "ptr i64 i64 i64 i32 i64", False, "buf, len, size, value, flags, width -> len (%c)"),
    _h("stp_fmt_str", "i64", "ptr i64 i64 ptr i32 i64 i64", False, "buf, len, size, s, flags, width, prec -> len (%s)"),
    _h("stp_fmt_bin", "i64", "ptr i64 i64 i64 i32 i64 i64", False, "buf, len, size, value, flags, width, prec -> len (%b)"),
    _h("stp_fmt_mem", "i64", "ptr ptr i64 i64 i64 i32 i64 i64 i32 ptr", True,
       "ctx, buf, len, size, addr, flags, width, prec, hex(0=%m 1=%M), readfn -> len or -1 on error; "
       "readfn is i32 (ptr ctx, i64 addr, ptr dst, i64 n), 0 = ok"),
    _h("stp_fmt_star", "i64", "i64", False, "v: a `*` width/precision argument as stap takes it ((int)v, negative -> 0)"),
    _h("stp_fmt_finish", "i64", "ptr i64 i64", False, "buf, len, size: NUL-terminate a sprintf result -> strlen"),
    # ---- output
    _h("stp_out_init", "void", "ptr ptr i64 i64", False, "out, data, cap, fd: set up an output buffer"),
    _h("stp_out_write", "void", "ptr ptr i64", False, "out, bytes, n: append (flushes when full)"),
    _h("stp_out_str", "void", "ptr ptr", False, "out, s: append a string"),
    _h("stp_out_long", "void", "ptr i64", False, "out, v: append a long in decimal"),
    _h("stp_out_char", "void", "ptr i64", False, "out, c: append one byte"),
    _h("stp_out_flush", "i64", "ptr", False, "out: write everything out; 0 or -errno of the first failure"),
    # ---- statistics
    _h("stp_hist_buckets", "i64", "i32 i64 i64 i64", False, "htype, start, stop, interval -> buckets, 0 if invalid"),
    _h("stp_stat_bytes", "i64", "i32 i64 i64 i64", False, "htype, start, stop, interval -> size of a stat object"),
    _h("stp_stat_init", "void", "ptr i32 i64 i64 i64 i64", False,
       "stat, htype, start, stop, interval, shift (-1: no @variance asked, its terms are not kept)"),
    _h("stp_stat_clear", "void", "ptr", False, "stat: back to empty (delete s)"),
    _h("stp_stat_add", "void", "ptr i64", False, "stat, v: s <<< v"),
    _h("stp_stat_get", "i32", "ptr ptr i32 ptr", True, "ctx, stat, op (STAT_*), *out_i64: @count.. @variance ('empty aggregate')"),
    _h("stp_stat_hist_bucket", "i32", "ptr ptr i64 ptr", True,
       "ctx, stat, index, *out_i64: @hist_*(s)[i] ('histogram index out of range')"),
    _h("stp_stat_hist_format", "i64", "ptr ptr ptr i64 i64", True,
       "ctx, stat, buf, len, size -> len or -1 ('empty aggregate'): sprint(@hist_*(s))"),
    _h("stp_out_hist", "i32", "ptr ptr ptr", True, "ctx, out, stat: print(@hist_*(s)) ('empty aggregate')"),
    # ---- maps
    _h("stp_map_bytes", "i64", "i32 i32 i32 i64 i32 i64 i64 i64", False,
       "nkeys, keymask(bit i: column i is a string), valtype, declared_size(0 = MAXMAPENTRIES), "
       "htype, hstart, hstop, hinterval -> bytes to preallocate"),
    _h("stp_map_init", "void", "ptr i32 i32 i32 i64 i32 i32 i64 i64 i64 i64", False,
       "map, nkeys, keymask, valtype, declared_size, wrap(%), htype, hstart, hstop, hinterval, shift"),
    _h("stp_map_count", "i64", "ptr", False, "map: number of elements"),
    _h("stp_map_exists", "i64", "ptr ptr", False, "map, keys: [k] in map"),
    _h("stp_map_get_long", "i64", "ptr ptr", False, "map, keys: value or 0"),
    _h("stp_map_get_str", "void", "ptr ptr ptr", False, "map, keys, dst: value or \"\""),
    _h("stp_map_set_long", "i32", "ptr ptr ptr i64", True, "ctx, map, keys, v ('Array overflow, check ...')"),
    _h("stp_map_set_str", "i32", "ptr ptr ptr ptr", True, "ctx, map, keys, s ('Array overflow, check ...')"),
    _h("stp_map_add_long", "i32", "ptr ptr ptr i64 ptr", True,
       "ctx, map, keys, delta, *out_new_value (may be null): map[k] += delta ('Array overflow, check ...')"),
    _h("stp_map_stat_add", "i32", "ptr ptr ptr i64", True, "ctx, map, keys, v: map[k] <<< v ('Array overflow, check ...')"),
    _h("stp_map_stat_ref", "ptr", "ptr ptr", False, "map, keys: the element's stat object, or an empty one"),
    _h("stp_map_delete", "void", "ptr ptr", False, "map, keys: delete map[k]"),
    _h("stp_map_delete_slice", "void", "ptr ptr i32", False, "map, keys, wildmask(bit i: column i is *): delete map[*,k]"),
    _h("stp_map_clear", "void", "ptr", False, "map: delete map"),
    _h("stp_map_sort", "void", "ptr i32 i32 i32 i64", False,
       "map, column(0 value, 1..9 index), dir(+1 ascending, -1 descending), statop(STAT_* for stat values), limit(0 = none)"),
    _h("stp_map_first", "i64", "ptr", False, "map -> first slot or -1"),
    _h("stp_map_next", "i64", "ptr i64", False, "map, slot -> next slot or -1"),
    _h("stp_map_key_long", "i64", "ptr i64 i32", False, "map, slot, column(1..9) -> long index"),
    _h("stp_map_key_str", "ptr", "ptr i64 i32", False, "map, slot, column(1..9) -> string index (inside the map)"),
    _h("stp_map_slot_long", "i64", "ptr i64", False, "map, slot -> long value"),
    _h("stp_map_slot_str", "ptr", "ptr i64", False, "map, slot -> string value (inside the map)"),
    _h("stp_map_slot_stat", "ptr", "ptr i64", False, "map, slot -> stat object"),
]

HELPER_INDEX = {h.name: h for h in HELPERS}
