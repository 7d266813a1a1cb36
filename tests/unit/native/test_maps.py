"""Associative arrays through the compiled helpers (runtime/map.c semantics, LANGUAGE.md 6)."""
import ctypes

import pytest

from native_jit import ALT_LIMITS, native
from stapy.runtime.native.helpers import MAP_LONG, MAP_STAT, MAP_STRING, STAT_COUNT, STAT_SUM

N = native()


class Map:
    """A test-side handle: keys given as Python tuples of int/str."""

    def __init__(self, n, types, valtype=MAP_LONG, decl=0, wrap=False, hist=(0, 0, 0, 0), shift=0):
        self.n = n
        self.types = types
        mask = sum(1 << i for i, t in enumerate(types) if t is str)
        size = n.stp_map_bytes(len(types), mask, valtype, decl, *hist)
        self.mem = ctypes.create_string_buffer(size)
        n.stp_map_init(self.mem, len(types), mask, valtype, decl, int(wrap), *hist, shift)
        self.ctx = n.ctx()
        self._keep = []

    def keys(self, key):
        key = key if isinstance(key, tuple) else (key,)
        kv = (ctypes.c_int64 * 9)()
        for i, k in enumerate(key):
            if isinstance(k, (str, bytes)):
                s = self.n.s(k)
                self._keep.append(s)
                kv[i] = ctypes.addressof(s)
            else:
                kv[i] = k
        return kv

    def set(self, key, v):
        if isinstance(v, str):
            return self.n.stp_map_set_str(self.ctx, self.mem, self.keys(key), self.n.s(v))
        return self.n.stp_map_set_long(self.ctx, self.mem, self.keys(key), v)

    def get(self, key):
        return self.n.stp_map_get_long(self.mem, self.keys(key))

    def gets(self, key):
        d = self.n.s()
        self.n.stp_map_get_str(self.mem, self.keys(key), d)
        return d.value

    def exists(self, key):
        return self.n.stp_map_exists(self.mem, self.keys(key))

    def delete(self, key):
        self.n.stp_map_delete(self.mem, self.keys(key))

    def __len__(self):
        return self.n.stp_map_count(self.mem)

    def items(self):
        out = []
        s = self.n.stp_map_first(self.mem)
        while s >= 0:
            key = []
            for i, t in enumerate(self.types):
                if t is str:
                    key.append(ctypes.string_at(self.n.stp_map_key_str(self.mem, s, i + 1)).decode())
                else:
                    key.append(self.n.stp_map_key_long(self.mem, s, i + 1))
            out.append((tuple(key) if len(key) > 1 else key[0], s))
            s = self.n.stp_map_next(self.mem, s)
        return out

    def order(self):
        return [k for k, _ in self.items()]

    def values(self):
        return [self.n.stp_map_slot_long(self.mem, s) for _, s in self.items()]


def test_set_get_exists_delete():
    m = Map(N, [str])
    assert m.set("a", 1) == 0 and m.set("b", 2) == 0
    assert (m.get("a"), m.get("b"), len(m)) == (1, 2, 2)
    assert m.exists("a") and not m.exists("zz")
    m.delete("a")
    m.delete("missing")  # fine
    assert (m.exists("a"), m.get("a"), len(m)) == (0, 0, 1)


def test_missing_reads_zero_and_is_not_created_but_storing_zero_keeps():
    m = Map(N, [int])
    assert m.get(5) == 0 and len(m) == 0 and not m.exists(5)
    m.set(5, 0)
    assert len(m) == 1 and m.exists(5)
    s = Map(N, [int], MAP_STRING)
    assert s.gets(1) == b"" and len(s) == 0
    s.set(1, "")
    assert len(s) == 1 and s.exists(1) and s.gets(1) == b""
    s.set(2, "x" * 600)
    assert s.gets(2) == b"x" * 511


def test_add_long():
    m = Map(N, [str])
    out = ctypes.c_int64()
    assert N.stp_map_add_long(m.ctx, m.mem, m.keys("k"), 5, ctypes.byref(out)) == 0 and out.value == 5
    assert N.stp_map_add_long(m.ctx, m.mem, m.keys("k"), -2, None) == 0
    assert m.get("k") == 3


