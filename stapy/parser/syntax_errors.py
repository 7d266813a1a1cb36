"""Lark's LALR errors, reworded as stap 4.8's recursive-descent parser words them.

An LALR parse fails in a parser state; stap fails in one of its parse_*
functions, whose message names what it expected.  `syntax_examples.tsv`
holds malformed scripts with the message (and `saw:`/`at:` form) stap48
printed for each.  On first use every example is parsed, and the state it
fails in (with the failing token's class and the top of the value stack)
is mapped to stap's message, as Lark's `match_examples` does.  A few
token-dependent rules come first, and a heuristic on the expected
terminals covers states no example reaches.
"""
from __future__ import annotations

import ast as _pyast
import os
from collections import Counter, defaultdict

from stapy.diagnostics import KEYWORD
from stapy.parser.ast import HistOp
from stapy.parser.preprocess import ParseError
from stapy.parser.lalr import LarkToken

_EXAMPLES = os.path.join(os.path.dirname(__file__), "syntax_examples.tsv")
_TABLE = None
_CAPTURE: list | None = None

TOP_LEVEL = "expected 'probe', 'global', 'private', 'function', or '%{'"

_TERMINAL_TEXT = {
    "LPAR": "(", "RPAR": ")", "LBRACE": "{", "RBRACE": "}", "LBRACK": "[", "RBRACK": "]",
    "COMMA": ",", "SEMI": ";", "COLON": ":", "IN": "in", "CATCH": "catch", "EQ": "=",
}


def _class(tok) -> str:
    if tok is None:
        return "eof"
    if tok.kind in (KEYWORD, "junk"):  # neither can start an expression
        return "keyword"
    if tok.kind == "operator" and tok.text.startswith("@"):
        return "at"
    return "other"


def _settle(e, eager: bool) -> list:
    """The state stack after the reductions stap's parser would have made.

    LALR notices a bad token in whatever state it is in, often before the
    reductions that end an expression or a statement; stap, reading top
    down, has by then returned to the caller that expects what follows (the
    next statement, a ')').  Reducing while a state's only reduction is
    certain brings the LALR state to that same point.  `eager` ignores the
    shifts a state also offers (the bad token cannot be shifted anyway:
    stap's parse_* functions only peek at optional continuations).
    """
    actions = e.tables.actions
    rules = e.tables.rules
    stack = list(e.state_stack)
    for _ in range(200):
        acts = actions[stack[-1]]
        if not eager and any(a >= 0 for a in acts.values()):
            break
        reductions = {a for a in acts.values() if a < 0}
        if len(reductions) != 1:
            break
        origin, n = rules[~reductions.pop()][:2]
        if n:
            del stack[-n:]
        goto = actions[stack[-1]].get(origin)
        if goto is None:
            break
        stack.append(goto)
    return stack


def _keys(e, tok):
    """Lookup keys, most specific first: (state, token class, top states) ... (state, at EOF)."""
    cls = _class(tok)
    lazy = _settle(e, False)
    eager = _settle(e, True)
    a, b = lazy[-1], eager[-1]
    return [("L", a, cls, tuple(lazy[-3:])), ("E", b, cls, tuple(eager[-3:])),
            ("E", b, cls), ("L", a, cls), ("E", b, cls == "eof"), ("L", a, cls == "eof")]


