"""lookup.py: @cast types and @var globals, checked against nm and the types' own definitions."""
from __future__ import annotations

import subprocess

from conftest import build_target
from stapy.debuginfo import elf
from stapy.debuginfo.lookup import PointerTo, find_global, find_type


def nm_address(exe, name):
    for line in subprocess.run(["nm", str(exe)], capture_output=True, text=True, check=True).stdout.splitlines():
        f = line.split()
        if len(f) == 3 and f[2] == name:
            return int(f[0], 16)
    raise AssertionError(name)


def test_types_by_name():
    exe = build_target("dbg_basic.c", flags=("-O0", "-g"))
    ef = elf.open_elf(str(exe))
    pt = find_type(ef, "struct pt")
    assert pt.stap_name() == "struct pt" and pt.size == 8 and [m.name for m in pt.members] == ["x", "y"]
    assert find_type(ef, "pt").stap_name() == "struct pt"          # bare name falls back to the tag
    assert find_type(ef, "ulong_t").strip().stap_name() == "long unsigned int"
    assert find_type(ef, "union num").size == 4
    assert find_type(ef, "enum color").enumerators == [("RED", 0), ("GREEN", 5), ("BLUE", 6)]
    p = find_type(ef, "struct pt *")
    assert isinstance(p, PointerTo) and p.depth == 1 and p.stap_name() == "struct pt*"
    assert find_type(ef, "struct nosuch") is None


def test_globals_by_name():
    exe = build_target("dbg_basic.c", flags=("-O2", "-g"))
    ef = elf.open_elf(str(exe))
    g = find_global(ef, "counter")
    assert g.type_name == "int" and g.location.kind == "memory"
    assert g.location.ops == (("addr", nm_address(exe, "counter")),)
    assert find_global(ef, "counter", "dbg_basic*.c") is not None
    assert find_global(ef, "counter", "other.c") is None
    b = find_global(ef, "buffer")
    assert b.type_name == "char[]" and b.type.size == 16
