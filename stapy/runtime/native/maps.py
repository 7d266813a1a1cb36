"""Associative arrays: a preallocated chained hash table with an insertion-ordered list (runtime/map.c).

Memory (one block, sized by stp_map_bytes, set up by stp_map_init):
  header   H_WORDS i64 words (below), then the map's empty stat object (stat maps)
  buckets  NBUCK i64 slot numbers (-1 = empty), NBUCK a power of two >= 2 * capacity
  order    2 * capacity i64 scratch for sorting
  entries  capacity entries of ESIZE bytes: hash, chain next, list prev, list next,
           the index columns (a long in 8 bytes, a string in MAXSTRINGLEN rounded up),
           then the value (long, string, or a stat object)
Free entries sit on a free list threaded through `list next`.  The live list
gives foreach its order: new keys go to the tail, updates keep their place,
a `%` array reuses the head (the oldest) when full, and a sort relinks it.
"""
from __future__ import annotations

from llvmlite import ir

from stapy.runtime.native.helpers import MAP_LONG, MAP_STAT, MAP_STRING
from stapy.runtime.native.irkit import I32, I64, PTR, Fn, c64

(NKEYS, KEYMASK, VALTYPE, CAP, DECL, WRAP, COUNT, NBUCK, HEAD, TAIL, FREE, ESIZE, BUCKOFF, ENTOFF, VALOFF,
 ORDEROFF, STATBYTES) = range(17)
KEYOFF = 20  # 9 words
H_WORDS = 32
EMPTYSTAT = H_WORDS * 8  # byte offset of the empty stat object
E_HASH, E_CHAIN, E_PREV, E_NEXT = range(4)
E_KEYS = 32

FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3


def _i64const(v):
    v &= (1 << 64) - 1
    return c64(v - (1 << 64) if v >= 1 << 63 else v)


