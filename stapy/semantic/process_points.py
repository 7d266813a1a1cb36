"""The user-space probe families: `process...` points resolved through stapy.debuginfo.

Installed into probe_points with `register_process_resolver` when pass 2
starts.  One `Resolved` per concrete site; its params are what codegen and
the runtime need and nothing of the AST:

    path      the module (executable or library) the address belongs to, or None
    exe       the process path (`process("...")`, resolved like stap), or None for bare `process`
    pid       for `process(PID)`, else None
    address   link-time address of the site (before the load bias), for function/statement/mark/plt
    is_return True for `.return` probes
    function  the function (or mark/plt) name, for probefunc()
    site      the debuginfo ProbeSite (DWARF function, SDT arguments) for target variables
"""
from __future__ import annotations

import os

from stapy.parser import ast
from stapy.semantic.probe_points import ProbePointError, Resolved, register_process_resolver

_LIFECYCLE = ("begin", "end", "thread")
_SYSCALL = ("syscall",)


def _arg(comp: ast.ProbePointComponent):
    a = comp.arg
    if isinstance(a, (ast.NumberLit, ast.StringLit)):
        return a.value
    if isinstance(a, ast.Unary) and a.op == "-" and isinstance(a.operand, ast.NumberLit):
        return -a.operand.value
    return None


def _component(name: str, value, tok) -> ast.ProbePointComponent:
    if value is None:
        arg = None
    elif isinstance(value, int):
        arg = ast.NumberLit(value, tok=tok, hex=True)  # derived addresses print in hex, as stap's
    else:
        arg = ast.StringLit(str(value), tok=tok)
    return ast.ProbePointComponent(name, arg, tok=tok)


def _components_of(text: str, tok) -> list[ast.ProbePointComponent]:
    from stapy.debuginfo.listing import split_probe_point

    return [_component(name, value, tok) for name, value in split_probe_point(text)]


def _target_path(options) -> str | None:
    """A bare `process` under -c means the command's path [LANGUAGE.md 7]."""
    cmd = getattr(options, "target_cmd", None)
    if not cmd:
        return None
    import shlex

    from stapy.debuginfo.resolve import ResolveError, resolve_process_path

    try:
        word = shlex.split(cmd)[0]
        return resolve_process_path(word)
    except (ValueError, IndexError, ResolveError):
        return None


def _no_match_text(exe: str, pairs) -> str:
    """stap's `no match (similar functions: ...)` for a function pattern [tapsets.cxx suggest_dwarf_functions]."""
    from stapy.debuginfo.elf import open_elf
    from stapy.semantic.suggest import suggest

    comps = dict(pairs)
    if "library" in comps:
        return "no match"       # stap re-derives the point by the library's path; that one suggests nothing
    if isinstance(comps.get("plt"), str) and comps["plt"]:
        return _plt_or_mark_text(exe, comps["plt"], None, plt=True)
    if isinstance(comps.get("mark"), str) and comps["mark"]:
        return _plt_or_mark_text(exe, comps["mark"], comps.get("provider"), plt=False)
    spec = comps.get("function")
    if not isinstance(spec, str) or not spec:
        return "no match"
    func = spec.split("@")[0]
    try:
        names = {sym.name for sym in open_elf(exe).functions}
    except (OSError, ValueError):
        return "no match"
    names |= _inline_names(exe)
    sugs = suggest(func, names, 5) if func else ""
    if not sugs:
        return "no match"
    return f"no match (similar function{'s' if ',' in sugs else ''}: {sugs})"


def _plt_or_mark_text(exe: str, name: str, provider, plt: bool) -> str:
    """[tapsets.cxx suggest_plt_functions, suggest_marks] the module's PLT names, or its marks (of the
    providers matching `provider`; with '-' in the name, marks spell '__' as '-')."""
    import fnmatch

    from stapy.debuginfo.elf import open_elf
    from stapy.debuginfo.sdt import sdt_probes
    from stapy.semantic.suggest import suggest

    try:
        ef = open_elf(exe)
        if plt:
            names = {e.name for e in ef.plt_entries}
        else:
            names = {m.name.replace("__", "-") if "-" in name else m.name for m in sdt_probes(ef)
                     if not provider or fnmatch.fnmatchcase(m.provider, provider)}
    except (OSError, ValueError):
        return "no match"
    sugs = suggest(name, names, 5)
    if not sugs:
        return "no match"
    what = "function" if plt else "mark"
    return f"no match (similar {what}{'s' if ',' in sugs else ''}: {sugs})"


def _inline_names(path: str) -> set:
    """The DWARF names of inline functions stap's no-match query saw: its suggestions add them to the
    symbol table's names [tapsets.cxx suggest_dwarf_functions, module_info::update_symtab].  A failed
    name makes stap read every CU; stapy does so for modules that are not huge."""
    from stapy.debuginfo.dwarf import dwarf_for
    from stapy.debuginfo.elf import open_elf
    from stapy.debuginfo.resolve import BIG_MODULE_CUS

    try:
        mod = dwarf_for(open_elf(path))
        if mod is None or len(mod.cus()) > BIG_MODULE_CUS:
            return set()
        return {n for cu in mod.cus() for n in mod.inline_names(cu)}
    except (OSError, ValueError):
        return set()


# stap's probe pattern tree under process / process("P") / process(N) / ...library("L") [tapsets.cxx
# register_function_variants, register_statement_variants, register_sdt_variants, register_plt_variants;
# uprobe_builder's statement(N).absolute]: component -> {(functor, argument kind): subtree}; END marks a
# point a builder takes.  No .maxactive: process probes are pr_all.
END = "end"
_FUNC = {END: True, ("call", None): {END: True}, ("exported", None): {END: True}, ("return", None): {END: True}}
_FUNC_STR = _FUNC | {("inline", None): {END: True}, ("label", "str"): {END: True},
                     ("callee", "str"): {END: True, ("return", None): {END: True}, ("call", None): {END: True}},
                     ("callees", None): {END: True}, ("callees", "num"): {END: True}}
