"""Call frame information (.eh_frame, else .debug_frame) and a user-space unwinder for ubacktrace.

frames_for(elf_file) -> CallFrames           cached per file; FDEs are found through .eh_frame_hdr's
                                             binary-search table and parsed one at a time (lazy for libc)
CallFrames.rule_at(pc) -> FrameRule | None   pc is link-time
FrameRule: cfa_reg / cfa_offset (CFA = reg + offset), cfa_expr (bytes, when the CFA is an expression),
           regs {dwarf_regno: ('offset', n) saved at CFA+n | ('val_offset', n) | ('register', r) |
                 ('same',) | ('undefined',) | ('expr', bytes) | ('val_expr', bytes)}, ra_reg (16 = rip)
unwind(regs, read_u64, modules, max_frames=MAXBACKTRACE) -> [pc, ...]
    regs: {dwarf_regno: value} for the innermost frame (0 rax .. 6 rbp, 7 rsp, 16 rip); see
          locations.DWARF_REGS_X86_64 / regs_from_names()
    read_u64(addr) -> int | None    a guarded tracee read (None on fault)
    modules(addr) -> (ElfFile, bias) | None   which mapped file holds a runtime address
    CFI first; a frame without CFI falls back to the frame-pointer chain ([rbp+8] is the return address).
"""
from __future__ import annotations

import bisect
import io
import struct
from dataclasses import dataclass, field
from typing import Callable

from elftools.dwarf.callframe import FDE, CallFrameInfo
from elftools.dwarf.structs import DWARFStructs

from .elf import ElfFile
from .locations import DWARF_REGS_X86_64

MAXBACKTRACE = 20
RA_REG = 16
RSP, RBP = 7, 6


@dataclass(frozen=True)
class FrameRule:
    pc_lo: int
    pc_hi: int
    cfa_reg: int | None
    cfa_offset: int
    cfa_expr: bytes | None
    regs: dict = field(default_factory=dict)
    ra_reg: int = RA_REG


def regs_from_names(named: dict[str, int]) -> dict[int, int]:
    """{'rip': .., 'rsp': .., ...} -> {dwarf_regno: value}."""
    return {i: named[n] for i, n in enumerate(DWARF_REGS_X86_64) if n in named}


def _read_encoded(data: bytes, off: int, enc: int, section_addr: int, little: bool) -> tuple[int, int]:
    """One DW_EH_PE-encoded value from .eh_frame_hdr -> (value, new offset)."""
    e = "<" if little else ">"
    fmt = enc & 0x0F
    size_fmt = {0x00: ("Q", 8), 0x02: ("H", 2), 0x03: ("I", 4), 0x04: ("Q", 8),
                0x0A: ("h", 2), 0x0B: ("i", 4), 0x0C: ("q", 8)}
    if fmt not in size_fmt:
        raise ValueError(f"unsupported eh_frame_hdr encoding {enc:#x}")
    f, n = size_fmt[fmt]
    v = struct.unpack_from(e + f, data, off)[0]
    app = enc & 0x70
    if app == 0x10:            # pcrel
        v += section_addr + off
    elif app == 0x30:          # datarel (relative to .eh_frame_hdr)
        v += section_addr
    return v & 0xFFFFFFFFFFFFFFFF, off + n


