"""ELF files: symbols, segments, PLT, build-id, separate debuginfo, load bias.

API summary (addresses are link-time, i.e. before load bias, unless a name says otherwise)
----------------------------------------------------------------------------------------
open_elf(path) -> ElfFile              cached per (realpath, mtime, size); the file is mmapped, parsed lazily
ElfFile
  .path                                realpath of the file
  .is_pie                              e_type == ET_DYN (PIE executables and shared libraries)
  .elf_type                            'ET_EXEC' / 'ET_DYN' / ...
  .build_id                            hex string or None (.note.gnu.build-id)
  .debuglink                           (name, crc32) or None (.gnu_debuglink)
  .interp                              PT_INTERP path or None
  .segments                            [Segment(vaddr, memsz, offset, filesz, flags)] of PT_LOAD
  .symbols                             [Symbol] from .symtab, else the debug file's .symtab, else .dynsym
  .functions                           [Symbol] with kind == 'func' and address != 0, sorted by address
  .lookup(pattern, kinds=('func',))   [Symbol] whose name matches an fnmatch pattern (exact names are dict hits)
  .address_of(name)                    an address for the engine's own hooks (also .dynsym / name@@VER)
  .symbol_at(addr)                     SymbolHit(symbol, offset) or None: the func/object covering addr
                                       (or the nearest preceding one when the symbol has size 0)
  .plt_entries                         [PltEntry(name, address)] one per .rela.plt/.rel.plt slot, stap's numbering
  .section(name)                       pyelftools section or None
  .has_dwarf                           the file itself carries .debug_info
  .debug_file(roots=DEBUG_ROOTS)       path of separate debuginfo (build-id, then debuglink) or None
  .dwarf_file(roots=DEBUG_ROOTS)       ElfFile that holds .debug_info (self, or the separate one) or None
  .elffile                             the underlying elftools ELFFile for the DWARF readers
  .load_bias(start_of_offset0_mapping) bias for a given start of the mapping with file offset 0
read_maps(pid) -> [Mapping(start, end, perms, offset, path)] from /proc/PID/maps
load_bias(pid, path) -> int | None     where `path` is loaded in process pid (0 for ET_EXEC); None if not mapped
module_bases(pid) -> {path: bias}      every mapped ELF file of pid with its bias
runtime address = link-time address + bias.
"""
from __future__ import annotations

import bisect
import fnmatch
import mmap
import os
import re
import struct
from dataclasses import dataclass
from functools import cached_property

from elftools.elf.elffile import ELFFile

DEBUG_ROOTS: tuple[str, ...] = ("/usr/lib/debug",)

# GNU_IFUNC resolvers are not probe targets for stap ('strlen' in libc: no match), but they name addresses
_STT = {0: "notype", 1: "object", 2: "func", 3: "section", 4: "file", 5: "common", 6: "tls", 10: "ifunc"}
_STB = {0: "local", 1: "global", 2: "weak", 10: "unique"}


@dataclass(frozen=True)
class Symbol:
    name: str
    address: int
    size: int
    kind: str       # 'func', 'object', 'ifunc', 'notype', 'tls', ...
    binding: str    # 'local', 'global', 'weak'
    shndx: int
    dynamic: bool   # came from .dynsym (i.e. exported/imported)


@dataclass(frozen=True)
class SymbolHit:
    symbol: Symbol
    offset: int


@dataclass(frozen=True)
class Segment:
    vaddr: int
    memsz: int
    offset: int
    filesz: int
    flags: int      # PF_X=1 PF_W=2 PF_R=4


@dataclass(frozen=True)
class PltEntry:
    name: str
    address: int


@dataclass(frozen=True)
class Mapping:
    start: int
    end: int
    perms: str
    offset: int
    path: str


