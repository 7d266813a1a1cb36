"""Pass 2: from the parsed script to the typed Program (stap's semantic_pass).

The whole pass is the ordered list PASSES below; each entry is one file.
The pipeline stops after the first pass that reported an error.  Errors and
warnings are collected (stapy.semantic.reporter) and rendered in stap's
format: warnings go to `stderr` as pass 2 ends, errors are raised in a
StapError for the session to render before `Pass 2: analysis failed.`.
"""
from __future__ import annotations

import time

from stapy.diagnostics import StapError, render_diagnostics
from stapy.semantic import (callee_checks, conditions, dedup_functions, derive_probes, elide, foreach_mutation,
                            global_dump, infer_types, nesting, resolve_symbols, stable_calls, stats_usage)
from stapy.semantic import target_vars
from stapy.semantic.draft import Draft
from stapy.semantic.library import Library
from stapy.semantic.printing import probe_point
from stapy.semantic.program import DerivedProbe, Program
from stapy.semantic.reporter import Reporter

PASSES = [
    ("derive-probes", derive_probes.run),  # aliases, wildcards, probe families
    ("callee-checks", callee_checks.run),  # .callee probes: _caller_match guards, their derivation
    ("resolve-symbols", resolve_symbols.run),  # locals, globals, functions, tapset pull-in
    ("target-vars", target_vars.run),  # $var, @cast, @var, @entry, @defined against debuginfo
    ("conditions", conditions.run),  # `if (cond)` guards
    ("elide", elide.run),  # unused code (off with -u)
    ("infer-types", infer_types.run),
    ("dead-control", elide.run_dead_control),  # code after next/return (after types, as 4.8)
    ("global-dump", global_dump.run),  # end probes printing unread globals
    ("dedup-functions", dedup_functions.run),
    ("stable-calls", stable_calls.run),  # cache pid(), execname()... per hit
    ("foreach-mutation", foreach_mutation.run),  # no writes to an array being iterated
    ("stats-usage", stats_usage.run),
    ("limits", nesting.run),  # MAXNESTING and the other -D limits
]


def library_of(parsed) -> Library:
    """The tapset library handed over by the parser room (a Library, files, or a loader)."""
    tapsets = getattr(parsed, "tapsets", None)
    if isinstance(tapsets, Library):
        return tapsets
    if tapsets is None:
        return Library()
    if isinstance(tapsets, (list, tuple)):
        return Library(tapsets)
    files = getattr(tapsets, "files", None)
    if callable(files):
        files = files()
    return Library(files or [])


def user_files_of(parsed) -> list:
    files = getattr(parsed, "files", None)
    if files is None:
        files = getattr(parsed, "user_files", None)
    if files is None and hasattr(parsed, "items"):
        files = [parsed]
    return list(files or [])


def analyze(parsed, options, stderr) -> Program:
    """Run pass 2 and return the Program; raise StapError when it fails.

    The cyclic GC is paused meanwhile: the pass makes many objects that all
    stay alive, and each collection only rescans them."""
    import gc

    paused = gc.isenabled()
    gc.disable()
    try:
        return _analyze(parsed, options, stderr)
    finally:
        if paused:
            gc.enable()