def test_insertion_order_and_updates_keep_place():
    m = Map(N, [str])
    for k in "cab":
        m.set(k, 1)
    m.set("c", 9)  # update: keeps its place
    assert m.order() == ["c", "a", "b"]
    m.delete("a")
    m.set("a", 2)  # re-created: goes to the end
    assert m.order() == ["c", "b", "a"]


def test_maxmapentries_overflow():
    n = native(ALT_LIMITS)  # MAXMAPENTRIES 8
    m = Map(n, [int])
    for i in range(8):
        assert m.set(i, i) == 0
    assert m.set(100, 1) == 1
    assert m.ctx.errmsg == b"Array overflow, check MAXMAPENTRIES"
    assert m.set(3, 33) == 0 and m.get(3) == 33  # updating is fine when full
    m.delete(0)
    assert m.set(100, 1) == 0 and len(m) == 8


def test_declared_size_overflow():
    m = Map(N, [int], decl=4)
    for i in range(4):
        assert m.set(i, i) == 0
    assert m.set(4, 4) == 1
    assert m.ctx.errmsg == b"Array overflow, check size limit (4)"
    assert N.stp_map_add_long(m.ctx, m.mem, m.keys(9), 1, None) == 1
    st = Map(N, [int], MAP_STAT, decl=1)
    assert N.stp_map_stat_add(st.ctx, st.mem, st.keys(1), 5) == 0
    assert N.stp_map_stat_add(st.ctx, st.mem, st.keys(2), 5) == 1
    assert st.ctx.errmsg == b"Array overflow, check size limit (1)"


def test_wrapping_overwrites_the_oldest():
    m = Map(N, [str], decl=3, wrap=True)
    for k in "abcd":
        assert m.set(k, ord(k)) == 0
    assert m.order() == ["b", "c", "d"] and len(m) == 3 and not m.exists("a")
    m.set("b", 0)  # an update does not refresh age
    m.set("e", 1)
    assert m.order() == ["c", "d", "e"]
    # after a sort the list head is what gets reused (map.c takes the first node of the list)
    N.stp_map_sort(m.mem, 1, -1, 0, 0)
    assert m.order() == ["e", "d", "c"]
    m.set("f", 1)
    assert m.order() == ["d", "c", "f"]


@pytest.mark.parametrize("weak", [False, True])
def test_many_keys_and_hash_collisions(weak):
    n = native(ALT_LIMITS) if weak else N  # ALT_LIMITS: every key hashes alike
    m = Map(n, [str, int], decl=600)
    keys = [(f"key{i % 37}", i) for i in range(500)]
    for i, k in enumerate(keys):
        assert m.set(k, i) == 0
    assert len(m) == 500
    assert all(m.get(k) == i for i, k in enumerate(keys))
    for k in keys[100:400:3]:  # deletes from the middle of chains
        m.delete(k)
    left = [k for k in keys if k not in set(keys[100:400:3])]
    assert len(m) == len(left) and all(m.exists(k) for k in left)
    assert not any(m.exists(k) for k in keys[100:400:3])
    for k in keys[100:400:3]:
        m.set(k, -1)
    assert m.order() == left + keys[100:400:3]


def test_nine_mixed_columns():
    types = [int, str, int, str, int, str, int, str, int]
    m = Map(N, types)
    k1 = (1, "a", 2, "b", 3, "c", 4, "d", 5)
    k2 = (1, "a", 2, "b", 3, "c", 4, "d", 6)
    m.set(k1, 10)
    m.set(k2, 20)
    assert (m.get(k1), m.get(k2), len(m)) == (10, 20, 2)
    assert m.order() == [k1, k2]
    assert m.get((1, "a", 2, "b", 3, "c", 4, "x", 5)) == 0


def test_long_string_keys_are_cut():
    m = Map(N, [str])
    m.set("k" * 600, 1)
    assert m.get("k" * 511) == 1 and m.get("k" * 700) == 1 and len(m) == 1