def _load_examples():
    out = []
    with open(_EXAMPLES, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            form, msg, snippet = line.split("\t")
            out.append((form, _pyast.literal_eval(msg), _pyast.literal_eval(snippet)))
    return out


def _build_table():
    global _CAPTURE
    from stapy.diagnostics import SourceFile
    from stapy.parser.parse import parse_source

    votes: dict = defaultdict(Counter)
    for form, msg, snippet in _load_examples():
        _CAPTURE = []
        try:
            res = parse_source(SourceFile("<input>", snippet), None, privileged=False)
        finally:
            captured, _CAPTURE = _CAPTURE, None
        if not captured or not res.diagnostics:
            continue
        first = res.diagnostics[0]
        if getattr(first, "site", None) != "lalr":
            continue  # the example failed earlier, outside the grammar
        for key in captured[0]:
            votes[key][(msg, form)] += 1
    return dict(votes)


def _cache_file() -> str | None:
    """Where the built table is kept: keyed by the grammar and the examples (LALR state
    numbers change with the grammar)."""
    import hashlib

    from stapy.parser.lalr import tables
    from stapy.parser.parse import cache_dir

    d = cache_dir()
    if d is None:
        return None
    h = hashlib.sha256()
    here = os.path.dirname(__file__)
    for path in (_EXAMPLES, __file__, os.path.join(here, "tokens.py"), os.path.join(here, "build.py")):
        with open(path, "rb") as f:
            h.update(f.read())
    h.update(tables().digest.encode())  # the LALR state numbers the table is keyed by
    return os.path.join(d, f"syntax-errors-{h.hexdigest()[:16]}.pickle")


def _table():
    global _TABLE
    if _TABLE is None:
        import pickle

        _TABLE = {}  # examples that fail while the table is being built find nothing
        path = _cache_file()
        if path is not None and os.path.exists(path):
            try:
                with open(path, "rb") as f:
                    _TABLE = pickle.load(f)
                return _TABLE
            except Exception:
                pass
        table = _build_table()
        if path is not None:
            from stapy.cache import store

            store(path, pickle.dumps(table))
        _TABLE = table
    return _TABLE


def _heuristic(e, tok) -> str:
    """stap's message for a state no example reaches, from what the state expects."""
    exp = set(e.expected)
    cls = _class(tok)
    if "PROBE" in exp and "GLOBAL" in exp:
        return TOP_LEVEL
    if "WHILE" in exp and "FOREACH" in exp:  # a statement starts here
        if cls in ("eof", "keyword"):
            return "expected statement"
        return "expected literal string or number"
    if "NUMBER" in exp and "STRING" in exp:  # a value starts here
        return "expected value" if cls == "eof" else "expected literal string or number"
    if cls == "eof":
        return "unexpected end-of-file"
    if "PP_WORD" in exp:
        return "expected identifier or '*' or '{'"
    if "IDENT" in exp:
        return "expected identifier"
    for t in ("LBRACE", "RPAR", "RBRACK", "RBRACE", "SEMI", "COLON", "LPAR", "COMMA", "IN", "CATCH"):
        if t in exp:
            return f"expected '{_TERMINAL_TEXT[t]}'"
    return "expected statement"


def _in_pp_group(e) -> bool:
    """Inside an unclosed probe-point `{a,b` group of the probe being parsed?"""
    depth = 0
    for v in reversed(e.value_stack):
        t = getattr(v, "type", None)
        if t == "PROBE":
            break
        if t == "LBRACE":
            depth += 1
    return depth > 0


def message_for(e, tok, ctx) -> ParseError:
    """The stap ParseError for the parser's LalrError `e` at stap token `tok` (None at EOF)."""
    if _CAPTURE is not None:
        _CAPTURE.append(_keys(e, tok))
        return ParseError("(example)", tok, explicit=False, site="lalr")
    exp = set(e.expected)
    table = _table()
    keys = _keys(e, tok)
    settled = set(e.tables.actions[_settle(e, True)[-1]])
    if tok is not None and e.token.type == "AT_OTHER" and "NUMBER" in settled:
        return _consumed(ParseError(f"unknown operator {tok.text}", tok, explicit=False,
                                    site="unknown operator"))
    # the first key the examples agree on; failing that, the first majority
    hits = [table[k] for k in keys if k in table]
    ordered = [c for c in hits if len(c) == 1] + hits
    for key, votes in [(keys[0], c) for c in ordered]:
        hit = votes.most_common(1)[0][0]
        if hit is not None:
            msg, form = hit
            stops = tok is not None and tok.kind == "operator" and tok.text in ("{", "}", "=", "+=")
            if msg == "expected one of ', { } = +='" and stops:
                # parse_probe_points stops at these; its caller then complains
                msg = "expected '}'" if _in_pp_group(e) else "expected probe point specifier"
            elif msg == "expected probe point specifier" and not stops:
                msg = "expected one of ', { } = +='"
            if msg.startswith("unknown operator "):
                if _class(tok) != "at":
                    continue
                msg = "unknown operator " + tok.text
            if msg == "base histogram operator where expression expected":
                for v in reversed(e.value_stack):
                    if isinstance(v, HistOp) or (isinstance(v, LarkToken) and v.type.startswith("AT_HIST")):
                        where = v.tok if isinstance(v, HistOp) else v.stap
                        return _consumed(ParseError(msg, where, site=msg))
            if tok is None and form != "eof":
                # stap's next() hit EOF while its last token was still unswallowed
                last = ctx.current
                return ParseError(msg, last, explicit=False, site=_site(msg, key[1]),
                                  no_token=last is None)
            return _consumed(ParseError(msg, tok, explicit=(form == "at") and tok is not None,
                                        site=_site(msg, key[1])))
    msg = _heuristic(e, tok)
    return _consumed(ParseError(msg, tok, explicit=False, site=_site(msg, keys[0][1])))


# Errors stap raises after only peeking at the bad token; every other one has
# consumed it with next(), so error recovery starts after it.
PEEKED = frozenset([
    TOP_LEVEL, "expected statement", "expected one of ', { } = +='",
    "expected probe point specifier", "expected ',' or ']'", "expected '}'",
    "unexpected comma-separated expression list", "expected sort directive",
    "expected statistical operation", "multiple sort directives", "expected value",
])


def _consumed(pe: ParseError) -> ParseError:
    pe.consumed = pe.message not in PEEKED
    return pe


# stap hides a repeated error by its throw site (file:line in parse.cxx), not
# its text.  These messages have one site whatever the context; any other
# message is taken to have one site per LALR context (settled state).
SINGLE_SITE = frozenset([
    TOP_LEVEL, "expected literal string or number", "expected statement", "expected value",
    "expected identifier or '*' or '{'", "expected one of ', { } = +='",
    "expected probe point specifier", "unexpected end-of-file", "expected literal string",
])


def _site(msg: str, state) -> str:
    if msg in SINGLE_SITE:
        return msg
    if msg.startswith("unknown operator "):
        return "unknown operator"
    if msg.startswith("expected one of '"):
        return "expect_op_any"  # one throw in parse.cxx for every caller
    return f"{msg}@{state}"
