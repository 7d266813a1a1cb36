"""Runtime addresses of a traced process -> module, symbol, file:line (usymname, usymdata, umodname,
usymfileline, print_ubacktrace).

AddressSpace.of_pid(pid) -> AddressSpace     built from /proc/PID/maps; call refresh() after dlopen/exec
AddressSpace.lookup(addr) -> Resolved | None
Resolved: module (path), bias, link_addr (= addr - bias), symbol (name or None), offset, size
  .usymname()  'sym' or '0x<hex>'          .usymdata()  'sym+0xoff/0xsize [/path]' (stap's sym.c format)
  .fileline()  'file:line' or None         (needs DWARF for the module)
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass

from . import elf as elfmod


@dataclass(frozen=True)
class Resolved:
    addr: int
    module: str
    bias: int
    link_addr: int
    symbol: str | None
    offset: int
    size: int

    def usymname(self) -> str:
        return self.symbol if self.symbol else f"{self.addr:#x}"

    def usymdata(self) -> str:
        if not self.symbol:
            return f"{self.addr:#x}"
        return f"{self.symbol}+{self.offset:#x}/{self.size:#x} [{self.module}]"

    def fileline(self) -> str | None:
        from .dwarf import dwarf_for
        mod = dwarf_for(elfmod.open_elf(self.module))
        if mod is None:
            return None
        cu = mod.cu_for_address(self.link_addr)
        if cu is None:
            return None
        row = mod.line_table(cu).row_for_address(self.link_addr)
        return f"{row.file}:{row.line}" if row else None


class AddressSpace:
    def __init__(self, pid: int):
        self.pid = pid
        self._ranges: list[tuple[int, int, str]] = []
        self._starts: list[int] = []
        self._bias: dict[str, int] = {}
        self.refresh()

    @classmethod
    def of_pid(cls, pid: int) -> "AddressSpace":
        return cls(pid)

    def refresh(self) -> None:
        maps = elfmod.read_maps(self.pid)
        self._bias = elfmod.module_bases(self.pid, maps)
        ranges = [(m.start, m.end, m.path) for m in maps if m.path in self._bias]
        ranges.sort()
        self._ranges = ranges
        self._starts = [r[0] for r in ranges]

    def modules(self) -> dict[str, int]:
        """path -> load bias for every ELF file mapped in the process."""
        return dict(self._bias)

    def module_of(self, addr: int) -> str | None:
        i = bisect.bisect_right(self._starts, addr) - 1
        if i >= 0 and addr < self._ranges[i][1]:
            return self._ranges[i][2]
        return None

    def lookup(self, addr: int) -> Resolved | None:
        path = self.module_of(addr)
        if path is None:
            return None
        bias = self._bias[path]
        link = addr - bias
        hit = elfmod.open_elf(path).symbol_at(link)
        if hit is None:
            return Resolved(addr, path, bias, link, None, 0, 0)
        return Resolved(addr, path, bias, link, hit.symbol.name, hit.offset, hit.symbol.size)
