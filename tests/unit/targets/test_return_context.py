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