class CallFrames:
    def __init__(self, ef: ElfFile):
        self.ef = ef
        structs = DWARFStructs(little_endian=ef.elffile.little_endian, dwarf_format=32,
                               address_size=8 if ef.elffile.elfclass == 64 else 4)
        self._cfi = None
        self._table: list[tuple[int, int]] = []     # (initial_loc, fde offset in section)
        self._fdes: dict[int, object] = {}
        self._all: list | None = None
        sec = ef.section(".eh_frame")
        self._eh = sec is not None and sec["sh_type"] != "SHT_NOBITS" and sec["sh_size"] > 0
        if not self._eh:
            sec = ef.section(".debug_frame")
            if sec is None or sec["sh_type"] == "SHT_NOBITS":
                return
        self._sec_addr = sec["sh_addr"]
        self._cfi = CallFrameInfo(stream=io.BytesIO(sec.data()), size=sec["sh_size"], address=sec["sh_addr"],
                                  base_structs=structs, for_eh_frame=self._eh)
        if self._eh:
            self._load_hdr()

    def _load_hdr(self) -> None:
        hdr = self.ef.section(".eh_frame_hdr")
        if hdr is None:
            return
        data, addr, little = hdr.data(), hdr["sh_addr"], self.ef.elffile.little_endian
        try:
            version, ptr_enc, cnt_enc, tab_enc = data[0], data[1], data[2], data[3]
            if version != 1 or tab_enc == 0xFF:
                return
            _, off = _read_encoded(data, 4, ptr_enc, addr, little)
            count, off = _read_encoded(data, off, cnt_enc, addr, little)
            table = []
            for _ in range(count):
                loc, off = _read_encoded(data, off, tab_enc, addr, little)
                fde, off = _read_encoded(data, off, tab_enc, addr, little)
                table.append((loc, fde - self._sec_addr))
            table.sort()
            self._table = table
            self._locs = [t[0] for t in table]
        except (ValueError, struct.error, IndexError):
            self._table = []

    def _fde_at(self, offset: int):
        f = self._fdes.get(offset)
        if f is None:
            f = self._fdes[offset] = self._cfi._parse_entry_at(offset)
        return f

    def _find_fde(self, pc: int):
        if self._cfi is None:
            return None
        if self._table:
            i = bisect.bisect_right(self._locs, pc) - 1
            if i < 0:
                return None
            fde = self._fde_at(self._table[i][1])
            if isinstance(fde, FDE) and fde.header.initial_location <= pc < \
                    fde.header.initial_location + fde.header.address_range:
                return fde
            return None
        if self._all is None:
            self._all = [e for e in self._cfi.get_entries() if isinstance(e, FDE)]
            self._all.sort(key=lambda e: e.header.initial_location)
        for e in self._all:
            lo = e.header.initial_location
            if lo <= pc < lo + e.header.address_range:
                return e
        return None

    def rule_at(self, pc: int) -> FrameRule | None:
        fde = self._find_fde(pc)
        if fde is None:
            return None
        lo, hi = fde.header.initial_location, fde.header.initial_location + fde.header.address_range
        table = fde.get_decoded().table
        row = None
        nxt = hi
        for i, r in enumerate(table):
            if r["pc"] <= pc:
                row = r
                nxt = table[i + 1]["pc"] if i + 1 < len(table) else hi
            else:
                break
        if row is None:
            return None
        cfa = row["cfa"]
        regs = {}
        for k, v in row.items():
            if not isinstance(k, int):
                continue
            t = v.type
            if t == "OFFSET":
                regs[k] = ("offset", v.arg)
            elif t == "VAL_OFFSET":
                regs[k] = ("val_offset", v.arg)
            elif t == "REGISTER":
                regs[k] = ("register", v.arg)
            elif t == "SAME_VALUE":
                regs[k] = ("same",)
            elif t == "UNDEFINED":
                regs[k] = ("undefined",)
            elif t == "EXPRESSION":
                regs[k] = ("expr", bytes(v.arg))
            elif t == "VAL_EXPRESSION":
                regs[k] = ("val_expr", bytes(v.arg))
        ra = fde.cie["return_address_register"] if fde.cie is not None else RA_REG
        return FrameRule(row["pc"], nxt, cfa.reg, cfa.offset or 0,
                         bytes(cfa.expr) if cfa.expr is not None else None, regs, ra)


_CACHE: dict[str, CallFrames] = {}


def frames_for(ef: ElfFile) -> CallFrames:
    cf = _CACHE.get(ef.path)
    if cf is None or cf.ef is not ef:
        cf = _CACHE[ef.path] = CallFrames(ef)
    return cf


def step(regs: dict[int, int], rule: FrameRule | None, read_u64: Callable[[int], int | None]) -> dict[int, int] | None:
    """The caller's registers, or None when the chain ends."""
    if rule is not None and rule.cfa_expr is None and rule.cfa_reg in regs:
        cfa = regs[rule.cfa_reg] + rule.cfa_offset
        out = dict(regs)
        out[RSP] = cfa
        for r, how in rule.regs.items():
            if how[0] == "offset":
                v = read_u64(cfa + how[1])
                if v is None:
                    return None
                out[r] = v
            elif how[0] == "val_offset":
                out[r] = cfa + how[1]
            elif how[0] == "register" and how[1] in regs:
                out[r] = regs[how[1]]
            elif how[0] == "undefined":
                out.pop(r, None)
        if rule.ra_reg not in rule.regs:
            return None
        out[RA_REG] = out.get(rule.ra_reg, 0)
        return out
    # frame-pointer chain
    fp = regs.get(RBP)
    if not fp:
        return None
    ra, saved = read_u64(fp + 8), read_u64(fp)
    if ra is None or saved is None:
        return None
    out = dict(regs)
    out[RA_REG], out[RBP], out[RSP] = ra, saved, fp + 16
    return out


def unwind(regs: dict[int, int], read_u64: Callable[[int], int | None],
           modules: Callable[[int], tuple[ElfFile, int] | None], max_frames: int = MAXBACKTRACE) -> list[int]:
    """Return addresses of the call chain, innermost first (the first is the current pc)."""
    pcs: list[int] = []
    cur = dict(regs)
    while len(pcs) < max_frames:
        pc = cur.get(RA_REG, 0)
        if not pc:
            break
        pcs.append(pc)
        where = modules(pc if not pcs[:-1] else pc - 1)
        rule = None
        if where is not None:
            ef, bias = where
            lookup = (pc if len(pcs) == 1 else pc - 1) - bias
            rule = frames_for(ef).rule_at(lookup)
        nxt = step(cur, rule, read_u64)
        if nxt is None:
            break
        if nxt.get(RSP, 0) <= cur.get(RSP, 0) and nxt.get(RA_REG) == pc:
            break                     # no progress: stop instead of looping
        cur = nxt
    return pcs
