"""DWARF location descriptions turned into a small form codegen can lower.

A Location has a kind:
  'memory'    the object lives in memory; `ops` compute its address
  'register'  the object is in DWARF register `regno` (see DWARF_REGS_X86_64 for names)
  'value'     `ops` compute the object's value itself (DW_OP_stack_value)
  'implicit'  the value is the constant bytes `data` (DW_OP_implicit_value)
  'pieces'    `pieces` is a tuple of (size_in_bytes, Location) laid end to end;
              an 'unavailable' piece is optimized out
  'unavailable' optimized out / not available at this pc
  'unsupported' a form stapy does not lower (implicit pointers, TLS, typed DWARF stack ...); `why` says which

`ops` is a tuple of stack-machine steps, each a tuple whose first item names it:
  ('addr', A)            push link-time address A (the runtime adds the module's load bias)
  ('const', N)           push N
  ('breg', R, OFF)       push register R + OFF
  ('cfa',)               push the canonical frame address at this pc (cfi.py gives the rule)
  ('offset', N)          top += N               (plus_uconst, and folded const/plus pairs)
  ('deref', SIZE)        pop an address, push the SIZE-byte unsigned value stored there
  ('binop', NAME)        pop b, pop a, push a NAME b: plus minus mul div mod and or xor shl shr shra
                         eq ne lt gt le ge
  ('unop', NAME)         neg not abs
  ('dup',) ('drop',) ('swap',) ('over',) ('rot',) ('pick', I)
  ('entry_value', LOC, AT) push the value LOC had on entry to the function (codegen may only support a
                         register LOC, read at the function's entry probe); AT = (index, offset, atom,
                         block length) of the operation, for stap 4.8's "unhandled DW_OP operation" text
DW_OP_fbreg is expanded using the function's frame base, so ops never mention the frame base.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from elftools.dwarf.dwarf_expr import DWARFExprParser

DWARF_REGS_X86_64 = (
    "rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp",
    "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rip",
    *[f"xmm{i}" for i in range(16)],
)

_NUMBERED = re.compile(r"DW_OP_(lit|breg|reg)(\d+)$")
_CONST = re.compile(r"DW_OP_const(\d[us]|u|s)$")
_BINOPS = {
    "DW_OP_plus": "plus", "DW_OP_minus": "minus", "DW_OP_mul": "mul", "DW_OP_div": "div", "DW_OP_mod": "mod",
    "DW_OP_and": "and", "DW_OP_or": "or", "DW_OP_xor": "xor", "DW_OP_shl": "shl", "DW_OP_shr": "shr",
    "DW_OP_shra": "shra", "DW_OP_eq": "eq", "DW_OP_ne": "ne", "DW_OP_lt": "lt", "DW_OP_gt": "gt",
    "DW_OP_le": "le", "DW_OP_ge": "ge",
}
_UNOPS = {"DW_OP_neg": "neg", "DW_OP_not": "not", "DW_OP_abs": "abs"}
_STACK = {"DW_OP_dup": ("dup",), "DW_OP_drop": ("drop",), "DW_OP_swap": ("swap",), "DW_OP_over": ("over",),
          "DW_OP_rot": ("rot",)}


@dataclass(frozen=True)
class Location:
    kind: str
    ops: tuple = ()
    regno: int | None = None
    data: bytes = b""
    pieces: tuple = ()
    why: str = ""
    fb: bool = False  # the expression used DW_OP_fbreg (stap gives its function a `_fb_N` local)

    @staticmethod
    def unavailable() -> "Location":
        return Location("unavailable")

    def register_name(self) -> str | None:
        if self.regno is None or self.regno >= len(DWARF_REGS_X86_64):
            return None
        return DWARF_REGS_X86_64[self.regno]

    def as_address_ops(self) -> tuple | None:
        """Ops computing this location's value when it is used as a frame base."""
        if self.kind == "memory":
            return self.ops
        if self.kind == "register":
            return (("breg", self.regno, 0),)
        return None


def _fold(ops: list) -> tuple:
    """Fold ('breg',r,o)/('cfa',) followed by ('offset',n) -- keeps the common cases one step long."""
    out: list = []
    for op in ops:
        if op[0] == "offset" and out and out[-1][0] == "breg":
            out[-1] = ("breg", out[-1][1], out[-1][2] + op[1])
        elif op[0] == "offset" and out and out[-1][0] == "offset":
            out[-1] = ("offset", out[-1][1] + op[1])
        elif op[0] == "binop" and op[1] in ("plus", "minus") and out and out[-1][0] == "const":
            n = out.pop()[1]
            out.append(("offset", n if op[1] == "plus" else -n))
        else:
            out.append(op)
    return tuple(o for o in out if o != ("offset", 0))


def _uleb(data, i: int) -> int:
    shift = value = 0
    while i < len(data):
        b = data[i]
        value |= (b & 0x7F) << shift
        shift += 7
        i += 1
        if not b & 0x80:
            break
    return value


