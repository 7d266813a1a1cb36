"""types.py and locations.py against what gcc itself says: sizeof/offsetof/bitfield bytes printed by a
program built at test time, prologue stores in objdump, and the SysV calling convention at entry."""
from __future__ import annotations

import re
import subprocess

import pytest

from conftest import build_target
from stapy.debuginfo import elf
from stapy.debuginfo.dwarf import dwarf_for

LAYOUT_PROG = r"""
#include <stdio.h>
#include <stddef.h>
#include <string.h>
struct inner { char tag; short s; };
struct outer {
    char c;
    unsigned a : 3;
    unsigned b : 5;
    signed int neg : 7;
    unsigned long long wide : 40;
    struct inner in;
    union { int i; float f; } u;
    struct { int anon_x; int anon_y; };
    int arr[3][2];
    const char *p;
    enum { ZERO, ONE = 10 } e;
};
struct outer g;
int main(void)
{
    memset(&g, 0, sizeof g);
    g.a = 5; g.b = 19; g.neg = -7; g.wide = 0x123456789aULL;
    printf("sizeof %zu\n", sizeof(struct outer));
    printf("c %zu\nin %zu\nu %zu\nanon_x %zu\nanon_y %zu\narr %zu\np %zu\ne %zu\n",
           offsetof(struct outer, c), offsetof(struct outer, in), offsetof(struct outer, u),
           offsetof(struct outer, anon_x), offsetof(struct outer, anon_y), offsetof(struct outer, arr),
           offsetof(struct outer, p), offsetof(struct outer, e));
    printf("bytes");
    for (size_t i = 0; i < sizeof g; i++) printf(" %02x", ((unsigned char *)&g)[i]);
    printf("\n");
    return 0;
}
"""


def global_type(binary, name):
    mod = dwarf_for(elf.open_elf(str(binary)))
    from stapy.debuginfo.types import type_of
    for cu in mod.cus():
        for d in cu.get_top_DIE().iter_children():
            if d.tag == "DW_TAG_variable" and d.attributes.get("DW_AT_name") and \
                    d.attributes["DW_AT_name"].value == name.encode():
                return type_of(d.get_DIE_from_attribute("DW_AT_type"))
    raise AssertionError(name)


def test_struct_layout_and_bitfields_match_gcc():
    exe = build_target(LAYOUT_PROG, flags=("-O0", "-g"), name="dbg_layout")
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.splitlines()
    facts = dict(l.split(" ", 1) for l in out)
    t = global_type(exe, "g")
    assert t.stap_name() == "struct outer"
    assert t.size == int(facts["sizeof"])
    for field in ("c", "in", "u", "anon_x", "anon_y", "arr", "p", "e"):
        assert t.member(field).offset == int(facts[field]), field
    data = bytes.fromhex(facts["bytes"].replace(" ", ""))
    want = {"a": 5, "b": 19, "neg": -7, "wide": 0x123456789A}
    for field, value in want.items():
        m = t.member(field)
        nbytes = (m.bit_offset + m.bit_size + 7) // 8
        raw = int.from_bytes(data[m.offset:m.offset + nbytes], "little") >> m.bit_offset
        raw &= (1 << m.bit_size) - 1
        if m.type.strip().encoding == "signed" and raw >> (m.bit_size - 1):
            raw -= 1 << m.bit_size
        assert raw == value, field
    arr = t.member("arr").type
    assert arr.kind == "array" and arr.dims == [3, 2] and arr.size == 24 and arr.stap_name() == "int[]"
    assert t.member("p").type.stap_name() == "char const*"
    assert t.member("u").type.stap_name() == "union {...}"
    assert [n for n, _ in t.member("e").type.enumerators] == ["ZERO", "ONE"]
    assert dict(t.member("e").type.enumerators)["ONE"] == 10
    assert t.member("in").type.member("s").offset == 2


FAMILY = {"rdi": {"rdi", "edi"}, "rsi": {"rsi", "esi"}, "rdx": {"rdx", "edx"}, "rcx": {"rcx", "ecx"}}


def test_O0_parameters_live_where_the_prologue_stores_them():
    """At -O0 the prologue spills each argument register to its slot; our location (CFA + k, and
    CFA = rbp + 16 after the prologue) must name the same slot."""
    exe = build_target("dbg_basic.c", flags=("-O0", "-g"))
    ef = elf.open_elf(str(exe))
    mod = dwarf_for(ef)
    dis = subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(exe)], capture_output=True, text=True).stdout
    checked = 0
    for cu in mod.cus():
        for f in mod.functions(cu):
            if f.name not in ("add", "show", "mix"):
                continue
            body = re.search(rf"^[0-9a-f]+ <{f.name}>:\n(.*?)\n\n", dis, re.S | re.M).group(1)
            stores = {}
            for m in re.finditer(r"mov[a-z]*\s+%(\w+),(-0x[0-9a-f]+)\(%rbp\)", body):
                stores.setdefault(m.group(1), int(m.group(2), 16))
            int_regs = ["rdi", "rsi", "rdx", "rcx"]
            i_int = i_sse = 0
            for v in mod.variables(f):
                if not v.is_parameter:
                    continue
                assert v.location.kind == "memory" and v.location.ops[0] == ("cfa",)
                rbp_off = v.location.ops[1][1] + 16
                if v.type.strip().encoding == "float":
                    reg = f"xmm{i_sse}"; i_sse += 1
                else:
                    reg = int_regs[i_int]; i_int += 1
                names = FAMILY.get(reg, {reg})
                assert any(stores.get(r) == rbp_off for r in names), (f.name, v.name, stores, rbp_off)
                checked += 1
    assert checked == 2 + 2 + 5


def test_O2_parameters_are_in_abi_registers_at_entry():
    exe = build_target("dbg_basic.c", flags=("-O2", "-g"))
    mod = dwarf_for(elf.open_elf(str(exe)))
    add = next(f for cu in mod.cus() for f in mod.functions(cu) if f.name == "add")
    locs = {v.name: v.location for v in mod.variables(add, add.entry_pc)}
    assert locs["a"].kind == "register" and locs["a"].register_name() == "rdi"
    assert locs["b"].kind == "register" and locs["b"].register_name() == "rsi"
    # c = a + b is never stored: a computed value
    assert locs["c"].kind == "value" and ("binop", "plus") in locs["c"].ops


def test_return_types_as_stap_names():
    exe = build_target("dbg_basic.c", flags=("-O0", "-g"))
    mod = dwarf_for(elf.open_elf(str(exe)))
    funcs = {f.name: f for cu in mod.cus() for f in mod.functions(cu)}
    assert mod.return_type(funcs["mix"]).stap_name() == "ulong_t"
    assert mod.return_type(funcs["mix"]).strip().stap_name() == "long unsigned int"
    assert mod.return_type(funcs["add"]).stap_name() == "int"


def test_return_value_locations_follow_the_sysv_abi():
    from stapy.debuginfo.locations import return_value_location
    exe = build_target("dbg_basic.c", flags=("-O0", "-g"))
    mod = dwarf_for(elf.open_elf(str(exe)))
    funcs = {f.name: f for cu in mod.cus() for f in mod.functions(cu)}
    assert return_value_location(mod.return_type(funcs["add"])).register_name() == "rax"
    assert return_value_location(mod.return_type(funcs["mix"])).register_name() == "rax"    # via typedef
