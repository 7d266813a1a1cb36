"""elf.py against binutils' view of the same binaries (nm, readelf, objdump run in the test)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import time

import pytest

from conftest import build_target
from stapy.debuginfo import elf

pytestmark = pytest.mark.skipif(shutil.which("nm") is None, reason="binutils missing")


def sh(*cmd: str) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def nm_defined(path) -> dict[str, tuple[int, str]]:
    """name -> (address, nm type letter) for defined text/data symbols."""
    out = {}
    for line in sh("nm", "--defined-only", str(path)).splitlines():
        addr, typ, name = line.split(None, 2)
        out.setdefault(name, (int(addr, 16), typ))
    return out


@pytest.fixture(scope="module", params=["-O0", "-O2"])
def basic(request):
    return build_target("dbg_basic.c", flags=(request.param, "-g"))


def test_functions_match_nm(basic):
    ef = elf.open_elf(str(basic))
    want = {n: a for n, (a, t) in nm_defined(basic).items() if t in "tTwW" and a}
    got = {s.name: s.address for s in ef.functions}
    for name, addr in want.items():
        if name in got:
            assert got[name] == addr, name
    assert {"main", "add"} <= set(got)
    assert ef.lookup("add")[0].address == want["add"]
    assert {s.name for s in ef.lookup("ma*")} == {n for n in want if re.fullmatch(r"ma.*", n)}


def test_objects_and_symbol_at(basic):
    ef = elf.open_elf(str(basic))
    syms = nm_defined(basic)
    counter = ef.lookup("counter", kinds=("object",))[0]
    assert counter.address == syms["counter"][0] and counter.size == 4
    hit = ef.symbol_at(counter.address + 2)
    assert hit and hit.symbol.name == "counter" and hit.offset == 2
    add = ef.lookup("add")[0]
    hit = ef.symbol_at(add.address + add.size - 1)
    assert hit.symbol.name == "add" and hit.offset == add.size - 1


def test_sizes_match_readelf(basic):
    ef = elf.open_elf(str(basic))
    for line in sh("readelf", "-sW", str(basic)).splitlines():
        f = line.split()
        if len(f) == 8 and f[3] == "FUNC" and f[7] in ("main", "add", "mix"):
            s = ef.lookup(f[7])[0]
            assert (s.address, s.size) == (int(f[1], 16), int(f[2], 0))


def test_header_facts(basic):
    ef = elf.open_elf(str(basic))
    hdr = sh("readelf", "-hlnW", str(basic))
    assert ef.is_pie == ("DYN" in re.search(r"Type:\s+(\S+)", hdr).group(1))
    assert ef.build_id == re.search(r"Build ID: ([0-9a-f]+)", hdr).group(1)
    assert ef.interp == re.search(r"Requesting program interpreter: ([^\]]+)\]", hdr).group(1)
    loads = re.findall(r"^\s+LOAD\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)", hdr, re.M)
    assert [(s.offset, s.vaddr) for s in ef.segments] == [(int(o, 16), int(v, 16)) for o, v in loads]


def test_plt_matches_objdump(basic):
    ef = elf.open_elf(str(basic))
    dis = sh("objdump", "-d", "-j", ".plt", "-j", ".plt.sec", str(basic))
    want = {m.group(2): int(m.group(1), 16) for m in re.finditer(r"^([0-9a-f]+) <(\w+)@plt>:", dis, re.M)}
    got = {p.name: p.address for p in ef.plt_entries}
    assert want and got == want


def test_non_pie_has_zero_bias():
    exe = build_target("dbg_basic.c", flags=("-O0", "-g", "-no-pie"), name="dbg_basic_nopie")
    ef = elf.open_elf(str(exe))
    assert not ef.is_pie and ef.load_bias(0x400000) == 0


def test_load_bias_of_running_process(basic):
    proc = subprocess.Popen([str(basic), "sleep"], stdout=subprocess.DEVNULL)
    try:
        deadline = time.time() + 5
        bias = None
        while bias is None and time.time() < deadline:
            bias = elf.load_bias(proc.pid, str(basic))
            time.sleep(0.01)
        assert bias is not None and bias % 4096 == 0
        # the main symbol, biased, lies in an executable mapping of the file
        addr = elf.open_elf(str(basic)).lookup("main")[0].address + bias
        maps = elf.read_maps(proc.pid)
        assert any(m.start <= addr < m.end and "x" in m.perms and m.path == os.path.realpath(basic) for m in maps)
        bases = elf.module_bases(proc.pid)
        assert bases[os.path.realpath(basic)] == bias
        assert any("libc" in p for p in bases)
    finally:
        proc.kill()
        proc.wait()


def test_separate_debuginfo_by_debuglink_and_build_id(basic, tmp_path):
    full = tmp_path / "prog"
    shutil.copy(basic, full)
    dbg = tmp_path / "prog.debug"
    sh("objcopy", "--only-keep-debug", str(full), str(dbg))
    stripped = tmp_path / "bin" / "prog"
    stripped.parent.mkdir()
    sh("objcopy", "--strip-debug", "--strip-unneeded", f"--add-gnu-debuglink={dbg}", str(full), str(stripped))
    ef = elf.open_elf(str(stripped))
    assert not ef.has_dwarf
    assert ef.debuglink[0] == "prog.debug"
    assert ef.debug_file(roots=()) is None           # not beside the binary, nor in .debug/
    (stripped.parent / ".debug").mkdir()
    shutil.copy(dbg, stripped.parent / ".debug" / "prog.debug")
    assert ef.debug_file(roots=()) == str(stripped.parent / ".debug" / "prog.debug")
    # build-id layout wins over the debuglink
    root = tmp_path / "debugroot"
    bid = ef.build_id
    (root / ".build-id" / bid[:2]).mkdir(parents=True)
    shutil.copy(dbg, root / ".build-id" / bid[:2] / (bid[2:] + ".debug"))
    found = ef.debug_file(roots=(str(root),))
    assert found == str(root / ".build-id" / bid[:2] / (bid[2:] + ".debug"))
    assert elf.open_elf(found).has_dwarf
    assert ef.dwarf_file(roots=(str(root),)).path == os.path.realpath(found)


def test_cache_reopens_changed_file(tmp_path, basic):
    p = tmp_path / "x"
    shutil.copy(basic, p)
    a = elf.open_elf(str(p))
    assert elf.open_elf(str(p)) is a
    os.utime(p, ns=(1, 1))
    assert elf.open_elf(str(p)) is not a


def test_versioned_names_and_address_of():
    """libc's separate .symtab spells compat/default versions 'fopen@@GLIBC_2.2.5'; stap's probe
    lookup sees that table (so 'fopen' is no match there), while the engine's address_of still finds it."""
    libc = elf.open_elf("/lib/x86_64-linux-gnu/libc.so.6")
    dyn = {l.split()[-1].split("@")[0]: int(l.split()[1], 16)
           for l in sh("readelf", "-W", "--dyn-syms", libc.path).splitlines()
           if len(l.split()) >= 8 and l.split()[-1].startswith("fopen@@")}
    assert libc.address_of("fopen") == dyn["fopen"]
    if libc.debug_file() is not None:
        assert not libc.lookup("fopen")
        assert any(s.name.startswith("fopen@@") for s in libc.symbols)
