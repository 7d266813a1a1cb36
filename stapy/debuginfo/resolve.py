"""Resolve user-space probe points to probe sites, the way stap's dwarf_query does [tapsets.cxx].

resolve_process_path(arg, cwd=None, env_path=None) -> str
    stap's PATH rule: absolute; cwd-relative when it has '/'; else $PATH. A `#!` script means its
    interpreter. The result is canonical (symlinks resolved), as pp() shows it. Raises ResolveError.
resolve_library_path(lib, exe_path, env=None) -> [str]
resolve_process_probe(process_arg, components, cwd=None, env=None, prologue="auto") -> [ProbeSite]
    process_arg: the string of process("P") (a path or pattern), or None for a bare `process` under -c
                 (then pass the command's path).
    components:  what follows process(...), as (name, arg) pairs, arg None when absent, e.g.
                 [("function", "add@p.c:6"), ("return", None)]
                 [("library", "libc.so.6"), ("function", "malloc")]
                 [("statement", "main@p.c:19")]  [("statement", 0x1149)]   [("function", "main"), ("label", "out")]
                 [("provider", "pv"), ("mark", "tick")]   [("mark", "*")]   [("plt", "printf"), ("return", None)]
    prologue:    "auto" (stap's rule), "always" (-P), "never"
ProbeSite fields:
    module      path of the ELF file holding the code (the library for .library(), else the executable)
    address     link-time address to plant the breakpoint at (runtime address = address + load bias)
    entry_pc    the function's real entry (what .return hooks; equals address for non-function sites)
    kind        'function' 'inline' 'statement' 'label' 'mark' 'plt'
    is_return   .return was asked for (then `address` is the real entry, per stap PR13200)
    function    function name (DWARF name, or symbol name) or '' ; decl_file / decl_line (None without DWARF)
    pp          the text stap prints for it with -l / in pp(), e.g. process("/p").function("add@/p.c:6")
    pc_text     '.dynamic+0x1143' (ET_DYN) or '.absolute+0x1136' (ET_EXEC: relative to the first segment),
                as -p2 prints in /* pc=... */
    p2_text     the -p2 location text: pp, except marks and plts print as process("/p").statement(0xADDR)
    dwarf_function  dwarf.Function or None (use dwarf_for(open_elf(module)).variables(site.dwarf_function, address))
    sdt         sdt.SdtProbe for marks; plt_name for plts; label for labels
    derivation  the well-formed point the site came from when it differs from p2_text's (-p2's `<-`
                chain, pn()): function("CALLER@f:l").callee("CALLEE@f:l") for callee probes,
                statement("F@f:N").nearest for .nearest; None otherwise
    caller_checks   callee probes: ((level, return address), ...) that ustack(level) must equal (link
                    addresses in `module`, highest level first, as stap orders its _caller_match checks);
                    caller_section is the section stap names with them (.dynamic, or .absolute for ET_EXEC)
    tail_call   callee probes: the caller's name when the call is a tail call (stap warns)
More components: [("function", F), ("callee", PATTERN)] / [("callees", N or None)] (with "call" or
"return"), [("statement", "F@file:N"), ("nearest", None)].  A statement line without code raises
NoLineRecords (a ResolveError) carrying stap's advice texts when nothing else matched.
Results come in stap 4.8's -p2 order: CU order; in each CU its function cache order (stap_order.py),
functions before inline instances; then symbol-table-only functions by address.
Path rules live in paths.py, spec parsing/matching in function_spec.py, entry addresses in prologue.py.
"""
from __future__ import annotations

import bisect
import dataclasses
import fnmatch
import os
import re
from dataclasses import dataclass

from . import elf as elfmod
from .dwarf import DwarfModule, Function, dwarf_for
from .function_spec import FunctionSpec, parse_function_spec
from .function_spec import file_matches as _file_matches
from .function_spec import has_wildcard as _has_wildcard
from .name_index import cus_defining, cus_with_file
from .function_spec import name_matches as _name_matches
from .function_spec import scopes_match as _scopes_match
from .paths import ResolveError, resolve_library_path, resolve_process_path, resolve_process_paths
from .prologue import prologue_end
from .prologue import wants_prologue as _wants_prologue
from .sdt import SdtProbe, sdt_probes
from .stap_order import function_cache

__all__ = ["ProbeSite", "ResolveError", "NoLineRecords", "InlinedReturns", "FunctionSpec", "parse_function_spec", "prologue_end",
           "resolve_process_path", "resolve_process_paths", "resolve_library_path", "resolve_process_probe"]