class ElfFile:
    """One ELF file, memory-mapped; every table is parsed on first use."""

    def __init__(self, path: str):
        self.path = path
        with open(path, "rb") as f:
            self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        self.elffile = ELFFile(self._map)
        self.elf_type = self.elffile.header["e_type"]
        self.is_pie = self.elf_type == "ET_DYN"
        self._little = self.elffile.little_endian
        self._is64 = self.elffile.elfclass == 64

    # --- sections and segments -------------------------------------------------
    def section(self, name: str):
        return self.elffile.get_section_by_name(name)

    def section_data(self, name: str) -> bytes | None:
        sec = self.section(name)
        if sec is None or sec["sh_type"] == "SHT_NOBITS":
            return None
        return sec.data()

    @cached_property
    def segments(self) -> list[Segment]:
        out = []
        for seg in self.elffile.iter_segments():
            if seg["p_type"] == "PT_LOAD":
                out.append(Segment(seg["p_vaddr"], seg["p_memsz"], seg["p_offset"], seg["p_filesz"], seg["p_flags"]))
        return out

    @cached_property
    def interp(self) -> str | None:
        for seg in self.elffile.iter_segments():
            if seg["p_type"] == "PT_INTERP":
                return seg.get_interp_name()
        return None

    @cached_property
    def has_dwarf(self) -> bool:
        sec = self.section(".debug_info")
        return sec is not None and sec["sh_type"] != "SHT_NOBITS" and sec["sh_size"] > 0

    # --- identity and separate debuginfo ---------------------------------------
    @cached_property
    def build_id(self) -> str | None:
        for sec in self.elffile.iter_sections():
            if sec["sh_type"] != "SHT_NOTE":
                continue
            for note in sec.iter_notes():
                if note["n_type"] == "NT_GNU_BUILD_ID":
                    return note["n_desc"]
        return None

    @cached_property
    def debuglink(self) -> tuple[str, int] | None:
        data = self.section_data(".gnu_debuglink")
        if not data:
            return None
        end = data.index(b"\0")
        name = data[:end].decode()
        crc_off = (end + 4) & ~3
        crc = struct.unpack_from("<I" if self._little else ">I", data, crc_off)[0]
        return name, crc

    def debug_file(self, roots: tuple[str, ...] = DEBUG_ROOTS) -> str | None:
        """Separate debuginfo, looked up as gdb and elfutils do: build-id first, then debuglink."""
        bid = self.build_id
        if bid and len(bid) > 2:
            for root in roots:
                cand = os.path.join(root, ".build-id", bid[:2], bid[2:] + ".debug")
                if os.path.isfile(cand):
                    return cand
        link = self.debuglink
        if link:
            name = link[0]
            d = os.path.dirname(self.path)
            cands = [os.path.join(d, name), os.path.join(d, ".debug", name)]
            cands += [root + os.path.join(d, name) for root in roots]
            for cand in cands:
                if os.path.isfile(cand) and os.path.realpath(cand) != self.path:
                    if bid:
                        try:
                            other = open_elf(cand).build_id
                        except Exception:
                            continue
                        if other and other != bid:
                            continue
                    return cand
        return None

    def dwarf_file(self, roots: tuple[str, ...] = DEBUG_ROOTS) -> "ElfFile | None":
        if self.has_dwarf:
            return self
        dbg = self.debug_file(roots)
        if dbg is None:
            return None
        other = open_elf(dbg)
        return other if other.has_dwarf else None

    # --- symbols -----------------------------------------------------------------
    def _read_symtab(self, secname: str, dynamic: bool) -> list[Symbol]:
        sec = self.section(secname)
        if sec is None or sec["sh_type"] == "SHT_NOBITS":
            return []
        strtab = self.elffile.get_section(sec["sh_link"]).data()
        data = sec.data()
        end = "<" if self._little else ">"
        if self._is64:
            fmt, pick = end + "IBBHQQ", lambda t: (t[0], t[1], t[3], t[4], t[5])
        else:
            fmt, pick = end + "IIIBBH", lambda t: (t[0], t[3], t[5], t[1], t[2])
        out = []
        for raw in struct.iter_unpack(fmt, data[: len(data) - len(data) % struct.calcsize(fmt)]):
            name_off, info, shndx, value, size = pick(raw)
            if name_off == 0:
                continue
            nul = strtab.find(b"\0", name_off)
            name = strtab[name_off:nul].decode("utf-8", "replace")
            kind = _STT.get(info & 0xF, "other")
            out.append(Symbol(name, value, size, kind, _STB.get(info >> 4, "other"), shndx, dynamic))
        return out

    @cached_property
    def symbols(self) -> list[Symbol]:
        """One table, chosen as elfutils' dwfl_module_getsym does (stap sees the same names): the
        file's .symtab; else the separate debuginfo's .symtab (versioned names like
        'fopen@@GLIBC_2.2.5' stay as written there); else .dynsym."""
        dyn = self._read_symtab(".dynsym", True)
        dyn_names = {s.name for s in dyn if s.shndx != 0}
        syms = self._read_symtab(".symtab", False)
        if not syms:
            try:
                dbg = self.debug_file()
            except Exception:
                dbg = None
            if dbg:
                syms = open_elf(dbg)._read_symtab(".symtab", False)
        if not syms:
            return dyn
        return [Symbol(s.name, s.address, s.size, s.kind, s.binding, s.shndx, s.name in dyn_names) for s in syms]

    @cached_property
    def _by_name(self) -> dict[str, list[Symbol]]:
        out: dict[str, list[Symbol]] = {}
        for s in self.symbols:
            if s.shndx == 0:        # undefined (imported) symbols have no address here
                continue
            out.setdefault(s.name, []).append(s)
        return out

    @cached_property
    def functions(self) -> list[Symbol]:
        seen, out = set(), []
        for s in self.symbols:
            if s.kind == "func" and s.shndx != 0 and s.address and (s.name, s.address) not in seen:
                seen.add((s.name, s.address))
                out.append(s)
        out.sort(key=lambda s: (s.address, s.name))
        return out

    def lookup(self, pattern: str, kinds: tuple[str, ...] = ("func",)) -> list[Symbol]:
        """Defined symbols whose name matches the fnmatch pattern (stap wildcards: * ? [..])."""
        if not any(c in pattern for c in "*?["):
            cands = self._by_name.get(pattern, [])
        else:
            rx = re.compile(fnmatch.translate(pattern))
            cands = [s for name, ss in self._by_name.items() if rx.match(name) for s in ss]
        seen, out = set(), []
        for s in cands:
            if s.kind in kinds and (s.name, s.address) not in seen:
                seen.add((s.name, s.address))
                out.append(s)
        # by address; aliases keep symbol-table order (stap's map_by_addr multimap)
        rank = self._symtab_rank
        return sorted(out, key=lambda s: (s.address, rank.get((s.name, s.address), 0)))

    @cached_property
    def _symtab_rank(self) -> dict[tuple[str, int], int]:
        out: dict[tuple[str, int], int] = {}
        for i, s in enumerate(self.symbols):
            out.setdefault((s.name, s.address), i)
        return out

    def address_of(self, name: str) -> int | None:
        """Link-time address of a defined symbol for the engine's own hooks (not probe resolution):
        the chosen table, then .dynsym, then a versioned spelling (name@@VER / name@VER)."""
        for s in self._by_name.get(name, []):
            if s.address:
                return s.address
        for s in self._read_symtab(".dynsym", True):
            if s.name == name and s.shndx != 0 and s.address:
                return s.address
        for n, ss in self._by_name.items():
            if n.startswith(name + "@") and ss[0].address:
                return ss[0].address
        return None

    @cached_property
    def _addr_index(self) -> tuple[list[int], list[Symbol]]:
        best: dict[int, Symbol] = {}
        for s in self.symbols:
            if s.kind not in ("func", "object") or s.shndx == 0 or not s.address:   # stap's runtime table
                continue
            old = best.get(s.address)
            # prefer sized, global, then shorter names (e.g. 'malloc' over '__libc_malloc')
            rank = (s.size > 0, s.binding == "global", s.kind == "func", -len(s.name))
            if old is None or rank > (old.size > 0, old.binding == "global", old.kind == "func", -len(old.name)):
                best[s.address] = s
        syms = sorted(best.values(), key=lambda s: s.address)
        return [s.address for s in syms], syms

    def symbol_at(self, addr: int) -> SymbolHit | None:
        """The symbol covering a link-time address, as usymname/usymdata report it."""
        addrs, syms = self._addr_index
        i = bisect.bisect_right(addrs, addr) - 1
        while i >= 0:
            s = syms[i]
            if s.size and addr < s.address + s.size:
                return SymbolHit(s, addr - s.address)
            if not s.size:
                # an unsized symbol covers up to the next symbol, within its own section
                nxt = addrs[i + 1] if i + 1 < len(addrs) else None
                if nxt is None or addr < nxt:
                    return SymbolHit(s, addr - s.address) if self._same_section(s, addr) else None
            # a sized symbol that ends before addr: a nested symbol may still cover it
            if s.size and i > 0 and syms[i - 1].address + syms[i - 1].size > addr:
                i -= 1
                continue
            return None
        return None

    def _same_section(self, s: Symbol, addr: int) -> bool:
        try:
            sec = self.elffile.get_section(s.shndx)
        except Exception:
            return False
        return sec["sh_addr"] <= addr < sec["sh_addr"] + sec["sh_size"]

    # --- PLT --------------------------------------------------------------------
    @cached_property
    def plt_entries(self) -> list[PltEntry]:
        """PLT slots named after their relocation's symbol.

        Numbered as stap does [dwflpp.cxx iterate_over_plt]: .plt + 16 + 16*i on x86-64, also when
        the binary has a .plt.sec (IBT, -fcf-protection with -z ibtplt): stap 4.8 still probes the
        .plt slot, which there is the lazy-binding stub (run on the first call only), not the
        .plt.sec entry the calls go through.
        """
        plt = self.section(".plt")
        if plt is None or self.elffile.header["e_machine"] not in ("EM_X86_64", "EM_386"):
            return []
        rel = self.section(".rela.plt") or self.section(".rel.plt")
        if rel is None:
            return []
        symtab = self.elffile.get_section(rel["sh_link"])
        out = []
        for i, r in enumerate(rel.iter_relocations()):
            sym = symtab.get_symbol(r["r_info_sym"])
            if sym is None:
                continue      # (IRELATIVE slots have symbol 0, whose name is "": stap lists plt(""))
            addr = plt["sh_addr"] + 16 + 16 * i
            out.append(PltEntry(sym.name, addr))
        return out

    # --- load bias ----------------------------------------------------------------
    def load_bias(self, start_of_offset0_mapping: int) -> int:
        """Bias given where the mapping of file offset 0 starts (0 for ET_EXEC)."""
        if not self.is_pie:
            return 0
        first = min((s for s in self.segments if s.offset == 0), key=lambda s: s.vaddr, default=None)
        base_vaddr = (first.vaddr & ~0xFFF) if first else 0
        return start_of_offset0_mapping - base_vaddr

    def close(self) -> None:
        """Drop the mapping (the cache forgets the file)."""
        _CACHE.pop(self.path, None)


