"""Named DWARF entities for @cast and @var: types and global variables of a module.

find_type(elf_file, "struct pt") -> CType | None
    "struct X" / "union X" / "enum X" / "class X" look for that tag; a bare name matches a typedef or
    base type first, then a struct/union/class of that name. Trailing '*'s make pointer types
    (PointerTo(CType, depth)). Complete definitions win over declarations.
find_global(elf_file, "counter", cu_pattern=None) -> GlobalVariable | None
    @var("counter@file.c"): the CU-level variable with a location, in a CU whose name (or
    comp_dir/name) matches the fnmatch pattern (with an implicit '*/' in front, as for file specs).
GlobalVariable: name, type (CType), type_name, location (locations.Location, usually ('addr', A)),
    cu_name, die_offset.
The index is built once per module by reading every CU's top-level DIEs.
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from .dwarf import DwarfModule, attr_integrate, die_name, dwarf_for
from .elf import ElfFile
from .locations import Location, location_at
from .types import CType, type_of

_TAG_WORD = {"DW_TAG_structure_type": "struct", "DW_TAG_union_type": "union",
             "DW_TAG_enumeration_type": "enum", "DW_TAG_class_type": "class"}


@dataclass(frozen=True)
class PointerTo:
    target: CType
    depth: int

    def stap_name(self) -> str | None:
        base = self.target.stap_name()
        return None if base is None else base + "*" * self.depth


@dataclass(frozen=True)
class GlobalVariable:
    name: str
    type: CType
    type_name: str | None
    location: Location | None
    cu_name: str
    die_offset: int


class _Index:
    def __init__(self, mod: DwarfModule):
        self.types: dict[str, list] = {}      # 'struct pt' / 'pt' -> [DIE]
        self.globals: dict[str, list] = {}    # name -> [(DIE, cu_name)]
        for cu in mod.cus():
            top = cu.get_top_DIE()
            cu_name = die_name(top) or ""
            comp = top.attributes.get("DW_AT_comp_dir")
            comp_dir = comp.value.decode() if comp is not None and isinstance(comp.value, bytes) else ""
            full = cu_name if cu_name.startswith("/") or not comp_dir else f"{comp_dir}/{cu_name}"
            self._walk(top, full)

    def _walk(self, parent, cu_name):
        for d in parent.iter_children():
            tag = d.tag
            if tag in _TAG_WORD or tag in ("DW_TAG_typedef", "DW_TAG_base_type"):
                n = die_name(d)
                if n:
                    key = f"{_TAG_WORD[tag]} {n}" if tag in _TAG_WORD else n
                    self.types.setdefault(key, []).append(d)
            elif tag == "DW_TAG_variable":
                n = die_name(d)
                if n:
                    self.globals.setdefault(n, []).append((d, cu_name))
            elif tag == "DW_TAG_namespace" and d.has_children:
                self._walk(d, cu_name)


_INDEX: dict[int, _Index] = {}


def _index(ef: ElfFile) -> tuple[DwarfModule, _Index] | None:
    mod = dwarf_for(ef)
    if mod is None:
        return None
    idx = _INDEX.get(id(mod))
    if idx is None:
        idx = _INDEX[id(mod)] = _Index(mod)
    return mod, idx


def _best(dies):
    full = [d for d in dies if "DW_AT_declaration" not in d.attributes]
    return (full or dies)[0] if dies else None


def find_type(ef: ElfFile, name: str) -> CType | PointerTo | None:
    got = _index(ef)
    if got is None:
        return None
    _, idx = got
    text = name.strip()
    depth = 0
    while text.endswith("*"):
        depth += 1
        text = text[:-1].rstrip()
    words = text.split(None, 1)
    if len(words) == 2 and words[0] in ("struct", "union", "enum", "class"):
        cands = idx.types.get(f"{words[0]} {words[1]}", [])
    else:
        cands = idx.types.get(text, [])
        if not cands:
            for w in ("struct", "union", "class", "enum"):
                cands = idx.types.get(f"{w} {text}", [])
                if cands:
                    break
    die = _best(cands)
    if die is None:
        return None
    t = type_of(die)
    return PointerTo(t, depth) if depth else t


def find_global(ef: ElfFile, name: str, cu_pattern: str | None = None) -> GlobalVariable | None:
    got = _index(ef)
    if got is None:
        return None
    mod, idx = got
    for d, cu_name in idx.globals.get(name, []):
        if cu_pattern and not (fnmatch.fnmatchcase(cu_name, cu_pattern) or
                               fnmatch.fnmatchcase(cu_name, "*/" + cu_pattern)):
            continue
        # an extern declaration has no location; its definition elsewhere does (DW_AT_specification)
        la, holder = attr_integrate(d, "DW_AT_location")
        if la is None:
            continue
        loc = location_at(mod, la, holder, 0, None)
        ta, tholder = attr_integrate(d, "DW_AT_type")
        if ta is None:
            continue
        t = type_of(tholder.get_DIE_from_attribute("DW_AT_type"))
        return GlobalVariable(name, t, t.stap_name(), loc, cu_name, d.offset)
    return None
