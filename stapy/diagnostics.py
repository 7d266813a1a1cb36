"""Source files, located tokens and stap-style diagnostics.

Every pass reports problems as `Diagnostic` values carrying the `Token` they
are about; nothing is printed where it is found.  Rendering follows stap's
session.cxx (build_error_msg, print_warning): a token prints as
``<kind> '<text>' at FILE:L:C`` followed by the source line and a caret.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(eq=False)
class SourceFile:
    """One script or tapset file.  `name` is what stap prints (`<input>` for -e/stdin)."""

    name: str
    text: str
    privileged: bool = False  # tapset and -I files may use embedded C without -g
    is_tapset: bool = False

    def __post_init__(self) -> None:
        self._lines = self.text.split("\n")

    def line(self, n: int) -> str:
        """The text of 1-based line `n`, without its newline ('' past the end)."""
        if 1 <= n <= len(self._lines):
            return self._lines[n - 1]
        return ""

    def __repr__(self) -> str:
        return f"SourceFile({self.name!r})"


# Token kinds, spelled as stap prints them in diagnostics.
IDENTIFIER = "identifier"
KEYWORD = "keyword"
OPERATOR = "operator"
NUMBER = "number"
STRING = "string"
EMBEDDED = "embedded-code"
JUNK = "junk"
EOF = "eof"


@dataclass(eq=False)
class Token:
    """A lexed token with its location.

    `text` is stap's token content: for strings, the characters between the
    quotes with stap's escape processing applied (known escapes are kept as
    written, e.g. backslash-n stays two characters).  `chain` points at the
    macro invocation (or $N) this token was expanded from, if any.
    """

    kind: str
    text: str
    file: SourceFile | None
    line: int
    col: int
    chain: "Token | None" = None
    ws_before: bool = False  # whitespace or a comment came just before (probe-point glue)
    junk: str = ""  # for kind JUNK: stap's junk message (unclosed quote, bad $N, ...)

    def location(self, prev_file: SourceFile | None = None) -> str:
        """`FILE:L:C`; FILE is left empty when it equals `prev_file` (stap's habit in pass 2)."""
        name = "" if (prev_file is not None and prev_file is self.file) else (self.file.name if self.file else "")
        return f"{name}:{self.line}:{self.col}"

    def describe(self, prev_file: SourceFile | None = None) -> str:
        """stap's `operator '/' at FILE:L:C` form (keywords and embedded code without text)."""
        if self.kind == EOF:
            return f"{self.file.name if self.file else ''} EOF"
        if self.kind in (KEYWORD, EMBEDDED):
            return f"{self.kind} at {self.location(prev_file)}"
        return f"{self.kind} '{self.text}' at {self.location(prev_file)}"

    def source_line(self) -> str:
        return self.file.line(self.line) if self.file else ""

    def __repr__(self) -> str:
        return f"Token({self.kind}, {self.text!r}, {self.line}:{self.col})"


def caret_line(src: str, col: int, indent: int) -> str:
    """Spaces (tabs kept, as stap does) up to column `col`, then `^`."""
    pad = "".join("\t" if ch == "\t" else " " for ch in src[: col - 1])
    return " " * indent + pad + "^"


@dataclass
class Diagnostic:
    """One error or warning.

    `prefix` is stap's leading words (`parse error`, `semantic error`,
    `WARNING`...), `message` the text, `token` where it happened, `chain`
    further diagnostics printed after it (stap's chained semantic errors).
    """

    prefix: str
    message: str
    token: Token | None = None
    chain: list["Diagnostic"] = field(default_factory=list)
    severity: str = "error"  # or "warning"
    where: str = ""  # where in stapy it was raised (shown with -vv)
    token2: Token | None = None  # stap's second token (e.g. the declaration), printed bare after the first


class StapError(Exception):
    """Raised to abandon a pass; carries the diagnostics collected so far."""

    def __init__(self, diagnostics: list[Diagnostic]):
        super().__init__("; ".join(d.message for d in diagnostics))
        self.diagnostics = diagnostics


def render_semantic_diagnostic(d: "Diagnostic", out, state: dict) -> None:
    """Print one pass-2 error or warning as stap's session does.

    `state["last_file"]` is stap's `last_token` habit: a token from the same
    file as the previously printed token prints its location as `:L:C`.
    Errors (`semantic error: ...`) get an 8-space `source:` line and a blank
    line after; warnings (`WARNING: ...`) a 1-space one and no blank line.
    """
    is_warning = d.prefix == "WARNING"
    align = " " if is_warning else "        "
    text = f"{d.prefix}: {d.message}"
    if d.token is not None:
        text += ": " + d.token.describe(state.get("last_file"))
        state["last_file"] = d.token.file
    lines = [text]
    tok = d.token
    while tok is not None and tok.file is not None:
        src = tok.source_line()
        lines.append(f"{align}source: {src}")
        lines.append(caret_line(src, tok.col, len(align) + 8))
        if tok.chain is None:
            break
        lines.append("\tin expansion of macro: " + tok.chain.describe())
        tok = tok.chain
    if d.token2 is not None:
        lines.append(d.token2.describe(state.get("last_file")))
        state["last_file"] = d.token2.file
        if d.token2.file is not None:
            src = d.token2.source_line()
            lines.append(f"{align}source: {src}")
            lines.append(caret_line(src, d.token2.col, len(align) + 8))
    out.write("\n".join(lines) + "\n")
    if not is_warning:
        out.write("\n")


def _stap_caret(src: str, col: int, indent: int) -> str:
    """session.cxx print_error_source: whitespace kept (isspace), the rest blanked, then `^`."""
    pad = "".join(ch if ch in " \t\n\v\f\r" else " " for ch in src[: col - 1])
    return " " * indent + pad + "^"


def _parse_error_source(tok: Token, lines: list) -> None:
    while tok is not None and tok.file is not None:
        src = tok.source_line()
        lines.append(f"     source: {src}")
        lines.append(_stap_caret(src, tok.col, 13))
        if tok.chain is None:
            break
        lines.append("\tin expansion of macro: " + tok.chain.describe())
        tok = tok.chain


def render_parse_error(d: "Diagnostic", out) -> None:
    """Print one pass-1 error as stap's build_error_msg(parse_error) does.

    `saw:` for "expected" errors, `at:` when the error names its token (or
    the token is junk), `saw: NAME EOF` with no token.  Chained errors
    (`macro '@x' first defined here`) follow, each with a blank line.
    """
    for e in [d] + list(d.chain):
        tok = e.token
        lines = [f"parse error: {e.message}"]
        if tok is not None and (getattr(e, "explicit", False) or (tok.kind == JUNK and tok.junk)):
            lines.append("         at: " + tok.describe())
            _parse_error_source(tok, lines)
        elif tok is not None:
            lines.append("        saw: " + tok.describe())
            _parse_error_source(tok, lines)
        else:
            lines.append(f"        saw: {getattr(e, 'input_name', '<input>')} EOF")
        out.write("\n".join(lines) + "\n\n")


def parse_errors_suppressed(diagnostics, options) -> list:
    """Which parse errors stap's duplicate elimination hides (same throw site, without -v)."""
    if options is not None and getattr(options, "verbose", 0) > 0:
        return [False] * len(diagnostics)
    seen = set()
    out = []
    for d in diagnostics:
        if d.prefix != "parse error":
            out.append(False)
            continue
        site = getattr(d, "site", None) or d.message
        out.append(site in seen)
        seen.add(site)
    return out


def render_diagnostics(diagnostics, pass_no: int, options, out) -> None:
    """Print diagnostics as stap does for pass `pass_no` (filled in by the parser/semantic rooms)."""
    semantic_state: dict = {}
    hidden = parse_errors_suppressed(diagnostics, options)
    for d, hide in zip(diagnostics, hidden):
        if d.prefix == "parse error":
            if not hide:
                render_parse_error(d, out)
            continue
        if d.prefix == "":
            out.write(d.message + "\n")
            continue
        if d.prefix in ("semantic error", "WARNING"):
            render_semantic_diagnostic(d, out, semantic_state)
            continue
        where = f": {d.token.describe()}" if d.token is not None else ""
        print(f"{d.prefix}: {d.message}{where}", file=out)


def internal_error_line(e: BaseException) -> str:
    """The one line a bug in stapy prints instead of a traceback, naming where it was raised."""
    import os

    tb = e.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    where = f" at {os.path.basename(tb.tb_frame.f_code.co_filename)}:{tb.tb_lineno}" if tb is not None else ""
    return f"ERROR: internal error in stapy (a stapy bug, please report it): {type(e).__name__}: {e}{where}"
