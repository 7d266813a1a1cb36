"""stap's lexer (parse.cxx lexer::scan), hand-written because it is context sensitive.

It yields `diagnostics.Token` values.  Command-line arguments (`$1`, `@1`,
`$#`, `@#`) are pasted into the character stream before tokenizing, exactly
as stap does: the pasted characters are lexed again and every token they
produce carries the location of the `$N` itself.  Malformed input becomes a
`junk` token whose `junk` field holds stap's message; the parser reports it
when it reaches it.
"""
from __future__ import annotations

import re

from stapy.diagnostics import (
    EMBEDDED, IDENTIFIER, JUNK, KEYWORD, NUMBER, OPERATOR, STRING, SourceFile, Token,
)

KEYWORDS = frozenset(
    "probe global private function if else for foreach in limit return delete while "
    "break continue next string long try catch".split()
)

# Built-in @-operators (parse.cxx atwords): a macro of the same name warns.
ATWORDS = frozenset(
    "cast defined probewrite entry perf var avg count sum min max hist_linear hist_log "
    "const variance kregister uregister kderef uderef".split()
)

_THREE = ("<<<", ">>>", "<<=", ">>=")
_TWO = frozenset(
    "== != <= >= =~ !~ += -= *= /= %= &= ^= |= .= && || ++ -- -> << >> %( %? %: %)".split()
)
_SPACE = " \t\n\v\f\r"
_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_IDENT_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_$@")
_IDENT_REST = _ALNUM | {"_", "$"}
_DIGITS = frozenset("0123456789")
_PUNCT = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
_STRING_ESCAPES = frozenset("abtnvfr01234567\\x")

# The common tokens in one match: the whitespace and comments before a token, then an
# identifier, number, one-line string or operator.  Anything else (an `$N`/`@N`
# argument, a string with a newline or unclosed, `%{`, an unclosed comment, a junk
# character, a pasted argument) is left to the character-at-a-time scanner.
_FAST = re.compile(r"""
    ((?:[ \t\n\v\f\r]+ | \#[^\n]*\n? | //[^\n]*\n? | /\*[\s\S]*?\*/)*)
    (?:
        ([A-Za-z_][A-Za-z0-9_$]*)
      | ([$@](?![0-9#])[A-Za-z0-9_$]*)
      | ([0-9][A-Za-z0-9]*)
      | "((?:[^"\\\n] | \\[^\n])*)"
      | (<<< | >>> | <<= | >>= | == | != | <= | >= | =~ | !~ | \+= | -= | \*= | /= | %= | &= | \^=
         | \|= | \.= | && | \|\| | \+\+ | -- | -> | << | >> | %[(?:)] | %(?!\{) | /(?!\*)
         | [!&'()*+,\-.:;<=>?\[\\\]^`{|}~])
    )?
""", re.VERBOSE)

_ESCAPE = re.compile(r"\\(.)")

JUNK_NESTED_ARG = "invalid nested substitution of command line arguments"
JUNK_UNCLOSED_QUOTE = "Could not find matching closing quote"
JUNK_UNCLOSED_EMBEDDED = "Could not find matching '%}' to close embedded function block"
JUNK_UNKNOWN = "unknown junk token"


def quote_arg(s: str) -> str:
    """stap's lex_cast_qstring: quote a string, escaping '"', '\\' and non-printables in octal."""
    out = ['"']
    for ch in s.encode("utf-8", "surrogateescape"):
        if ch < 0x20 or ch >= 0x7F:
            out.append("\\" + format(ch, "03o"))
        elif ch in (0x22, 0x5C):
            out.append("\\" + chr(ch))
        else:
            out.append(chr(ch))
    out.append('"')
    return "".join(out)


