"""Which compile units define a function of a given name: a one-time index per DWARF file.

cus_defining(mod, pattern) -> set[int] | None
    CU offsets holding a subprogram DIE (not a declaration) whose DW_AT_name or DW_AT_linkage_name
    matches the fnmatch pattern; None when the index cannot be built (an unknown DWARF form).
cus_with_file(mod, matches) -> set[int] | None
    CU offsets whose line program lists a file name for which matches(name) is true.

stap matches function patterns against the DWARF functions of every CU [dwflpp.cxx
iterate_over_functions], which in a big module (libc: 2000 CUs) costs pyelftools half a minute.  This
index is a plain scan of .debug_info that decodes only the names of subprogram DIEs and skips every
other attribute by its form (plus each unit's line program header, for its file names), built once per build-id (about a second for libc) and kept under
$XDG_CACHE_HOME/stapy/names/.  The resolver then reads only the CUs the index names.
"""
from __future__ import annotations

import fnmatch
import json
import struct

from stapy.cache import cache_root, store

_TAG_SUBPROGRAM = 0x2E
_AT_NAME, _AT_LINKAGE_NAME, _AT_MIPS_LINKAGE_NAME, _AT_DECLARATION = 0x03, 0x6E, 0x2007, 0x3C
_AT_STMT_LIST, _AT_COMP_DIR = 0x10, 0x1B

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


def _string(data, p: int, form: int, osz: int, strs: bytes, line_strs: bytes) -> str:
    if form == 0x08:
        raw = data[p:data.index(b"\0", p)]
    elif form in (0x0E, 0x1F):
        so = struct.unpack_from("<I" if osz == 4 else "<Q", data, p)[0]
        sec = strs if form == 0x0E else line_strs
        raw = sec[so:sec.index(b"\0", so)]
    else:
        raise _Unknown(form)
    return raw.decode("utf-8", "replace")


def _scan(info: bytes, abbrev: bytes, strs: bytes, line_strs: bytes,
          units: dict | None = None) -> dict[str, list[int]]:
    """name -> CU offsets; fills units[cu offset] = (line program offset, comp_dir) when given."""
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
        first = True
        while p < end:
            code, p = _uleb(info, p)
            if code == 0:
                continue
            tag, specs = table[code]
            if first:                            # the unit DIE: where its line program is
                first = False
                stmt, comp_dir = None, ""
                for at, form in specs:
                    if at == _AT_STMT_LIST and form in (0x17, 0x06, 0x07):
                        stmt = struct.unpack_from("<I" if (osz == 4 and form != 0x07) else "<Q", info, p)[0]
                    elif at == _AT_COMP_DIR and form in (0x08, 0x0E, 0x1F):
                        comp_dir = _string(info, p, form, osz, strs, line_strs)
                    p = _skip(info, p, form, asz, osz, version)
                if stmt is not None and units is not None:
                    units[off] = (stmt, comp_dir)
                continue
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
                    names.setdefault(_string(info, p, form, osz, strs, line_strs), set()).add(off)
                p = _skip(info, p, form, asz, osz, version)
        off = end
    return {k: sorted(v) for k, v in names.items()}


