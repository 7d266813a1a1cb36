"""C types from DWARF, named as stap prints them and described for codegen.

type_of(die) -> CType (cached per DIE). A CType is a lazy view of one type DIE:
  kind        'base' 'pointer' 'reference' 'rvalue_reference' 'array' 'struct' 'union' 'class' 'enum'
              'typedef' 'const' 'volatile' 'restrict' 'function' 'void' 'unknown'
  name        DW_AT_name or None (anonymous)
  size        bytes (pointers 8; arrays count*element; None if unknown)
  encoding    base types: 'signed' 'unsigned' 'signed_char' 'unsigned_char' 'float' 'bool' ...
  target      the referenced type (pointer/array element/typedef/cv target), None means void
  members     struct/union: [Member(name, offset, type, bit_size, bit_offset)] -- offset in bytes from the
              start of the aggregate; for bitfields bit_offset counts from the least significant bit of
              the byte at `offset` (little-endian), and bit_size is the width
  dims        arrays: element counts per dimension (None for an unknown bound)
  enumerators enums: [(name, value)]
  strip()     the type with typedefs and const/volatile/restrict removed
  stap_name() the text stap -L prints ('struct pt*', 'char const*', 'char[]', 'int (*)(int)')
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

_KIND = {
    "DW_TAG_base_type": "base", "DW_TAG_pointer_type": "pointer", "DW_TAG_reference_type": "reference",
    "DW_TAG_rvalue_reference_type": "rvalue_reference", "DW_TAG_array_type": "array",
    "DW_TAG_structure_type": "struct", "DW_TAG_union_type": "union", "DW_TAG_class_type": "class",
    "DW_TAG_enumeration_type": "enum", "DW_TAG_typedef": "typedef", "DW_TAG_const_type": "const",
    "DW_TAG_volatile_type": "volatile", "DW_TAG_restrict_type": "restrict",
    "DW_TAG_subroutine_type": "function", "DW_TAG_unspecified_type": "void",
}
_ENCODING = {0x2: "bool", 0x4: "float", 0x5: "signed", 0x6: "signed_char", 0x7: "unsigned",
             0x8: "unsigned_char", 0x10: "utf"}
_MODIFIER_SUFFIX = {"reference": "&", "rvalue_reference": "&&", "pointer": "*", "array": "[]",
                    "const": " const", "volatile": " volatile", "restrict": " restrict"}


@dataclass(frozen=True)
class Member:
    name: str | None
    offset: int
    type: "CType"
    bit_size: int | None = None
    bit_offset: int | None = None


def _s(v):
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else v


class CType:
    def __init__(self, die):
        self._die = die
        self.die_offset = die.offset
        self.kind = _KIND.get(die.tag, "unknown")

    def __repr__(self):
        return f"CType({self.stap_name()!r})"

    @cached_property
    def name(self) -> str | None:
        a = self._die.attributes.get("DW_AT_name")
        return _s(a.value) if a is not None else None

    @cached_property
    def target(self) -> "CType | None":
        if "DW_AT_type" not in self._die.attributes:
            return None
        return type_of(self._die.get_DIE_from_attribute("DW_AT_type"))

    @cached_property
    def size(self) -> int | None:
        a = self._die.attributes.get("DW_AT_byte_size")
        if a is not None:
            return a.value
        if self.kind in ("pointer", "reference", "rvalue_reference"):
            return self._die.cu.header["address_size"]
        if self.kind in ("typedef", "const", "volatile", "restrict"):
            return self.target.size if self.target else None
        if self.kind == "array":
            n = 1
            for d in self.dims:
                if d is None:
                    return None
                n *= d
            es = self.target.size if self.target else None
            return n * es if es is not None else None
        return None

    @cached_property
    def encoding(self) -> str | None:
        a = self._die.attributes.get("DW_AT_encoding")
        return _ENCODING.get(a.value, "other") if a is not None else None

    @cached_property
    def dims(self) -> list[int | None]:
        out = []
        for c in self._die.iter_children():
            if c.tag != "DW_TAG_subrange_type":
                continue
            cnt = c.attributes.get("DW_AT_count")
            ub = c.attributes.get("DW_AT_upper_bound")
            if cnt is not None and isinstance(cnt.value, int) and cnt.form != "DW_FORM_exprloc":
                out.append(cnt.value)
            elif ub is not None and isinstance(ub.value, int) and ub.form not in ("DW_FORM_exprloc", "DW_FORM_ref4"):
                out.append(ub.value + 1)
            else:
                out.append(None)
        return out

    @cached_property
    def members(self) -> list[Member]:
        out = []
        for c in self._die.iter_children():
            if c.tag not in ("DW_TAG_member", "DW_TAG_inheritance") or "DW_AT_type" not in c.attributes:
                continue
            if "DW_AT_external" in c.attributes or "DW_AT_declaration" in c.attributes:
                continue   # static members
            mtype = type_of(c.get_DIE_from_attribute("DW_AT_type"))
            name = _s(c.attributes["DW_AT_name"].value) if "DW_AT_name" in c.attributes else None
            loc = c.attributes.get("DW_AT_data_member_location")
            off = loc.value if loc is not None and isinstance(loc.value, int) else 0
            if loc is not None and isinstance(loc.value, list):       # old-style block: DW_OP_plus_uconst N
                off = loc.value[1] if len(loc.value) >= 2 and loc.value[0] == 0x23 else 0
            bs = c.attributes.get("DW_AT_bit_size")
            bit_size = bit_off = None
            if bs is not None:
                bit_size = bs.value
                dbo = c.attributes.get("DW_AT_data_bit_offset")
                if dbo is not None:
                    total = dbo.value
                else:
                    storage = c.attributes.get("DW_AT_byte_size")
                    ssize = storage.value if storage is not None else (mtype.size or 4)
                    bo = c.attributes.get("DW_AT_bit_offset")
                    total = off * 8 + (ssize * 8 - (bo.value if bo else 0) - bit_size)
                off, bit_off = total // 8, total % 8
            out.append(Member(name, off, mtype, bit_size, bit_off))
        return out

    def member(self, name: str) -> Member | None:
        """Lookup through anonymous struct/union members as C does."""
        for m in self.strip().members:
            if m.name == name:
                return m
            if m.name is None and m.type.strip().kind in ("struct", "union", "class"):
                inner = m.type.member(name)
                if inner is not None:
                    return Member(inner.name, m.offset + inner.offset, inner.type, inner.bit_size, inner.bit_offset)
        return None

    @cached_property
    def enumerators(self) -> list[tuple[str, int]]:
        return [(_s(c.attributes["DW_AT_name"].value), c.attributes["DW_AT_const_value"].value)
                for c in self._die.iter_children() if c.tag == "DW_TAG_enumerator"]

    def strip(self) -> "CType":
        t = self
        while t.kind in ("typedef", "const", "volatile", "restrict") and t.target is not None:
            t = t.target
        return t

    @property
    def is_declaration(self) -> bool:
        return "DW_AT_declaration" in self._die.attributes

    # --- stap's naming [dwarf_wrappers.cxx dwarf_type_name] ---------------------------------
    def _name_into(self, parts: list[str]) -> "CType | None | bool":
        """Append the name; returns a subroutine CType when one was met, True when done, False on failure."""
        k = self.kind
        if k in ("enum", "struct", "union", "class"):
            parts.append({"enum": "enum ", "struct": "struct ", "union": "union ", "class": "class "}[k])
            parts.append(self.name or "{...}")
            return True
        if k in ("typedef", "base"):
            parts.append(self.name or "{...}")
            return True
        if k == "function":
            return self
        if k not in _MODIFIER_SUFFIX:
            return False
        sub = self.target
        if k == "pointer" and sub is not None and sub.kind == "struct" and sub.name == "__va_list_tag":
            parts.append("va_list")
            return True
        res: CType | bool | None = False
        if sub is not None:
            res = sub._name_into(parts)
        if sub is None or res is False:
            parts.append("void")
            res = True
        if k == "const" and sub is not None and sub.kind in ("reference", "rvalue_reference"):
            pass
        else:
            parts.append(_MODIFIER_SUFFIX[k])
        return res

    def stap_name(self) -> str | None:
        parts: list[str] = []
        res = self._name_into(parts)
        if res is False:
            return None
        text = "".join(parts)
        if isinstance(res, CType):      # function type: ret (modifiers) (params)
            ret = res.target.stap_name() if res.target is not None else "void"
            if ret is None:
                return None
            params = []
            for c in res._die.iter_children():
                if c.tag == "DW_TAG_unspecified_parameters":
                    params.append("...")
                elif c.tag == "DW_TAG_formal_parameter":
                    if "DW_AT_type" in c.attributes:
                        pn = type_of(c.get_DIE_from_attribute("DW_AT_type")).stap_name()
                        if pn is None:
                            return None
                        params.append(pn)
                    else:
                        params.append("void")
            return f"{ret} ({text}) ({', '.join(params) if params else 'void'})"
        return text


_CACHE: dict[tuple[object, int], CType] = {}


def type_of(die) -> CType:
    key = (die.cu.dwarfinfo, die.offset)
    t = _CACHE.get(key)
    if t is None:
        t = _CACHE[key] = CType(die)
    return t


# --- named types of a module, keyed as stap's global alias cache [dwflpp.cxx] ------------------
_CXX_LANGS = {0x4, 0x19, 0x1a, 0x21, 0x2a, 0x2b, 0x3a}  # DW_LANG_C_plus_plus, _03, _11, _14, _17, _20, _23
_TYPE_TAGS = ("DW_TAG_base_type", "DW_TAG_enumeration_type", "DW_TAG_structure_type", "DW_TAG_class_type",
              "DW_TAG_typedef", "DW_TAG_union_type", "DW_TAG_namespace")
_KEY_PREFIX = {"DW_TAG_enumeration_type": "enum ", "DW_TAG_structure_type": "struct ",
               "DW_TAG_class_type": "struct ", "DW_TAG_union_type": "union "}
_INDEX: dict[int, list] = {}


def _only_declared_members(die) -> bool:
    kids = list(die.iter_children())
    if not kids:
        return False
    for c in kids:
        if "DW_AT_declaration" not in c.attributes:
            return False
        if c.tag in ("DW_TAG_namespace", "DW_TAG_structure_type", "DW_TAG_class_type") \
                and not _only_declared_members(c):
            return False
    return True


def _index_types(top, nested: bool, prefix: str, out: dict) -> None:
    for d in top.iter_children():
        if d.tag == "DW_TAG_imported_unit" and "DW_AT_import" in d.attributes:
            _index_types(d.get_DIE_from_attribute("DW_AT_import"), nested, prefix, out)
            continue
        if d.tag not in _TYPE_TAGS:
            continue
        a = d.attributes.get("DW_AT_name")
        if a is None or "DW_AT_declaration" in d.attributes or _only_declared_members(d):
            continue
        name = _s(a.value)
        if nested and d.tag in ("DW_TAG_namespace", "DW_TAG_structure_type", "DW_TAG_class_type"):
            _index_types(d, nested, prefix + name + "::", out)
        if d.tag != "DW_TAG_namespace":
            out.setdefault(prefix + _KEY_PREFIX.get(d.tag, "") + name, d)


def named_types(di) -> list[dict]:
    """One {key: type DIE} per CU of a DWARFInfo, in CU order; keys are 'struct foo' (classes too),
    'union foo', 'enum foo', plain names for typedefs and base types, 'ns::' prefixes in C++."""
    got = _INDEX.get(id(di))
    if got is None or got[0] is not di:
        per_cu = []
        for cu in di.iter_CUs():
            top = cu.get_top_DIE()
            if top.tag == "DW_TAG_partial_unit":
                continue
            lang = top.attributes.get("DW_AT_language")
            table: dict = {}
            _index_types(top, lang is not None and lang.value in _CXX_LANGS, "", table)
            per_cu.append(table)
        got = _INDEX[id(di)] = [di, per_cu]
    return got[1]


def resolve_type_name(di, name: str):
    """stap's declaration_resolve_other_cus(name): the first CU defining it, else None."""
    for table in named_types(di):
        d = table.get(name)
        if d is not None:
            return type_of(d)
    return None


def find_named_type(di, tname: str):
    """@cast's type lookup [dwarf_cast_query]: 'class X' means 'struct X'; a bare name is tried as
    itself, then as 'struct', 'union' and 'enum'."""
    if tname.startswith("class "):
        return resolve_type_name(di, "struct " + tname[6:])
    t = resolve_type_name(di, tname)
    if t is None and not tname.startswith(("struct ", "union ", "enum ")):
        for kw in ("struct ", "union ", "enum "):
            t = resolve_type_name(di, kw + tname)
            if t is not None:
                break
    return t
