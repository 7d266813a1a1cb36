"""stap's two-stage preprocessor (parse.cxx scan_pp1 / scan_pp), run lazily.

Stage 1 defines and expands macros (`@define`, `@NAME(args)`, file-local,
then the global `.stpm` library macros).  Stage 2 evaluates `%( COND %? A
%: B %)` conditionals on the expanded tokens.  Both run on demand as the
parser pulls tokens, so their errors interleave with parse errors in stap's
order.  Expanded tokens are copies keeping the location of the text they
came from, with `chain` pointing at the invocation.
"""
from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass, field

from stapy.diagnostics import IDENTIFIER, NUMBER, OPERATOR, STRING, Token
from stapy.parser.lexer import ATWORDS


class ParseError(Exception):
    """One stap parse error.  `token` None means "the last token the parser saw".

    `site` stands for stap's throw site (errsrc), which decides duplicate
    suppression; `skip` False means no recovery skipping (stap's skip_some).
    """

    def __init__(self, message: str, token: Token | None = None, *, explicit: bool = True,
                 skip: bool = True, chain: "ParseError | None" = None, site: str | None = None,
                 no_token: bool = False):
        super().__init__(message)
        self.no_token = no_token  # stap had swallowed its last token: prints `saw: <input> EOF`
        self.message = message
        self.token = token
        self.explicit = explicit  # stap's pe.tok set: prints `at:` rather than `saw:`
        self.skip = skip
        self.chain = chain
        self.site = site or message


@dataclass
class Macro:
    name: str
    tok: Token | None
    params: list[str] = field(default_factory=list)
    body: list[Token] = field(default_factory=list)
    library: bool = False
    # a parameter closure: evaluated with the activation that invoked its macro
    closure_params: dict | None = None


@dataclass
class _Activation:
    tok: Token
    macro: Macro
    params: dict = field(default_factory=dict)
    cursor: int = 0


# Active macro invocations at most (stap has no limit, and loops on a recursive macro).
MAX_MACRO_DEPTH = 200


_new = object.__new__


def _is_op(t, text):
    return t is not None and t.kind == OPERATOR and t.text == text


def strverscmp(a: str, b: str) -> int:
    """glibc strverscmp: compare strings treating digit runs as versions (leading zeros as fractions)."""
    i = j = 0
    la, lb = len(a), len(b)
    while i < la and j < lb:
        ca, cb = a[i], b[j]
        if ca.isdigit() and cb.isdigit():
            si = i
            while i < la and a[i].isdigit():
                i += 1
            sj = j
            while j < lb and b[j].isdigit():
                j += 1
            ra, rb = a[si:i], b[sj:j]
            fa, fb = ra.startswith("0"), rb.startswith("0")
            if fa or fb:
                # fractional parts: compare char by char, the longer one is smaller when a prefix
                k = 0
                while k < len(ra) and k < len(rb):
                    if ra[k] != rb[k]:
                        return -1 if ra[k] < rb[k] else 1
                    k += 1
                if len(ra) != len(rb):
                    if not fa or not fb:
                        return -1 if fa else 1
                    return 1 if len(ra) < len(rb) else -1
                continue
            if len(ra) != len(rb):
                return -1 if len(ra) < len(rb) else 1
            if ra != rb:
                return -1 if ra < rb else 1
            continue
        if ca != cb:
            return -1 if ca < cb else 1
        i += 1
        j += 1
    if i < la:
        return 1
    if j < lb:
        return -1
    return 0


def _strtoll(s: str):
    """strtoll(s, &end, 0) with *end == 0 required; "" reads as 0 (an unset CONFIG_)."""
    s = s.lstrip()
    if s == "":
        return 0
    m = re.fullmatch(r"[+-]?(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)", s)
    if not m:
        return None
    return int(s, 0) if not re.fullmatch(r"[+-]?0[0-7]+", s) else int(s.replace("0", "0o", 1), 0)


def _lex_int(text: str) -> int:
    """boost lex_cast<int64_t>: plain decimal digits (a number token)."""
    try:
        return int(text, 10)
    except ValueError:
        raise ParseError("bad lexical cast", None)


def _compare(lhs, op: Token, rhs) -> bool:
    o = op.text if op.kind == OPERATOR else None
    if o == "<=":
        return lhs <= rhs
    if o == ">=":
        return lhs >= rhs
    if o == "<":
        return lhs < rhs
    if o == ">":
        return lhs > rhs
    if o == "==":
        return lhs == rhs
    if o == "!=":
        return lhs != rhs
    raise ParseError("expected comparison operator", op)


