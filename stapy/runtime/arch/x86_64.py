"""x86-64 facts in one place: the register block, int3, and how a displaced
instruction is resumed (emulated, run out of line with fix-ups, or stepped in place).

`plan_step(code, addr)` decodes the probed instruction once, when the
breakpoint is inserted, and returns a `StepPlan`; the hot path only reads the
plan's integers (also mirrored into the native breakpoint table).
"""
from __future__ import annotations

import ctypes
from dataclasses import dataclass

from capstone import CS_ARCH_X86, CS_MODE_64, Cs
from capstone import x86_const as X

from stapy.codegen.abi import N_USER_REGS, REG_INDEX

Regs = ctypes.c_uint64 * N_USER_REGS
RIP, RSP, RBP, RAX, EFLAGS, ORIG_RAX = (REG_INDEX[n] for n in ("rip", "rsp", "rbp", "rax", "eflags", "orig_rax"))
INT3 = 0xCC
TF = 0x100
MAX_INSN = 15

# emulation / resume kinds (also the native table's `op` column)
OP_XOL = 0        # run the copy out of line, single-step, fix up
OP_SKIP = 1       # nop forms, endbr64: rip += len
OP_PUSH = 2       # push %reg: rsp -= 8; [rsp] = reg; rip += len
OP_MOVRBP = 3     # mov %rsp,%rbp
OP_SUBRSP = 4     # sub $imm,%rsp (flags computed)
OP_INPLACE = 5    # fallback: restore the byte, step in place, re-insert

# out-of-line fix-ups after the step
FIX_RIP = 0       # ordinary instruction: rip = orig + len when it ended at xol + len
FIX_CALL_REL = 1  # relative call: as FIX_RIP, and the pushed return address becomes orig + len
FIX_CALL_ABS = 2  # indirect call: rip is absolute; pushed return address becomes orig + len
FIX_NONE = 3      # ret, indirect jmp: rip is already right
FIX_JREL = 4      # relative jump (taken or not): rip += orig - xol

_md = Cs(CS_ARCH_X86, CS_MODE_64)
_md.detail = True

# push %reg opcodes 0x50+r (+REX.B) -> user_regs index
_PUSH_REGS = ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
              "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"]
# candidates for the RIP-relative scratch register, modrm.rm encodings
_LEGACY_PREFIXES = frozenset((0xF0, 0xF2, 0xF3, 0x2E, 0x36, 0x3E, 0x26, 0x64, 0x65, 0x66, 0x67))
_SCRATCH = [("rax", 0), ("rcx", 1), ("rdx", 2), ("rbx", 3), ("rsi", 6), ("rdi", 7)]
_FAMILY = {}
for fam, names in {
    "rax": "rax eax ax al ah", "rcx": "rcx ecx cx cl ch", "rdx": "rdx edx dx dl dh",
    "rbx": "rbx ebx bx bl bh", "rsi": "rsi esi si sil", "rdi": "rdi edi di dil",
}.items():
    for n in names.split():
        _FAMILY[n] = fam


@dataclass(frozen=True)
class StepPlan:
    op: int
    length: int
    reg: int = -1        # OP_PUSH: register pushed; OP_XOL: scratch register (-1: none)
    imm: int = 0         # OP_SUBRSP: immediate
    xol_code: bytes = b""  # OP_XOL: bytes to place in the slot
    fix: int = FIX_RIP
    text: str = ""


def _nop_like(insn) -> bool:
    return insn.id in (X.X86_INS_NOP, X.X86_INS_ENDBR64, X.X86_INS_ENDBR32) or (
        insn.id == X.X86_INS_XCHG and insn.op_str in ("ax, ax", "eax, eax"))


def plan_step(code: bytes, addr: int) -> StepPlan | None:
    """Decide how to resume past the instruction at `addr` whose bytes start `code`.

    None: the instruction cannot be decoded (or is itself an int3): no breakpoint."""
    insn = next(_md.disasm(code[:MAX_INSN], addr, 1), None)
    if insn is None or code[0] == INT3:
        return None
    n = insn.size
    raw = bytes(insn.bytes)
    text = f"{insn.mnemonic} {insn.op_str}".strip()
    if _nop_like(insn):
        return StepPlan(OP_SKIP, n, text=text)
    if insn.id == X.X86_INS_PUSH and (raw[0] & 0xF8) == 0x50 and n == 1:
        return StepPlan(OP_PUSH, n, reg=REG_INDEX[_PUSH_REGS[raw[0] & 7]], text=text)
    if insn.id == X.X86_INS_PUSH and n == 2 and raw[0] == 0x41 and (raw[1] & 0xF8) == 0x50:
        return StepPlan(OP_PUSH, n, reg=REG_INDEX[_PUSH_REGS[8 + (raw[1] & 7)]], text=text)
    if raw in (b"\x48\x89\xe5", b"\x48\x8b\xec"):
        return StepPlan(OP_MOVRBP, n, text=text)
    if raw[:3] == b"\x48\x83\xec" and n == 4:
        return StepPlan(OP_SUBRSP, n, imm=int.from_bytes(raw[3:4], "little", signed=True) & (2**64 - 1), text=text)
    if raw[:3] == b"\x48\x81\xec" and n == 7:
        return StepPlan(OP_SUBRSP, n, imm=int.from_bytes(raw[3:7], "little", signed=True) & (2**64 - 1), text=text)
    return _plan_xol(insn, raw, text)


