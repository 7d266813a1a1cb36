"""sdt.py: notes against readelf -n and nm; operand forms as GCC writes them (AT&T syntax)."""
from __future__ import annotations

import re
import subprocess

import pytest

from conftest import build_target
from stapy.debuginfo import elf
from stapy.debuginfo.sdt import SdtError, parse_arg, sdt_probes


def readelf_notes(path):
    out = subprocess.run(["readelf", "-n", str(path)], capture_output=True, text=True, check=True).stdout
    notes = []
    for m in re.finditer(r"Provider: (\S+)\n\s+Name: (\S+)\n\s+Location: (0x[0-9a-f]+), Base: (0x[0-9a-f]+), "
                         r"Semaphore: (0x[0-9a-f]+)\n\s+Arguments: ?(.*)", out):
        notes.append((m.group(1), m.group(2), int(m.group(3), 16), int(m.group(4), 16), int(m.group(5), 16),
                      m.group(6).strip()))
    return notes


@pytest.mark.parametrize("opt", ["-O0", "-O2"])
def test_notes_match_readelf_and_nm(opt):
    exe = build_target("dbg_sdt.c", flags=(opt, "-g"))
    ef = elf.open_elf(str(exe))
    ours = sdt_probes(ef)
    theirs = readelf_notes(exe)
    assert len(ours) == len(theirs) == 5
    base_sec = ef.section(".stapsdt.base")["sh_addr"]
    nm = dict((l.split()[2], int(l.split()[0], 16)) for l in subprocess.run(
        ["nm", str(exe)], capture_output=True, text=True, check=True).stdout.splitlines() if len(l.split()) == 3)
    for p, (prov, name, loc, base, sem, args) in zip(ours, theirs):
        assert (p.provider, p.name, p.arg_text) == (prov, name, args)
        assert p.pc == loc + (base_sec - base)
        assert p.semaphore == sem == nm[f"{prov}_{name}_semaphore"]
        assert len(p.args) == len(args.split()) if args else not p.args
        for a in p.args:
            if a.symbol:
                assert a.address == nm[a.symbol]


def test_marks_sit_on_nops_in_their_function():
    exe = build_target("dbg_sdt.c", flags=("-O2", "-g"))
    ef = elf.open_elf(str(exe))
    dis = subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(exe)], capture_output=True, text=True).stdout
    nops = {int(m.group(1), 16) for m in re.finditer(r"^\s*([0-9a-f]+):\s+nop\b", dis, re.M)}
    for p in sdt_probes(ef):
        assert p.pc in nops
        assert ef.symbol_at(p.pc).symbol.name in ("work", "main")


@pytest.mark.parametrize("text, fields", [
    ("-4@%eax", dict(size=4, signed=True, kind="reg", reg="rax", reg_bits=32, reg_shift=0)),
    ("8@%rsi", dict(size=8, signed=False, kind="reg", reg="rsi", reg_bits=64)),
    ("-1@%ah", dict(size=1, kind="reg", reg="rax", reg_bits=8, reg_shift=8)),
    ("2@%r9w", dict(size=2, kind="reg", reg="r9", reg_bits=16)),
    ("-4@%r12d", dict(kind="reg", reg="r12", reg_bits=32)),
    ("8@-16(%rbp)", dict(kind="mem", base="rbp", disp=-16, index=None)),
    ("8@(%rax)", dict(kind="mem", base="rax", disp=0)),
    ("-8@global_value(%rip)", dict(kind="mem", base="rip", symbol="global_value", disp=0)),
    ("4@counter+8(%rip)", dict(kind="mem", base="rip", symbol="counter", disp=8)),
    ("8@16(%rax,%rdx,4)", dict(kind="mem", base="rax", index="rdx", scale=4, disp=16)),
    ("4@$5", dict(kind="const", value=5)),
    ("-4@$-3", dict(kind="const", value=-3, signed=True)),
    ("8@$0x10", dict(kind="const", value=16)),
])
def test_operand_forms(text, fields):
    a = parse_arg(text)
    for k, v in fields.items():
        assert getattr(a, k) == v, k


def test_bad_operand():
    with pytest.raises(SdtError):
        parse_arg("4@%xyz")