@dataclass(frozen=True)
class ProbeSite:
    module: str
    address: int
    entry_pc: int
    kind: str
    is_return: bool
    function: str
    decl_file: str | None
    decl_line: int | None
    pp: str
    pc_text: str
    p2_text: str
    process_path: str
    dwarf_function: Function | None = None
    sdt: SdtProbe | None = None
    plt_name: str | None = None
    label: str | None = None
    derivation: str | None = None          # the well-formed point it came from (callee probes), else pp
    caller_checks: tuple = ()              # callee probes: ((level, link address), ...) in stap's order
    caller_section: str = ""               # _caller_match's section argument: .dynamic (ET_DYN), .absolute
    tail_call: str = ""                    # callee probes: the caller's name when the call is a tail call
    warnings: tuple = ()                   # stap's pass-2 warnings about this site (-g statement(ADDR))


class InlinedReturns(ResolveError):
    """function(F).return matched only inline instances: nothing to probe; stap warns before its
    `no match` [tapsets.cxx PR11553, dwarf_builder::build]."""

    def __init__(self, warning: str):
        super().__init__(warning)
        self.warnings = [warning]


def _inlined_returns_warning(names) -> str:
    quick = ""
    for name in sorted(names):
        quick += " " + name
        if len(quick) > 80:          # stap's heuristic against an overlong line
            quick += " ..."
            break
    # stap picks the plural by the list's length in characters, so it is always "functions"
    return f"cannot probe .return of {len(names)} inlined functions {quick}"


class NoLineRecords(ResolveError):
    """statement("F@file:N") where line N has no code in F: stap's advice texts, reported as errors
    before the probe point's `no match` [dwflpp.cxx suggest_alternative_linenos]."""

    def __init__(self, advice: list[str]):
        super().__init__(advice[0])
        self.advice = advice


# [dwflpp.cxx build_user_blocklist] these do not use the normal entry ABI, so no .return probes
_RETURN_BLOCKLIST = re.compile(r"^(_start|__.*\.get_pc_thunk\..*)$")


# --- the resolver -----------------------------------------------------------------------------------
def _q(s: str) -> str:
    return '"' + s + '"'


class _Ctx:
    def __init__(self, exe: str, module: str, library: str | None, components, guru: bool = False):
        self.guru = guru                    # -g: stap only warns about a statement(ADDR) mid-statement
        self.exe = exe
        self.module = module
        self.library = library
        self.ef = elfmod.open_elf(module)
        self.prefix = f"process({_q(exe)})" + (f".library({_q(library)})" if library is not None else "")
        # -p2 names a library's probes by the library itself: process("/lib/libc.so.6")...
        self.p2_head = f"process({_q(module)})" if library is not None else self.prefix
        self.comps = dict(components)
        self.is_return = "return" in self.comps
        self.advice: list[str] = []         # stap's "no line records ... (try :N)" for a line without code
        self.inlined_returns: set[str] = set()   # .return on functions only inlined: their names
        self.warnings: list[str] = []

    def pc_text(self, addr: int) -> str:
        if self.ef.is_pie:
            return f".dynamic+{addr:#x}"
        base = min((s.vaddr for s in self.ef.segments), default=0) & ~0xFFF
        return f".absolute+{addr - base:#x}"       # stap prints ET_EXEC pcs relative to the first segment

    def suffix(self) -> str:
        out = ""
        for k in ("call", "inline", "exported", "return"):
            if k in self.comps:
                out += "." + k
        return out


def _shown(f: Function, spec: FunctionSpec) -> str:
    """The name stap prints: with as many enclosing scopes as the spec named (`*::get` -> Box::get)."""
    if not spec.scopes:
        return f.name
    return "::".join((*f.scopes[len(f.scopes) - len(spec.scopes):], f.name))


def _p2_spec(f: Function, spec: FunctionSpec) -> str | None:
    """A linkage-name query (_Z...) resolves, in -p2's text, to each function's linkage name while
    the derivation (and -l) keep the plain name: function("_Z4overd@p.cc:13") <- function("over@p.cc:13")."""
    if spec.function.startswith("_Z") and f.linkage_name:
        return _func_pp(f.linkage_name, f)
    return None


def _func_pp(name: str, f: Function | None, line: int | None = None) -> str:
    if f is None or not f.decl_file:
        return name
    return f"{name}@{f.decl_file}:{line if line is not None else f.decl_line}"


BIG_MODULE_CUS = 300


def _cus_for_exact_name(ctx: _Ctx, mod: DwarfModule, name: str) -> tuple[list, set[int]] | None:
    return _cus_for_pattern(ctx, mod, name)


def _cus_for_pattern(ctx: _Ctx, mod: DwarfModule, name: str) -> tuple[list, set[int]] | None:
    """stap's collect_function_cus_from_symtab: an exact name found in the symbol table selects
    the CUs holding its address(es); functions there match by name or by entry address."""
    syms = ctx.ef.lookup(name)
    if not syms:
        return None
    cus, addrs = {}, set()
    for s in syms:
        cu = mod.cu_for_address(s.address)
        if cu is not None:
            cus[cu.cu_offset] = cu
            addrs.add(s.address)
    if not cus:
        return None
    return [cus[k] for k in sorted(cus)], addrs


