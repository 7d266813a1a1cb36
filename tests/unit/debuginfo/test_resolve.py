"""resolve.py beyond the goldens: PATH rules, #! scripts, stripped files with separate debuginfo,
statement(ADDR), .return entry addresses, symbolization against binutils."""
from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest

from conftest import build_target
from golden_cases import cases, to_golden
from stapy.debuginfo import elf
from stapy.debuginfo.listing import list_probes, split_probe_point
from stapy.debuginfo.resolve import (ResolveError, parse_function_spec, resolve_process_path,
                                     resolve_process_probe)
from stapy.debuginfo.symbolize import AddressSpace


def test_path_rules(tmp_path):
    ls = shutil.which("ls")
    assert resolve_process_path("ls") == os.path.realpath(ls)
    exe = build_target("dbg_basic.c", flags=("-O0", "-g"))
    assert resolve_process_path("./" + exe.name, cwd=str(exe.parent)) == str(exe)
    assert resolve_process_path(exe.name, cwd=str(exe.parent), env_path=str(exe.parent)) == str(exe)
    with pytest.raises(ResolveError):
        resolve_process_path(exe.name, cwd=str(exe.parent), env_path="/nonexistent")
    script = tmp_path / "s.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o755)
    assert resolve_process_path(str(script)) == os.path.realpath("/bin/sh")


@pytest.mark.parametrize("spec, parsed", [
    ("add", ((), "add", None, "none", ())),
    ("add@p.c", ((), "add", "p.c", "none", ())),
    ("add@p.c:6", ((), "add", "p.c", "absolute", (6,))),
    ("a*@*/x.c:3-5", ((), "a*", "*/x.c", "range", (3, 4, 5))),
    ("f@x.c:3,7", ((), "f", "x.c", "list", (3, 7))),
    ("f@x.c:*", ((), "f", "x.c", "wildcard", ())),
    ("f@x.c+2", ((), "f", "x.c", "relative", (2,))),
    ("ns::Box::get@x.cc", (("ns", "Box"), "get", "x.cc", "none", ())),
])
def test_function_spec(spec, parsed):
    s = parse_function_spec(spec)
    assert (s.scopes, s.function, s.file, s.line_kind, s.lines) == parsed


def test_stripped_binary_uses_separate_debuginfo(tmp_path):
    """The listing of a stripped copy with a .debug/ file equals the unstripped binary's."""
    case = next(c for c in cases() if c.name == "basic_O2_L")
    exe = case.build()
    d = tmp_path / "bin"
    d.mkdir()
    stripped = d / exe.name
    (d / ".debug").mkdir()
    subprocess.run(["objcopy", "--only-keep-debug", str(exe), str(d / ".debug" / (exe.name + ".debug"))], check=True)
    subprocess.run(["objcopy", "--strip-all", f"--add-gnu-debuglink={d / '.debug' / (exe.name + '.debug')}",
                    str(exe), str(stripped)], check=True)
    assert not elf.open_elf(str(stripped)).has_dwarf
    want = list_probes(case.point.replace("BIN", str(exe)), verbose_vars=True)
    got = list_probes(case.point.replace("BIN", str(stripped)), verbose_vars=True)
    assert [l.replace(str(stripped), str(exe)) for l in got] == want


def test_statement_address_lists_the_function_vars():
    exe = build_target("dbg_basic.c", flags=("-O0", "-g"))
    site = resolve_process_probe(str(exe), [("function", "add")])[0]
    line = list_probes(f'process("{exe}").statement({site.address:#x})', verbose_vars=True)
    assert line == [f'process("{exe}").statement({site.address:#x}) $a:int $b:int $c:int']


def test_return_probes_hook_the_real_entry():
    exe = build_target("dbg_basic.c", flags=("-O0", "-g"))
    ef = elf.open_elf(str(exe))
    entry = resolve_process_probe(str(exe), [("function", "add")])[0]
    ret = resolve_process_probe(str(exe), [("function", "add"), ("return", None)])[0]
    assert ret.address == ef.lookup("add")[0].address == entry.entry_pc
    assert entry.address > entry.entry_pc          # -O0: after the prologue
    assert ret.is_return and ret.pp.endswith(".return")


def test_symbolize_running_process_matches_nm_and_addr2line():
    exe = build_target("dbg_basic.c", flags=("-O0", "-g"))
    proc = subprocess.Popen([str(exe), "sleep"], stdout=subprocess.DEVNULL)
    try:
        deadline = time.time() + 5
        while time.time() < deadline and elf.load_bias(proc.pid, str(exe)) is None:
            time.sleep(0.01)
        space = AddressSpace.of_pid(proc.pid)
        bias = space.modules()[str(exe)]
        add = elf.open_elf(str(exe)).lookup("add")[0]
        r = space.lookup(add.address + bias + 4)
        assert r.usymname() == "add"
        assert r.usymdata() == f"add+0x4/{add.size:#x} [{exe}]"
        want = subprocess.run(["addr2line", "-e", str(exe), hex(add.address + 4)], capture_output=True,
                              text=True).stdout.strip()
        assert r.fileline() == want
        assert space.lookup(8) is None
    finally:
        proc.kill()
        proc.wait()


def test_one_function_of_libc_resolves_fast():
    t0 = time.perf_counter()
    sites = resolve_process_probe("/lib/x86_64-linux-gnu/libc.so.6", [("function", "free")])
    elapsed = time.perf_counter() - t0
    libc = elf.open_elf("/lib/x86_64-linux-gnu/libc.so.6")
    assert [s.entry_pc for s in sites] == [libc.lookup("free")[0].address]
    assert elapsed < 2.0


def test_ifunc_symbols_are_not_probe_targets():
    """stap 4.8: process("libc.so.6").function("strlen") is 'no match' (strlen is a GNU_IFUNC)."""
    assert resolve_process_probe("/lib/x86_64-linux-gnu/libc.so.6", [("function", "strlen")]) == []