class PPConfig:
    """The facts conditionals test, taken from Options."""

    def __init__(self, options=None):
        rel = getattr(options, "kernel_release", None) or os.uname().release
        self.kernel_release = rel
        self.kernel_base_release = rel.split("-", 1)[0]
        self.compatible = getattr(options, "compatible", None) or "5.6"
        self.arch = "x86_64"
        self.runtime = getattr(options, "runtime", None) or (
            (getattr(options, "extra", None) or {}).get("runtime", "kernel"))
        self.privilege = "stapusr" if getattr(options, "unprivileged", False) else "stapdev"
        self.guru = 1 if getattr(options, "guru", False) else 0
        self.kernel_config: dict[str, str] = {}


def _eq_ne(op: Token, nomatch: bool) -> bool:
    if _is_op(op, "=="):
        return not nomatch
    if _is_op(op, "!="):
        return nomatch
    raise ParseError("expected '==' or '!='", op)


def eval_condition(cfg: PPConfig, l: Token, op: Token, r: Token) -> bool:
    """parse.cxx eval_pp_conditional."""
    if l.kind == IDENTIFIER and l.text in ("kernel_v", "kernel_vr", "systemtap_v"):
        if r.kind != STRING:
            raise ParseError("expected string literal", r)
        target = {"kernel_v": cfg.kernel_base_release, "kernel_vr": cfg.kernel_release,
                  "systemtap_v": cfg.compatible}[l.text]
        query = r.text
        wild = any(c in query for c in "*?[")
        o = op.text if op.kind == OPERATOR else None
        table = {"<=": (-1, 0, False), ">=": (1, 0, False), "<": (-1, -1, False),
                 ">": (1, 1, False), "==": (0, 0, True), "!=": (-1, 1, True)}
        if o not in table:
            raise ParseError("expected comparison operator", op)
        ok1, ok2, wc_ok = table[o]
        if not wc_ok and wild:
            raise ParseError("wildcard not allowed with order comparison operators", op)
        if wild:
            matched = fnmatch.fnmatchcase(target, query)
            return not (matched ^ (o == "=="))
        res = strverscmp(target, query)
        return res in (ok1, ok2)
    if l.kind == IDENTIFIER and l.text == "systemtap_privilege":
        if r.kind != STRING:
            raise ParseError("expected string literal", r)
        return _eq_ne(op, cfg.privilege != r.text)
    if l.kind == IDENTIFIER and l.text == "guru_mode":
        if r.kind != NUMBER:
            raise ParseError("expected number", r)
        rhs = _lex_int(r.text)
        if rhs not in (0, 1):
            raise ParseError("expected 0 or 1", op)
        if not (_is_op(op, "==") or _is_op(op, "!=")):
            raise ParseError("expected '==' or '!='", op)
        return _compare(cfg.guru, op, rhs)
    if l.kind == IDENTIFIER and l.text in ("arch", "runtime"):
        if r.kind != STRING:
            raise ParseError("expected string literal", r)
        target = cfg.arch if l.text == "arch" else cfg.runtime
        return _eq_ne(op, not fnmatch.fnmatchcase(target, r.text))
    if l.kind == IDENTIFIER and l.text.startswith("CONFIG_"):
        lhs_s = cfg.kernel_config.get(l.text, "")
        if r.kind == STRING:
            return _eq_ne(op, not fnmatch.fnmatchcase(lhs_s, r.text))
        if r.kind == NUMBER:
            lhs = _strtoll(lhs_s)
            if lhs is None:
                raise ParseError("Config option value not a number", l)
            return _compare(lhs, op, _lex_int(r.text))
        if r.kind == IDENTIFIER and r.text.startswith("CONFIG_"):
            rhs_s = cfg.kernel_config.get(r.text, "")
            a, b = _strtoll(lhs_s), _strtoll(rhs_s)
            if a is not None and b is not None:
                return _compare(a, op, b)
            return _compare(lhs_s, op, rhs_s)
        raise ParseError(
            "expected string, number literal or other CONFIG_... as right side operand", r)
    if l.kind == STRING and r.kind == STRING:
        return _compare(l.text, op, r.text)
    if l.kind == NUMBER and r.kind == NUMBER:
        return _compare(_lex_int(l.text), op, _lex_int(r.text))
    if l.kind == STRING and r.kind == NUMBER and op.kind == OPERATOR:
        raise ParseError("expected string literal as right value", r)
    if l.kind == NUMBER and r.kind == STRING and op.kind == OPERATOR:
        raise ParseError("expected number literal as right value", r)
    raise ParseError(
        "expected 'arch', 'kernel_v', 'kernel_vr', 'systemtap_v',\n"
        "             'runtime', 'systemtap_privilege', 'CONFIG_...', or\n"
        "             comparison between strings or integers", l)


