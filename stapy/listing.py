"""The listing modes: `-l PATTERN`, `-L PATTERN`, `--dump-functions`, `--dump-probe-types`,
`--dump-probe-aliases` [stap main.cxx, LANGUAGE.md 10.5].

`-l`/`-L` list what `probe PATTERN {}` would resolve to: process points through
the debuginfo room's resolver, the others (begin, end, timer...) through pass 2.
Errors stay silent unless -vv, except parse errors; the exit status is 0 when
anything matched.
"""
from __future__ import annotations

import io
import os

from stapy.diagnostics import StapError

# The user-space probe types stapy resolves, in stap's `--dump-probe-types` spelling and order.
_PROCESS_TAILS = [
    "begin", "end",
    "function(number)", "function(number).call", "function(number).exported", "function(number).return",
    "function(string)", "function(string).call", "function(string).exported", "function(string).inline",
    "function(string).label(string)", "function(string).return",
    "function(string).callee(string)", "function(string).callee(string).call",
    "function(string).callee(string).return", "function(string).callees", "function(string).callees(number)",
]
_LIB_TAILS = [t for t in _PROCESS_TAILS if t.startswith("function")] + [
    "mark(string)", "plt", "plt.return", "plt(string)", "plt(string).return", "provider(string).mark(string)",
    "statement(number)", "statement(number).nearest", "statement(string)", "statement(string).nearest",
]
_PROCESS_MORE = [
    "mark(string)", "plt", "plt.return", "plt(string)", "plt(string).return", "provider(string).mark(string)",
    "statement(number)", "statement(number).nearest", "statement(string)", "statement(string).nearest",
    "thread.begin", "thread.end",
]


def probe_types() -> list[str]:
    out = ["begin", "begin(number)", "end", "end(number)", "error", "error(number)", "never"]
    for head in ("process", "process(number)", "process(string)"):
        tails = _PROCESS_TAILS + _PROCESS_MORE
        if head == "process(number)":
            tails = tails + ["statement(number).absolute"]
        lines = [f"{head}.{t}" for t in tails]
        if head != "process(number)":
            lines += [f"{head}.library(string).{t}" for t in _LIB_TAILS]
        out += lines
    for unit in ("ms", "msec", "ns", "nsec", "s", "sec", "us", "usec"):
        out += [f"timer.{unit}(number)", f"timer.{unit}(number).randomize(number)"]
    out += ["timer.hz(number)", "timer.jiffies(number)", "timer.jiffies(number).randomize(number)"]
    # stap prints its probe-type tree depth first: sorting on the component list gives that order
    # (`process.plt`, `process.plt.return`, `process.plt(string)`, then `process(number)...`).
    return sorted(set(out), key=_components)


def _components(point: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in point:
        if ch == "." and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += (ch == "(") - (ch == ")")
        cur += ch
    return parts + [cur]


def _tags(fn, all_tags: bool) -> list[str]:
    from stapy.parser import ast as A

    wanted = {"/* bpf */", "/* guru */", "/* unprivileged */", "/* myproc-unprivileged */"}
    if all_tags:
        wanted |= {"/* pure */", "/* unmangled */", "/* unmodified-fnargs */", "/* stable */"}
    codes = [n.code for n in _walk(fn.body) if isinstance(n, (A.EmbeddedStmt, A.EmbeddedExpr))]
    return sorted(t for t in wanted if any(t in code for code in codes))


def _walk(node):
    """Every AST node under `node` (embedded code hides in expressions too, e.g. @MAXSTRINGLEN)."""
    import dataclasses

    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, list):
            stack.extend(n)
            continue
        if not dataclasses.is_dataclass(n):
            continue
        yield n
        for f in dataclasses.fields(n):
            if f.name not in ("tok", "type", "referent", "file"):
                stack.append(getattr(n, f.name))


def function_signatures(options) -> list[str]:
    """`name:type (a:type, ...) /* tags */` for every public tapset function, as --dump-functions."""
    from stapy.parser.frontend import Tapsets, load_library_macros

    tapsets = Tapsets(options, load_library_macros(options))
    rows = []
    for order, fn in enumerate(f for tf in tapsets.files() for f in tf.functions):
        if fn.private or (fn.name.startswith("_") and not options.verbose):
            continue
        params = ", ".join(f"{p.name}:{p.type or 'unknown'}" for p in fn.params)
        text = f"{fn.name}:{fn.type or 'unknown'} ({params})"
        tags = _tags(fn, options.verbose > 0)
        rows.append(((fn.name, order), text + "".join(" " + t for t in tags)))
    return [text for _, text in sorted(rows)]


def probe_aliases(options) -> list[str]:
    """`name = point, point` for each tapset alias (`+=` for epilogue aliases)."""
    from stapy.parser.frontend import Tapsets, load_library_macros
    from stapy.parser.printer import probe_point as probe_point_text

    tapsets = Tapsets(options, load_library_macros(options))
    rows = set()
    for tf in tapsets.files():
        for al in tf.aliases:
            rhs = ", ".join(probe_point_text(p) for p in al.points)
            for name in al.names:
                rows.add(f"{probe_point_text(name)} {'+=' if al.epilogue else '='} {rhs}")
    return sorted(rows)


def matched_probes(options, stderr) -> list[str] | None:
    """The -l/-L lines for options.listing_pattern, or None when nothing resolved."""
    from stapy.debuginfo.listing import list_probes

    pattern = options.listing_pattern
    try:
        lines = list_probes(pattern, options.listing == "L", show_pc=options.verbose > 0 and options.listing == "L")
    except ValueError:
        lines = None
    if lines is not None:
        return lines or None
    # Not a process point: resolve `probe PATTERN {}` through passes 1-2 and list the derived points.
    from stapy.session import Session

    opts = options.with_(script_text=f"probe {pattern} {{}}", script_file=None, last_pass=2, unoptimized=True,
                         listing=None, suppress_warnings=True)
    quiet = io.StringIO()
    session = Session(opts, stdout=io.StringIO(), stderr=quiet)
    try:
        program = session.analyze()
    except StapError as e:
        if any(d.prefix == "parse error" for d in e.diagnostics):
            session.report(e.diagnostics, 1)
            stderr.write(quiet.getvalue())
        elif options.verbose >= 2:
            session.report(e.diagnostics, 2)
            stderr.write(quiet.getvalue())
        return None
    lines = set()
    for probe in program.probes:
        if getattr(probe, "synthetic", False):
            continue
        # stap lists the point as the script wrote it (an alias name, not its expansion),
        # with its condition.
        text = probe.point_name or probe.location
        cond = probe.location.find(" if (")
        if cond >= 0 and " if (" not in text:
            text += probe.location[cond:]
        if options.listing == "L":
            extra = " ".join(getattr(probe, "listing_vars", ()) or ())
            if extra:
                text += " " + extra
        lines.add(text)
    return sorted(lines) or None


def run_listing(options, stdout, stderr) -> int:
    if options.dump == "functions":
        rows = function_signatures(options)
    elif options.dump == "probe-types":
        rows = probe_types()
    elif options.dump == "probe-aliases":
        rows = probe_aliases(options)
    else:
        rows = matched_probes(options, stderr)
        if not rows:
            return 1
    for row in rows:
        stdout.write(row + "\n")
    stdout.flush()
    return 0
