"""The order in which stap 4.8 visits a CU's functions, so -p2 lists probes as stap does.

stap keeps each CU's functions in a std::unordered_multimap<interned_string, Dwarf_Die> filled in
dwarf_getfuncs order (non-declaration subprograms) [dwflpp.cxx ensure_cu_function_cache], and a
wildcard walks that map from begin() [iterate_over_functions].  Debian's stap 4.8 is built with
g++ 12, so the order is libstdc++'s: std::hash<std::string> (MurmurHash2-64 with seed 0xc70f6907),
prime bucket counts (11 elements' worth to start, doubling), a new key goes to the front of the
list (or of its bucket), an equal key goes before the first equal one (a user std::hash
specialization counts as "fast": no small-table hint).  Checked against stap48 -p2 (the *_p2
goldens, in order) and against a real libstdc++ multimap (test_stap_order.py).

cache_order(names) -> [index]   the visiting order of names given in insertion order
Multimap                        insert(key, value) / insert_range(pairs) / items() in iteration order
function_cache(getfuncs, symbols) -> [(key, DIE offset)]
    a CU's cache as stap iterates it: dwarf_getfuncs entries, then update_symtab's aliases (every
    other ELF function symbol at the address of a DWARF function's symbol, keyed by the alias
    name) [tapsets.cxx module_info::update_symtab]
"""
from __future__ import annotations

import bisect
import math

_M64 = (1 << 64) - 1
_MUL = ((0xC6A4A793 << 32) + 0x5BD1E995) & _M64
_FAST_BKT = (2, 2, 2, 3, 5, 5, 7, 7, 11, 11, 11, 11, 13, 13)
# std::__detail::__prime_list (libstdc++.so.6), as far as any CU needs
_PRIMES = (
    2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97, 103, 109,
    113, 127, 137, 139, 149, 157, 167, 179, 193, 199, 211, 227, 241, 257, 277, 293, 313, 337, 359, 383, 409,
    439, 467, 503, 541, 577, 619, 661, 709, 761, 823, 887, 953, 1031, 1109, 1193, 1289, 1381, 1493, 1613,
    1741, 1879, 2029, 2179, 2357, 2549, 2753, 2971, 3209, 3469, 3739, 4027, 4349, 4703, 5087, 5503, 5953,
    6427, 6949, 7517, 8123, 8783, 9497, 10273, 11113, 12011, 12983, 14033, 15173, 16411, 17749, 19183,
    20753, 22447, 24281, 26267, 28411, 30727, 33223, 35933, 38873, 42043, 45481, 49201, 53201, 57557,
    62233, 67307, 72817, 78779, 85229, 92203, 99733, 107897, 116731, 126271, 136607, 147793, 159871,
    172933, 187091,
)


def _shift_mix(v: int) -> int:
    return v ^ (v >> 47)


def string_hash(s: str) -> int:
    """libstdc++'s std::_Hash_bytes for a 64-bit size_t (std::hash<std::string>)."""
    b = s.encode()
    n = len(b)
    aligned = n & ~7
    h = (0xC70F6907 ^ (n * _MUL)) & _M64
    for i in range(0, aligned, 8):
        data = (_shift_mix((int.from_bytes(b[i:i + 8], "little") * _MUL) & _M64) * _MUL) & _M64
        h = ((h ^ data) * _MUL) & _M64
    if n & 7:
        h = ((h ^ int.from_bytes(b[aligned:], "little")) * _MUL) & _M64
    h = (_shift_mix(h) * _MUL) & _M64
    return _shift_mix(h)


class _Node:
    __slots__ = ("key", "code", "idx", "nxt")

    def __init__(self, key, code, idx):
        self.key, self.code, self.idx, self.nxt = key, code, idx, None