class Preprocessor:
    """Pulls tokens from a lexer, expands macros and conditionals.

    `library_macros` maps name -> Macro (from .stpm files); `warn(msg, tok)`
    reports warnings.  `defined` collects this file's macros (for .stpm files).
    """

    def __init__(self, lexer, cfg: PPConfig, library_macros=None, warn=None):
        self.lexer = lexer
        self.lexer_scan = lexer.scan
        self.cfg = cfg
        self.library = library_macros if library_macros is not None else {}
        self.warn = warn
        self.namespace: dict[str, Macro] = {}
        self.acts: list[_Activation] = []
        self.pp_state: list[list] = []  # [token, state]
        self.pushback: Token | None = None  # a token the fast path in next() read ahead

    # -- stage 1: macros ----------------------------------------------------
    def _next_pp1(self):
        if not self.acts:
            if self.pushback is not None:
                t, self.pushback = self.pushback, None
                return t
            return self.lexer.scan()
        act = self.acts[-1]
        if act.cursor < len(act.macro.body):
            t = act.macro.body[act.cursor]
            act.cursor += 1
            copy = _new(Token)  # dataclasses.replace(t, chain=act.tok), a few times faster
            copy.__dict__.update(t.__dict__)
            copy.chain = act.tok
            return copy
        return None

    def scan_pp1(self, ignore_macros: bool = False):
        while True:
            t = self._next_pp1()
            if t is None:
                if not self.acts:
                    return None
                self.acts.pop()
                continue
            if t.kind == OPERATOR and t.text == "@define" and not ignore_macros:
                self._define(t)
                continue
            if t.kind == OPERATOR and t.text.startswith("@"):
                name = t.text[1:]
                act = self.acts[-1] if self.acts else None
                if act is not None and name in act.params:
                    decl = act.params[name]
                elif not (act is not None and act.macro.library) and name in self.namespace:
                    decl = self.namespace[name]
                elif name in self.library:
                    decl = self.library[name]
                else:
                    return t
                if len(self.acts) >= MAX_MACRO_DEPTH:
                    # a macro that invokes itself: stap expands it forever; give up on the
                    # whole expansion so that error recovery goes on with the file's text
                    del self.acts[:]
                    raise ParseError("macro expansion too deep (does a macro invoke itself?)", t)
                new_act = _Activation(t, decl)
                n = len(decl.params)
                if n == 0 and decl.closure_params is not None:
                    new_act.params = decl.closure_params
                    self.acts.append(new_act)
                    continue
                if n:
                    t2 = self._next_pp1()
                    if not _is_op(t2, "("):
                        s = "" if n == 1 else "s"
                        err = ParseError(
                            f"expected '(' in invocation of macro '@{name}' taking {n} parameter{s}",
                            t2, no_token=t2 is None)
                        err.pp_eof = t2 is None
                        raise err
                    for i in range(n):
                        body: list[Token] = []
                        sep = self._slurp_param(body)
                        p = Macro(decl.params[i], t, body=body,
                                  closure_params=(act.params if act is not None else {}))
                        new_act.params[decl.params[i]] = p
                        if sep is None:
                            raise ParseError("could not find end of macro invocation", t)
                        if _is_op(sep, ","):
                            if i + 1 == n:
                                raise ParseError(
                                    f"too many parameters for macro '@{name}' (expected {n})", sep)
                        elif _is_op(sep, ")"):
                            if i + 1 != n:
                                raise ParseError(
                                    f"too few parameters for macro '@{name}' (expected {n})", sep)
                self.acts.append(new_act)
                continue
            return t

    def _define(self, at: Token) -> None:
        if self.acts:
            raise ParseError("'@define' forbidden inside macro body", at)
        t = self.lexer.scan()
        if t is None or t.kind != IDENTIFIER:
            raise ParseError("expected identifier", t, site="define-ident")
        name = t.text
        if name in self.namespace:
            first = self.namespace[name].tok
            raise ParseError(f"attempt to redefine macro '@{name}' in the same file", t,
                             chain=ParseError(f"macro '@{name}' first defined here", first))
        if name == "define":
            raise ParseError("attempt to redefine '@define'", t)
        if name in ATWORDS and self.warn is not None:
            self.warn(f"macro redefines built-in operator '@{name}'", t)
        decl = Macro(name, t)
        self.namespace[name] = decl
        saw_params = False
        t = self.lexer.scan()
        if _is_op(t, "("):
            saw_params = True
            while True:
                t = self.lexer.scan()
                if t is None or t.kind != IDENTIFIER:
                    raise ParseError("expected identifier", t, site="define-param")
                decl.params.append(t.text)
                t = self.lexer.scan()
                if _is_op(t, ","):
                    continue
                if _is_op(t, ")"):
                    t = self.lexer.scan()
                    break
                raise ParseError("expected ',' or ')'", t, site="define-sep")
        if not _is_op(t, "%("):
            raise ParseError("expected '%('" if saw_params else "expected '%(' or '('", t)
        nesting = 0
        while True:
            t = self._next_pp1()
            if t is None:
                raise ParseError("incomplete macro definition - missing '%)'", decl.tok)
            if _is_op(t, "%("):
                nesting += 1
            elif nesting and _is_op(t, "%)"):
                nesting -= 1
            elif not nesting and _is_op(t, "%)"):
                break
            decl.body.append(t)

    def _slurp_param(self, body: list) -> Token | None:
        nesting = 0
        while True:
            t = self._next_pp1()
            if t is None:
                return None
            if t.kind == OPERATOR and t.text in ("(", "["):
                nesting += 1
            elif nesting and t.kind == OPERATOR and t.text in (")", "]"):
                nesting -= 1
            elif not nesting and t.kind == OPERATOR and t.text in (")", ","):
                return t
            body.append(t)

    # -- stage 2: conditionals ----------------------------------------------
    def next(self) -> Token | None:
        """The next token after preprocessing, or None at the end."""
        if not self.acts and not self.pp_state:
            # fast path: straight from the lexer unless the token is a preprocessor word
            t = self.lexer_scan()
            if t is None or t.kind != OPERATOR or t.text[0] not in "%@":
                return t
            self.pushback = t
        return self._next()

    def resume(self, t: Token) -> Token | None:
        """`next()` for a caller that, no macro expansion or conditional being in progress,
        read `t` from the lexer itself (next()'s fast path) and found a `%`/`@` word."""
        self.pushback = t
        return self._next()

    def _next(self) -> Token | None:
        while True:
            pp = self.pp_state[-1][1] if self.pp_state else "none"
            if pp in ("skip_then", "skip_else"):
                t = self._skip()
            else:
                t = self.scan_pp1()
            if t is None:
                if pp != "none":
                    start = self.pp_state.pop()[0]
                    raise ParseError("incomplete conditional at end of file", start)
                return None
            if _is_op(t, "%?"):
                raise ParseError("incomplete conditional - missing '%('", t, site="pp-then")
            if _is_op(t, "%:"):
                if pp == "none":
                    raise ParseError("incomplete conditional - missing '%('", t, site="pp-else")
                if pp in ("keep_else", "skip_else"):
                    raise ParseError("invalid conditional - duplicate '%:'", t)
                self.pp_state[-1][1] = "skip_else" if pp == "keep_then" else "keep_else"
                continue
            if _is_op(t, "%)"):
                if pp == "none":
                    raise ParseError("incomplete conditional - missing '%('", t, site="pp-close")
                self.pp_state.pop()
                continue
            if not _is_op(t, "%("):
                return t
            result = False
            and_result = True
            while True:
                l = self.scan_pp1()
                op = self.scan_pp1()
                r = self.scan_pp1()
                if l is None or op is None or r is None:
                    raise ParseError("incomplete condition after '%('", t)
                and_result = eval_condition(self.cfg, l, op, r) and and_result
                n = self.scan_pp1()
                if _is_op(n, "&&"):
                    continue
                result = result or and_result
                and_result = True
                if not _is_op(n, "||"):
                    break
            if not _is_op(n, "%?"):
                raise ParseError("expected '%?' marker for conditional", t)
            self.pp_state.append([t, "keep_then" if result else "skip_then"])

    def _skip(self) -> Token | None:
        nesting = 0
        while True:
            try:
                t = self.scan_pp1(True)
            except ParseError:
                continue
            if t is None:
                return None
            if _is_op(t, "%("):
                nesting += 1
            elif nesting and _is_op(t, "%)"):
                nesting -= 1
            elif not nesting and t.kind == OPERATOR and t.text in ("%:", "%?", "%)"):
                return t