def _cache_matches(ctx: _Ctx, mod: DwarfModule, cu, pattern: str) -> tuple[list[Function], list[Function]]:
    """Walk stap's function cache of the CU [dwflpp.cxx iterate_over_functions]: entries whose key
    matches (aliases from the symbol table included, so 'malloc' finds __libc_malloc), giving the
    concrete functions and the inline instances of matched abstract functions, in stap's order."""
    cache = _CACHES.get((ctx.ef.path, mod.elf.path, cu.cu_offset))
    if cache is None:
        cache = function_cache(mod.getfuncs(cu), ctx.ef.symbols)
        _CACHES[(ctx.ef.path, mod.elf.path, cu.cu_offset)] = cache
    if pattern.startswith("_Z"):          # C++ linkage names match DW_AT_linkage_name
        linkage = {off: lk for _, off, lk, _ in mod.getfuncs(cu)}
        hits = [off for _, off in cache if linkage.get(off) and _name_matches(linkage[off], pattern)]
    elif _has_wildcard(pattern):
        hits = [off for key, off in cache
                if _name_matches(key, pattern) or _name_matches(key, pattern + "@*")]
    else:
        hits = [off for key, off in cache if key == pattern]
        if not hits:                      # a versioned spelling: 'fopen' -> 'fopen@@GLIBC_2.2.5'
            ver = [key for key, _ in cache if key.startswith(pattern + "@")]
            hits = [off for key, off in cache if ver and key == ver[-1]]
    by_die = {f.die_offset: f for f in mod.functions(cu)}
    abstract = {off for _, off, _, inl in mod.getfuncs(cu) if inl}
    funcs, inlines, seen = [], [], set()
    for off in hits:
        if off in abstract:
            if off in seen:
                continue
            seen.add(off)
            inlines += [f for f in mod.inline_instances(cu) if f.origin_offset == off]
        elif off in by_die:
            funcs.append(by_die[off])
    return funcs, inlines


_CACHES: dict[tuple[str, str, int], list] = {}


def _resolve_functions(ctx: _Ctx, spec: FunctionSpec, kind_filter: str, prologue: str,
                       statement: bool, comp: str | None = None) -> list[ProbeSite]:
    """function(SPEC) sites; with statement=True the line records of statement(SPEC:LINES);
    comp='statement' with statement=False is statement("F[@file]"): the function entries, named
    as statements."""
    mod = dwarf_for(ctx.ef)
    out: list[ProbeSite] = []
    seen_entries: set[int] = set()
    inline_dupes: set[tuple] = set()
    searched_cus: list = []
    comp = comp or ("statement" if statement else "function")
    if mod is not None:
        exact = not _has_wildcard(spec.function) and spec.file is None and not spec.scopes
        picked = _cus_for_exact_name(ctx, mod, spec.function) if exact else None
        if picked is not None:
            cus = picked[0]
        else:
            cus = mod.cus()
            if len(cus) > BIG_MODULE_CUS and spec.file is not None:
                # a file pattern: only the CUs whose line program names a matching file
                withfile = cus_with_file(mod, lambda path: _file_matches(path, spec.file))
                if withfile is not None:
                    cus = [cu for cu in cus if cu.cu_offset in withfile]
            elif len(cus) > BIG_MODULE_CUS:
                # walking every DIE of libc's DWARF with pyelftools takes ~30 s: only the CUs that
                # define a function of a matching name (name_index) or hold a matching symbol are read
                picked = _cus_for_pattern(ctx, mod, spec.function)
                wanted = {cu.cu_offset for cu in picked[0]} if picked else set()
                named = cus_defining(mod, spec.function)
                if named is not None:
                    wanted |= named
                cus = [cu for cu in cus if cu.cu_offset in wanted]
        searched_cus = cus
        for cu in cus:
            if spec.file is not None:
                lt = mod.line_table(cu)
                files = {r.file for r in lt.rows}
                if not any(_file_matches(f, spec.file) for f in files) and not any(
                        _file_matches(f.decl_file, spec.file) for f in mod.functions(cu)):
                    continue
            funcs, inlines = _cache_matches(ctx, mod, cu, spec.function)
            ok = lambda f: _scopes_match(f, spec.scopes) and (
                spec.file is None or not f.decl_file or _file_matches(f.decl_file, spec.file))
            # PR12609: a function whose entry lies in a `.part.` symbol is the split-off tail of a
            # partially inlined one, not an entry point [tapsets.cxx query_dwarf_func]
            funcs = [f for f in funcs if ok(f) and not _is_part(ctx, f)]
            inlines = [f for f in inlines if ok(f)]
            if ctx.is_return:
                ctx.inlined_returns.update(f.name for f in inlines)
            if kind_filter not in ("any", "inline") or ctx.is_return:
                inlines = []
            if kind_filter == "inline":
                funcs = []
            if "exported" in ctx.comps:
                funcs = [f for f in funcs if f.external]
            if statement:
                firsts, entries = [], set()
                for f in funcs:                  # alias_dupes: one function per entry address
                    if f.entry_pc not in entries:
                        entries.add(f.entry_pc)
                        firsts.append(f)
                out += _statement_sites(ctx, mod, cu, firsts + inlines, spec, comp)
                continue
            # function("F@file:N"): stap warns that .statement is meant and probes the function; the
            # line does not filter (LANGUAGE.md 7; function("*@p.c:5-10") lists every function of p.c)
            skip = _wants_prologue(mod, cu, prologue)
            for f in funcs:
                if f.entry_pc in seen_entries:
                    continue
                seen_entries.add(f.entry_pc)
                addr = f.entry_pc if (ctx.is_return or not skip) else prologue_end(mod, cu, f)
                out.append(_site(ctx, "statement" if comp == "statement" else "function", addr, f.entry_pc,
                                 f.name, f, _func_pp(_shown(f, spec), f), comp,
                                 p2_spec=_p2_spec(f, spec)))
            for f in inlines:
                # [tapsets.cxx query_dwarf_inline_instance] one instance per (entry pc, function):
                # several inlined calls of a function can start at the same pc
                key = (f.entry_pc, f.decl_line, f.name, f.decl_file)
                if key in inline_dupes:
                    continue
                inline_dupes.add(key)
                out.append(_site(ctx, "statement" if comp == "statement" else "inline", f.entry_pc, f.entry_pc,
                                 f.name, f, _func_pp(_shown(f, spec), f), comp,
                                 p2_spec=_p2_spec(f, spec)))
        if statement:
            return [s for s in out if s is not None]
    if spec.file is not None or spec.scopes or statement or comp == "statement":
        return out          # [tapsets.cxx query_module_symtab] only function("NAME") consults the symbol table
    # [tapsets.cxx query_symtab_func_info] a symbol at the address of a probe already made (an inline
    # instance starting main.cold, say) adds nothing
    seen_entries |= {s.address for s in out if s is not None}
    for sym in _symtab_only(ctx, mod, spec, searched_cus, seen_entries):
        out.append(_site(ctx, "function", sym.address, sym.address, sym.name, None, sym.name, comp))
    return [s for s in out if s is not None]