class Lexer:
    """Scans one file.  `args` are the command-line arguments for $N/@N pasting;
    `used_args` (a set of 0-based indexes) records which ones were pasted."""

    def __init__(self, source: SourceFile, args=(), used_args=None, warn=None, check_x_escape=True,
                 compatible: str | None = None):
        self.file = source
        self.buf = source.text
        self.pos = 0
        self.line = 1
        self.col = 1
        self.args = list(args)
        self.used_args = used_args if used_args is not None else set()
        self.warn = warn  # callback(message, token) for lexer warnings
        self.saw_tokens = False
        self.check_x_escape = check_x_escape
        self.keywords = KEYWORDS
        if compatible is not None:
            from stapy.parser.preprocess import strverscmp

            # --compatible: `\x` escapes came in 2.3, the `private` keyword in 3.0
            self.check_x_escape = strverscmp(compatible, "2.3") >= 0
            if strverscmp(compatible, "3.0") < 0:
                self.keywords = KEYWORDS - {"private"}
        # input_put bookkeeping: while > 0, the cursor does not move
        self.suspend = 0
        self.suspend_line = 1
        self.suspend_col = 1
        # scan(): the next token, or None at the end (and ever after)
        self.scan = self._fast().__next__

    # -- characters ---------------------------------------------------------
    def _peek(self, k: int = 0) -> str:
        p = self.pos + k
        return self.buf[p] if p < len(self.buf) else ""

    def _get(self) -> str:
        if self.pos >= len(self.buf):
            return ""
        c = self.buf[self.pos]
        self.pos += 1
        if self.suspend:
            self.suspend -= 1
            if self.suspend == 0:
                self.line, self.col = self.suspend_line, self.suspend_col
        elif c == "\n":
            self.line += 1
            self.col = 1
        else:
            self.col += 1
        return c

    def _put(self, chars: str, line: int, col: int) -> None:
        """Insert pasted characters at the read position; they lex with (line, col)."""
        self.buf = self.buf[: self.pos] + chars + self.buf[self.pos:]
        if not chars:
            return
        if not self.suspend:
            self.suspend_line, self.suspend_col = self.line, self.col
        self.suspend += len(chars)
        self.line, self.col = line, col

    # -- tokens -------------------------------------------------------------
    def tokens(self):
        while True:
            t = self.scan()
            if t is None:
                return
            yield t

    def _fast(self):
        """The scanner as a generator (its state in locals while it runs the regex fast
        path); hands over to `_scan` for whatever _FAST leaves, then picks up again."""
        match = _FAST.match
        file = self.file
        keywords = self.keywords
        escapes = _STRING_ESCAPES if self.check_x_escape else _STRING_ESCAPES - {"x"}
        while True:
            if self.suspend:
                t = self._scan(False)
                if t is not None:
                    self.saw_tokens = True
                yield t
                continue
            buf, pos, line, col = self.buf, self.pos, self.line, self.col
            while True:
                m = match(buf, pos)
                start = m.end(1)
                if start != pos:
                    nl = buf.count("\n", pos, start)
                    if nl:
                        line += nl
                        col = start - buf.rindex("\n", pos, start)
                    else:
                        col += start - pos
                    ws = True
                else:
                    ws = False
                kind = m.lastindex
                if kind == 1:
                    break
                pos = m.end()
                text = m.group(kind)
                if kind == 2:
                    kind = KEYWORD if text in keywords else IDENTIFIER
                elif kind == 5:
                    kind = STRING
                    if "\\" in text:
                        text = _ESCAPE.sub(lambda e: e.group(0) if e.group(1) in escapes else e.group(1), text)
                elif kind == 6:
                    kind = OPERATOR
                elif kind == 4:
                    kind = NUMBER
                else:
                    kind = OPERATOR if text[0] == "@" else IDENTIFIER
                self.saw_tokens = True
                yield Token(kind, text, file, line, col, None, ws)  # chain=None, ws_before=ws
                col += pos - start
            # the character-at-a-time scanner takes this token
            self.pos, self.line, self.col = start, line, col
            t = self._scan(ws)
            if t is not None:
                self.saw_tokens = True  # comments alone leave a file "empty", not "empty after preprocessing"
            yield t

    def _scan(self, ws: bool) -> Token | None:
        """The character-at-a-time scanner: stap's lexer::scan, `$N` pasting and all."""
        while True:
            suspended = self.suspend > 0
            line, col = self.line, self.col
            c = self._get()
            if c == "":
                return None
            if c in _SPACE:
                ws = True
                continue
            c2 = self._peek()
            tok = Token(OPERATOR, "", self.file, line, col, ws_before=ws)
            if c in "$@" and c2 == "#":
                self._get()
                if suspended:
                    return self._junk(tok, c + c2, JUNK_NESTED_ARG)
                n = len(self.args)
                self._put(str(n) if c == "$" else quote_arg(str(n)), line, col)
                continue
            if c in "$@" and c2 in _DIGITS and c2:
                idx = 0
                digits = c
                while True:
                    self._get()
                    digits += c2
                    idx = idx * 10 + int(c2)
                    c2 = self._peek()
                    if not (c2 and c2 in _DIGITS and idx <= len(self.args)):
                        break
                if suspended:
                    return self._junk(tok, digits, JUNK_NESTED_ARG)
                if idx == 0 or idx - 1 >= len(self.args):
                    return self._junk(
                        tok, digits, f"command line argument out of range [1-{len(self.args)}]")
                self.used_args.add(idx - 1)
                arg = self.args[idx - 1]
                self._put(arg if c == "$" else quote_arg(arg), line, col)
                continue
            if c in _IDENT_START:
                j = self.pos
                buf = self.buf
                n = len(buf)
                while j < n and buf[j] in _IDENT_REST:
                    j += 1
                word = c + buf[self.pos:j]
                if self.suspend:
                    for _ in range(j - self.pos):
                        self._get()
                else:
                    self.col += j - self.pos
                    self.pos = j
                tok.text = word
                if c == "@":
                    tok.kind = OPERATOR
                elif word in self.keywords:
                    tok.kind = KEYWORD
                else:
                    tok.kind = IDENTIFIER
                return tok
            if c in _DIGITS:
                word = c
                while (c2 := self._peek()) and c2 in _ALNUM:
                    word += self._get()
                tok.kind = NUMBER
                tok.text = word
                return tok
            if c == '"':
                return self._string(tok)
            if c in _PUNCT:
                c3 = self._peek(1)
                if c == "#" or (c == "/" and c2 == "/"):
                    this_line = self.line
                    while True:
                        ch = self._get()
                        if ch == "" or self.line != this_line:
                            break
                    ws = True
                    continue
                if c == "/" and c2 == "*":
                    self._get()
                    a = self._get()
                    b = self._get()
                    while b != "":
                        if a == "*" and b == "/":
                            break
                        a = b
                        b = self._get()
                    ws = True
                    continue
                if c == "%" and c2 == "{":
                    return self._embedded(tok)
                tok.kind = OPERATOR
                if c + c2 + c3 in _THREE:
                    self._get()
                    self._get()
                    tok.text = c + c2 + c3
                elif c + c2 in _TWO:
                    self._get()
                    tok.text = c + c2
                else:
                    tok.text = c
                return tok
            # an unknown character is an ordinary (junk) token: the parser names it as `\x01`
            tok.kind = JUNK
            tok.text = "\\x%02x" % ord(c) if ord(c) < 256 else "\\x%x" % ord(c)
            return tok

    def _junk(self, tok: Token, text: str, message: str) -> Token:
        # stap 4.8 prints every junk token with empty text: `junk '' at F:L:C`
        tok.kind = JUNK
        tok.text = ""
        tok.junk = message
        return tok

    def _string(self, tok: Token) -> Token:
        out = []
        while True:
            c = self._get()
            if c == "" or c == "\n":
                # stap 4.8 prints the unclosed string's junk token with empty text
                return self._junk(tok, "", JUNK_UNCLOSED_QUOTE)
            if c == '"':
                break
            if c == "\\":
                c = self._get()
                if c in _STRING_ESCAPES and c and (c != "x" or self.check_x_escape):
                    out.append("\\")
                out.append(c)
            else:
                out.append(c)
        tok.kind = STRING
        tok.text = "".join(out)
        return tok

    def _embedded(self, tok: Token) -> Token:
        self._get()  # the '{'
        out = []
        a = self._get()
        b = self._get()
        while b != "":
            if a == "%" and b == "}":
                tok.kind = EMBEDDED
                tok.text = "".join(out)
                return tok
            if a == "}" and b == "%" and self.warn is not None:
                self.warn("possible erroneous closing '}%', use '%}'?", tok)
            out.append(a)
            a = b
            b = self._get()
        return self._junk(tok, "", JUNK_UNCLOSED_EMBEDDED)
