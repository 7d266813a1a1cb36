"""DWARF for one module: compile units, functions, inline instances, variables.

dwarf_for(elf_file) -> DwarfModule | None      (None when neither the file nor separate debuginfo has DWARF)
DwarfModule
  .cus()                         all compile units (pyelftools CompileUnit), in .debug_info order
  .cu_for_address(addr)          the CU covering a link-time address (.debug_aranges, else CU ranges)
  .line_table(cu)                lines.LineTable
  .functions(cu)                 [Function] concrete subprograms with code, in DIE order
  .getfuncs(cu)                  what dwarf_getfuncs reports: the input of stap's function cache (stap_order.py)
  .inline_instances(cu)          [Function] DW_TAG_inlined_subroutine instances, in DIE order
  .has_location_lists(cu)        stap's has_valid_locs: any variable/parameter with a location list
  .function_at(addr)             innermost Function (subprogram) containing addr, or None
  .variables(func, pc)           [Variable] parameters then locals that stap -L lists at pc
  .return_type(func)             types.CType or None
Function fields: name, decl_file, decl_line, ranges, entry_pc, external, is_inline_instance, die_offset, ...
Everything is parsed lazily and cached per CU; pyelftools DIEs stay inside this room.
"""
from __future__ import annotations

import bisect
import struct
from dataclasses import dataclass
from functools import cached_property

from . import elf as elfmod
from .lines import FileTable, LineTable
from .locations import Location, location_at
from .types import CType, type_of

_SCOPE_TAGS = ("DW_TAG_namespace", "DW_TAG_structure_type", "DW_TAG_class_type", "DW_TAG_union_type")


def attr_integrate(die, name: str):
    """The attribute on die, or on what it refers to through abstract_origin/specification (libdw's integrate)."""
    for _ in range(8):
        a = die.attributes.get(name)
        if a is not None:
            return a, die
        nxt = None
        for link in ("DW_AT_abstract_origin", "DW_AT_specification"):
            if link in die.attributes:
                try:
                    nxt = die.get_DIE_from_attribute(link)
                except Exception:
                    nxt = None
                break
        if nxt is None:
            return None, die
        die = nxt
    return None, die


def die_name(die) -> str | None:
    a, _ = attr_integrate(die, "DW_AT_name")
    if a is None:
        return None
    v = a.value
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)



# DIEs libdw's scope walk descends into besides namespaces (libdw_visit_scopes.c may_have_scopes)
_GETFUNCS_SCOPES = frozenset(("DW_TAG_subprogram", "DW_TAG_lexical_block", "DW_TAG_inlined_subroutine",
                              "DW_TAG_class_type", "DW_TAG_structure_type", "DW_TAG_module", "DW_TAG_with_stmt",
                              "DW_TAG_catch_block", "DW_TAG_try_block", "DW_TAG_entry_point"))


@dataclass(frozen=True)
class Function:
    name: str
    linkage_name: str | None
    decl_file: str | None
    decl_line: int | None
    ranges: tuple[tuple[int, int], ...]
    entry_pc: int
    external: bool
    is_inline_instance: bool
    declared_inline: bool
    scopes: tuple[str, ...]         # enclosing namespaces/classes, outermost first
    die_offset: int
    cu_offset: int
    origin_offset: int | None = None  # abstract origin for inline instances / clones
    call_file: str | None = None
    call_line: int | None = None

    @property
    def low_pc(self) -> int:
        return min(lo for lo, _ in self.ranges) if self.ranges else self.entry_pc

    @property
    def high_pc(self) -> int:
        return max(hi for _, hi in self.ranges) if self.ranges else self.entry_pc

    def contains(self, addr: int) -> bool:
        return any(lo <= addr < hi for lo, hi in self.ranges)

    @property
    def qualified_name(self) -> str:
        return "::".join((*self.scopes, self.name))


@dataclass(frozen=True)
class Variable:
    name: str
    is_parameter: bool
    type: CType | None
    type_name: str | None          # as stap prints it, e.g. 'struct pt*'
    location: Location | None      # at the pc asked for; None when only a constant
    const_value: int | bytes | None = None
    die_offset: int = 0