def _is_part(ctx: _Ctx, f: Function) -> bool:
    hit = ctx.ef.symbol_at(f.entry_pc)
    return hit is not None and ".part." in hit.symbol.name


def _symtab_only(ctx: _Ctx, mod: DwarfModule | None, spec: FunctionSpec, searched_cus, seen_entries: set[int]):
    """Symbol-table functions DWARF did not describe (crt code, asm, stripped files), by address
    [tapsets.cxx query_module_symtab]; marks their addresses as seen."""
    if spec.file is not None or spec.scopes:
        return []
    dwarf_entries = set(seen_entries)
    if mod is not None:
        for cu in searched_cus:
            dwarf_entries.update(f.entry_pc for f in mod.functions(cu))
    out = []
    for sym in ctx.ef.lookup(spec.function):
        if sym.address in dwarf_entries or sym.address in seen_entries:
            continue
        seen_entries.add(sym.address)
        out.append(sym)
    return out


def _statement_sites(ctx: _Ctx, mod: DwarfModule, cu, funcs: list[Function], spec: FunctionSpec,
                     comp: str) -> list[ProbeSite]:
    """statement("F@file:LINES") [dwflpp.cxx iterate_over_srcfile_lines, tapsets.cxx query_srcfile_line]:
    per source file of the CU matching the spec, the functions declared there pick line records
    (the lowest address of a line inside the function; for ':*' the walk goes up from the line of
    the function's entry while lines stay inside it); each address is taken once, and names every
    matched function (inline instances too) whose ranges contain it."""
    lt = mod.line_table(cu)
    ft = lt.files
    names = set()
    if ft is not None:
        idx = 0 if ft.version >= 5 else 1
        while True:
            p = ft.path(idx)
            if p is None:
                break
            names.add(p)
            idx += 1
    srcfiles = sorted(n for n in names if spec.file is None or _file_matches(n, spec.file))
    rows = lt.rows
    out = []
    for srcfile in srcfiles:
        current = [f for f in funcs if f.decl_file == srcfile]
        if not current:
            continue
        by_line = sorted((r for r in rows if r.file == srcfile), key=lambda r: (r.line, r.address))
        line_keys = [r.line for r in by_line]

        def line_range(n):
            lo = bisect.bisect_left(line_keys, n)
            return lo, bisect.bisect_right(line_keys, n)

        matching: list[tuple[int, int]] = []
        if spec.line_kind == "wildcard":
            for f in current:
                start = _func_first_line(lt, f)
                if start is None:
                    continue
                n = start.line
                while True:
                    lo, hi = line_range(n)
                    inside = [r for r in by_line[lo:hi] if f.contains(r.address)]
                    if not inside:
                        break
                    matching.append((inside[0].line, inside[0].address))
                    if hi >= len(by_line):
                        break
                    n = by_line[hi].line
        else:
            def collect(n, relative=False):
                """[dwflpp.cxx collect_lines_for_single_lineno] per function, the lowest address of line n."""
                found = []
                for f in current:
                    lo, hi = line_range(n + (f.decl_line or 0) if relative else n)
                    inside = [r for r in by_line[lo:hi] if f.contains(r.address)]
                    if inside:
                        found.append((inside[0].line, inside[0].address))
                return found

            def nearest(n):
                """[dwflpp.cxx get_nearest_linenos] lines with records in these functions within 5 of n."""
                below = above = -1
                for i in range(1, 6):
                    if below == -1 and collect(n - i):
                        below = n - i
                    if above == -1 and collect(n + i):
                        above = n + i
                return below, above

            def nearest_one(n):
                below, above = nearest(n)
                if below > 0 and above > 0:
                    return below if n - below < above - n else above
                return below if below > 0 else above

            has_nearest = "nearest" in ctx.comps
            single = spec.line_kind in ("absolute", "relative")
            if single:
                matching += collect(spec.lines[0], spec.line_kind == "relative")
            else:
                done: set[int] = set()
                for n in sorted(set(spec.lines)):           # stap sorts an enumerated line list
                    got = collect(n)
                    if got:
                        done.add(n)
                        matching += got
                    elif has_nearest:
                        m = nearest_one(n)
                        if m > 0 and m not in done:
                            done.add(m)
                            matching += collect(m)
            if not matching and single:
                n = spec.lines[0] + ((current[0].decl_line or 0) if spec.line_kind == "relative" else 0)
                if has_nearest and nearest_one(n) > 0:
                    matching += collect(nearest_one(n))
                else:
                    below, above = nearest(n)
                    tries = " or ".join(f":{m}" for m in (below, above) if m > 0)
                    ctx.advice.append(f"no line records for {srcfile}:{n} [man error::dwarf]"
                                      + (f" (try {tries})" if tries else ""))
        probed: set[int] = set()
        for line, addr in matching:
            if addr in probed:
                continue
            probed.add(addr)
            for f in funcs:
                if f.contains(addr):
                    kind = "statement" if comp == "statement" else "function"
                    site = _site(ctx, kind, addr, f.entry_pc, f.name, f, _func_pp(f.name, f, line), comp)
                    if "nearest" in ctx.comps and site is not None:
                        # -l names the line asked for (stap's first well-formed point), -p2 the line
                        # probed; the derivation keeps .nearest [tapsets.cxx query_srcfile_line]
                        asked = line
                        if spec.line_kind in ("absolute", "relative"):
                            asked = spec.lines[0] + ((f.decl_line or 0) if spec.line_kind == "relative" else 0)
                        listed = f"{ctx.prefix}.{comp}({_q(_func_pp(f.name, f, asked))}).nearest"
                        site = dataclasses.replace(site, pp=listed, derivation=site.pp + ".nearest")
                    out.append(site)
    return out