_STMT = {END: True, ("nearest", None): {END: True}}
_PLT = {END: True, ("return", None): {END: True}}
_POINTS = {("function", "str"): _FUNC_STR, ("function", "num"): _FUNC, ("statement", "str"): _STMT,
           ("statement", "num"): _STMT | {("absolute", None): {END: True, ("return", None): {END: True}}},
           ("mark", "str"): {END: True}, ("provider", "str"): {("mark", "str"): {END: True}},
           ("plt", None): _PLT, ("plt", "str"): _PLT}
_PROCESS_TREE = _POINTS | {("library", "str"): _POINTS}


def _check_suffixes(rest) -> None:
    """stap's `invalid suffix for probe` [elaborate.cxx derived_probe_builder::build_with_suffix]: a
    component after a complete point that no pattern continues with."""
    node = _PROCESS_TREE
    for c in rest:
        if any(ch in c.functor for ch in "*?["):
            return
        v = _arg(c)
        kind = None if c.arg is None else ("num" if isinstance(v, int) else "str" if isinstance(v, str) else "?")
        nxt = node.get((c.functor, kind))
        if nxt is None:
            if node.get(END):
                raise ProbePointError("invalid suffix for probe", c.tok, key="invalid suffix")
            return                  # stap's "probe point mismatch": left to the resolver
        node = nxt


def resolve_process_point(point: ast.ProbePoint, options) -> list[Resolved]:
    from stapy.debuginfo.resolve import (InlinedReturns, NoLineRecords, ResolveError, resolve_process_path,
                                         resolve_process_probe)

    comps = point.components
    head = comps[0]
    rest = comps[1:]
    names = [c.functor for c in rest]
    value = _arg(head)
    if head.arg is not None and value is None:
        raise ProbePointError("probe point mismatch", head.tok)
    pid = value if isinstance(value, int) else None
    exe = None
    lifecycle = bool(names) and (names[0] in _LIFECYCLE or names[0] in _SYSCALL)
    if isinstance(value, str):
        try:
            exe = resolve_process_path(value)
        except ResolveError as e:
            if lifecycle:
                exe = value  # stap keeps begin/end/thread/syscall points on paths it cannot find
            elif "/" in value:
                raise ProbePointError("no match", None, key="no match") from None
            else:  # a bare name not found on $PATH
                raise ProbePointError(str(e), None, key="cannot find executable") from None
    if not names:
        raise ProbePointError("no match", head.tok)

    if lifecycle:
        family = "process." + ".".join(names)
        if family not in ("process.begin", "process.end", "process.thread.begin", "process.thread.end",
                          "process.syscall", "process.syscall.return"):
            raise ProbePointError("probe point mismatch", rest[-1].tok)
        shown = exe
        if pid is None and exe is None and value is None:
            exe = _target_path(options)
        new = [_component("process", shown if shown is not None else pid, head.tok)] + list(rest)
        if shown is None and pid is None:
            new[0] = ast.ProbePointComponent("process", None, tok=head.tok)
        return [Resolved(family, {"path": exe, "exe": exe, "pid": pid, "address": None, "is_return": False,
                                  "function": "", "site": None}, components=new)]

    _check_suffixes(rest)
    if exe is None:
        if pid is not None:
            try:
                exe = os.readlink(f"/proc/{pid}/exe")
            except OSError:
                raise ProbePointError("no match", None, key="no match") from None
        else:
            exe = _target_path(options)
        if exe is None:
            raise ProbePointError("no match", None, key="no match")
    pairs = [(c.functor, _arg(c)) for c in rest]
    prologue = getattr(options, "prologue_searching", "auto")
    if "callees" in names and isinstance(dict(pairs).get("callees"), int) and dict(pairs)["callees"] < 1:
        raise ProbePointError(".callees(N) only acceptable for N >= 1", None, key="callees")
    try:
        found_warnings: list[str] = []
        sites = resolve_process_probe(exe, pairs, prologue=prologue, guru=bool(getattr(options, "guru", False)),
                                      warnings=found_warnings)
    except NoLineRecords as e:
        err = ProbePointError("no match", None, key="no match")
        err.advice = e.advice       # reported before the probe point's error, as stap prints them
        raise err from None
    except InlinedReturns as e:
        err = ProbePointError(_no_match_text(exe, pairs), None, key="no match")
        err.warnings = found_warnings + e.warnings   # printed before the probe point's error, as stap does
        raise err from None
    except (ResolveError, OSError, ValueError):
        err = ProbePointError("no match", None, key="no match")
        err.warnings = found_warnings
        raise err from None
    if not sites:
        err = ProbePointError(_no_match_text(exe, pairs), None, key="no match")
        err.warnings = found_warnings
        raise err
    out = []
    for s in sites:
        kind = {"function": "process.function", "inline": "process.function", "statement": "process.statement",
                "label": "process.statement", "mark": "process.mark", "plt": "process.plt"}.get(s.kind, "process." + s.kind)
        if s.is_return:
            kind += ".return"
        params = {"path": s.module, "exe": s.process_path, "pid": pid, "address": s.address,
                  "is_return": s.is_return, "function": s.function, "site": s,
                  "semaphore": s.sdt.semaphore if s.sdt is not None else 0}
        out.append(Resolved(kind, params, components=_components_of(s.p2_text, head.tok),
                            comment=f" /* pc={s.pc_text} */", warnings=found_warnings + list(s.warnings)))
        found_warnings = []
    return out


register_process_resolver(resolve_process_point)