def translate_expr(parsed, frame_base: "Location | None", addr_size: int = 8, raw=None) -> Location:
    """pyelftools DWARFExprOp list (of the expression bytes `raw`, when given) -> Location."""
    ops: list = []
    pieces: list = []
    cur: Location | None = None     # a register/implicit/value location awaiting a piece
    uses_fb = any(op.op_name == "DW_OP_fbreg" for op in parsed or ())
    if not parsed:
        return Location.unavailable()
    for index, op in enumerate(parsed):
        name, args = op.op_name, op.args
        m = _NUMBERED.match(name)
        if m and m.group(1) == "lit":
            ops.append(("const", int(m.group(2))))
        elif _CONST.match(name):
            ops.append(("const", args[0]))
        elif name == "DW_OP_addr":
            ops.append(("addr", args[0]))
        elif m and m.group(1) == "breg":
            ops.append(("breg", int(m.group(2)), args[0]))
        elif name == "DW_OP_bregx":
            ops.append(("breg", args[0], args[1]))
        elif m and m.group(1) == "reg":
            cur = Location("register", regno=int(m.group(2)))
        elif name == "DW_OP_regx":
            cur = Location("register", regno=args[0])
        elif name == "DW_OP_fbreg":
            fb = frame_base.as_address_ops() if frame_base is not None else None
            if fb is None:
                return Location("unsupported", why="frame base unavailable")
            ops.extend(fb)
            ops.append(("offset", args[0]))
        elif name == "DW_OP_call_frame_cfa":
            ops.append(("cfa",))
        elif name == "DW_OP_plus_uconst":
            ops.append(("offset", args[0]))
        elif name == "DW_OP_deref":
            ops.append(("deref", addr_size))
        elif name == "DW_OP_deref_size":
            ops.append(("deref", args[0]))
        elif name in _BINOPS:
            ops.append(("binop", _BINOPS[name]))
        elif name in _UNOPS:
            ops.append(("unop", _UNOPS[name]))
        elif name in _STACK:
            ops.append(_STACK[name])
        elif name == "DW_OP_pick":
            ops.append(("pick", args[0]))
        elif name == "DW_OP_stack_value":
            cur = Location("value", ops=_fold(ops), fb=uses_fb)
            ops = []
        elif name == "DW_OP_implicit_value":
            cur = Location("implicit", data=bytes(args[1]) if len(args) > 1 else bytes(args[0]))
        elif name in ("DW_OP_entry_value", "DW_OP_GNU_entry_value"):
            sub = translate_expr(args[0], frame_base, addr_size)  # may be 'unsupported' (DW_OP_regval_type)
            at = getattr(op, "offset", 0) or 0
            length = _uleb(raw, at + 1) if raw is not None else 0
            ops.append(("entry_value", sub, (index, at, op.op, length)))
        elif name in ("DW_OP_piece", "DW_OP_bit_piece"):
            size = args[0] if name == "DW_OP_piece" else (args[0] + 7) // 8
            if cur is not None:
                piece = cur
            elif ops:
                piece = Location("memory", ops=_fold(ops))
            else:
                piece = Location.unavailable()
            pieces.append((size, piece))
            ops, cur = [], None
        elif name == "DW_OP_nop":
            continue
        else:
            return Location("unsupported", why=name)
    if pieces:
        return Location("pieces", pieces=tuple(pieces), fb=uses_fb)
    if cur is not None:
        return cur
    return Location("memory", ops=_fold(ops), fb=uses_fb)


def _parser_for(cu) -> DWARFExprParser:
    return DWARFExprParser(cu.structs)


def _loclist_expr_at(mod, attr, die, pc: int):
    """The expression bytes of the location-list entry covering pc, or None."""
    ll = mod.di.location_lists()
    if ll is None:
        return None
    entries = ll.get_location_list_at_offset(attr.value, die)
    top = die.cu.get_top_DIE()
    base = top.attributes["DW_AT_low_pc"].value if "DW_AT_low_pc" in top.attributes else 0
    for e in entries:
        if hasattr(e, "base_address"):
            base = e.base_address
            continue
        if not hasattr(e, "loc_expr"):
            continue
        lo, hi = (e.begin_offset, e.end_offset) if e.is_absolute else (base + e.begin_offset, base + e.end_offset)
        if lo <= pc < hi:
            return e.loc_expr
    return None


def is_location_list(attr, version: int) -> bool:
    return attr.form in ("DW_FORM_sec_offset", "DW_FORM_loclistx") or (
        version < 4 and attr.form in ("DW_FORM_data4", "DW_FORM_data8"))


def location_at(mod, attr, die, pc: int, frame_base: Location | None) -> Location | None:
    """The Location of attr (DW_AT_location or DW_AT_frame_base of die) valid at pc.

    None when a location list has no entry for pc or the expression is empty -- stap's
    test for listing a variable under -L."""
    version = die.cu.header.version
    if is_location_list(attr, version):
        expr = _loclist_expr_at(mod, attr, die, pc)
    else:
        expr = attr.value
    if not expr:
        return None
    parsed = _parser_for(die.cu).parse_expr(expr)
    return translate_expr(parsed, frame_base, die.cu.header["address_size"], raw=expr)


def return_value_location(ctype) -> Location:
    """Where $return lives at a .return probe (SysV x86-64): integers, pointers, enums and bools in
    rax, float/double in xmm0; aggregates and long double are 'unsupported' here."""
    if ctype is None:
        return Location("unavailable")
    t = ctype.strip()
    if t.kind in ("pointer", "reference", "rvalue_reference", "enum"):
        return Location("register", regno=0)
    if t.kind == "base":
        if t.encoding == "float":
            if t.size in (4, 8):
                return Location("register", regno=DWARF_REGS_X86_64.index("xmm0"))
            return Location("unsupported", why=f"{t.size}-byte float return")
        if (t.size or 8) <= 8:
            return Location("register", regno=0)
    return Location("unsupported", why=f"{t.kind} return value")