class Multimap:
    """Just enough of libstdc++'s _Hashtable (multi keys, cached hash codes) to give its order."""

    def __init__(self):
        self.head = _Node(None, 0, -1)      # _M_before_begin
        self.nbkt = 1
        self.buckets: list = [None]
        self.count = 0
        self.next_resize = 0

    def _next_bkt(self, n: int) -> int:
        if n < len(_FAST_BKT):
            if n == 0:
                return 1
            self.next_resize = _FAST_BKT[n]
            return _FAST_BKT[n]
        i = bisect.bisect_left(_PRIMES, n, 6)
        p = _PRIMES[min(i, len(_PRIMES) - 1)]
        self.next_resize = p
        return p

    def _need_rehash(self) -> int | None:
        if self.count + 1 > self.next_resize:
            min_bkts = float(max(self.count + 1, 0 if self.next_resize else 11))
            if min_bkts >= self.nbkt:
                return self._next_bkt(max(math.floor(min_bkts) + 1, self.nbkt * 2))
            self.next_resize = self.nbkt
        return None

    def _rehash(self, n: int) -> None:
        new = [None] * n
        p = self.head.nxt
        self.head.nxt = None
        bbegin = prev_bkt = 0
        prev = None
        check = False
        while p is not None:
            nxt = p.nxt
            b = p.code % n
            if prev is not None and prev_bkt == b:
                p.nxt = prev.nxt
                prev.nxt = p
                check = True
            else:
                if check:
                    if prev.nxt is not None:
                        nb = prev.nxt.code % n
                        if nb != prev_bkt:
                            new[nb] = prev
                    check = False
                if new[b] is None:
                    p.nxt = self.head.nxt
                    self.head.nxt = p
                    new[b] = self.head
                    if p.nxt is not None:
                        new[bbegin] = p
                    bbegin = b
                else:
                    p.nxt = new[b].nxt
                    new[b].nxt = p
            prev, prev_bkt, p = p, b, nxt
        if check and prev.nxt is not None:
            nb = prev.nxt.code % n
            if nb != prev_bkt:
                new[nb] = prev
        self.buckets, self.nbkt = new, n

    def _find_before(self, b: int, key: str):
        prev = self.buckets[b]
        if prev is None:
            return None
        p = prev.nxt
        while p is not None:
            if p.key == key:
                return prev
            if p.nxt is None or p.nxt.code % self.nbkt != b:
                return None
            prev, p = p, p.nxt
        return None

    def insert_range(self, items) -> None:
        """unordered_multimap::insert(first, last): one rehash check for the lot, then one by one."""
        items = list(items)
        if not items:
            return
        if self.count + len(items) > self.next_resize:
            min_bkts = float(max(self.count + len(items), 0 if self.next_resize else 11))
            if min_bkts >= self.nbkt:
                self._rehash(self._next_bkt(max(math.floor(min_bkts) + 1, self.nbkt * 2)))
            else:
                self.next_resize = self.nbkt
        for k, v in items:
            self.insert(k, v)

    def items(self) -> list[tuple[str, object]]:
        out = []
        p = self.head.nxt
        while p is not None:
            out.append((p.key, p.idx))
            p = p.nxt
        return out

    def insert(self, key: str, idx) -> None:
        code = string_hash(key)
        node = _Node(key, code, idx)
        hint = None                   # insert(value) passes no hint: an equal key goes before its equals
        n = self._need_rehash()
        if n:
            self._rehash(n)
        b = code % self.nbkt
        prev = hint if hint is not None else self._find_before(b, key)
        if prev is not None:
            node.nxt = prev.nxt
            prev.nxt = node
            if prev is hint and node.nxt is not None and node.nxt.key != key:
                nb = node.nxt.code % self.nbkt
                if nb != b:
                    self.buckets[nb] = node
        elif self.buckets[b] is not None:
            node.nxt = self.buckets[b].nxt
            self.buckets[b].nxt = node
        else:
            node.nxt = self.head.nxt
            self.head.nxt = node
            if node.nxt is not None:
                self.buckets[node.nxt.code % self.nbkt] = node
            self.buckets[b] = self.head
        self.count += 1

    def order(self) -> list[int]:
        out = []
        p = self.head.nxt
        while p is not None:
            out.append(p.idx)
            p = p.nxt
        return out


def cache_order(names: list[str]) -> list[int]:
    m = Multimap()
    for i, n in enumerate(names):
        m.insert(n, i)
    return m.order()


def function_cache(getfuncs, symbols) -> list[tuple[str, int]]:
    """getfuncs: [(name, DIE offset, linkage name, is abstract inline)]; symbols: the module's
    ELF symbol table (elf.Symbol, table order) -- stap's symbol_table keeps STT_FUNC only."""
    m = Multimap()
    for name, off, _, _ in getfuncs:
        m.insert(name, off)
    if not symbols:
        return m.items()
    by_name: dict[str, list] = {}
    by_addr: dict[int, list] = {}
    for s in symbols:
        if s.kind == "func" and s.shndx != 0:
            by_name.setdefault(s.name, []).append(s)
            by_addr.setdefault(s.address, []).append(s)
    info = {off: (lk, inl) for _, off, lk, inl in getfuncs}
    new = Multimap()
    for key, off in m.items():
        lk, inl = info[off]
        if inl:
            continue                      # inlines are never in the symbol table
        for fi in by_name.get(lk or key, ()):
            for s in by_addr.get(fi.address, ()):
                if s is not fi:
                    new.insert(s.name, off)
    m.insert_range(new.items())
    return m.items()
