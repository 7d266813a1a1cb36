"""DWARF line tables: address <-> file:line, as libdw's dwarf_getsrclines presents them.

Rows are sorted by address (stable), an end_sequence row before an ordinary row at the same
address, and file names are formed like libdw does (absolute names kept; otherwise the
directory entry joined with '/'), because stap prints those strings and compares a
function's decl_file with them when it skips prologues.
"""
from __future__ import annotations

import bisect
import posixpath
from dataclasses import dataclass


@dataclass(frozen=True)
class LineRow:
    address: int
    file: str
    line: int
    is_stmt: bool
    prologue_end: bool
    end_sequence: bool


def _attr_str(die, name: str) -> str | None:
    a = die.attributes.get(name)
    if a is None:
        return None
    v = a.value
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


class FileTable:
    """File index -> path for one CU's line program (used for DW_AT_decl_file too)."""

    def __init__(self, lineprog, cu):
        top = cu.get_top_DIE()
        self.comp_dir = _attr_str(top, "DW_AT_comp_dir") or ""
        self.version = lineprog.header["version"]
        dirs = [d.decode("utf-8", "replace") if isinstance(d, bytes) else d
                for d in lineprog.header["include_directory"]]
        self._dirs = dirs
        self._files = lineprog.header["file_entry"]
        self._cache: dict[int, str | None] = {}

    def _dir(self, idx: int) -> str:
        if self.version >= 5:
            d = self._dirs[idx] if 0 <= idx < len(self._dirs) else ""
        else:
            d = self.comp_dir if idx == 0 else (self._dirs[idx - 1] if idx - 1 < len(self._dirs) else "")
        if d and not d.startswith("/") and self.comp_dir and self.version < 5:
            d = posixpath.join(self.comp_dir, d)
        return d

    def path(self, idx: int) -> str | None:
        if idx in self._cache:
            return self._cache[idx]
        i = idx if self.version >= 5 else idx - 1
        out = None
        if 0 <= i < len(self._files):
            fe = self._files[i]
            name = fe.name.decode("utf-8", "replace") if isinstance(fe.name, bytes) else fe.name
            if name.startswith("/"):
                out = name
            else:
                d = self._dir(fe.dir_index)
                out = f"{d}/{name}" if d else name
        self._cache[idx] = out
        return out


class LineTable:
    """All rows of one CU, sorted by address."""

    def __init__(self, dwarfinfo, cu):
        prog = dwarfinfo.line_program_for_CU(cu)
        self.files = FileTable(prog, cu) if prog else None
        rows: list[LineRow] = []
        if prog is not None:
            for entry in prog.get_entries():
                st = entry.state
                if st is None:
                    continue
                rows.append(LineRow(st.address, self.files.path(st.file) or "", st.line, bool(st.is_stmt),
                                    bool(st.prologue_end), bool(st.end_sequence)))
        rows.sort(key=lambda r: (r.address, not r.end_sequence))
        self.rows = rows
        self.addresses = [r.address for r in rows]

    def lower_bound(self, addr: int) -> int:
        return bisect.bisect_left(self.addresses, addr)

    def row_for_address(self, addr: int) -> LineRow | None:
        """The row whose range covers addr (for usymfileline / statement(ADDR))."""
        i = bisect.bisect_right(self.addresses, addr) - 1
        while i >= 0 and self.rows[i].end_sequence and self.rows[i].address == addr:
            i -= 1
        if i < 0 or self.rows[i].end_sequence:
            return None
        # the covering sequence must not have ended before addr
        return self.rows[i]

    def effective_rows(self) -> list[LineRow]:
        """Rows that own at least one byte: a row followed by another at the same address is
        dropped, as libdw's dwarf_getsrc_file does (so at -O2 only the last of a pile counts)."""
        rows = self.rows
        return [r for i, r in enumerate(rows) if not r.end_sequence
                and not (i + 1 < len(rows) and rows[i + 1].address == r.address and not rows[i + 1].end_sequence)]
