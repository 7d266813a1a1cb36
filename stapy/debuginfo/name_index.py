"""Which compile units define a function of a given name: a one-time index per DWARF file.

cus_defining(mod, pattern) -> set[int] | None
    CU offsets holding a subprogram DIE (not a declaration) whose DW_AT_name or DW_AT_linkage_name
    matches the fnmatch pattern; None when the index cannot be built (an unknown DWARF form).

stap matches function patterns against the DWARF functions of every CU [dwflpp.cxx
iterate_over_functions], which in a big module (libc: 2000 CUs) costs pyelftools half a minute.  This
index is a plain scan of .debug_info that decodes only the names of subprogram DIEs and skips every
other attribute by its form, built once per build-id (about a second for libc) and kept under
$XDG_CACHE_HOME/stapy/names/.  The resolver then reads only the CUs the index names.
"""
from __future__ import annotations

import fnmatch
import json
import os
import struct

_TAG_SUBPROGRAM = 0x2E
_AT_NAME, _AT_LINKAGE_NAME, _AT_MIPS_LINKAGE_NAME, _AT_DECLARATION = 0x03, 0x6E, 0x2007, 0x3C

# fixed sizes of forms; 'a' address size, 'o' offset size (4 or 8), None: variable
_FIXED = {0x01: "a", 0x05: 2, 0x06: 4, 0x07: 8, 0x0B: 1, 0x0C: 1, 0x0E: "o", 0x10: "o", 0x11: 1, 0x12: 2,
          0x13: 4, 0x14: 8, 0x17: "o", 0x19: 0, 0x1C: 4, 0x1D: "o", 0x1E: 16, 0x1F: "o", 0x20: 8, 0x21: 0,
          0x24: 8, 0x25: 1, 0x26: 2, 0x27: 3, 0x28: 4, 0x29: 1, 0x2A: 2, 0x2B: 3, 0x2C: 4,
          0x1F20: "o", 0x1F21: "o"}
_ULEB_FORMS = {0x0F, 0x15, 0x1A, 0x1B, 0x22, 0x23, 0x1F01, 0x1F02}


class _Unknown(Exception):
    pass