def _analyze(parsed, options, stderr) -> Program:
    import os
    started = (os.times(), time.monotonic())
    reporter = Reporter(options)
    d = Draft(options=options, reporter=reporter, library=library_of(parsed), user_files=user_files_of(parsed))
    _check_global_inits(d)
    for name, run in PASSES:
        if reporter.failed:
            break
        d = run(d)
        if name == "elide" or name == "limits":
            pass
    if not reporter.failed and not any(not p.synthetic for p in d.probes):
        reporter.error("no probes found", None, key="no probes found")
    if options.verbose:
        reporter.diagnostics.append(_analyzed_line(d, started))
    _warn_unused_args(d, getattr(parsed, "used_args", None))
    if options.warnings_as_errors and reporter.warning_count and not reporter.failed:
        reporter.error_count += 1
    diagnostics = reporter.take()
    if reporter.failed:
        err = StapError(diagnostics)
        err.suppressed = (reporter.suppressed_errors, reporter.suppressed_warnings)
        raise err
    render_diagnostics(diagnostics, 2, options, stderr)
    program = build_program(d)
    program.warnings = diagnostics
    program.suppressed = (reporter.suppressed_errors, reporter.suppressed_warnings)
    return program


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _analyzed_line(d: Draft, started):
    """stap's -v summary of pass 2 (main.cxx), memory and times from /proc like getmemusage()."""
    import os

    from stapy.diagnostics import Diagnostic

    t0, m0 = started
    t1 = os.times()
    usr = int((t1.user - t0.user) * 1000)
    sys_ = int((t1.system - t0.system) * 1000)
    real = int((time.monotonic() - m0) * 1000)
    try:
        with open("/proc/self/statm") as f:
            size, res, shr, _text, _lib, data = (int(x) for x in f.read().split()[:6])
        kb = os.sysconf("SC_PAGE_SIZE") // 1024
        mem = f"{size * kb}virt/{res * kb}res/{shr * kb}shr/{data * kb}data kb"
    except (OSError, ValueError):
        mem = "0virt/0res/0shr/0data kb"
    text = (f"Pass 2: analyzed script: {_plural(len(d.probes), 'probe')}, "
            f"{_plural(len(d.functions), 'function')}, {_plural(len(d.embeds), 'embed')}, "
            f"{_plural(len(d.globals), 'global')} using {mem}, in {usr}usr/{sys_}sys/{real}real ms.")
    return Diagnostic("", text)


def _warn_unused_args(d: Draft, used) -> None:
    """stap's `unused command line option $N/@N` (not when the script uses the argv tapset)."""
    if used is None or any(g.name in ("argc", "argv") for g in d.globals):
        return
    for i in range(len(d.options.args)):
        if i not in used:
            d.reporter.warning(f"unused command line option ${i + 1}/@{i + 1}")


def _check_global_inits(d: Draft) -> None:
    """-G NAME=VALUE must name a global of the script (checked again on its type later)."""
    # stap checks -G after elaboration; the values are attached in build_program.


def derivation_text(chain, resolved_point=None) -> str:
    """The `/* <- ... */` chain, innermost first.  `resolved_point`: a debuginfo-resolved
    point replaces the innermost element, as stap's dwarf probes rewrite their base location."""
    from stapy.parser import ast
    parts = []
    for n, item in enumerate(chain):
        if n == 0 and resolved_point is not None:
            parts.append(probe_point(resolved_point))
            continue
        if isinstance(item, ast.ProbeAlias):
            names = " = ".join(probe_point(n) for n in item.names)
            op = " += " if item.epilogue else " = "
            parts.append(names + op + ", ".join(probe_point(p) for p in item.points))
        else:
            parts.append(",".join(probe_point(p) for p in item.points))
    return " <- ".join(parts)


def _point_name(p) -> str:
    """pn(): the point as the script wrote it when an alias stands between (stap's script
    location: `oneshot`, not `begin`); otherwise the concrete point."""
    from stapy.parser import ast

    if getattr(p, "script_point", None) is not None:  # a .callee probe's well-formed point (callee_checks)
        return probe_point(p.script_point, False)
    if p.user_point is not None and any(isinstance(c, ast.ProbeAlias) for c in p.chain):
        return probe_point(p.user_point, False)
    return probe_point(p.point, False)


def build_program(d: Draft) -> Program:
    probes = []
    for i, p in enumerate(d.probes):
        r = p.resolved
        loc = probe_point(p.point)
        locals_ = list(p.locals.values())
        for slot, v in enumerate(locals_):
            v.slot = slot
        probes.append(DerivedProbe(family=r.family, params=dict(r.params), location=loc,
                                   point_name=_point_name(p),
                                   derivation=derivation_text(p.chain, getattr(p, "derivation_point", p.point) if r.family.startswith("process.") and r.params.get("site") is not None else None), condition=p.point.condition,
                                   locals=locals_, body=p.body, index=i, synthetic=p.synthetic,
                                   comment=r.comment, tok=p.tok))
    functions = [d.functions[k] for k in sorted(d.functions)]
    for f in functions:
        for slot, v in enumerate(list(f.params) + list(f.locals)):
            v.slot = slot
    for g in d.globals:
        for name, value in d.options.global_inits:
            if name == g.name:
                g.cmdline_init = value if g.type == "string" else _to_int(value)
    return Program(globals=list(d.globals), functions=functions, probes=probes, embeds=list(d.embeds),
                   limits=d.limits, recursive=d.recursive, files=list(d.user_files))


def _to_int(text: str):
    try:
        return int(text, 0)
    except ValueError:
        return text
