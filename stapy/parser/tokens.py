"""From preprocessed stap tokens to Lark terminals, choosing by parser state.

stap's recursive descent reads some tokens differently depending on where
it is: a probe-point component glues adjacent identifiers, keywords and
`*` (`sys*open`, `.return`); a `->` member may be a keyword; `printf` is a
print function in an expression but a plain name in a declaration.
`parse` reads the tokens, picks for each the first candidate terminal the
LALR driver's current state accepts (otherwise the plain kind, so the
parser reports the error) and feeds it.  Adjacent string literals are
joined here too.
"""
from __future__ import annotations

from stapy.diagnostics import (
    EMBEDDED, IDENTIFIER, JUNK, KEYWORD, NUMBER, OPERATOR, STRING, Token,
)
from stapy.parser.build import number_value
from stapy.parser.lalr import LarkToken
from stapy.parser.preprocess import ParseError


KEYWORD_TERMINALS = {
    "probe": "PROBE", "global": "GLOBAL", "private": "PRIVATE", "function": "FUNCTION",
    "if": "IF", "else": "ELSE", "for": "FOR", "foreach": "FOREACH", "in": "IN",
    "limit": "LIMIT", "return": "RETURN", "delete": "DELETE", "while": "WHILE",
    "break": "BREAK", "continue": "CONTINUE", "next": "NEXT", "string": "STRING_KW",
    "long": "LONG_KW", "try": "TRY", "catch": "CATCH",
}

OPERATOR_TERMINALS = {
    "(": "LPAR", ")": "RPAR", "{": "LBRACE", "}": "RBRACE", "[": "LBRACK", "]": "RBRACK",
    ",": "COMMA", ";": "SEMI", ":": "COLON", ".": "DOT", "?": "QUESTION", "!": "BANG",
    "=": "EQ", "+=": "PLUSEQ", "<<<": "LTLTLT", "||": "OROR", "&&": "ANDAND", "|": "PIPE",
    "^": "CARET", "&": "AMP", "+": "PLUS", "-": "MINUS", "*": "STAR", "/": "SLASH",
    "%": "PERCENT", "~": "TILDE", "->": "ARROW", "++": "CREMENT", "--": "CREMENT",
    "=~": "MATCH_OP", "!~": "MATCH_OP",
    "==": "CMP_OP", "!=": "CMP_OP", "<=": "CMP_OP", ">=": "CMP_OP", "<": "CMP_OP", ">": "CMP_OP",
    "<<": "SHIFT_OP", ">>": "SHIFT_OP", ">>>": "SHIFT_OP",
    "-=": "ASSIGN_OP", "*=": "ASSIGN_OP", "/=": "ASSIGN_OP", "%=": "ASSIGN_OP",
    "<<=": "ASSIGN_OP", ">>=": "ASSIGN_OP", "&=": "ASSIGN_OP", "^=": "ASSIGN_OP",
    "|=": "ASSIGN_OP", ".=": "ASSIGN_OP",
}

AT_TERMINALS = {
    "@cast": "AT_CAST", "@var": "AT_VAR", "@defined": "AT_DEFINED",
    "@probewrite": "AT_PROBEWRITE", "@const": "AT_CONST", "@entry": "AT_ENTRY",
    "@perf": "AT_PERF", "@kregister": "AT_REGISTER", "@uregister": "AT_REGISTER",
    "@kderef": "AT_DEREF", "@uderef": "AT_DEREF", "@avg": "AT_STAT", "@count": "AT_STAT",
    "@sum": "AT_STAT", "@min": "AT_STAT", "@max": "AT_STAT", "@variance": "AT_VARIANCE",
    "@hist_linear": "AT_HIST_LINEAR", "@hist_log": "AT_HIST_LOG",
}

PRINT_TERMINALS = {
    "printf": "PRINT_FMT", "sprintf": "PRINT_FMT",
    "printd": "PRINT_DELIM", "printdln": "PRINT_DELIM", "sprintd": "PRINT_DELIM",
    "sprintdln": "PRINT_DELIM",
    "println": "PRINT_NL", "sprintln": "PRINT_NL",
    "print": "PRINT_PLAIN", "sprint": "PRINT_PLAIN",
}