def _line_files(line: bytes, off: int, comp_dir: str, strs: bytes, line_strs: bytes) -> list[str]:
    """The file names of the line program at off, formed as lines.FileTable.path does."""
    length = struct.unpack_from("<I", line, off)[0]
    osz, p = 4, off + 4
    if length == 0xFFFFFFFF:
        osz, p = 8, off + 12
    version = struct.unpack_from("<H", line, p)[0]
    p += 2
    if version >= 5:
        p += 2                                   # address_size, segment_selector_size
    p += osz                                     # header_length
    p += 1 + (1 if version >= 4 else 0) + 3      # min_inst_length, [max_ops], default_is_stmt, line_base, line_range
    opcode_base = line[p]
    p += 1 + opcode_base - 1
    out = []
    if version < 5:
        dirs = []
        while line[p]:
            q = line.index(b"\0", p)
            dirs.append(line[p:q].decode("utf-8", "replace"))
            p = q + 1
        p += 1
        while line[p]:
            q = line.index(b"\0", p)
            name = line[p:q].decode("utf-8", "replace")
            p = q + 1
            d, p = _uleb(line, p)
            p = _uleb(line, _uleb(line, p)[1])[1]        # mtime, length
            if name.startswith("/"):
                out.append(name)
                continue
            dd = comp_dir if d == 0 else (dirs[d - 1] if d - 1 < len(dirs) else "")
            if dd and not dd.startswith("/") and comp_dir:
                dd = f"{comp_dir}/{dd}"
            out.append(f"{dd}/{name}" if dd else name)
        return out

    def entries(p):
        nfmt = line[p]
        p += 1
        fmts = []
        for _ in range(nfmt):
            ct, p = _uleb(line, p)
            form, p = _uleb(line, p)
            fmts.append((ct, form))
        count, p = _uleb(line, p)
        rows = []
        for _ in range(count):
            row = {}
            for ct, form in fmts:
                if ct == 1:                      # DW_LNCT_path
                    row[1] = _string(line, p, form, osz, strs, line_strs)
                elif ct == 2:                    # DW_LNCT_directory_index
                    if form == 0x0F:
                        row[2] = _uleb(line, p)[0]
                    else:
                        row[2] = int.from_bytes(line[p:p + {0x0B: 1, 0x05: 2, 0x06: 4}[form]], "little")
                p = _skip(line, p, form, 8, osz, 5)
            rows.append(row)
        return rows, p

    dirs, p = entries(p)
    files, p = entries(p)
    dirnames = [d.get(1, "") for d in dirs]
    for f in files:
        name = f.get(1, "")
        idx = f.get(2, 0)
        if name.startswith("/"):
            out.append(name)
            continue
        d = dirnames[idx] if 0 <= idx < len(dirnames) else ""
        out.append(f"{d}/{name}" if d else name)
    return out


def _section(ef, name: str) -> bytes:
    sec = ef.section(name)
    if sec is None or sec["sh_type"] == "SHT_NOBITS":
        return b""
    return sec.data()


def _cache_path(ef) -> str | None:
    bid = ef.build_id
    if not bid:
        return None
    return str(cache_root() / "names" / f"{bid}.v2.json")


_INDEX: dict[str, dict | None] = {}


def name_index(mod) -> dict | None:
    """{"names": name -> CU offsets, "files": str(CU offset) -> the file names of its line program}
    for the module's DWARF file (mod.elf), from the cache or built now."""
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
            strs, line_strs = _section(ef, ".debug_str"), _section(ef, ".debug_line_str")
            units: dict = {}
            names = _scan(_section(ef, ".debug_info"), _section(ef, ".debug_abbrev"), strs, line_strs, units)
            line = _section(ef, ".debug_line")
            files = {str(cu): _line_files(line, stmt, comp_dir, strs, line_strs)
                     for cu, (stmt, comp_dir) in units.items()}
            index = {"names": names, "files": files}
        except (_Unknown, IndexError, KeyError, struct.error, ValueError):
            index = None
        if index is not None and path is not None:
            store(path, json.dumps(index).encode())
    _INDEX[ef.path] = index
    return index


def cus_with_file(mod, matches) -> set[int] | None:
    """CU offsets whose line program names a file for which matches(path) holds (stap's
    collect_srcfiles_matching looks at the same list); None without an index."""
    index = name_index(mod)
    if index is None:
        return None
    return {int(cu) for cu, files in index["files"].items() if any(matches(f) for f in files)}


def cus_defining(mod, pattern: str) -> set[int] | None:
    index = name_index(mod)
    if index is None:
        return None
    names = index["names"]
    if not any(c in pattern for c in "*?["):
        return set(names.get(pattern, ()))
    out: set[int] = set()
    for name, offs in names.items():
        if fnmatch.fnmatchcase(name, pattern):
            out.update(offs)
    return out