def test_slice_delete_and_clear():
    m = Map(N, [str, int])
    for s in "ab":
        for i in range(3):
            m.set((s, i), 1)
    N.stp_map_delete_slice(m.mem, m.keys(("", 1)), 0b01)  # delete m[*, 1]
    assert m.order() == [("a", 0), ("a", 2), ("b", 0), ("b", 2)]
    N.stp_map_delete_slice(m.mem, m.keys(("b", 0)), 0b10)  # delete m["b", *]
    assert m.order() == [("a", 0), ("a", 2)]
    N.stp_map_clear(m.mem)
    assert len(m) == 0 and m.order() == []
    m.set(("z", 1), 1)
    assert m.order() == [("z", 1)]


def sort(m, col, direction, statop=0, limit=0):
    N.stp_map_sort(m.mem, col, direction, statop, limit)


def test_sort_by_value_is_stable_and_leaves_the_order():
    m = Map(N, [str])
    data = [("a", 3), ("b", 1), ("c", 3), ("d", 2), ("e", 1), ("f", 3)]
    for k, v in data:
        m.set(k, v)
    sort(m, 0, 1)
    assert m.order() == [k for k, v in sorted(data, key=lambda kv: kv[1])]
    sort(m, 0, -1)
    # stable on the current (ascending) order: ties keep b before e, a c f
    assert m.order() == ["a", "c", "f", "d", "b", "e"]
    assert m.order() == ["a", "c", "f", "d", "b", "e"]  # the array stays sorted
    m.set("g", 0)
    assert m.order()[-1] == "g"


def test_sort_by_key_columns():
    m = Map(N, [str, int])
    keys = [("pear", 3), ("apple", 9), ("fig", 3), ("apple", 1), ("kiwi", -5)]
    for i, k in enumerate(keys):
        m.set(k, i)
    sort(m, 1, 1)
    assert m.order() == sorted(keys, key=lambda k: k[0])
    sort(m, 2, -1)
    assert m.order() == sorted(sorted(keys, key=lambda k: k[0]), key=lambda k: -k[1])


def test_sort_many_matches_python_stable_sort():
    m = Map(N, [int])
    vals = [(i * 7919) % 101 for i in range(1000)]
    for i, v in enumerate(vals):
        m.set(i, v)
    sort(m, 0, 1)
    assert m.order() == sorted(range(1000), key=lambda i: vals[i])
    sort(m, 0, -1)
    assert m.order() == sorted(sorted(range(1000), key=lambda i: vals[i]), key=lambda i: -vals[i])


def test_sort_with_limit_puts_the_top_n_first():
    m = Map(N, [int])
    vals = [5, 9, 1, 9, 3, 7, 2, 8]
    for i, v in enumerate(vals):
        m.set(i, v)
    sort(m, 0, -1, limit=3)
    assert m.order()[:3] == [1, 3, 7]  # 9, 9 (stable), 8
    assert sorted(m.order()) == list(range(8))
    sort(m, 0, 1, limit=50)  # above 30: a full sort
    assert m.values() == sorted(vals)


def test_string_values_sort_and_stats_values_sort():
    s = Map(N, [int], MAP_STRING)
    for i, v in enumerate(["pear", "apple", "fig"]):
        s.set(i, v)
    sort(s, 0, 1)
    assert [ctypes.string_at(N.stp_map_slot_str(s.mem, sl)) for _, sl in s.items()] == [b"apple", b"fig", b"pear"]
    st = Map(N, [str], MAP_STAT)
    for k, samples in [("x", [5, 5, 5]), ("y", [100]), ("z", [1, 1])]:
        for v in samples:
            assert N.stp_map_stat_add(st.ctx, st.mem, st.keys(k), v) == 0
    sort(st, 0, -1, STAT_COUNT)
    assert st.order() == ["x", "z", "y"]
    sort(st, 0, -1, STAT_SUM)
    assert st.order() == ["y", "x", "z"]
    out = ctypes.c_int64()
    ref = N.stp_map_stat_ref(st.mem, st.keys("x"))
    assert N.stp_stat_get(st.ctx, ref, STAT_SUM, ctypes.byref(out)) == 0 and out.value == 15
    empty = N.stp_map_stat_ref(st.mem, st.keys("nope"))
    assert N.stp_stat_get(st.ctx, empty, STAT_COUNT, ctypes.byref(out)) == 0 and out.value == 0
    assert len(st) == 3