def _func_first_line(lt, f: Function):
    """libdw's dwarf_getsrc_die at the entry (the last row at that address), else the first row
    inside the function [dwflpp.cxx get_func_first_line]."""
    i = bisect.bisect_right(lt.addresses, f.entry_pc) - 1
    if i >= 0 and lt.rows[i].address == f.entry_pc:
        return lt.rows[i]
    for r in lt.rows:
        if f.contains(r.address):
            return r
    return None


def _site(ctx: _Ctx, kind: str, addr: int, entry: int, name: str, f: Function | None, spec_text: str,
          comp: str, **extra) -> ProbeSite | None:
    if ctx.is_return and _RETURN_BLOCKLIST.match(name):
        return None
    pp = f"{ctx.prefix}.{comp}({_q(spec_text)}){ctx.suffix()}"
    p2_spec = extra.pop("p2_spec", None) or spec_text
    if "p2_text" not in extra and (ctx.library is not None or p2_spec != spec_text):
        # -p2 names a library's probe by the library itself: process("/lib/libc.so.6").function(...)
        head = f"process({_q(ctx.module)})" if ctx.library is not None else ctx.prefix
        extra["p2_text"] = f"{head}.{comp}({_q(p2_spec)}){ctx.suffix()}"
    return ProbeSite(module=ctx.module, address=addr, entry_pc=entry, kind=kind, is_return=ctx.is_return,
                     function=name, decl_file=f.decl_file if f else None, decl_line=f.decl_line if f else None,
                     pp=pp, pc_text=ctx.pc_text(addr), p2_text=extra.pop("p2_text", pp), process_path=ctx.exe,
                     dwarf_function=f, **extra)


