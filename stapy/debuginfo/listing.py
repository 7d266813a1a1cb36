"""-l / -L lines for user-space probe points, as stap 4.8 prints them [LANGUAGE.md 10.5].

list_probes(pattern_text, verbose_vars, cwd=None, env=None, show_pc=False) -> list[str] | None
    pattern_text: one probe point as written, e.g. 'process("./a.out").function("*").return'
    verbose_vars: -L (append ' $v:type' ...); show_pc: -v -L (one line per probe: its -p2 text,
    /* pc=... */, its variables; grouped under the sorted listed points)
    Returns the lines, unique and sorted (stap sorts the whole listing); None when the point is not a
    process(...) point (the caller lists timer/begin/... itself).
site_vars(site) -> list[str]        the ' $v:type' items for one ProbeSite
split_probe_point(text) -> [(name, arg)]   a small parser for one literal probe point
"""
from __future__ import annotations

import re

from . import elf as elfmod
from .dwarf import dwarf_for
from .resolve import ProbeSite, ResolveError, resolve_process_path, resolve_process_probe

_SYSCALLISH = ("begin", "end", "thread", "syscall")
_QUIRK_VARS = ["$syscall:long"] + [f"$arg{i}:long" for i in range(1, 7)]


def split_probe_point(text: str) -> list[tuple[str, object]]:
    """'process("a.b").function("f").return' -> [('process','a.b'),('function','f'),('return',None)]."""
    out: list[tuple[str, object]] = []
    i, n = 0, len(text)
    while i < n:
        m = re.match(r"\s*([A-Za-z_][A-Za-z0-9_]*|\*)\s*", text[i:])
        if not m:
            raise ValueError(f"bad probe point {text!r}")
        name = m.group(1)
        i += m.end()
        arg: object = None
        if i < n and text[i] == "(":
            j = i + 1
            while j < n and text[j] == " ":
                j += 1
            if j < n and text[j] == '"':
                k = j + 1
                buf = []
                while k < n and text[k] != '"':
                    if text[k] == "\\" and k + 1 < n:
                        k += 1
                    buf.append(text[k])
                    k += 1
                arg = "".join(buf)
                k += 1
            else:
                k = text.index(")", j)
                arg = int(text[j:k].strip(), 0)
            k = text.index(")", k)
            i = k + 1
        out.append((name, arg))
        while i < n and text[i] == " ":
            i += 1
        if i < n:
            if text[i] != ".":
                raise ValueError(f"bad probe point {text!r}")
            i += 1
    return out


def site_vars(site: ProbeSite) -> list[str]:
    if site.kind == "mark":
        return [f"$arg{i}:long" for i in range(1, len(site.sdt.args) + 1)] if site.sdt else []
    f = site.dwarf_function
    if f is None:
        return []
    mod = dwarf_for(elfmod.open_elf(site.module))
    if mod is None:
        return []
    out = []
    if site.is_return:
        rt = mod.return_type(f)
        name = rt.stap_name() if rt is not None else None
        if name:
            out.append(f"$return:{name}")
    nested = site.kind in ("statement", "label")
    for v in mod.variables(f, site.address, nested=nested):
        out.append(f"${v.name}:{v.type_name}")
    return out


def list_probes(pattern_text: str, verbose_vars: bool, cwd: str | None = None, env: dict | None = None,
                show_pc: bool = False) -> list[str] | None:
    comps = split_probe_point(pattern_text)
    if not comps or comps[0][0] != "process":
        return None
    proc_arg = comps[0][1]
    rest = comps[1:]
    names = [c[0] for c in rest]
    if rest and names[0] in _SYSCALLISH:
        if isinstance(proc_arg, str):
            try:
                head = f'process("{resolve_process_path(proc_arg, cwd)}")'
            except ResolveError:
                return []
        elif proc_arg is None:
            head = "process"
        else:
            head = f"process({proc_arg})"
        line = head + "." + ".".join(names)
        return [line + (" " + " ".join(_QUIRK_VARS) if verbose_vars else "")]
    if not isinstance(proc_arg, str):
        return []
    try:
        sites = resolve_process_probe(proc_arg, rest, cwd=cwd, env=env)
    except (ResolveError, OSError, ValueError):
        return []
    groups: dict[str, list[ProbeSite]] = {}
    for s in sites:
        groups.setdefault(s.pp, []).append(s)
    if show_pc:
        # [main.cxx printscript, verbose] per listed point (sorted), each probe's own signature --
        # the -p2 text -- with its pc and variables
        out = []
        for pp in sorted(groups):
            for s in groups[pp]:
                vs = site_vars(s) if verbose_vars else []
                out.append(" ".join([f"{s.p2_text} /* pc={s.pc_text} */", *vs]))
        return out
    out = []
    for pp, group in groups.items():
        if not verbose_vars:
            out.append(pp)
            continue
        # [main.cxx printscript] one line per pp, listing the variables every instance has
        per_site = [site_vars(s) for s in group]
        order = list(dict.fromkeys(v for vs in per_site for v in vs))
        common = [v for v in order if all(v in vs for vs in per_site)]
        out.append(" ".join([pp, *common]))
    return sorted(out)
