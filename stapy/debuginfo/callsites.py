"""The callees of a function, from its DWARF call-site and inline children [dwflpp.cxx iterate_over_callees].

callees(mod, caller_die, pattern, depth, caller) -> [CalleeHit]
    caller_die: the caller's DIE (a subprogram, or an inline instance); caller: its Named.
    Walks the children depth first, in DIE order: a DW_TAG_GNU_call_site (DW_AT_abstract_origin),
    DW_TAG_call_site (DW_AT_call_origin) or DW_TAG_inlined_subroutine whose callee's name matches
    `pattern` is a hit; lexical blocks and imported units are walked through; nested subprograms
    are not.  With depth > 1 each hit's callee is walked again with the hit as the caller.
CalleeHit fields:
    caller      Named: the immediate caller (name, decl_file, decl_line), as the probe point names it
    callee      Named: the callee
    entry       link-time address to probe: the callee's low_pc (an inline instance's own low_pc)
    die_offset  the callee's DIE: its subprogram, or the inline instance
    inlined     True for an inline instance (no call to check: its code is in the caller)
    callers     return addresses of the calls on the way, outermost first: the i-th from the end
                must be ustack(i) (i from 1) when the callee is entered [tapsets.cxx caller checks]
    tail_call   the call is a tail call (stap warns that the probe may not fire)

stap takes the caller's unwind pc from dwarf_lowpc, which reads DW_AT_low_pc only: right for
DW_TAG_GNU_call_site (its low_pc is the return address), but a DWARF 5 DW_TAG_call_site has
DW_AT_call_return_pc instead and stap falls back to the callee's own low_pc, a check that can never
hold.  stapy reads DW_AT_call_return_pc there, the address a backtrace shows.
An inline instance without DW_AT_low_pc (DW_AT_entry_pc and DW_AT_ranges only) is skipped, as stap
does; a callee declared here and defined in another CU is looked up by its external name.
"""
from __future__ import annotations

from dataclasses import dataclass

from .dwarf import DwarfModule, attr_integrate, die_name
from .function_spec import has_wildcard, name_matches

_CALL_TAGS = ("DW_TAG_GNU_call_site", "DW_TAG_call_site", "DW_TAG_inlined_subroutine")


@dataclass(frozen=True)
class Named:
    name: str
    decl_file: str | None
    decl_line: int | None

    def text(self) -> str:
        """stap's final_function_name: name[@file[:line]]."""
        if not self.decl_file:
            return self.name
        return f"{self.name}@{self.decl_file}" + (f":{self.decl_line}" if self.decl_line else "")


@dataclass(frozen=True)
class CalleeHit:
    caller: Named
    callee: Named
    entry: int
    die_offset: int
    inlined: bool
    callers: tuple[int, ...]
    tail_call: bool = False


def _ref(die, attr: str):
    if attr not in die.attributes:
        return None
    try:
        return die.get_DIE_from_attribute(attr)
    except Exception:
        return None


def _low_pc(die) -> int | None:
    a = die.attributes.get("DW_AT_low_pc")
    return a.value if a is not None else None


def _return_pc(die) -> int | None:
    """The unwind pc of a call: DW_AT_low_pc (GNU call sites), DW_AT_call_return_pc (DWARF 5)."""
    pc = _low_pc(die)
    if pc is None and die.tag == "DW_TAG_call_site":
        a = die.attributes.get("DW_AT_call_return_pc")
        pc = a.value if a is not None else None
    return pc


def _external_definition(mod: DwarfModule, origin, name: str, symbols):
    """[dwflpp.cxx external_function_query] the external definition with a low_pc of a function only
    declared in this CU; found through the symbol table's address of the name (then its CU)."""
    lk, _ = attr_integrate(origin, "DW_AT_linkage_name")
    want = lk.value.decode("utf-8", "replace") if lk is not None and isinstance(lk.value, bytes) else name
    for sym in symbols(want):
        cu = mod.cu_for_address(sym.address)
        if cu is None:
            continue
        for f in mod.functions(cu):
            if (f.name == want or f.linkage_name == want) and f.external and f.entry_pc == sym.address:
                d = mod.die(f.die_offset)
                if _low_pc(d) is not None:
                    return d, _low_pc(d)
    return None, None


def _named(mod: DwarfModule, die, name: str) -> Named:
    line, _ = attr_integrate(die, "DW_AT_decl_line")
    return Named(name, mod.decl_file(die) or "<unknown source>", line.value if line is not None else None)


def callees(mod: DwarfModule, caller_die, pattern: str, depth: int, caller: Named, symbols) -> list[CalleeHit]:
    """All hits under caller_die (see the module docstring); `symbols(name)` gives the module's
    symbol-table entries of a name (for callees defined in another CU)."""
    out: list[CalleeHit] = []
    _walk(mod, caller_die, pattern, depth, caller, [], symbols, out)
    return out


def _walk(mod, begin, pattern, depth, caller: Named, stack: list[int], symbols, out) -> None:
    if not begin.has_children:
        return
    for die in begin.iter_children():
        tag = die.tag
        if tag in _CALL_TAGS:
            inlined = tag == "DW_TAG_inlined_subroutine"
            link = {"DW_TAG_GNU_call_site": "DW_AT_abstract_origin", "DW_TAG_call_site": "DW_AT_call_origin"}
            origin = _ref(die, link.get(tag, "DW_AT_abstract_origin"))
            name = die_name(origin) if origin is not None else die_name(die)
            if not name:
                continue
            if name != pattern and (not has_wildcard(pattern) or not name_matches(name, pattern)):
                continue
            origin = _ref(die, "DW_AT_abstract_origin") or _ref(die, "DW_AT_call_origin")
            if origin is None:
                continue
            uw = _return_pc(die) if not inlined else _low_pc(die)
            if uw is None:
                uw = _low_pc(origin)
            if uw is None:
                continue
            if inlined:
                entry = uw
            else:
                entry = _low_pc(origin)
                if entry is None:
                    ext, _ = attr_integrate(origin, "DW_AT_external")
                    if ext is None:
                        continue
                    origin, entry = _external_definition(mod, origin, name, symbols)
                    if origin is None:
                        continue
            callee = _named(mod, origin, name)
            if not inlined:
                stack.append(uw)
            tail, _ = attr_integrate(die, "DW_AT_GNU_tail_call")
            if tail is None:
                tail, _ = attr_integrate(die, "DW_AT_call_tail_call")
            out.append(CalleeHit(caller, callee, entry, (die if inlined else origin).offset, inlined,
                                 tuple(stack), tail is not None and not inlined))
            if depth > 1:
                _walk(mod, die if inlined else origin, pattern, depth - 1, callee, stack, symbols, out)
            if not inlined:
                stack.pop()
        elif tag == "DW_TAG_subprogram":
            continue
        elif tag == "DW_TAG_imported_unit":
            imp = _ref(die, "DW_AT_import")
            if imp is not None:
                _walk(mod, imp, pattern, depth, caller, stack, symbols, out)
        elif die.has_children:
            _walk(mod, die, pattern, depth, caller, stack, symbols, out)
