"""A reference interpreter for locations.Location: the bytes of a variable in a stopped process.

evaluate(loc, size, regs, read, cfa=None, bias=0) -> bytes | None
    loc    a Location (dwarf.DwarfModule.variables(...)[i].location)
    size   the object's size in bytes (its CType.size)
    regs   {dwarf_regno: value} of the frame (see cfi.regs_from_names)
    read   read(addr, n) -> bytes | None   a guarded tracee read
    cfa    the frame's canonical frame address (cfi: regs[rule.cfa_reg] + rule.cfa_offset), needed
           by ('cfa',) ops
    bias   the module's load bias, added to ('addr', A)
None when the value cannot be had (optimized out, a register not in regs, a faulting read, an
unsupported form).  Codegen lowers the same op list to IR; this is what its tests compare with.
"""
from __future__ import annotations

from typing import Callable

from .locations import Location

_MASK = (1 << 64) - 1


def _signed(v: int) -> int:
    v &= _MASK
    return v - (1 << 64) if v >> 63 else v


def run_ops(ops, regs: dict[int, int], read: Callable[[int, int], bytes | None], cfa: int | None,
            bias: int, entry_regs: dict[int, int] | None = None) -> int | None:
    stack: list[int] = []
    for op in ops:
        k = op[0]
        if k == "const":
            stack.append(op[1] & _MASK)
        elif k == "addr":
            stack.append((op[1] + bias) & _MASK)
        elif k == "breg":
            if op[1] not in regs:
                return None
            stack.append((regs[op[1]] + op[2]) & _MASK)
        elif k == "cfa":
            if cfa is None:
                return None
            stack.append(cfa & _MASK)
        elif k == "offset":
            stack.append((stack.pop() + op[1]) & _MASK)
        elif k == "deref":
            data = read(stack.pop(), op[1])
            if data is None or len(data) != op[1]:
                return None
            stack.append(int.from_bytes(data, "little"))
        elif k == "binop":
            b, a = stack.pop(), stack.pop()
            name = op[1]
            if name == "plus":
                r = a + b
            elif name == "minus":
                r = a - b
            elif name == "mul":
                r = a * b
            elif name in ("div", "mod"):
                if b == 0:
                    return None
                sa, sb = _signed(a), _signed(b)
                q = abs(sa) // abs(sb) * (1 if (sa < 0) == (sb < 0) else -1)
                r = q if name == "div" else sa - q * sb
            elif name == "and":
                r = a & b
            elif name == "or":
                r = a | b
            elif name == "xor":
                r = a ^ b
            elif name == "shl":
                r = a << (b & 63)
            elif name == "shr":
                r = a >> (b & 63)
            elif name == "shra":
                r = _signed(a) >> (b & 63)
            else:
                sa, sb = _signed(a), _signed(b)
                r = int({"eq": sa == sb, "ne": sa != sb, "lt": sa < sb, "gt": sa > sb,
                         "le": sa <= sb, "ge": sa >= sb}[name])
            stack.append(r & _MASK)
        elif k == "unop":
            a = stack.pop()
            r = {"neg": -_signed(a), "not": ~a, "abs": abs(_signed(a))}[op[1]]
            stack.append(r & _MASK)
        elif k == "dup":
            stack.append(stack[-1])
        elif k == "drop":
            stack.pop()
        elif k == "swap":
            stack[-1], stack[-2] = stack[-2], stack[-1]
        elif k == "over":
            stack.append(stack[-2])
        elif k == "rot":
            stack[-3], stack[-2], stack[-1] = stack[-1], stack[-3], stack[-2]
        elif k == "pick":
            stack.append(stack[-1 - op[1]])
        elif k == "entry_value":
            sub = op[1]
            if entry_regs is None or sub.kind != "register" or sub.regno not in entry_regs:
                return None
            stack.append(entry_regs[sub.regno])
        else:
            return None
    return stack[-1] if stack else None


def evaluate(loc: Location | None, size: int, regs: dict[int, int], read: Callable[[int, int], bytes | None],
             cfa: int | None = None, bias: int = 0, entry_regs: dict[int, int] | None = None) -> bytes | None:
    if loc is None:
        return None
    k = loc.kind
    if k == "memory":
        addr = run_ops(loc.ops, regs, read, cfa, bias, entry_regs)
        return None if addr is None else read(addr, size)
    if k == "register":
        if loc.regno not in regs:
            return None
        return (regs[loc.regno] & _MASK).to_bytes(8, "little")[:size].ljust(size, b"\0")
    if k == "value":
        v = run_ops(loc.ops, regs, read, cfa, bias, entry_regs)
        return None if v is None else (v & _MASK).to_bytes(8, "little")[:size].ljust(size, b"\0")
    if k == "implicit":
        return loc.data[:size].ljust(size, b"\0")
    if k == "pieces":
        out = b""
        for psize, piece in loc.pieces:
            part = evaluate(piece, psize, regs, read, cfa, bias, entry_regs)
            if part is None:
                return None
            out += part
        return out[:size].ljust(size, b"\0")
    return None