def _plan_xol(insn, raw: bytes, text: str) -> StepPlan:
    groups = set(insn.groups)
    n = insn.size
    if insn.id == X.X86_INS_SYSCALL or X.X86_GRP_INT in groups and insn.id != X.X86_INS_INT3:
        return StepPlan(OP_XOL, n, xol_code=raw, fix=FIX_RIP, text=text)
    is_call = X.X86_GRP_CALL in groups
    is_ret = X.X86_GRP_RET in groups or insn.id in (X.X86_INS_RET, X.X86_INS_RETF)
    is_rel = X.X86_GRP_BRANCH_RELATIVE in groups
    if is_call:
        fix = FIX_CALL_REL if is_rel else FIX_CALL_ABS
    elif is_ret:
        fix = FIX_NONE
    elif X.X86_GRP_JUMP in groups and not is_rel:
        fix = FIX_NONE
    elif is_rel:
        fix = FIX_JREL
    else:
        fix = FIX_RIP
    riprel = insn.modrm_offset and (insn.modrm & 0xC7) == 0x05
    if not riprel:
        return StepPlan(OP_XOL, n, xol_code=raw, fix=fix, text=text)
    # RIP-relative operand: rewrite [rip+disp32] as [scratch+disp32] with scratch = orig + len
    # (uprobes' trick), the scratch register being one the instruction does not touch.
    # VEX/EVEX (C4/C5/62 after the legacy prefixes: never LES/LDS/BOUND in 64-bit mode) carry
    # REX.B inverted in their payload: C5 has none (rm is one of the low 8), C4 and 62 have B-bar
    # at bit 5 of the byte after the escape.  EVEX's disp8*N compression only applies to mod=01.
    vex_pos = None
    i = 0
    while i < insn.modrm_offset and raw[i] in _LEGACY_PREFIXES:
        i += 1
    if i < insn.modrm_offset and raw[i] in (0xC4, 0xC5, 0x62):
        vex_pos = i
    read, written = insn.regs_access()
    used = {_FAMILY.get(insn.reg_name(r)) for r in list(read) + list(written)}
    modrm = insn.modrm
    reg_field = (modrm >> 3) & 7
    code = bytearray(raw)
    # find REX (0x40-0x4f) immediately before the opcode bytes
    rex_pos = None
    for i in range(vex_pos if vex_pos is not None else insn.modrm_offset):
        if 0x40 <= code[i] <= 0x4F:
            rex_pos = i
    rex_r = bool(rex_pos is not None and code[rex_pos] & 4)
    for name, enc in _SCRATCH:
        if name in used or (not rex_r and enc == reg_field):
            continue
        code[insn.modrm_offset] = 0x80 | (modrm & 0x38) | enc  # mod=10 rm=enc, disp32 kept
        if rex_pos is not None:
            code[rex_pos] &= ~1  # clear REX.B
        if vex_pos is not None and code[vex_pos] in (0xC4, 0x62):
            code[vex_pos + 1] |= 0x20  # B-bar set: REX.B clear
        return StepPlan(OP_XOL, n, reg=REG_INDEX[name], xol_code=bytes(code), fix=fix, text=text)
    return StepPlan(OP_INPLACE, n, text=text)


def sub_flags(a: int, b: int, eflags: int) -> tuple[int, int]:
    """(a - b mod 2^64, new eflags) as `sub` computes them (CF PF AF ZF SF OF)."""
    m = 2**64 - 1
    r = (a - b) & m
    f = eflags & ~0x8D5
    if a < b:
        f |= 0x1
    if bin(r & 0xFF).count("1") % 2 == 0:
        f |= 0x4
    if (a ^ b ^ r) & 0x10:
        f |= 0x10
    if r == 0:
        f |= 0x40
    if r >> 63:
        f |= 0x80
    if ((a ^ b) & (a ^ r)) >> 63:
        f |= 0x800
    return r, f
