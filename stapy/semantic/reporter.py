"""Collects pass-2 errors and warnings the way stap's session does.

stap prints each diagnostic as it is found, hiding duplicates unless -v:
warnings are duplicates when their message text repeats; errors when they
were raised from the same place in stap's sources (`errsrc`), which we model
with a short `key` per kind of error.  Warnings are dropped under -w (and not
counted).  The survivors are kept in order, so the caller renders them in one
go with `stapy.diagnostics.render_diagnostics`.
"""
from __future__ import annotations

from stapy.diagnostics import Diagnostic, Token

SEMANTIC_ERROR = "semantic error"
WARNING = "WARNING"


class Reporter:
    def __init__(self, options):
        self.verbose = options.verbose
        self.suppress_warnings = options.suppress_warnings
        self.diagnostics: list[Diagnostic] = []
        self.error_count = 0
        self.warning_count = 0
        self.suppressed_errors = 0
        self.suppressed_warnings = 0
        self._seen_errors: set = set()
        self._seen_warnings: set = set()
        self.quiet = False  # stap silences warnings after the first optimisation round

    def error(self, message: str, token: Token | None = None, *, key: str | None = None,
              chain: list[Diagnostic] | None = None, token2: Token | None = None) -> None:
        """Record `semantic error: message: token` (plus chained parts)."""
        self.error_count += 1
        key = key or message
        parts = [Diagnostic(SEMANTIC_ERROR, message, token, token2=token2)] + list(chain or [])
        keys = [key] + [f"{key}#chain{i}" for i in range(len(parts) - 1)]
        if self.verbose > 0 or key not in self._seen_errors:
            first = True
            for k, d in zip(keys, parts):
                if first or self.verbose > 1 or k not in self._seen_errors:
                    self._seen_errors.add(k)
                    d.severity = "error"
                    self.diagnostics.append(d)
                first = False
        else:
            self.suppressed_errors += 1

    def warning(self, message: str, token: Token | None = None) -> None:
        if self.suppress_warnings or self.quiet:
            return
        self.warning_count += 1
        if self.verbose > 0 or message not in self._seen_warnings:
            self._seen_warnings.add(message)
            self.diagnostics.append(Diagnostic(WARNING, message, token, severity="warning"))
        else:
            self.suppressed_warnings += 1

    @property
    def failed(self) -> bool:
        return self.error_count > 0

    def take(self) -> list[Diagnostic]:
        """The diagnostics recorded so far, handing them over (they are rendered once)."""
        out, self.diagnostics = self.diagnostics, []
        return out
