"""Pass: probe alias expansion and probe-point resolution (stap's derive_probes).

Every probe point of every user probe is matched against the probe aliases
(user and tapset) and the probe families of probe_points.py; aliases expand
recursively, merging their prologue/epilogue with the user's body.  `?`
points may fail silently; a `!` point that resolves ends its probe's list.
"""
from __future__ import annotations

import fnmatch

from stapy.diagnostics import Diagnostic
from stapy.parser import ast
from stapy.semantic import probe_points
from stapy.semantic.draft import Draft, ProbeDraft, clone
from stapy.semantic.probe_points import ProbePointError, Resolved

MAX_ALIAS_DEPTH = 32


def run(d: Draft) -> Draft:
    aliases = all_aliases(d)
    for alias, _f in aliases:
        for name in alias.names:
            if any(ch in c.functor for c in name.components for ch in "*?["):
                inner = Diagnostic("semantic error", "invalid use of wildcard probe point component", None)
                d.reporter.error("while registering probe alias", alias.tok, key="register alias", chain=[inner])
                return d
    for f in d.user_files:
        derive_file(d, f, aliases)
    return d


def all_aliases(d: Draft) -> list:
    """[(ast.ProbeAlias, StapFile)]: the user's aliases, then the library's."""
    aliases = []
    for f in d.user_files:
        aliases += [(a, f) for a in f.aliases]
    return aliases + d.library.aliases()


def derive_file(d: Draft, f, aliases=None) -> None:
    """Derive the probes of file `f` (a user file, or a tapset file pulled into the program)."""
    if aliases is None:
        aliases = all_aliases(d)
    for probe in f.probes:
        for pp in probe.points:
            try:
                derived = _derive(d, pp, probe, [probe], clone(probe.body), aliases, 0, f)
            except ProbePointError as e:
                for text in getattr(e, "warnings", ()):   # e.g. "cannot probe .return of N inlined functions"
                    d.reporter.warning(text)
                # debuginfo's "no line records for F:N ..." / "address ... does not match the beginning
                # of a statement": stap reports them as errors even for a `?` point
                for text in getattr(e, "advice", ()):
                    d.reporter.error(text, None, key=text)
                if pp.optional or pp.sufficient and pp.optional:
                    continue
                inner = Diagnostic("semantic error", e.message, e.token)
                d.reporter.error("while resolving probe point", pp.components[0].tok,
                                 key="resolve:" + e.key, chain=[inner])
                continue
            for dr in derived:
                dr.user_point = pp
            d.probes.extend(derived)
            if pp.sufficient and derived:
                break


def _component_matches(pattern: ast.ProbePointComponent, name: ast.ProbePointComponent) -> bool:
    if not fnmatch.fnmatchcase(name.functor, pattern.functor):
        return False
    pa, na = _literal(pattern.arg), _literal(name.arg)
    return pa == na


def _literal(e):
    if e is None:
        return None
    if isinstance(e, (ast.NumberLit, ast.StringLit)):
        return (type(e).__name__, e.value)
    return ("?", repr(e))


def _derive(d, pp, probe, chain, body, aliases, depth, file) -> list:
    """The derived probes of point `pp`, reached through `chain` (innermost first)."""
    comps = pp.components
    results = []
    matched = False
    if depth < MAX_ALIAS_DEPTH:
        for alias, _afile in aliases:
            for name in alias.names:
                n = len(name.components)
                if n > len(comps) or not all(_component_matches(comps[i], name.components[i]) for i in range(n)):
                    continue
                if n < len(comps) and not _alias_may_take_suffix(comps[n:]):
                    continue
                matched = True
                suffix = comps[n:]
                merged = _merge_bodies(alias, body)
                for target in alias.points:
                    sub = ast.ProbePoint(components=list(target.components) + list(suffix),
                                         optional=target.optional or pp.optional,
                                         sufficient=target.sufficient,
                                         # a copy: the user's own point keeps printing its plain names
                                         condition=clone(pp.condition if pp.condition is not None else target.condition),
                                         tok=target.tok)
                    try:
                        results += _derive(d, sub, probe, [alias] + chain, clone(merged), aliases, depth + 1, file)
                    except ProbePointError:
                        if sub.optional:
                            continue
                        raise
                break
    head = comps[0]
    fam = probe_points.family(head.functor)
    if fam is not None:
        matched = True
        for r in fam.resolve(pp, d.options):
            for text in r.warnings:
                d.reporter.warning(text)
            results.append(_make(pp, chain, r, body, probe, file))
    elif any(ch in head.functor for ch in "*?[") and not matched:
        for name in probe_points.FAMILY_NAMES():
            if fnmatch.fnmatchcase(name, head.functor):
                fam = probe_points.family(name)
                concrete = ast.ProbePoint([ast.ProbePointComponent(name, head.arg, head.tok)] + list(comps[1:]),
                                          pp.optional, pp.sufficient, pp.condition, pp.tok)
                try:
                    for r in fam.resolve(concrete, d.options):
                        results.append(_make(concrete, chain, r, clone(body), probe, file))
                        matched = True
                except ProbePointError:
                    continue
    if not matched:
        choices = set(probe_points.FAMILY_NAMES()) | {a.names[0].components[0].functor for a, _ in aliases if a.names}
        choices |= probe_points.stap48_probe_roots()
        raise probe_points._mismatch(head, choices)
    return results


def _alias_may_take_suffix(suffix) -> bool:
    return True


def _merge_bodies(alias: ast.ProbeAlias, body: ast.Block) -> ast.Block:
    pro = clone(alias.body)
    if alias.epilogue:
        stmts = list(body.statements) + list(pro.statements)
    elif alias.epilogue_body is not None:
        stmts = list(pro.statements) + list(body.statements) + list(clone(alias.epilogue_body).statements)
    else:
        stmts = list(pro.statements) + list(body.statements)
    return ast.Block(stmts, tok=body.tok)


def _make(pp, chain, r: Resolved, body, probe, file) -> ProbeDraft:
    if r.components is not None:
        pp = ast.ProbePoint(list(r.components), pp.optional, pp.sufficient, pp.condition, pp.tok)
    return ProbeDraft(point=pp, chain=list(chain), resolved=r, body=body, user_probe=probe,
                      tok=probe.tok, file=file)