def _resolve_statement_addr(ctx: _Ctx, addr: int) -> list[ProbeSite]:
    """statement(ADDR) [tapsets.cxx query_addr]: the address must lie in a function DWARF describes
    (else no match) and start a line record; otherwise stap refuses it, or under -g warns."""
    mod = dwarf_for(ctx.ef)
    cu = mod.cu_for_address(addr) if mod is not None else None
    if cu is None:
        return []
    f = mod.function_at(addr)
    if f is None and not any(i.contains(addr) for i in mod.inline_instances(cu)):
        return []
    warnings = ()
    row = mod.line_table(cu).row_for_address(addr)
    if row is None or row.address != addr:
        msg = f"address {addr:#x} does not match the beginning of a statement"
        if row is not None:
            msg += f" (try {row.address:#x})"
        else:
            name = cu.get_top_DIE().attributes.get("DW_AT_name")
            msg += (f" (no line info found for '{name.value.decode() if name else ''}',"
                    f" in module '{ctx.module}')")
        if not ctx.guru:
            ctx.advice.append(msg)
            return []
        warnings = (msg,)
    hit = ctx.ef.symbol_at(addr)
    name = f.name if f else (hit.symbol.name if hit else "")
    pp = f"{ctx.prefix}.statement({addr:#x}){ctx.suffix()}"
    # .nearest changes nothing for an address; -l and the -p2 chain keep it, the probe's name does not
    listed = pp + ".nearest" if "nearest" in ctx.comps else pp
    return [ProbeSite(ctx.module, addr, f.entry_pc if f else addr, "statement", ctx.is_return, name,
                      f.decl_file if f else None, f.decl_line if f else None, listed, ctx.pc_text(addr), pp, ctx.exe,
                      f, derivation=listed if listed != pp else None, warnings=warnings)]


def _resolve_function_addr(ctx: _Ctx, addr: int, prologue: str) -> list[ProbeSite]:
    """function(ADDR) [tapsets.cxx query_addr]: the innermost function containing ADDR (an inline
    instance too, unless .call/.return/.exported), probed at its entry (after the prologue, as
    function("F") is).  -p2 shows the point as written; -l, pn() and the `<-` chain the entry."""
    mod = dwarf_for(ctx.ef)
    cu = mod.cu_for_address(addr) if mod is not None else None
    if cu is None:
        return []
    f = None
    inl = [i for i in mod.inline_instances(cu) if i.contains(addr)]
    if inl:
        if any(k in ctx.comps for k in ("call", "return", "exported")):
            return []               # stap 4.8 finds nothing inside an inline instance for these
        f = min(inl, key=lambda i: sum(hi - lo for lo, hi in i.ranges))
    inline = f is not None
    if f is None:
        f = mod.function_at(addr)
    if f is None or not f.entry_pc:
        return []
    entry = f.entry_pc
    if not inline and not ctx.is_return and _wants_prologue(mod, cu, prologue):
        entry = prologue_end(mod, cu, f)
    pp = f"{ctx.prefix}.function({entry:#x}){ctx.suffix()}"
    shown = f"{ctx.p2_head}.function({addr:#x}){ctx.suffix()}"
    return [ProbeSite(ctx.module, entry, f.entry_pc, "inline" if inline else "function", ctx.is_return, f.name,
                      f.decl_file, f.decl_line, pp, ctx.pc_text(entry), shown, ctx.exe, f, derivation=pp)]


def _resolve_labels(ctx: _Ctx, spec: FunctionSpec, label: str) -> list[ProbeSite]:
    mod = dwarf_for(ctx.ef)
    if mod is None:
        return []
    out = []
    for cu in mod.cus():
        for f in mod.functions(cu):
            if not (_name_matches(f.name, spec.function) and _scopes_match(f, spec.scopes)):
                continue
            if spec.file is not None and not _file_matches(f.decl_file, spec.file):
                continue
            die = mod.die(f.die_offset)
            stack = list(die.iter_children())
            while stack:
                d = stack.pop(0)
                if d.tag == "DW_TAG_label":
                    name = d.attributes.get("DW_AT_name")
                    lname = name.value.decode() if name is not None else None
                    if lname and _name_matches(lname, label) and "DW_AT_low_pc" in d.attributes:
                        addr = d.attributes["DW_AT_low_pc"].value
                        line = d.attributes.get("DW_AT_decl_line")
                        pp = (f"{ctx.prefix}.function({_q(_func_pp(f.name, f, line.value if line else None))})"
                              f".label({_q(lname)})")
                        out.append(ProbeSite(ctx.module, addr, f.entry_pc, "label", False, f.name, f.decl_file,
                                             line.value if line is not None else f.decl_line, pp,
                                             ctx.pc_text(addr), pp[:pp.rindex(".label(")], ctx.exe, f,
                                             label=lname))     # -p2 shows the function part only
                elif d.tag in ("DW_TAG_lexical_block",) and d.has_children:
                    stack.extend(d.iter_children())
    return out