def build(lib):
    m = lib.limits.maxstringlen
    strsize = (m + 7) // 8 * 8
    cap_default = lib.limits.maxmapentries

    # ---- layout
    def layout(f, nkeys, keymask, valtype, decl, statbytes):
        """-> dict of i64 values: cap, nbuck, esize, keyoffs (list of 9), valoff, header, buckoff, orderoff, entoff, total."""
        b = f.b
        cap = f.select(f.gt(decl, 0), decl, c64(cap_default))
        nb = f.var(I64, 16)
        with f.while_(lambda: f.lt(f.get(nb), b.mul(cap, c64(2)))):
            f.set(nb, b.mul(f.get(nb), c64(2)))
        off = c64(E_KEYS)
        keyoffs = []
        for i in range(9):
            keyoffs.append(off)
            is_str = f.ne(b.and_(keymask, c64(1 << i)), 0)
            present = f.lt(c64(i), nkeys)
            size = f.select(present, f.select(is_str, c64(strsize), c64(8)), c64(0))
            off = b.add(off, size)
        valoff = off
        valsize = f.select(f.eq(valtype, MAP_STRING), c64(strsize),
                           f.select(f.eq(valtype, MAP_STAT), statbytes, c64(8)))
        esize = b.add(valoff, valsize)
        header = b.add(c64(EMPTYSTAT), statbytes)
        buckoff = header
        orderoff = b.add(buckoff, b.mul(f.get(nb), c64(8)))
        entoff = b.add(orderoff, b.mul(cap, c64(16)))
        total = b.add(entoff, b.mul(cap, esize))
        return dict(cap=cap, nbuck=f.get(nb), esize=esize, keyoffs=keyoffs, valoff=valoff, buckoff=buckoff,
                    orderoff=orderoff, entoff=entoff, total=total)

    f = Fn(lib, "stp_map_bytes", "i64", ["i32", "i32", "i32", "i64", "i32", "i64", "i64", "i64"],
           ["nkeys", "keymask", "valtype", "decl", "htype", "hstart", "hstop", "hinterval"])
    b = f.b
    vt = b.sext(f["valtype"], I64)
    sb = f.select(f.eq(vt, MAP_STAT), f.call("stp_stat_bytes", f["htype"], f["hstart"], f["hstop"], f["hinterval"]),
                  c64(0))
    lay = layout(f, b.sext(f["nkeys"], I64), b.sext(f["keymask"], I64), vt, f["decl"], sb)
    f.finish(lay["total"])

    f = Fn(lib, "stp_map_init", "void", ["ptr", "i32", "i32", "i32", "i64", "i32", "i32", "i64", "i64", "i64", "i64"],
           ["map", "nkeys", "keymask", "valtype", "decl", "wrap", "htype", "hstart", "hstop", "hinterval", "shift"])
    b = f.b
    mp = f["map"]
    vt = b.sext(f["valtype"], I64)
    sb = f.select(f.eq(vt, MAP_STAT), f.call("stp_stat_bytes", f["htype"], f["hstart"], f["hstop"], f["hinterval"]),
                  c64(0))
    nkeys, keymask = b.sext(f["nkeys"], I64), b.sext(f["keymask"], I64)
    lay = layout(f, nkeys, keymask, vt, f["decl"], sb)
    f.memset(mp, 0, c64(EMPTYSTAT))
    for word, v in [(NKEYS, nkeys), (KEYMASK, keymask), (VALTYPE, vt), (CAP, lay["cap"]), (DECL, f["decl"]),
                    (WRAP, b.sext(f["wrap"], I64)), (NBUCK, lay["nbuck"]), (ESIZE, lay["esize"]),
                    (BUCKOFF, lay["buckoff"]), (ENTOFF, lay["entoff"]), (VALOFF, lay["valoff"]),
                    (ORDEROFF, lay["orderoff"]), (STATBYTES, sb)]:
        f.st64(mp, word, v)
    for i in range(9):
        f.st64(mp, KEYOFF + i, lay["keyoffs"][i])
    with f.if_(f.eq(vt, MAP_STAT)):
        f.call("stp_stat_init", f.at(mp, EMPTYSTAT), f["htype"], f["hstart"], f["hstop"], f["hinterval"], f["shift"])
    f.call("stp_map_clear", mp)
    f.finish()

    # ---- small accessors (internal)
    f = Fn(lib, "stp_i_entry", PTR, [PTR, I64], ["map", "slot"], internal=True)
    f.finish(f.at(f["map"], f.b.add(f.ld64(f["map"], ENTOFF), f.b.mul(f["slot"], f.ld64(f["map"], ESIZE)))))

    def entry(f, mp, slot):
        return f.call("stp_i_entry", mp, slot)

    def bucket_addr(f, mp, h):
        b = f.b
        idx = b.and_(h, b.sub(f.ld64(mp, NBUCK), c64(1)))
        return f.at(mp, b.add(f.ld64(mp, BUCKOFF), b.mul(idx, c64(8))))

    def is_str_col(f, mp, i):
        return f.ne(f.b.and_(f.ld64(mp, KEYMASK), c64(1 << i)), 0)

    # ---- hash of a key vector (FNV-1a over string bytes, a multiply-xorshift round per long)
    f = Fn(lib, "stp_i_map_hash", I64, [PTR, PTR], ["map", "keys"], internal=True)
    f.fn.attributes.add("alwaysinline")  # the hot path of every map access
    b = f.b
    if lib.limits.weak_hash:
        f.finish(c64(0))
    else:
        h = f.var(I64, _i64const(FNV_OFFSET))
        nk = f.ld64(f["map"], NKEYS)
        for i in range(9):
            with f.if_(f.lt(c64(i), nk)):
                kv = f.ld64(f["keys"], i)
                with f.if_else(is_str_col(f, f["map"], i)) as (s_, l_):
                    with s_:
                        p = b.inttoptr(kv, PTR)
                        j = f.var(I64)
                        f.set(j, c64(0))
                        with f.while_(lambda: f.lt(f.get(j), c64(m - 1))):
                            ch = f.byte(p, f.get(j))
                            f.break_if(f.eq(ch, 0))
                            f.set(h, b.mul(b.xor(f.get(h), ch), _i64const(FNV_PRIME)))
                            f.inc(j)
                        f.set(h, b.mul(b.xor(f.get(h), c64(0xFF)), _i64const(FNV_PRIME)))
                    with l_:  # one multiply-xorshift round per long column
                        mixed = b.mul(b.xor(f.get(h), kv), _i64const(0x9E3779B97F4A7C15))
                        f.set(h, b.xor(mixed, b.lshr(mixed, c64(32))))
        hv = f.get(h)
        f.finish(b.xor(hv, b.lshr(hv, c64(29))))

    # ---- does entry `slot` hold this key vector? (wildmask: columns to ignore)
    f = Fn(lib, "stp_i_map_match", I64, [PTR, I64, PTR, I64], ["map", "slot", "keys", "wild"], internal=True)
    f.fn.attributes.add("alwaysinline")
    b = f.b
    e = entry(f, f["map"], f["slot"])
    nk = f.ld64(f["map"], NKEYS)
    for i in range(9):
        col = b.and_(f.lt(c64(i), nk), f.eq(b.and_(f["wild"], c64(1 << i)), 0))
        with f.if_(col):
            kv = f.ld64(f["keys"], i)
            stored = f.at(e, f.ld64(f["map"], KEYOFF + i))
            with f.if_else(is_str_col(f, f["map"], i)) as (s_, l_):
                with s_:
                    # the stored key was cut at MAXSTRINGLEN-1: compare the probe the same way.  Inline
                    # bytes, not a strncmp call: keys are short and the hashes already matched
                    probe = b.inttoptr(kv, PTR)
                    j = f.var(I64, 0)
                    with f.while_(lambda: f.lt(f.get(j), c64(m - 1))):
                        x = f.ld8(stored, f.get(j))
                        f.return_if(b.icmp_unsigned("!=", x, f.ld8(probe, f.get(j))), c64(0))
                        f.break_if(b.icmp_unsigned("==", x, ir.Constant(ir.IntType(8), 0)))
                        f.inc(j)
                with l_:
                    f.return_if(f.ne(f.ld64(stored, 0), kv), c64(0))
    f.finish(c64(1))

    f = Fn(lib, "stp_i_map_find", I64, [PTR, PTR, I64], ["map", "keys", "hash"], internal=True)
    b = f.b
    slot = f.var(I64, f.ld64(bucket_addr(f, f["map"], f["hash"]), 0))
    with f.while_(lambda: f.ge(f.get(slot), 0)):
        e = entry(f, f["map"], f.get(slot))
        same = f.eq(f.ld64(e, E_HASH), f["hash"])
        with f.if_(same):
            f.return_if(f.ne(f.call("stp_i_map_match", f["map"], f.get(slot), f["keys"], c64(0)), 0), f.get(slot))
        f.set(slot, f.ld64(e, E_CHAIN))
    f.finish(c64(-1))

    def lookup(f, mp, keys):
        return f.call("stp_i_map_find", mp, keys, f.call("stp_i_map_hash", mp, keys))

    # unlink a live slot from its hash chain and from the list (it stays allocated)
    f = Fn(lib, "stp_i_map_unlink", "void", [PTR, I64], ["map", "slot"], internal=True)
    b = f.b
    mp, s = f["map"], f["slot"]
    e = entry(f, mp, s)
    link = f.var(PTR, bucket_addr(f, mp, f.ld64(e, E_HASH)))
    with f.while_():
        cur = f.ld64(f.get(link), 0)
        with f.if_(f.eq(cur, s)):
            f.st64(f.get(link), 0, f.ld64(e, E_CHAIN))
            f.brk()
        f.break_if(f.lt(cur, 0))
        f.set(link, f.at(entry(f, mp, cur), E_CHAIN * 8))
    prev, nxt = f.ld64(e, E_PREV), f.ld64(e, E_NEXT)
    with f.if_else(f.ge(prev, 0)) as (t, o):
        with t:
            f.st64(entry(f, mp, prev), E_NEXT, nxt)
        with o:
            f.st64(mp, HEAD, nxt)
    with f.if_else(f.ge(nxt, 0)) as (t, o):
        with t:
            f.st64(entry(f, mp, nxt), E_PREV, prev)
        with o:
            f.st64(mp, TAIL, prev)
    f.finish()

    # find or create; -1 with ctx->errmsg set when full
    f = Fn(lib, "stp_i_map_slot", I64, [PTR, PTR, PTR], ["ctx", "map", "keys"], internal=True)
    b = f.b
    mp, keys = f["map"], f["keys"]
    h = f.call("stp_i_map_hash", mp, keys)
    found = f.call("stp_i_map_find", mp, keys, h)
    f.return_if(f.ge(found, 0), found)
    slot = f.var(I64, f.ld64(mp, FREE))
    with f.if_else(f.ge(f.get(slot), 0)) as (free, full):
        with free:
            f.st64(mp, FREE, f.ld64(entry(f, mp, f.get(slot)), E_NEXT))
            f.st64(mp, COUNT, b.add(f.ld64(mp, COUNT), c64(1)))
        with full:
            with f.if_(f.eq(f.ld64(mp, WRAP), 0)):
                decl = f.ld64(mp, DECL)
                with f.if_else(f.gt(decl, 0)) as (sized, unsized):
                    with sized:
                        f.call("stp_i_error_num", f["ctx"], f.cstr("Array overflow, check size limit ("), decl, 10,
                               f.cstr(")"))
                    with unsized:
                        f.call("stp_i_error", f["ctx"], f.cstr("Array overflow, check MAXMAPENTRIES"))
                f.ret(c64(-1))
            f.set(slot, f.ld64(mp, HEAD))
            f.call("stp_i_map_unlink", mp, f.get(slot))
    s = f.get(slot)
    e = entry(f, mp, s)
    # list tail
    tail = f.ld64(mp, TAIL)
    f.st64(e, E_PREV, tail)
    f.st64(e, E_NEXT, -1)
    with f.if_else(f.ge(tail, 0)) as (t, o):
        with t:
            f.st64(entry(f, mp, tail), E_NEXT, s)
        with o:
            f.st64(mp, HEAD, s)
    f.st64(mp, TAIL, s)
    # hash chain head
    ba = bucket_addr(f, mp, h)
    f.st64(e, E_CHAIN, f.ld64(ba, 0))
    f.st64(ba, 0, s)
    f.st64(e, E_HASH, h)
    nk = f.ld64(mp, NKEYS)
    for i in range(9):
        with f.if_(f.lt(c64(i), nk)):
            kv = f.ld64(keys, i)
            dst = f.at(e, f.ld64(mp, KEYOFF + i))
            with f.if_else(is_str_col(f, mp, i)) as (s_, l_):
                with s_:
                    f.call("stp_str_copy", dst, b.inttoptr(kv, PTR))
                with l_:
                    f.st64(dst, 0, kv)
    val = f.at(e, f.ld64(mp, VALOFF))
    vt = f.ld64(mp, VALTYPE)
    with f.if_(f.eq(vt, MAP_STAT)):
        f.memcpy(val, f.at(mp, EMPTYSTAT), f.ld64(mp, STATBYTES))
    with f.if_(f.eq(vt, MAP_STRING)):
        f.st8(val, 0, 0)
    with f.if_(f.eq(vt, MAP_LONG)):
        f.st64(val, 0, 0)
    f.finish(s)

    def value_ptr(f, mp, slot):
        return f.at(entry(f, mp, slot), f.ld64(mp, VALOFF))

    # ---- public API
    f = Fn(lib, "stp_map_count", "i64", ["ptr"], ["map"])
    f.finish(f.ld64(f["map"], COUNT))

    f = Fn(lib, "stp_map_exists", "i64", ["ptr", "ptr"], ["map", "keys"])
    f.finish(f.b.zext(f.ge(lookup(f, f["map"], f["keys"]), 0), I64))

    f = Fn(lib, "stp_map_get_long", "i64", ["ptr", "ptr"], ["map", "keys"])
    s = lookup(f, f["map"], f["keys"])
    f.return_if(f.lt(s, 0), c64(0))
    f.finish(f.ld64(value_ptr(f, f["map"], s), 0))

    f = Fn(lib, "stp_map_get_str", "void", ["ptr", "ptr", "ptr"], ["map", "keys", "dst"])
    s = lookup(f, f["map"], f["keys"])
    with f.if_else(f.lt(s, 0)) as (miss, hit):
        with miss:
            f.st8(f["dst"], 0, 0)
        with hit:
            f.call("stp_str_copy", f["dst"], value_ptr(f, f["map"], s))
    f.finish()

    f = Fn(lib, "stp_map_set_long", "i32", ["ptr", "ptr", "ptr", "i64"], ["ctx", "map", "keys", "v"])
    s = f.call("stp_i_map_slot", f["ctx"], f["map"], f["keys"])
    f.return_if(f.lt(s, 0), 1)
    f.st64(value_ptr(f, f["map"], s), 0, f["v"])
    f.finish(0)

    f = Fn(lib, "stp_map_set_str", "i32", ["ptr", "ptr", "ptr", "ptr"], ["ctx", "map", "keys", "v"])
    s = f.call("stp_i_map_slot", f["ctx"], f["map"], f["keys"])
    f.return_if(f.lt(s, 0), 1)
    f.call("stp_str_copy", value_ptr(f, f["map"], s), f["v"])
    f.finish(0)

    f = Fn(lib, "stp_map_add_long", "i32", ["ptr", "ptr", "ptr", "i64", "ptr"], ["ctx", "map", "keys", "delta", "out"])
    b = f.b
    s = f.call("stp_i_map_slot", f["ctx"], f["map"], f["keys"])
    f.return_if(f.lt(s, 0), 1)
    vp = value_ptr(f, f["map"], s)
    nv = b.add(f.ld64(vp, 0), f["delta"])
    f.st64(vp, 0, nv)
    with f.if_(f.ne(b.ptrtoint(f["out"], I64), 0)):
        f.st64(f["out"], 0, nv)
    f.finish(0)

    f = Fn(lib, "stp_map_stat_add", "i32", ["ptr", "ptr", "ptr", "i64"], ["ctx", "map", "keys", "v"])
    s = f.call("stp_i_map_slot", f["ctx"], f["map"], f["keys"])
    f.return_if(f.lt(s, 0), 1)
    f.call("stp_stat_add", value_ptr(f, f["map"], s), f["v"])
    f.finish(0)

    f = Fn(lib, "stp_map_stat_ref", "ptr", ["ptr", "ptr"], ["map", "keys"])
    s = lookup(f, f["map"], f["keys"])
    f.return_if(f.lt(s, 0), f.at(f["map"], EMPTYSTAT))
    f.finish(value_ptr(f, f["map"], s))

    f = Fn(lib, "stp_i_map_free", "void", [PTR, I64], ["map", "slot"], internal=True)
    f.call("stp_i_map_unlink", f["map"], f["slot"])
    f.st64(entry(f, f["map"], f["slot"]), E_NEXT, f.ld64(f["map"], FREE))
    f.st64(f["map"], FREE, f["slot"])
    f.st64(f["map"], COUNT, f.b.sub(f.ld64(f["map"], COUNT), c64(1)))
    f.finish()

    f = Fn(lib, "stp_map_delete", "void", ["ptr", "ptr"], ["map", "keys"])
    s = lookup(f, f["map"], f["keys"])
    with f.if_(f.ge(s, 0)):
        f.call("stp_i_map_free", f["map"], s)
    f.finish()

    f = Fn(lib, "stp_map_delete_slice", "void", ["ptr", "ptr", "i32"], ["map", "keys", "wild"])
    slot = f.var(I64, f.ld64(f["map"], HEAD))
    wild = f.b.sext(f["wild"], I64)
    with f.while_(lambda: f.ge(f.get(slot), 0)):
        s = f.get(slot)
        nxt = f.ld64(entry(f, f["map"], s), E_NEXT)
        with f.if_(f.ne(f.call("stp_i_map_match", f["map"], s, f["keys"], wild), 0)):
            f.call("stp_i_map_free", f["map"], s)
        f.set(slot, nxt)
    f.finish()

    f = Fn(lib, "stp_map_clear", "void", ["ptr"], ["map"])
    b = f.b
    mp = f["map"]
    f.memset(f.at(mp, f.ld64(mp, BUCKOFF)), 0xFF, b.mul(f.ld64(mp, NBUCK), c64(8)))
    cap = f.ld64(mp, CAP)
    i = f.var(I64, 0)
    with f.while_(lambda: f.lt(f.get(i), cap)):
        nx = b.add(f.get(i), c64(1))
        f.st64(entry(f, mp, f.get(i)), E_NEXT, f.select(f.lt(nx, cap), nx, c64(-1)))
        f.inc(i)
    f.st64(mp, FREE, f.select(f.gt(cap, 0), c64(0), c64(-1)))
    f.st64(mp, HEAD, -1)
    f.st64(mp, TAIL, -1)
    f.st64(mp, COUNT, 0)
    f.finish()

    _build_iteration(lib, entry, value_ptr)