def _uleb(data, p: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        b = data[p]
        p += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, p
        shift += 7


def _sleb(data, p: int) -> int:
    while data[p] & 0x80:
        p += 1
    return p + 1


def _abbrevs(data, off: int) -> dict[int, tuple]:
    """code -> (tag, [(attr, form)]) of the abbreviation table at off."""
    out = {}
    p = off
    while True:
        code, p = _uleb(data, p)
        if code == 0:
            return out
        tag, p = _uleb(data, p)
        p += 1                                 # has_children
        specs = []
        while True:
            at, p = _uleb(data, p)
            form, p = _uleb(data, p)
            if at == 0 and form == 0:
                break
            if form == 0x21:
                p = _sleb(data, p)
            specs.append((at, form))
        out[code] = (tag, specs)


def _skip(data, p: int, form: int, asz: int, osz: int, version: int) -> int:
    size = _FIXED.get(form)
    if size is not None:
        if size == "a":
            return p + asz
        if size == "o":
            return p + (asz if form == 0x10 and version == 2 else osz)
        return p + size
    if form in _ULEB_FORMS:
        return _uleb(data, p)[1]
    if form == 0x08:
        return data.index(b"\0", p) + 1
    if form in (0x09, 0x18):
        n, p = _uleb(data, p)
        return p + n
    if form == 0x0A:
        return p + 1 + data[p]
    if form == 0x03:
        return p + 2 + struct.unpack_from("<H", data, p)[0]
    if form == 0x04:
        return p + 4 + struct.unpack_from("<I", data, p)[0]
    if form == 0x0D:
        return _sleb(data, p)
    if form == 0x16:
        real, p = _uleb(data, p)
        return _skip(data, p, real, asz, osz, version)
    raise _Unknown(form)


def _scan(info: bytes, abbrev: bytes, strs: bytes, line_strs: bytes) -> dict[str, list[int]]:
    names: dict[str, set[int]] = {}
    tables: dict[int, dict] = {}
    plans: dict[tuple[int, int], tuple] = {}
    off = 0
    n = len(info)
    while off + 11 <= n:
        length = struct.unpack_from("<I", info, off)[0]
        osz, hdr = 4, 4
        if length == 0xFFFFFFFF:
            length = struct.unpack_from("<Q", info, off + 4)[0]
            osz, hdr = 8, 12
        end = off + hdr + length
        version = struct.unpack_from("<H", info, off + hdr)[0]
        p = off + hdr + 2
        if version >= 5:
            unit_type, asz = info[p], info[p + 1]
            abbrev_off = struct.unpack_from("<I" if osz == 4 else "<Q", info, p + 2)[0]
            p += 2 + osz
            if unit_type in (4, 5):              # skeleton, split_compile: dwo_id
                p += 8
            elif unit_type in (2, 6):            # type, split_type: signature, type offset
                p += 8 + osz
        else:
            abbrev_off = struct.unpack_from("<I" if osz == 4 else "<Q", info, p)[0]
            asz = info[p + osz]
            p += osz + 1
        table = tables.get(abbrev_off)
        if table is None:
            table = tables[abbrev_off] = _abbrevs(abbrev, abbrev_off)
        while p < end:
            code, p = _uleb(info, p)
            if code == 0:
                continue
            tag, specs = table[code]
            key = (abbrev_off, code)
            plan = plans.get(key)
            if plan is None:
                fixed = 0
                for _, form in specs:
                    s = _FIXED.get(form)
                    if s is None:
                        fixed = None
                        break
                    fixed += asz if s == "a" else (asz if form == 0x10 and version == 2 else osz) if s == "o" else s
                wanted = tag == _TAG_SUBPROGRAM and not any(at == _AT_DECLARATION for at, _ in specs)
                plan = plans[key] = (fixed, wanted)
            fixed, wanted = plan
            if not wanted:
                if fixed is not None:
                    p += fixed
                else:
                    for _, form in specs:
                        p = _skip(info, p, form, asz, osz, version)
                continue
            for at, form in specs:
                if at in (_AT_NAME, _AT_LINKAGE_NAME, _AT_MIPS_LINKAGE_NAME):
                    if form == 0x08:
                        q = info.index(b"\0", p)
                        name = info[p:q]
                    elif form == 0x0E:
                        so = struct.unpack_from("<I" if osz == 4 else "<Q", info, p)[0]
                        name = strs[so:strs.index(b"\0", so)]
                    elif form == 0x1F:
                        so = struct.unpack_from("<I" if osz == 4 else "<Q", info, p)[0]
                        name = line_strs[so:line_strs.index(b"\0", so)]
                    else:
                        raise _Unknown(form)
                    names.setdefault(name.decode("utf-8", "replace"), set()).add(off)
                p = _skip(info, p, form, asz, osz, version)
        off = end
    return {k: sorted(v) for k, v in names.items()}


def _section(ef, name: str) -> bytes:
    sec = ef.section(name)
    if sec is None or sec["sh_type"] == "SHT_NOBITS":
        return b""
    return sec.data()


def _cache_path(ef) -> str | None:
    bid = ef.build_id
    if not bid:
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "stapy", "names", f"{bid}.json")


_INDEX: dict[str, dict | None] = {}


def name_index(mod) -> dict[str, list[int]] | None:
    """name -> CU offsets for the module's DWARF file (mod.elf), from the cache or built now."""
    ef = mod.elf
    if ef.path in _INDEX:
        return _INDEX[ef.path]
    path = _cache_path(ef)
    index = None
    if path is not None:
        try:
            with open(path) as f:
                index = json.load(f)
        except (OSError, ValueError):
            index = None
    if index is None:
        try:
            index = _scan(_section(ef, ".debug_info"), _section(ef, ".debug_abbrev"), _section(ef, ".debug_str"),
                          _section(ef, ".debug_line_str"))
        except (_Unknown, IndexError, KeyError, struct.error, ValueError):
            index = None
        if index is not None and path is not None:
            try:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                tmp = f"{path}.{os.getpid()}.tmp"
                with open(tmp, "w") as f:
                    json.dump(index, f)
                os.replace(tmp, path)
            except OSError:
                pass
    _INDEX[ef.path] = index
    return index


def cus_defining(mod, pattern: str) -> set[int] | None:
    index = name_index(mod)
    if index is None:
        return None
    if not any(c in pattern for c in "*?["):
        return set(index.get(pattern, ()))
    out: set[int] = set()
    for name, offs in index.items():
        if fnmatch.fnmatchcase(name, pattern):
            out.update(offs)
    return out