_CONV = frozenset("bcsmMdiuoXxp")


def check_format(s: str) -> str | None:
    """staptree.cxx string_to_components: the parse error a printf format raises, or None."""
    i, n = 0, len(s)
    while i < n:
        if s[i] != "%":
            i += 1
            continue
        if i + 1 >= n:
            # stap steps past the end here and then finds no conversion
            return "invalid or missing conversion specifier"
        if s[i + 1] == "%":
            i += 2
            continue
        i += 1
        started = False
        if s[i] in "0+- #":
            started = True
            i += 1
        if i >= n:
            return "trailing incomplete print format conversion" if started else None
        if s[i] == "*":
            started = True
            i += 1
        elif s[i].isdigit():
            started = True
            while i < n and s[i].isdigit():
                i += 1
        if i >= n:
            return "trailing incomplete print format conversion" if started else None
        if s[i] == ".":
            i += 1
            if i >= n:
                return "trailing incomplete print format conversion"
            if s[i] == "*":
                i += 1
            elif s[i].isdigit():
                while i < n and s[i].isdigit():
                    i += 1
            started = True
        if i >= n:
            return "trailing incomplete print format conversion" if started else None
        if s[i] == "l":
            i += 1
        if i >= n:
            return "trailing incomplete print format conversion" if started else None
        if s[i] not in _CONV:
            return "invalid or missing conversion specifier"
        i += 1
    return None


class Context:
    """Per-file parse context shared by the token reader (parse) and the builder."""

    def __init__(self, pp, privileged: bool):
        self.pp = pp
        self.privileged = privileged
        self.pending: list[Token] = []
        self.last: Token | None = None  # stap's last_t, for errors without a token
        self.context = "unknown"  # stap's con_probe/con_function/...
        self.prev: str | None = None  # the last two terminals read
        self.prev2: str | None = None
        self.diagnostics = None
        self.parens = 0  # '(' depth, and the depths of open @count(...)-style stat ops
        self.stat_parens: list[int] = []
        self.sort_marks = 0  # sort directives seen in the current foreach header
        self.epilogue_alias = False  # the probe being parsed is a `+=` alias
        self.params: set = set()  # parameter names of the function being parsed
        self.private_decl = False  # inside `private ...`
        self.globals_seen: dict = {}  # global name -> declared private (this file)

    def peek(self) -> Token | None:
        if not self.pending:
            t = self.pp.next()
            if t is None:
                return None
            self.pending.append(t)
        return self.pending[0]

    def take(self) -> Token | None:
        t = self.peek()
        if t is not None:
            self.pending.pop(0)
        return t


def candidates(tok: Token) -> tuple:
    """The terminals `tok` may stand for, in order of preference."""
    cache = _CANDIDATES.get(tok.kind)
    if cache is None:
        return tuple(_candidates(tok))
    c = cache.get(tok.text)
    if c is None:
        c = cache[tok.text] = tuple(_candidates(tok))
    return c


_CANDIDATES: dict = {k: {} for k in (IDENTIFIER, KEYWORD, NUMBER, STRING, EMBEDDED, OPERATOR)}


def _candidates(tok: Token) -> list[str]:
    k = tok.kind
    if k == IDENTIFIER:
        member = "MEMBER_PRETTY" if tok.text.endswith("$") else "MEMBER"
        if tok.text.startswith("$"):
            if tok.text.strip("$") == "":
                return ["PP_WORD", member, "DOLLARS", "IDENT"]
            plain = "TARGET_PRETTY" if tok.text.endswith("$") else "TARGET"
            return ["PP_WORD", member, plain, "IDENT"]
        if tok.text.endswith("$"):
            return ["PP_WORD", member, "IDENT"]
        if tok.text in PRINT_TERMINALS:
            return ["PP_WORD", "MEMBER", PRINT_TERMINALS[tok.text], "IDENT"]
        return ["PP_WORD", "MEMBER", "IDENT"]
    if k == KEYWORD:
        return ["PP_WORD", "MEMBER", KEYWORD_TERMINALS[tok.text]]
    if k == NUMBER:
        return ["NUMBER"]
    if k == STRING:
        return ["STRING"]
    if k == EMBEDDED:
        return ["EMBEDDED"]
    if k == OPERATOR:
        if tok.text == "*":
            return ["PP_WORD", "STAR"]
        if tok.text.startswith("@"):
            return [AT_TERMINALS.get(tok.text, "AT_OTHER")]
        return [OPERATOR_TERMINALS.get(tok.text, "OTHER_OP")]
    return ["JUNK"]