def _build_iteration(lib, entry, value_ptr):
    f = Fn(lib, "stp_map_first", "i64", ["ptr"], ["map"])
    f.finish(f.ld64(f["map"], HEAD))

    f = Fn(lib, "stp_map_next", "i64", ["ptr", "i64"], ["map", "slot"])
    f.finish(f.ld64(entry(f, f["map"], f["slot"]), E_NEXT))

    f = Fn(lib, "stp_map_key_long", "i64", ["ptr", "i64", "i32"], ["map", "slot", "col"])
    off = f.ld64(f["map"], f.b.add(c64(KEYOFF - 1), f.b.sext(f["col"], I64)))
    f.finish(f.ld64(f.at(entry(f, f["map"], f["slot"]), off), 0))

    f = Fn(lib, "stp_map_key_str", "ptr", ["ptr", "i64", "i32"], ["map", "slot", "col"])
    off = f.ld64(f["map"], f.b.add(c64(KEYOFF - 1), f.b.sext(f["col"], I64)))
    f.finish(f.at(entry(f, f["map"], f["slot"]), off))

    f = Fn(lib, "stp_map_slot_long", "i64", ["ptr", "i64"], ["map", "slot"])
    f.finish(f.ld64(value_ptr(f, f["map"], f["slot"]), 0))

    f = Fn(lib, "stp_map_slot_str", "ptr", ["ptr", "i64"], ["map", "slot"])
    f.finish(value_ptr(f, f["map"], f["slot"]))

    f = Fn(lib, "stp_map_slot_stat", "ptr", ["ptr", "i64"], ["map", "slot"])
    f.finish(value_ptr(f, f["map"], f["slot"]))

    # three-way compare of two slots on one column (0 = value; stat values by a STAT_* op)
    f = Fn(lib, "stp_i_map_cmp", I64, [PTR, I64, I64, I64, I64], ["map", "a", "b", "col", "statop"], internal=True)
    b = f.b
    mp, col = f["map"], f["col"]

    def three(x, y):
        return b.sub(b.zext(f.gt(x, y), I64), b.zext(f.lt(x, y), I64))

    with f.if_(f.eq(col, 0)):
        vt = f.ld64(mp, VALTYPE)
        pa, pb = value_ptr(f, mp, f["a"]), value_ptr(f, mp, f["b"])
        with f.if_(f.eq(vt, MAP_LONG)):
            f.ret(three(f.ld64(pa, 0), f.ld64(pb, 0)))
        with f.if_(f.eq(vt, MAP_STRING)):
            f.ret(f.call("stp_str_cmp", pa, pb))
        from stapy.runtime.native.stats import COUNT as S_COUNT, SUM as S_SUM, MIN as S_MIN, MAX as S_MAX

        op = f["statop"]
        with f.if_(f.eq(op, 4)):
            f.ret(three(f.call("stp_i_div", f.ld64(pa, S_SUM), f.ld64(pa, S_COUNT)),
                        f.call("stp_i_div", f.ld64(pb, S_SUM), f.ld64(pb, S_COUNT))))
        word = f.select(f.eq(op, 0), c64(S_COUNT), f.select(f.eq(op, 1), c64(S_SUM),
                        f.select(f.eq(op, 2), c64(S_MIN), c64(S_MAX))))
        f.ret(three(f.ld64(pa, word), f.ld64(pb, word)))
    off = f.ld64(mp, b.add(c64(KEYOFF - 1), col))
    ka, kb = f.at(entry(f, mp, f["a"]), off), f.at(entry(f, mp, f["b"]), off)
    is_str = f.ne(b.and_(f.ld64(mp, KEYMASK), b.shl(c64(1), b.sub(col, c64(1)))), 0)
    with f.if_(is_str):
        f.ret(f.call("stp_str_cmp", ka, kb))
    f.finish(three(f.ld64(ka, 0), f.ld64(kb, 0)))

    # stp_map_sort: stable bottom-up merge sort of the live list through the order scratch;
    # limit 1..30 follows map.c's _stp_map_sortn (bubble the first n, then insert into them).
    f = Fn(lib, "stp_map_sort", "void", ["ptr", "i32", "i32", "i32", "i64"], ["map", "col", "dir", "statop", "limit"])
    b = f.b
    mp = f["map"]
    col, statop = b.sext(f["col"], I64), b.sext(f["statop"], I64)
    desc = f.lt(b.sext(f["dir"], I64), 0)
    n = f.ld64(mp, COUNT)
    f.return_if(f.le(n, 1))
    arr = f.at(mp, f.ld64(mp, ORDEROFF))
    tmp = f.at(arr, b.mul(f.ld64(mp, CAP), c64(8)))
    i = f.var(I64, 0)
    s = f.var(I64, f.ld64(mp, HEAD))
    with f.while_(lambda: f.ge(f.get(s), 0)):
        f.st64(arr, f.get(i), f.get(s))
        f.inc(i)
        f.set(s, f.ld64(entry(f, mp, f.get(s)), E_NEXT))

    def after(x, y):
        """x belongs after y (stap's _stp_cmp returning 1)."""
        c = f.call("stp_i_map_cmp", mp, x, y, col, statop)
        return f.select(desc, f.lt(c, 0), f.gt(c, 0))

    partial = b.and_(f.gt(f["limit"], 0), f.le(f["limit"], 30))
    with f.if_else(partial) as (part, full):
        with part:
            lim = f.min(f["limit"], n)
            swaps = f.var(I64, 1)
            with f.while_(lambda: f.ne(f.get(swaps), 0)):
                f.set(swaps, c64(0))
                j = f.var(I64)
                f.set(j, c64(0))
                with f.while_(lambda: f.lt(b.add(f.get(j), c64(1)), lim)):
                    x, y = f.ld64(arr, f.get(j)), f.ld64(arr, b.add(f.get(j), c64(1)))
                    with f.if_(after(x, y)):
                        f.st64(arr, f.get(j), y)
                        f.st64(arr, b.add(f.get(j), c64(1)), x)
                        f.inc(swaps)
                    f.inc(j)
            last = b.sub(lim, c64(1))
            p = f.var(I64, lim)
            with f.while_(lambda: f.lt(f.get(p), n)):
                a = f.ld64(arr, f.get(p))
                c = f.var(I64)
                f.set(c, last)
                with f.while_():
                    f.break_if(f.lt(f.get(c), 0))
                    f.break_if(b.not_(after(f.ld64(arr, f.get(c)), a)))
                    f.set(c, b.sub(f.get(c), c64(1)))
                with f.if_(f.ne(f.get(c), last)):
                    dst = b.add(f.get(c), c64(1))
                    f.memmove(f.at(arr, b.mul(b.add(dst, c64(1)), c64(8))), f.at(arr, b.mul(dst, c64(8))),
                              b.mul(b.sub(f.get(p), dst), c64(8)))
                    f.st64(arr, dst, a)
                f.inc(p)
        with full:
            width = f.var(I64, 1)
            src = f.var(PTR, arr)
            dstv = f.var(PTR, tmp)
            with f.while_(lambda: f.lt(f.get(width), n)):
                lo = f.var(I64)
                f.set(lo, c64(0))
                with f.while_(lambda: f.lt(f.get(lo), n)):
                    mid = f.min(b.add(f.get(lo), f.get(width)), n)
                    hi = f.min(b.add(mid, f.get(width)), n)
                    pi, qi, k = f.var(I64), f.var(I64), f.var(I64)
                    f.set(pi, f.get(lo))
                    f.set(qi, mid)
                    f.set(k, f.get(lo))
                    with f.while_(lambda: f.lt(f.get(k), hi)):
                        take_p = f.var(I64)
                        f.set(take_p, c64(0))
                        with f.if_else(f.ge(f.get(qi), hi)) as (qdone, qleft):
                            with qdone:
                                f.set(take_p, c64(1))
                            with qleft:
                                with f.if_(f.lt(f.get(pi), mid)):
                                    take = b.not_(after(f.ld64(f.get(src), f.get(pi)), f.ld64(f.get(src), f.get(qi))))
                                    f.set(take_p, b.zext(take, I64))
                        with f.if_else(f.ne(f.get(take_p), 0)) as (tp, tq):
                            with tp:
                                f.st64(f.get(dstv), f.get(k), f.ld64(f.get(src), f.get(pi)))
                                f.inc(pi)
                            with tq:
                                f.st64(f.get(dstv), f.get(k), f.ld64(f.get(src), f.get(qi)))
                                f.inc(qi)
                        f.inc(k)
                    f.set(lo, hi)
                sv = f.get(src)
                f.set(src, f.get(dstv))
                f.set(dstv, sv)
                f.set(width, b.mul(f.get(width), c64(2)))
            with f.if_(f.ne(b.ptrtoint(f.get(src), I64), b.ptrtoint(arr, I64))):
                f.memcpy(arr, f.get(src), b.mul(n, c64(8)))
    # relink the list in array order
    prev = f.var(I64, -1)
    f.set(i, c64(0))
    with f.while_(lambda: f.lt(f.get(i), n)):
        cur = f.ld64(arr, f.get(i))
        e = entry(f, mp, cur)
        f.st64(e, E_PREV, f.get(prev))
        with f.if_else(f.ge(f.get(prev), 0)) as (t, o):
            with t:
                f.st64(entry(f, mp, f.get(prev)), E_NEXT, cur)
            with o:
                f.st64(mp, HEAD, cur)
        f.set(prev, cur)
        f.inc(i)
    f.st64(entry(f, mp, f.get(prev)), E_NEXT, -1)
    f.st64(mp, TAIL, f.get(prev))
    f.finish()
