"""The address a function probe plants at: stap's prologue search [dwflpp.cxx resolve_prologue_endings].

prologue_end(mod, cu, func) -> address    the line-table row after the entry row, unless the entry row
    carries prologue_end, is in another file than the declaration, or the next row leaves the function
wants_prologue(mod, cu, mode) -> bool     'auto': only CUs without location lists (unoptimized code)
    need it [dwflpp.cxx has_valid_locs]; 'always' (-P); 'never'
"""
from __future__ import annotations

from .dwarf import DwarfModule, Function

def prologue_end(mod: DwarfModule, cu, func: Function) -> int:
    """Address after the prologue: the line-table row after the entry row, unless the entry row
    carries prologue_end, or is in another file than the declaration, or the next row leaves the function."""
    lt = mod.line_table(cu)
    rows, n = lt.rows, len(lt.rows)
    entry = func.entry_pc
    if not entry:
        return entry
    idx = lt.lower_bound(entry)
    if idx >= n or rows[idx].address != entry:
        return entry
    entry_line = rows[idx].line
    j = idx
    post = rows[idx]
    while j < n:
        post = rows[j]
        if not func.contains(post.address):
            break
        if post.prologue_end:
            break
        if func.decl_file != post.file:
            break
        if post.line != entry_line:
            break
        if j != idx:
            break
        j += 1
    addr = post.address
    if not func.contains(addr):
        addr = rows[j - 1].address if j - 1 >= 0 else entry
    return addr


def wants_prologue(mod: DwarfModule, cu, mode: str) -> bool:
    if mode == "never":
        return False
    if mode == "always":
        return True
    return not mod.has_location_lists(cu)
