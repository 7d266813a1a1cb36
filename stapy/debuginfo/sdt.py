"""SDT markers (<sys/sdt.h>): .note.stapsdt notes and their GCC operand strings.

sdt_probes(elf_file) -> [SdtProbe]   in note order
SdtProbe: provider, name, pc (link-time, adjusted by .stapsdt.base), semaphore (link-time or 0), args [SdtArg]
SdtArg: the parsed form of one `SIZE@OPERAND`
  size      bytes (1 2 4 8), signed   True when SIZE was negative
  kind      'reg'    value is register `reg` (a 64-bit name: 'rax'...), of which `reg_bits` bits starting at
                     bit `reg_shift` are meant (%eax: 32 at 0, %ah: 8 at 8)
            'const'  value is `value`
            'mem'    value is at address disp + base + index*scale; `symbol` (with `disp` as addend) when
                     written sym(%rip) -- then `address` is the link-time address if the symbol resolved
  text      the operand as written
parse_arg(text) -> SdtArg                 (used by the tests and by `.mark` lowering)
"""
from __future__ import annotations

import re
import struct
from dataclasses import dataclass

from .elf import ElfFile

# register -> (64-bit register, bits, shift)
_REGS: dict[str, tuple[str, int, int]] = {}
for _q, _d, _w, _b, _h in (("rax", "eax", "ax", "al", "ah"), ("rbx", "ebx", "bx", "bl", "bh"),
                           ("rcx", "ecx", "cx", "cl", "ch"), ("rdx", "edx", "dx", "dl", "dh")):
    _REGS.update({_q: (_q, 64, 0), _d: (_q, 32, 0), _w: (_q, 16, 0), _b: (_q, 8, 0), _h: (_q, 8, 8)})
for _q, _d, _w, _b in (("rsi", "esi", "si", "sil"), ("rdi", "edi", "di", "dil"), ("rbp", "ebp", "bp", "bpl"),
                       ("rsp", "esp", "sp", "spl")):
    _REGS.update({_q: (_q, 64, 0), _d: (_q, 32, 0), _w: (_q, 16, 0), _b: (_q, 8, 0)})
for _i in range(8, 16):
    _r = f"r{_i}"
    _REGS.update({_r: (_r, 64, 0), _r + "d": (_r, 32, 0), _r + "w": (_r, 16, 0), _r + "b": (_r, 8, 0),
                  _r + "l": (_r, 8, 0)})
_REGS["rip"] = ("rip", 64, 0)


@dataclass(frozen=True)
class SdtArg:
    size: int
    signed: bool
    kind: str
    text: str
    reg: str | None = None
    reg_bits: int = 64
    reg_shift: int = 0
    value: int = 0
    base: str | None = None
    index: str | None = None
    scale: int = 1
    disp: int = 0
    symbol: str | None = None
    address: int | None = None


@dataclass(frozen=True)
class SdtProbe:
    provider: str
    name: str
    pc: int
    semaphore: int
    args: tuple[SdtArg, ...]
    arg_text: str


class SdtError(ValueError):
    pass


_MEM = re.compile(r"^(?P<disp>[^(]*)\((?P<base>%\w+)?(?:,(?P<index>%\w+)(?:,(?P<scale>\d+))?)?\)$")


def _num(s: str) -> int:
    return int(s, 0)


def _reg(name: str) -> tuple[str, int, int]:
    r = _REGS.get(name.lstrip("%"))
    if r is None:
        raise SdtError(f"unknown register {name}")
    return r


def parse_arg(text: str) -> SdtArg:
    """One GCC operand: `-4@%eax`, `8@-16(%rbp)`, `8@foo(%rip)`, `4@$5`, `8@8(%rax,%rdx,4)`."""
    m = re.match(r"^(-?\d+)f?@(.*)$", text)  # `8f@`: a floating-point value, read as its bits (stap's arg type)
    if m:
        n, op = int(m.group(1)), m.group(2)
    else:                                   # sizeless (very old sdt.h): assume long
        n, op = 8, text
    size, signed = abs(n) or 8, n < 0
    if op.startswith("%"):
        reg, bits, shift = _reg(op)
        return SdtArg(size, signed, "reg", text, reg=reg, reg_bits=bits, reg_shift=shift)
    if op.startswith("$"):
        return SdtArg(size, signed, "const", text, value=_num(op[1:]))
    mm = _MEM.match(op)
    if mm:
        disp_text = mm.group("disp").strip()
        symbol, disp = None, 0
        if disp_text:
            sm = re.match(r"^([A-Za-z_.$][\w.$@]*)?([+-]\s*(?:0x[0-9a-fA-F]+|\d+))?$", disp_text)
            if sm and sm.group(1):
                symbol = sm.group(1)
                disp = int(sm.group(2).replace(" ", ""), 0) if sm.group(2) else 0
            else:
                disp = _num(disp_text)
        base = _reg(mm.group("base"))[0] if mm.group("base") else None
        index = _reg(mm.group("index"))[0] if mm.group("index") else None
        scale = int(mm.group("scale")) if mm.group("scale") else 1
        return SdtArg(size, signed, "mem", text, base=base, index=index, scale=scale, disp=disp, symbol=symbol)
    if re.match(r"^-?(0x[0-9a-fA-F]+|\d+)$", op):     # absolute address
        return SdtArg(size, signed, "mem", text, disp=_num(op))
    if re.match(r"^[A-Za-z_.$][\w.$@]*$", op):       # bare symbol (non-PIC): its address holds the value
        return SdtArg(size, signed, "mem", text, symbol=op)
    raise SdtError(f"cannot parse SDT operand {text!r}")


def split_args(arg_text: str) -> list[str]:
    return [a for a in arg_text.split(" ") if a]


def sdt_probes(ef: ElfFile) -> list[SdtProbe]:
    sec = ef.section(".note.stapsdt")
    if sec is None:
        return []
    base_sec = ef.section(".stapsdt.base")
    actual_base = base_sec["sh_addr"] if base_sec is not None else None
    data = sec.data()
    e = "<" if ef.elffile.little_endian else ">"
    ptr = 8 if ef.elffile.elfclass == 64 else 4
    pfmt = e + ("QQQ" if ptr == 8 else "III")
    out = []
    off = 0
    while off + 12 <= len(data):
        namesz, descsz, ntype = struct.unpack_from(e + "III", data, off)
        off += 12
        name = data[off:off + namesz].rstrip(b"\0")
        off += (namesz + 3) & ~3
        desc = data[off:off + descsz]
        off += (descsz + 3) & ~3
        if name != b"stapsdt" or ntype != 3 or len(desc) < 3 * ptr:
            continue
        pc, base, sem = struct.unpack_from(pfmt, desc, 0)
        strings = desc[3 * ptr:].split(b"\0")
        provider, pname = strings[0].decode(), strings[1].decode()
        arg_text = strings[2].decode() if len(strings) > 2 else ""
        if actual_base is not None and base:
            pc += actual_base - base
            if sem:
                sem += actual_base - base
        args = []
        for a in split_args(arg_text):
            arg = parse_arg(a)
            if arg.symbol:
                syms = ef.lookup(arg.symbol, kinds=("object", "notype", "func", "tls"))
                if syms:
                    arg = SdtArg(**{**arg.__dict__, "address": syms[0].address + arg.disp})
            args.append(arg)
        out.append(SdtProbe(provider, pname, pc, sem, tuple(args), arg_text))
    return out