_CACHE: dict[str, tuple[tuple[int, int], ElfFile]] = {}


def open_elf(path: str) -> ElfFile:
    """The ElfFile for path, reused while the file's mtime and size are unchanged."""
    real = os.path.realpath(path)
    st = os.stat(real)
    key = (st.st_mtime_ns, st.st_size)
    hit = _CACHE.get(real)
    if hit and hit[0] == key:
        return hit[1]
    ef = ElfFile(real)
    _CACHE[real] = (key, ef)
    return ef


def is_elf(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


def read_maps(pid: int) -> list[Mapping]:
    out = []
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            parts = line.split(None, 5)
            if len(parts) < 5:
                continue
            lo, hi = parts[0].split("-")
            path = parts[5].rstrip("\n") if len(parts) > 5 else ""
            out.append(Mapping(int(lo, 16), int(hi, 16), parts[1], int(parts[2], 16), path))
    return out


def load_bias(pid: int, path: str, maps: list[Mapping] | None = None) -> int | None:
    """Bias of `path` in process pid: start of its offset-0 mapping minus its first segment's page."""
    real = os.path.realpath(path)
    for m in maps if maps is not None else read_maps(pid):
        if m.offset == 0 and m.path and (m.path == real or m.path == path):
            return open_elf(real).load_bias(m.start)
    return None


def module_bases(pid: int, maps: list[Mapping] | None = None) -> dict[str, int]:
    """Every ELF file mapped in pid (by path) with its load bias."""
    out: dict[str, int] = {}
    for m in maps if maps is not None else read_maps(pid):
        if m.offset != 0 or not m.path.startswith("/") or m.path in out:
            continue
        if not is_elf(m.path):
            continue
        try:
            out[m.path] = open_elf(m.path).load_bias(m.start)
        except (OSError, ValueError):
            continue
    return out
