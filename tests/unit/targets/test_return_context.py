"""uaddr(), probefunc(), usymname(uaddr()) and ubacktrace() in a .return probe answer as stap's do on a
kernel whose uretprobe sets the ip to the return address before the handlers run
(kernel/events/uprobes.c handle_trampoline; tapset context.stp: uaddr is REG_IP(uregs), probefunc is
usymname(uaddr())): the caller's pc after the call.  $return and @entry still lower against the entry."""
import re

import pytest

from conftest import build_target, run_stapy


def return_offset(prog: str) -> int:
    """Offset from caller's start of the instruction after its call to callee (capstone on the ELF)."""
    import capstone
    from elftools.elf.elffile import ELFFile

    with open(prog, "rb") as f:
        elf = ELFFile(f)
        syms = {s.name: s for s in elf.get_section_by_name(".symtab").iter_symbols()}
        text = elf.get_section_by_name(".text")
        caller, callee = syms["caller"], syms["callee"]
        start = caller["st_value"]
        code = text.data()[start - text["sh_addr"]: start - text["sh_addr"] + caller["st_size"]]
    md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    for insn in md.disasm(code, start):
        if insn.mnemonic == "call" and insn.op_str == hex(callee["st_value"]):
            return insn.address + insn.size - start
    raise AssertionError("no call to callee in caller")


@pytest.mark.parametrize("opt", ["-O0", "-O2"])
def test_return_probe_context_is_the_return_address(opt):
    prog = str(build_target("engine_retaddr.c", flags=(opt, "-g")))
    script = (f'probe process("{prog}").function("callee") {{ printf("entry %d %s\\n", uaddr() > 0, probefunc()) }}\n'
              f'probe process("{prog}").function("callee").return {{ printf("return %x %s %s %s %d %d\\n", '
              'uaddr(), probefunc(), usymname(uaddr()), tokenize(ubacktrace(), " "), $return, @entry($x)) }')
    r = run_stapy("-e", script, "-c", prog)
    assert r.returncode == 0, r.stderr
    ret = int(re.search(r"caller=0x([0-9a-f]+)", r.stdout).group(1), 16) + return_offset(prog)
    lines = [l for l in r.stdout.splitlines() if l.startswith(("entry", "return"))]
    # the entry probe sits after callee's prologue (stap's function probe address), inside callee
    assert lines == ["entry 1 callee", f"return {ret:x} caller caller {ret:#x} 12 4"]


def test_deep_recursion_returns_past_the_nesting_limit_are_not_probed():
    """2,000-deep recursion, 3 rounds.  Kernel uretprobes (stap's and bpftrace's) hijack at most
    MAX_URETPROBE_DEPTH = 64 returns per thread: deeper calls still hit the entry probe, but only the
    outermost 64 frames report their return, silently (bpftrace on this kernel: @e 6003, @r 192).
    The returns that do fire are the outermost frames': depth(2000) .. depth(1937) return 2000 .. 1937."""
    prog = str(build_target("engine_deep.c", flags=("-O0", "-g")))
    script = (f'global e, r, s; probe process("{prog}").function("depth") {{ e++ }} '
              f'probe process("{prog}").function("depth").return {{ r++; s += $return }} '
              'probe end { printf("e=%d r=%d s=%d\\n", e, r, s) }')
    r = run_stapy("-e", script, "-c", f"{prog} 2000 3")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "calls 6003 sum 6000\n" + f"e=6003 r={3 * 64} s={3 * sum(range(1937, 2001))}\n"
    assert r.stderr == ""  # stap counts no skipped probe and prints no warning for these


TAIL = r"""
#include <stdio.h>
__attribute__((noinline)) long g(long x) { asm volatile(""); return x * 2 + 1; }
__attribute__((noinline)) long f(long x) { return g(x + 1); }
int main(void) { long s = 0; for (long i = 0; i < 100; i++) s += f(i); printf("s=%ld\n", s); return 0; }
"""


def test_tail_call_through_a_hijacked_slot_chains():
    """At -O2 f() is `jmp g`: g's entry finds our trampoline in f's slot, so f's instance is kept
    (the kernel's RP_CHECK_CHAIN_CALL) and both returns fire, with g's value (bpftrace agrees)."""
    prog = str(build_target(TAIL, flags=("-O2", "-g"), name="tailcall"))
    script = (f'global a, b, sa, sb; probe process("{prog}").function("f").return {{ a++; sa += $return }} '
              f'probe process("{prog}").function("g").return {{ b++; sb += $return }} '
              'probe end { printf("%d %d %d %d\\n", a, b, sa, sb) }')
    r = run_stapy("-e", script, "-c", prog)
    assert r.returncode == 0, r.stderr
    s = int(re.match(r"s=(\d+)\n", r.stdout).group(1))
    assert r.stdout.splitlines()[1] == f"100 100 {s} {s}"