@dataclass
class _CuCache:
    lines: LineTable | None = None
    files: FileTable | bool | None = None
    inline_names: set | None = None       # names of abstract inline subprograms (DW_AT_inline) in the CU
    getfuncs: list | None = None          # (name, DIE offset, linkage name, is abstract inline), DIE order
    is_cplusplus: bool | None = None
    functions: list[Function] | None = None
    inlines: list[Function] | None = None
    has_loclists: bool | None = None


class DwarfModule:
    def __init__(self, ef: elfmod.ElfFile):
        self.elf = ef
        self.di = ef.elffile.get_dwarf_info(relocate_dwarf_sections=False)
        self._cu_cache: dict[int, _CuCache] = {}
        self._cus: list | None = None

    # --- compile units -------------------------------------------------------------
    def cus(self) -> list:
        if self._cus is None:
            self._cus = list(self.di.iter_CUs())
        return self._cus

    def _cc(self, cu) -> _CuCache:
        c = self._cu_cache.get(cu.cu_offset)
        if c is None:
            c = self._cu_cache[cu.cu_offset] = _CuCache()
        return c

    def cu_at_offset(self, offset: int):
        return self.di.get_CU_at(offset)

    @cached_property
    def _aranges(self) -> tuple[list[int], list[tuple[int, int, int]]] | None:
        """.debug_aranges read with struct (pyelftools' reader takes ~0.3 s on libc)."""
        sec = self.elf.section(".debug_aranges")
        if sec is None or sec["sh_type"] == "SHT_NOBITS":
            return None
        data = sec.data()
        e = "<" if self.elf.elffile.little_endian else ">"
        out = []
        off = 0
        try:
            while off + 12 <= len(data):
                length = struct.unpack_from(e + "I", data, off)[0]
                hdr = 4
                if length == 0xFFFFFFFF:
                    length = struct.unpack_from(e + "Q", data, off + 4)[0]
                    hdr = 12
                    cu_off = struct.unpack_from(e + "Q", data, off + hdr + 2)[0]
                    p = off + hdr + 2 + 8
                else:
                    cu_off = struct.unpack_from(e + "I", data, off + hdr + 2)[0]
                    p = off + hdr + 2 + 4
                asz, _seg = data[p], data[p + 1]
                p += 2
                tup = 2 * asz
                p = off + ((p - off + tup - 1) // tup) * tup
                fmt = e + ("QQ" if asz == 8 else "II")
                end = off + hdr + length
                while p + tup <= end:
                    a, n = struct.unpack_from(fmt, data, p)
                    p += tup
                    if a == 0 and n == 0:
                        break
                    if n:
                        out.append((a, a + n, cu_off))
                off = end
        except (struct.error, IndexError):
            return None
        out.sort()
        return [t[0] for t in out], out

    @cached_property
    def _cu_ranges(self) -> list[tuple[int, int, int]]:
        out = []
        for cu in self.cus():
            for lo, hi in self.die_ranges(cu.get_top_DIE()):
                out.append((lo, hi, cu.cu_offset))
        return out

    def cu_for_address(self, addr: int):
        ar = self._aranges
        if ar is not None:
            starts, spans = ar
            i = bisect.bisect_right(starts, addr) - 1
            if i >= 0 and addr < spans[i][1]:
                return self.cu_at_offset(spans[i][2])
        for lo, hi, off in self._cu_ranges:
            if lo <= addr < hi:
                return self.cu_at_offset(off)
        return None

    def line_table(self, cu) -> LineTable:
        c = self._cc(cu)
        if c.lines is None:
            c.lines = LineTable(self.di, cu)
        return c.lines

    def file_table(self, cu) -> FileTable | None:
        """From the line program header only: decl_file does not need the rows decoded."""
        c = self._cc(cu)
        if c.files is None:
            if c.lines is not None:
                c.files = c.lines.files
            else:
                prog = self.di.line_program_for_CU(cu)
                c.files = FileTable(prog, cu) if prog is not None else False
        return c.files or None

    # --- DIE helpers ---------------------------------------------------------------------
    def die_ranges(self, die) -> tuple[tuple[int, int], ...]:
        a = die.attributes
        if "DW_AT_low_pc" in a and "DW_AT_high_pc" in a:
            lo = a["DW_AT_low_pc"].value
            hi = a["DW_AT_high_pc"]
            return ((lo, hi.value if hi.form == "DW_FORM_addr" else lo + hi.value),)
        if "DW_AT_ranges" in a:
            rl = self.di.range_lists()
            if rl is None:
                return ()
            top = die.cu.get_top_DIE()
            base = top.attributes["DW_AT_low_pc"].value if "DW_AT_low_pc" in top.attributes else 0
            out = []
            for e in rl.get_range_list_at_offset(a["DW_AT_ranges"].value, cu=die.cu):
                if hasattr(e, "base_address"):
                    base = e.base_address
                elif e.is_absolute:
                    out.append((e.begin_offset, e.end_offset))
                else:
                    out.append((base + e.begin_offset, base + e.end_offset))
            return tuple(r for r in out if r[1] > r[0])
        if "DW_AT_low_pc" in a:
            lo = a["DW_AT_low_pc"].value
            return ((lo, lo + 1),)
        return ()

    def _entry_pc(self, die, ranges) -> int:
        a = die.attributes.get("DW_AT_entry_pc")
        if a is not None:
            if a.form in ("DW_FORM_addr", "DW_FORM_addrx", "DW_FORM_addrx1", "DW_FORM_addrx2", "DW_FORM_addrx4"):
                return a.value
            base = die.attributes["DW_AT_low_pc"].value if "DW_AT_low_pc" in die.attributes else (
                ranges[0][0] if ranges else 0)
            return base + a.value
        if "DW_AT_low_pc" in die.attributes:
            return die.attributes["DW_AT_low_pc"].value
        return ranges[0][0] if ranges else 0

    def decl_file(self, die) -> str | None:
        a, holder = attr_integrate(die, "DW_AT_decl_file")
        if a is None:
            return None
        ft = self.file_table(holder.cu)
        return ft.path(a.value) if ft else None

    def _scopes(self, die) -> tuple[str, ...]:
        # the declaration (specification) carries the real position in the scope tree
        d = die
        for link in ("DW_AT_specification", "DW_AT_abstract_origin"):
            if link in d.attributes:
                try:
                    d = d.get_DIE_from_attribute(link)
                except Exception:
                    pass
        if "DW_AT_specification" in d.attributes:
            try:
                d = d.get_DIE_from_attribute("DW_AT_specification")
            except Exception:
                pass
        out = []
        p = d.get_parent()
        while p is not None and p.tag in _SCOPE_TAGS:
            n = die_name(p)
            out.append(n or "")
            p = p.get_parent()
        return tuple(reversed(out))

    def _is_cplusplus(self, cu) -> bool:
        c = self._cc(cu)
        if c.is_cplusplus is None:
            lang = cu.get_top_DIE().attributes.get("DW_AT_language")
            # DW_LANG_C_plus_plus 0x4, _03 0x19, _11 0x1a, _14 0x21 (others: ObjC++ 0x11)
            c.is_cplusplus = lang is not None and lang.value in (0x4, 0x11, 0x19, 0x1A, 0x21)
        return c.is_cplusplus

    def getfuncs(self, cu) -> list[tuple[str, int, str | None, bool]]:
        """What elfutils' dwarf_getfuncs reports for the CU (non-declaration subprograms, DIE order):
        (name, DIE offset, linkage name, has DW_AT_inline) -- the input of stap's function cache."""
        self.functions(cu)
        return self._cc(cu).getfuncs

    def inline_names(self, cu) -> set:
        """Names of the CU's abstract inline subprograms: which names can have inline instances."""
        self.functions(cu)
        return self._cc(cu).inline_names

    def _make_function(self, die, inline: bool, scopes: tuple | None = None) -> Function | None:
        name = die_name(die)
        if not name:
            return None
        ranges = self.die_ranges(die)
        if not ranges and not (inline and "DW_AT_entry_pc" in die.attributes):
            # an inline instance whose code all moved away still has its entry pc, which stap
            # probes [dwflpp.cxx die_entrypc: dwarf_entrypc first]
            return None
        lk, _ = attr_integrate(die, "DW_AT_linkage_name")
        if lk is None:
            lk, _ = attr_integrate(die, "DW_AT_MIPS_linkage_name")
        line, _ = attr_integrate(die, "DW_AT_decl_line")
        ext, _ = attr_integrate(die, "DW_AT_external")
        inl, _ = attr_integrate(die, "DW_AT_inline")
        origin = None
        if "DW_AT_abstract_origin" in die.attributes:
            try:
                origin = die.get_DIE_from_attribute("DW_AT_abstract_origin").offset
            except Exception:
                origin = None
        call_file = call_line = None
        if inline:
            cf = die.attributes.get("DW_AT_call_file")
            ft = self.file_table(die.cu)
            call_file = ft.path(cf.value) if cf is not None and ft else None
            cl = die.attributes.get("DW_AT_call_line")
            call_line = cl.value if cl is not None else None
        decl_file = self.decl_file(die)
        decl_line = line.value if line is not None else None
        if (decl_file is None or decl_line is None) and "DW_AT_low_pc" in die.attributes:
            # assembler-made subprograms carry no decl_*: "the line table might know"
            # [dwflpp.cxx function_file/function_line]
            row = self.line_table(die.cu).row_for_address(die.attributes["DW_AT_low_pc"].value)
            if row is not None:
                decl_file = decl_file if decl_file is not None else row.file
                decl_line = decl_line if decl_line is not None else row.line
        return Function(
            name=name,
            linkage_name=(lk.value.decode() if isinstance(lk.value, bytes) else lk.value) if lk else None,
            decl_file=decl_file,
            decl_line=decl_line,
            ranges=ranges,
            entry_pc=self._entry_pc(die, ranges),
            external=bool(ext.value) if ext is not None else False,
            is_inline_instance=inline,
            declared_inline=bool(inl and inl.value in (1, 3)),
            scopes=scopes if scopes is not None else (self._scopes(die) if self._is_cplusplus(die.cu) else ()),
            die_offset=die.offset,
            cu_offset=die.cu.cu_offset,
            origin_offset=origin,
            call_file=call_file,
            call_line=call_line,
        )

    # --- functions --------------------------------------------------------------------------
    def functions(self, cu) -> list[Function]:
        """Concrete subprograms of the CU, also those nested in namespaces/classes (as dwarf_getfuncs)."""
        c = self._cc(cu)
        if c.functions is None:
            out: list[Function] = []
            inline_names: set[str] = set()
            getfuncs: list[tuple[str, int, str | None, bool]] = []
            cxx = self._is_cplusplus(cu)

            def walk(parent, scopes):
                for d in parent.iter_children():
                    if d.tag == "DW_TAG_subprogram":
                        if "DW_AT_declaration" not in d.attributes:
                            n = die_name(d)
                            if n:
                                lk, _ = attr_integrate(d, "DW_AT_linkage_name")
                                if lk is None:
                                    lk, _ = attr_integrate(d, "DW_AT_MIPS_linkage_name")
                                lkv = lk.value.decode("utf-8", "replace") if lk is not None and isinstance(
                                    lk.value, bytes) else None
                                getfuncs.append((n, d.offset, lkv, "DW_AT_inline" in d.attributes))
                        if "DW_AT_inline" in d.attributes:
                            n = die_name(d)
                            if n:
                                inline_names.add(n)
                        f = self._make_function(d, False, scopes if not cxx else None)
                        if f is not None:
                            out.append(f)
                    if not d.has_children:
                        continue
                    if d.tag == "DW_TAG_namespace":
                        walk(d, (*scopes, die_name(d) or ""))
                    elif cxx and d.tag in _GETFUNCS_SCOPES:
                        # libdw's dwarf_getfuncs visits every scope of a non-C CU: members of a class
                        # local to a function (basic_string's _Guard) are defined inside it
                        # [libdw_visit_scopes.c may_have_scopes]
                        walk(d, scopes)

            walk(cu.get_top_DIE(), ())
            c.functions = out
            c.inline_names = inline_names
            c.getfuncs = getfuncs
        return c.functions

    def function_from_die(self, offset: int, inline: bool) -> Function | None:
        """The Function of a subprogram (inline=False) or inline instance DIE at offset."""
        return self._make_function(self.die(offset), inline)

    def inline_instances(self, cu) -> list[Function]:
        c = self._cc(cu)
        if c.inlines is None:
            out = []
            for d in cu.iter_DIEs():
                if d.tag == "DW_TAG_inlined_subroutine":
                    f = self._make_function(d, True)
                    if f is not None:
                        out.append(f)
            c.inlines = out
        return c.inlines

    def has_location_lists(self, cu) -> bool:
        """stap's has_valid_locs: optimized CUs carry location lists and need no prologue skip."""
        c = self._cc(cu)
        if c.has_loclists is None:
            v5 = cu.header.version >= 4
            found = False
            for d in cu.iter_DIEs():
                if d.tag in ("DW_TAG_variable", "DW_TAG_formal_parameter"):
                    a = d.attributes.get("DW_AT_location")
                    if a is not None and (a.form in ("DW_FORM_sec_offset", "DW_FORM_loclistx") or
                                          (not v5 and a.form in ("DW_FORM_data4", "DW_FORM_data8"))):
                        found = True
                        break
            c.has_loclists = found
        return c.has_loclists

    def die(self, offset: int):
        return self.di.get_DIE_from_refaddr(offset)

    def function_at(self, addr: int) -> Function | None:
        cu = self.cu_for_address(addr)
        if cu is None:
            return None
        best = None
        for f in self.functions(cu):
            if f.contains(addr) and (best is None or f.high_pc - f.low_pc < best.high_pc - best.low_pc):
                best = f
        return best

    # --- variables -----------------------------------------------------------------------------
    def frame_base(self, func: Function, pc: int) -> Location | None:
        """The frame base of the subprogram (inline instances use their containing subprogram's)."""
        die = self.die(func.die_offset)
        while die is not None and die.tag != "DW_TAG_subprogram":
            die = die.get_parent()
        if die is None:
            return None
        a, holder = attr_integrate(die, "DW_AT_frame_base")
        if a is None:
            return None
        return location_at(self, a, holder, pc, None)

    def scopes_at(self, func: Function, pc: int) -> list:
        """The lexical blocks of func containing pc, innermost first, then the function itself."""
        die = self.die(func.die_offset)
        chain = [die]
        cur = die
        while True:
            nxt = None
            for c in cur.iter_children():
                if c.tag == "DW_TAG_lexical_block" and any(lo <= pc < hi for lo, hi in self.die_ranges(c)):
                    nxt = c
                    break
            if nxt is None:
                break
            chain.append(nxt)
            cur = nxt
        return list(reversed(chain))

    def variables(self, func: Function, pc: int | None = None, nested: bool = False) -> list[Variable]:
        """Parameters and locals that have a location (or a constant value) at pc -- the set and
        order stap's -L prints [tapsets.cxx saveargs]: the function's own children for function
        probes; with nested=True (statement probes) the lexical blocks around pc first."""
        pc = func.entry_pc if pc is None else pc
        fb = None
        out = []
        scopes = self.scopes_at(func, pc) if nested else [self.die(func.die_offset)]
        for d in (c for sc in scopes for c in sc.iter_children()):
            if d.tag not in ("DW_TAG_variable", "DW_TAG_formal_parameter"):
                continue
            name = die_name(d)
            if not name:
                continue
            const, _ = attr_integrate(d, "DW_AT_const_value")
            loc = None
            if const is None:
                la, holder = attr_integrate(d, "DW_AT_location")
                if la is None:
                    continue
                if fb is None:
                    fb = self.frame_base(func, pc) or Location.unavailable()
                loc = location_at(self, la, holder, pc, fb)
                if loc is None:
                    continue
            ta, tholder = attr_integrate(d, "DW_AT_type")
            if ta is None:
                continue
            try:
                tdie = tholder.get_DIE_from_attribute("DW_AT_type")
            except Exception:
                continue
            ctype = type_of(tdie)
            tname = ctype.stap_name()
            if tname is None:
                continue
            out.append(Variable(name, d.tag == "DW_TAG_formal_parameter", ctype, tname, loc,
                                const.value if const is not None else None, d.offset))
        return out

    def return_type(self, func: Function) -> CType | None:
        die = self.die(func.die_offset)
        ta, holder = attr_integrate(die, "DW_AT_type")
        if ta is None:
            return None
        return type_of(holder.get_DIE_from_attribute("DW_AT_type"))


_MODULES: dict[str, DwarfModule | None] = {}


def dwarf_for(ef: elfmod.ElfFile, roots: tuple[str, ...] = elfmod.DEBUG_ROOTS) -> DwarfModule | None:
    key = ef.path + "\0" + ":".join(roots)
    if key not in _MODULES:
        dfile = ef.dwarf_file(roots)
        _MODULES[key] = DwarfModule(dfile) if dfile is not None else None
    mod = _MODULES[key]
    if mod is not None and elfmod.open_elf(mod.elf.path) is not mod.elf:   # file changed on disk
        del _MODULES[key]
        return dwarf_for(ef, roots)
    return mod
