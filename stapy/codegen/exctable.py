"""The exception table: every run-time failure site of the program.

A handler never unwinds: an operation that can fail is a *site* with an
integer id.  On failure the handler stores the id in `ctx->error_site`, the
message in `ctx->errmsg`, and branches to the site's fixup (a catch block
when inside `try`, else the handler's error exit).  The runtime turns the id
back into stap's `near <token>` text through this table; `-p3` prints it.

Kinds name what fails ('division', 'error', 'maxaction', 'maxnesting',
'array', 'aggregate', 'histogram', 'overload', 'user-read', 'format', 'call'
...).  A 'call' site is a function call: it never fails itself, but it is the
`(called from ...)` frame of an error raised below it.
Fixups: 'catch' (inside try), 'abort' (the handler, or the function, stops
with STATUS_ERROR), 'default' (the operation yields a default value).
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Site:
    id: int
    kind: str
    location: str  # FILE:LINE:COL
    token: str  # stap's `operator '/' at FILE:L:C`, as printed after ` near `
    fixup: str  # 'catch' | 'abort' | 'default'


@dataclass
class ExceptionTable:
    sites: list = field(default_factory=list)  # list[Site]; sites[i].id == i + 1 (0 is "no site")

    def add(self, kind: str, tok, fixup: str) -> int:
        sid = len(self.sites) + 1
        loc = tok.location() if tok is not None else ""
        text = tok.describe() if tok is not None else ""
        self.sites.append(Site(sid, kind, loc, text, fixup))
        return sid

    def get(self, sid: int) -> Site | None:
        if 1 <= sid <= len(self.sites):
            return self.sites[sid - 1]
        return None

    def rows(self) -> list[str]:
        """One line per site, as -p3 prints them: id, FILE:LINE:COL, kind, fixup."""
        return [f"{s.id} {s.location} {s.kind} {s.fixup}" for s in self.sites]