# Terminals whose reading needs more than the first candidate the state accepts:
# gluing, string joining, context bookkeeping, privilege and value checks.
_SPECIAL = frozenset([
    "PP_WORD", "STRING", "RETURN", "EMBEDDED", "AT_CONST", "AT_REGISTER", "AT_DEREF", "PROBE",
    "FUNCTION", "GLOBAL", "PRIVATE", "FOREACH", "AT_STAT", "AT_VARIANCE",
])


def parse(ctx, driver):
    """Run one LALR parse over `ctx`'s tokens; the value of `start`.

    A ParseError raised while reading or classifying a token is marked
    `from_lexer` (it has not reached the parser); one raised by a Builder
    method during a reduction is not.

    The loop reads most tokens itself (the first candidate the state accepts,
    outside any @count(...) argument and not after `return`); the others go
    through _next_terminal, which knows every rule."""
    feed = driver.feed
    actions = driver.actions
    stack = driver.stack
    values = driver.values
    pending = ctx.pending
    pp = ctx.pp
    pp_next = pp.next
    lexer_scan = pp.lexer_scan
    special = _SPECIAL
    cand_cache = _CANDIDATES
    while True:
        try:
            if pending:
                tok = pending.pop(0)
            elif pp.acts or pp.pp_state:  # a macro expansion or conditional in progress
                tok = pp_next()
            else:  # pp.next()'s own fast path, a call less
                tok = lexer_scan()
                if tok is not None and tok.kind == OPERATOR and tok.text[0] in "%@":
                    tok = pp.resume(tok)
            stat = ctx.stat_parens
            if tok is None or (stat and stat[-1] == ctx.parens) or ctx.prev == "RETURN":
                lt = _next_terminal(ctx, driver, tok)
            else:
                cache = cand_cache.get(tok.kind)
                cands = cache.get(tok.text) if cache is not None else None
                if cands is None:
                    cands = candidates(tok)
                accepted = actions[stack[-1]]
                for term in cands:
                    if term in accepted:
                        break
                else:
                    term = None
                if term is None or term in special or (
                        term == "NUMBER" and number_value(tok.text) is None):
                    lt = _next_terminal(ctx, driver, tok)
                else:
                    if term == "LPAR":
                        ctx.parens += 1
                    elif term == "RPAR":
                        ctx.parens -= 1
                    ctx.last = ctx.current = tok
                    ctx.prev2 = ctx.prev
                    ctx.prev = term
                    lt = LarkToken(term, tok.text, tok, ctx.private_decl)
                    act = accepted[term]
                    if act >= 0:  # a plain shift: no need for the driver's loop
                        stack.append(act)
                        values.append(lt)
                        continue
        except ParseError as e:
            e.from_lexer = True
            raise
        if lt is None:
            return driver.finish()
        feed(lt.type, lt)


