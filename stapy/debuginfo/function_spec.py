"""Function specs `[scope::]func[@file[:N|:N-M|:N,M|:*|+N]]` and how stap matches their parts
[tapsets.cxx dwarf_query::parse_function_spec, dwflpp.cxx function_name_matches_pattern,
collect_srcfiles_matching (an implicit '*/' before a file pattern; fnmatch without FNM_PATHNAME)].
"""
from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass

from .dwarf import Function

@dataclass(frozen=True)
class FunctionSpec:
    scopes: tuple[str, ...]
    function: str
    file: str | None
    line_kind: str            # 'none' 'absolute' 'range' 'list' 'wildcard' 'relative'
    lines: tuple[int, ...]


def parse_function_spec(spec: str) -> FunctionSpec:
    """`[scope::]func[@file[:N|:N-M|:N,M|:*|+N]]` [tapsets.cxx dwarf_query::parse_function_spec]."""
    scopes: tuple[str, ...] = ()
    at = spec.find("@")
    head = spec if at < 0 else spec[:at]
    if "::" in head:
        parts = head.split("::")
        scopes, head = tuple(parts[:-1]), parts[-1]
    if at < 0:
        return FunctionSpec(scopes, head, None, "none", ())
    rest = spec[at + 1:]
    m = re.search(r"[:+]", rest)
    if not m:
        return FunctionSpec(scopes, head, rest, "none", ())
    file, sep, tail = rest[:m.start()], rest[m.start()], rest[m.start() + 1:]
    if sep == "+":
        return FunctionSpec(scopes, head, file, "relative", (int(tail),))
    if tail == "*":
        return FunctionSpec(scopes, head, file, "wildcard", ())
    if "-" in tail:
        a, b = tail.split("-", 1)
        return FunctionSpec(scopes, head, file, "range", tuple(range(int(a), int(b) + 1)))
    if "," in tail:
        return FunctionSpec(scopes, head, file, "list", tuple(int(x) for x in tail.split(",")))
    return FunctionSpec(scopes, head, file, "absolute", (int(tail),))


def has_wildcard(s: str) -> bool:
    return any(c in s for c in "*?[")


def name_matches(name: str, pattern: str) -> bool:
    if has_wildcard(pattern) and name.startswith("__pfx_") and "__pfx" not in pattern:
        return False
    return fnmatch.fnmatchcase(name, pattern)


def file_matches(path: str | None, pattern: str) -> bool:
    if not path:
        return False
    return fnmatch.fnmatchcase(path, pattern) or fnmatch.fnmatchcase(path, "*/" + pattern)


def scopes_match(func: Function, scopes: tuple[str, ...]) -> bool:
    if not scopes:
        return True
    have = func.scopes
    if len(have) < len(scopes):
        return False
    return all(name_matches(h, s) for h, s in zip(have[len(have) - len(scopes):], scopes))