def test_stat_values_carry_the_histogram_shape():
    st = Map(N, [int], MAP_STAT, hist=(2, 0, 0, 0))
    for v in (1, 1, 2):
        N.stp_map_stat_add(st.ctx, st.mem, st.keys(7), v)
    out = ctypes.c_int64()
    ref = N.stp_map_stat_ref(st.mem, st.keys(7))
    assert N.stp_stat_hist_bucket(st.ctx, ref, 65, ctypes.byref(out)) == 0 and out.value == 2


def stap_sortn(order, n, after):
    """map.c's _stp_map_sortn for n <= 30, on a Python list: bubble the first n, then insert into them."""
    lst = list(order)
    swaps = 1
    while swaps:
        swaps, j, num = 0, 0, n
        while j + 1 < len(lst):
            num -= 1
            if num <= 0:
                break
            if after(lst[j], lst[j + 1]):
                lst[j], lst[j + 1] = lst[j + 1], lst[j]
                swaps += 1
            j += 1
    last = j
    for p in range(last + 1, len(lst)):
        a = lst[p]
        k = last
        while k >= 0 and after(lst[k], a):
            k -= 1
        if k != last:
            del lst[p]
            lst.insert(k + 1, a)
    return lst


@pytest.mark.parametrize("limit", [1, 2, 5, 30])
@pytest.mark.parametrize("direction", [1, -1])
def test_sort_limit_follows_map_c_exactly(limit, direction):
    import random

    rng = random.Random(limit * 10 + direction)
    vals = [rng.randrange(20) for _ in range(60)]
    m = Map(N, [int])
    for i, v in enumerate(vals):
        m.set(i, v)

    def after(a, b):
        return vals[a] > vals[b] if direction > 0 else vals[a] < vals[b]

    sort(m, 0, direction, limit=limit)
    assert m.order() == stap_sortn(range(60), limit, after)


@pytest.mark.parametrize("weak", [False, True])
def test_random_operations_match_an_ordered_dict_model(weak):
    """set / add / delete / slice-delete / clear / sort against a Python model of map.c's list order."""
    import random

    n = native(ALT_LIMITS) if weak else N
    rng = random.Random(7 + weak)
    m = Map(n, [str, int], decl=40)
    model: dict = {}
    for step in range(3000):
        op = rng.random()
        key = (rng.choice(["a", "b", "c", "dd", "x" * 520]), rng.randrange(-3, 12))
        model_key = (key[0][:511], key[1])
        if op < 0.45:
            v = rng.randrange(-5, 5)
            rc = m.set(key, v)
            if model_key in model or len(model) < 40:
                assert rc == 0
                model[model_key] = v
            else:
                assert rc == 1 and m.ctx.errmsg == b"Array overflow, check size limit (40)"
        elif op < 0.6:
            out = ctypes.c_int64()
            rc = n.stp_map_add_long(m.ctx, m.mem, m.keys(key), 2, ctypes.byref(out))
            if model_key in model or len(model) < 40:
                model[model_key] = model.get(model_key, 0) + 2
                assert rc == 0 and out.value == model[model_key]
            else:
                assert rc == 1
        elif op < 0.8:
            m.delete(key)
            model.pop(model_key, None)
        elif op < 0.85:
            col = rng.choice([0, 1])
            n.stp_map_delete_slice(m.mem, m.keys(key), 1 << col)  # column `col` is *
            other = 1 - col
            for k in [k for k in model if k[other] == model_key[other]]:
                del model[k]
        elif op < 0.86:
            n.stp_map_clear(m.mem)
            model.clear()
        elif op < 0.9:
            direction = rng.choice([1, -1])
            n.stp_map_sort(m.mem, 0, direction, 0, 0)
            model = dict(sorted(model.items(), key=lambda kv: kv[1] * direction))
        else:
            assert m.get(key) == model.get(model_key, 0)
            assert m.exists(key) == (model_key in model)
        if step % 50 == 0:
            assert len(m) == len(model)
            assert [(k[0], k[1]) for k in m.order()] == list(model)
            assert m.values() == list(model.values())