def _resolve_marks(ctx: _Ctx, provider: str | None, mark: str) -> list[ProbeSite]:
    out = []
    for p in sdt_probes(ctx.ef):
        if provider is not None and not fnmatch.fnmatchcase(p.provider, provider):
            continue
        if not fnmatch.fnmatchcase(p.name, mark):
            continue
        prov = f".provider({_q(p.provider)})" if provider is not None else ""
        pp = f"{ctx.prefix}{prov}.mark({_q(p.name)})"
        p2 = f"{ctx.p2_head}.statement({p.pc:#x})"
        hit = ctx.ef.symbol_at(p.pc)
        out.append(ProbeSite(ctx.module, p.pc, p.pc, "mark", False, hit.symbol.name if hit else "", None, None,
                             pp, ctx.pc_text(p.pc), p2, ctx.exe, None, sdt=p))
    return out


def _resolve_plt(ctx: _Ctx, pattern: str) -> list[ProbeSite]:
    out = []
    for e in ctx.ef.plt_entries:
        if not _name_matches(e.name, pattern):
            continue
        pp = f"{ctx.prefix}.plt({_q(e.name)})" + (".return" if ctx.is_return else "")
        p2 = f"{ctx.p2_head}.statement({e.address:#x})" + (".return" if ctx.is_return else "")
        out.append(ProbeSite(ctx.module, e.address, e.address, "plt", ctx.is_return, e.name, None, None, pp,
                             ctx.pc_text(e.address), p2, ctx.exe, None, plt_name=e.name))
    return out


def _resolve_callees(ctx: _Ctx, spec: FunctionSpec, comps) -> list[ProbeSite]:
    """function(F).callee(PATTERN) / .callees[(N)] [tapsets.cxx query_callee, dwflpp.cxx
    iterate_over_callees]: the callers are what function(F) matches (no inline ones with .call);
    each callee found in their call sites is probed at its entry (no prologue search), named
    function(CALLEE@file:line) (-p2, pp()) and derived from the well-formed
    function(CALLER@file:line).callee(CALLEE@file:line) (-l, pn()).  A called (not inlined) callee
    carries the return addresses of the calls leading to it: the handler runs only when ustack(i)
    matches each (one level less in .return probes, entered after the callee's frame is gone)."""
    from .callsites import Named, callees

    c = ctx.comps
    pattern = c["callee"] if "callee" in c else "*"
    depth = c.get("callees") if "callees" in c else 1
    depth = 1 if depth is None else depth
    base = [(k, v) for k, v in comps if k in ("function",)] + ([("call", None)] if "call" in c else [])
    bctx = _Ctx(ctx.exe, ctx.module, ctx.library, base)
    kind = "call" if "call" in c else "any"
    found = _resolve_functions(bctx, spec, kind, "never", statement=False)
    callers = [s for s in found if s.dwarf_function is not None]
    mod = dwarf_for(ctx.ef)
    out: list[ProbeSite] = []
    seen: set[int] = set()
    for s in callers:
        f = s.dwarf_function
        if f.die_offset in seen:
            continue
        seen.add(f.die_offset)
        hits = callees(mod, mod.die(f.die_offset), pattern, depth, Named(f.name, f.decl_file, f.decl_line),
                       lambda name: ctx.ef.lookup(name))
        for h in hits:
            if ctx.is_return and (h.inlined or _RETURN_BLOCKLIST.match(h.callee.name)):
                continue            # an inline instance has no return to hook
            fn = mod.function_from_die(h.die_offset, h.inlined)
            suffix = ctx.suffix()
            pp = f"{ctx.prefix}.function({_q(h.caller.text())}).callee({_q(h.callee.text())}){suffix}"
            p2 = f"{ctx.p2_head}.function({_q(h.callee.text())}){suffix}"
            n = len(h.callers)
            back = 1 if ctx.is_return else 0
            checks = tuple((n - j - back, addr) for j, addr in enumerate(h.callers))
            out.append(ProbeSite(ctx.module, h.entry, h.entry, "inline" if h.inlined else "function",
                                 ctx.is_return, h.callee.name, h.callee.decl_file, h.callee.decl_line, pp,
                                 ctx.pc_text(h.entry), p2, ctx.exe, fn, derivation=pp, caller_checks=checks,
                                 caller_section=".dynamic" if ctx.ef.is_pie else ".absolute",
                                 tail_call=h.caller.name if h.tail_call else ""))
    tail = (f".callee({_q(c['callee'])})" if "callee" in c else
            ".callees" + (f"({c['callees']})" if c["callees"] is not None else ""))
    return out + _quirk_sites(ctx, spec, comps, tail, found)