def _next_terminal(ctx, driver, tok):
    """Stap token `tok` (just taken) as the terminal the parser's state wants, or None at the end."""
    if tok is None:
        ctx.last = None
        if ctx.prev == "RETURN":
            raise ParseError("expected ';', '}' or an expression statement", None,
                             explicit=False, no_token=True)
        return None
    ctx.last = tok
    accepted = driver.actions[driver.stack[-1]]
    would_accept = driver.accepts
    cands = candidates(tok)
    term = next((c for c in cands if c in accepted), None)
    in_stat = bool(ctx.stat_parens) and ctx.stat_parens[-1] == ctx.parens
    if in_stat and term is not None and accepted[term] < 0 and not would_accept(term):
        term = None  # an LALR lookahead merged from another context
    if term is None:
        # LALR may decide only after reductions: simulate them
        term = next((c for c in cands if would_accept(c)), None)
    if term is None:
        # @count(x junk...): stap's stat-op loop skips tokens up to ',' or ')'
        stat_junk = in_stat and not (tok.kind == OPERATOR and tok.text == ",") \
            and would_accept("STAT_JUNK")
        term = "STAT_JUNK" if stat_junk else cands[-1]
    if term == "LPAR":
        ctx.parens += 1
    elif term == "RPAR":
        if ctx.stat_parens and ctx.stat_parens[-1] == ctx.parens:
            ctx.stat_parens.pop()
        ctx.parens -= 1
    elif term in ("AT_STAT", "AT_VARIANCE"):
        ctx.stat_parens.append(ctx.parens + 1)
    # a junk token goes to the parser like any other: the parse_* function that
    # meets it fails as usual (its throw site counts for duplicates), and the
    # error is printed with the junk's own message (parse._diag_from)
    text = tok.text
    if term == "PP_WORD":
        # stap's parse_component: glue adjacent ident/keyword/'*' pieces
        while True:
            u = ctx.peek()
            if u is None or u.ws_before:
                break
            if not (u.kind in (IDENTIFIER, KEYWORD) or (u.kind == OPERATOR and u.text == "*")):
                break
            text += u.text
            ctx.take()
    elif term == "STRING":
        # consume_string_literals: adjacent literals join
        while True:
            u = ctx.peek()
            if u is None or u.kind != STRING:
                break
            text += u.text
            ctx.take()
        if ctx.prev2 == "PRINT_FMT" and ctx.prev == "LPAR":
            msg = check_format(text)
            if msg is not None:
                nxt = ctx.peek()
                ctx.last = nxt
                raise ParseError(msg, nxt, explicit=False)
    elif term not in accepted:
        pass  # the parser will report it
    elif term == "RETURN" and ctx.context != "function":
        raise ParseError("found 'return' not in function context", tok, explicit=False)
    elif term == "EMBEDDED" and not ctx.privileged:
        if "NUMBER" in accepted and would_accept("NUMBER"):
            # parse_value throws before consuming: the token is read again at top level
            ctx.pending.insert(0, tok)
            raise ParseError("embedded expression code in unprivileged script; need stap -g",
                             tok, explicit=False, skip=False)
        raise ParseError("embedded code in unprivileged script; need stap -g",
                         tok, explicit=False, skip=False)
    elif term in ("AT_CONST", "AT_REGISTER", "AT_DEREF") and not ctx.privileged \
            and "NUMBER" in accepted and not tok.text.startswith("@u"):
        what = tok.text[1:]
        raise ParseError(f"using @{what} operator not permitted; need stap -g",
                         tok, explicit=False, skip=False)
    elif term in ("PROBE", "FUNCTION", "GLOBAL", "PRIVATE") and "PROBE" in accepted:
        ctx.context = {"PROBE": "probe", "FUNCTION": "function", "GLOBAL": "global",
                       "PRIVATE": "unknown"}[term]
    elif term == "FOREACH":
        ctx.sort_marks = 0
    if term == "PRIVATE":
        ctx.private_decl = True
    elif term in ("PROBE", "GLOBAL", "FUNCTION", "EMBEDDED") and ctx.prev != "PRIVATE":
        ctx.private_decl = False
    if term == "NUMBER" and term in accepted and number_value(text) is None:
        # parse_literal checks a number as soon as it reads it
        ctx.prev2, ctx.prev = ctx.prev, term
        ctx.current = tok
        raise ParseError("number invalid or out of range", tok, explicit=False,
                         site="number invalid or out of range")
    if term == "PROBE":
        ctx.epilogue_alias = False
    elif term == "FUNCTION":
        ctx.params = set()
        if ctx.prev == "PRIVATE":
            ctx.context = "function"
    if ctx.prev == "RETURN" and term not in ("SEMI", "RBRACE") \
            and term in accepted and accepted[term] < 0:
        # stap's return takes a value unless ';' or '}' follows: anything else
        # goes to parse_expression (the grammar would start a new statement)
        raise ParseError("expected literal string or number", tok, explicit=False,
                         site="expected literal string or number")
    ctx.prev2, ctx.prev = ctx.prev, term
    ctx.current = tok
    return LarkToken(term, text, tok, ctx.private_decl)