def _quirk_sites(ctx: _Ctx, spec: FunctionSpec, comps, tail: str, found=None) -> list[ProbeSite]:
    """stap 4.8 turns .label(...)/.callees/.callee(...) on a function the symbol table has but DWARF
    does not describe into a plain entry probe: listed with the suffix as written, -p2 shows
    function("NAME") derived from the point as written.  `found`: function(F)'s sites, if known."""
    if found is None:
        base = [(k, v) for k, v in comps if k == "function"]
        found = _resolve_functions(_Ctx(ctx.exe, ctx.module, ctx.library, base), spec, "any", "never",
                                   statement=False)
    out = []
    for s in found:
        if s.dwarf_function is None:
            head = f"{ctx.prefix}.function({_q(s.function)})"
            out.append(ProbeSite(ctx.module, s.address, s.address, "function", False, s.function, None, None,
                                 head + tail, s.pc_text, head, ctx.exe, None, derivation=head + tail))
    return out


def resolve_process_probe(process_arg: str, components, cwd: str | None = None, env: dict | None = None,
                          prologue: str = "auto", guru: bool = False, warnings: list | None = None) -> list[ProbeSite]:
    """All probe sites for process(process_arg).<components>; [] when nothing matches.  `warnings`
    receives stap's pass-2 warnings about the modules searched (no DWARF)."""
    env = os.environ if env is None else env
    comps = list(components)
    out: list[ProbeSite] = []
    advice: list[str] = []
    inlined: set[str] = set()
    for exe in resolve_process_paths(process_arg, cwd, env.get("PATH", "")):
        modules: list[tuple[str, str | None]] = [(exe, None)]
        if comps and comps[0][0] == "library":
            libpat = comps[0][1]
            # an absolute library path is shown as written (-l); -p2 names the real file
            shown = libpat if libpat.startswith("/") and not _has_wildcard(libpat) else None
            modules = [(lib, shown or lib) for lib in resolve_library_path(libpat, exe, env)]
            comps = comps[1:]
        for module, lib in modules:
            ctx = _Ctx(exe, module, lib, comps, guru)
            sites = _resolve_in_module(ctx, comps, prologue)
            if lib is not None:
                # -p2's `<-` chain names a library's probe by the point it came from:
                # process("/exe").library("/abs/lib.so").function("f@file:line") [tapsets.cxx
                # mount_well_formed_probe_point keeps the process path when has_library]
                sites = [s if s.derivation is not None or not s.p2_text.startswith(ctx.p2_head) else
                         dataclasses.replace(s, derivation=ctx.prefix + s.p2_text[len(ctx.p2_head):])
                         for s in sites]
            out += sites
            advice += ctx.advice
            if warnings is not None:
                warnings += ctx.warnings
            inlined |= ctx.inlined_returns
    if not out and advice:
        raise NoLineRecords(advice)
    if not out and inlined:
        raise InlinedReturns(_inlined_returns_warning(inlined))
    return out


def _resolve_in_module(ctx: _Ctx, comps, prologue: str) -> list[ProbeSite]:
    c = ctx.comps
    if "mark" in c:
        return _resolve_marks(ctx, c.get("provider"), c["mark"])
    if "plt" in c:
        return _resolve_plt(ctx, c["plt"] if c["plt"] is not None else "*")
    if dwarf_for(ctx.ef) is None:
        # [dwflpp.cxx get_module_dwarf(required=false, report=true)] function/statement queries only
        ctx.warnings.append(f"cannot find module {ctx.module} debuginfo: No DWARF information found "
                            "[man warning::debuginfo]")
    if "statement" in c:
        arg = c["statement"]
        if isinstance(arg, int):
            return _resolve_statement_addr(ctx, arg)
        spec = parse_function_spec(arg)
        if spec.line_kind == "none":
            # statement("F[@file]"): the entry pc, no prologue search [tapsets.cxx: PR 2608]
            return _resolve_functions(ctx, spec, "any", "never", statement=False, comp="statement")
        return _resolve_functions(ctx, spec, "any", prologue, statement=True)
    if "function" in c:
        arg = c["function"]
        if isinstance(arg, int):
            return _resolve_function_addr(ctx, arg, prologue)
        spec = parse_function_spec(arg)
        if "label" in c:
            sites = _resolve_labels(ctx, spec, c["label"])
            return sites + _quirk_sites(ctx, spec, comps, f".label({_q(c['label'])})")
        if "callees" in c or "callee" in c:
            return _resolve_callees(ctx, spec, comps)
        kind = "inline" if "inline" in c else ("call" if "call" in c or "exported" in c else "any")
        return _resolve_functions(ctx, spec, kind, prologue, statement=False)
    return []
