"""Parse one stap file: lexer -> preprocessor -> LALR (grammar.lark's tables) -> AST.

Errors recover as stap's parser::parse does: print (collect) the error, skip
tokens up to the next `probe`/`global`/`private`/`function`/`%{`, go on,
and count.  A file with errors yields no StapFile.
"""
from __future__ import annotations

import gc
import os
from dataclasses import dataclass, field

from stapy.diagnostics import EMBEDDED, KEYWORD, Diagnostic, SourceFile, Token
from stapy.parser import ast as A
from stapy.parser.build import Builder
from stapy.parser import lalr
from stapy.parser.lexer import Lexer
from stapy.parser.preprocess import Macro, ParseError, PPConfig, Preprocessor
from stapy.parser.tokens import Context, parse as parse_tokens

_BUILDER = Builder(None)
_REDUCE: list | None = None  # lalr.reducers over _BUILDER
_UNITS: dict = {}  # the drivers' shared memo of unit-reduction runs

RECOVERY_KEYWORDS = ("probe", "private", "global", "function")
SWALLOWED = frozenset("{ } ( ) [ ] ; , :".split())


def _parser():
    """The LALR tables and the reductions bound to _BUILDER (made once per process)."""
    global _REDUCE
    tables = lalr.tables()
    if _REDUCE is None:
        _REDUCE = lalr.reducers(tables, _BUILDER)
    return tables, _REDUCE, _UNITS


def cache_dir() -> str | None:
    """stapy's cache directory (grammar tables), or None when it cannot be made."""
    from stapy.cache import cache_root

    d = str(cache_root())
    try:
        os.makedirs(d, exist_ok=True)
    except OSError:
        return None
    return d


@dataclass
class FileResult:
    """What parsing one file gives: the AST (None on errors) and the diagnostics in order."""

    file: A.StapFile | None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    errors: int = 0
    empty: bool = False
    saw_tokens: bool = False
    macros: dict = field(default_factory=dict)


def _diag_from(pe: ParseError, last: Token | None, name: str) -> Diagnostic:
    tok = None if pe.no_token else (pe.token if pe.token is not None else last)
    message = pe.message
    if tok is not None and tok.kind == "junk" and tok.junk:
        message = tok.junk  # stap prints a lexer error instead of the parser's complaint
    d = Diagnostic("parse error", message, tok)
    d.explicit = pe.explicit and pe.token is not None
    d.site = pe.site
    d.input_name = name
    d.chain = [_diag_from(pe.chain, None, name)] if pe.chain is not None else []
    return d


def parse_source(source: SourceFile, options=None, *, library_macros=None, user_file=True,
                 privileged=None, used_args=None, macro_file=False) -> FileResult:
    """Parse `source`; never raises ParseError (errors come back as diagnostics)."""
    parser = _parser()
    diags: list[Diagnostic] = []

    def warn(msg, tok):
        diags.append(Diagnostic("WARNING", msg, tok, severity="warning"))

    args = getattr(options, "args", ()) if options is not None else ()
    lexer = Lexer(source, args=args, used_args=used_args, warn=warn,
                  compatible=getattr(options, "compatible", None))
    pp = Preprocessor(lexer, PPConfig(options), library_macros=library_macros, warn=warn)
    if privileged is None:
        privileged = source.privileged or bool(getattr(options, "guru", False))
    ctx = Context(pp, privileged)
    ctx.source = source
    ctx.user_file = user_file
    ctx.current = None
    outer_ctx = _BUILDER.ctx  # parsing can nest (syntax_errors parses its examples on first use)
    _BUILDER.ctx = ctx
    # The parse makes many small objects that stay alive: the cyclic collector would only
    # walk the growing tree again and again (a tenth of the parse time).  Afterwards they
    # go straight to the oldest generation (freeze + unfreeze), not left young for the
    # next collection to walk once more.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _parse_items(source, ctx, pp, lexer, diags, parser, user_file, macro_file)
    finally:
        _BUILDER.ctx = outer_ctx
        del lexer.scan  # the scanner generator refers back to its lexer
        if collecting:
            gc.freeze()
            gc.unfreeze()
            gc.enable()


def _parse_items(source, ctx, pp, lexer, diags, parser, user_file, macro_file) -> FileResult:
    result = FileResult(None, diags)

    if macro_file:
        try:
            t = pp.next()
            if t is not None:
                raise ParseError(f"unexpected token in library macro file '{source.name}'", t)
        except ParseError as pe:
            diags.append(_diag_from(pe, None, source.name))
            result.errors += 1
        result.macros = pp.namespace
        return result

    items: list = []
    errors = 0
    empty = True
    while True:
        ctx.prev = ctx.prev2 = None
        ctx.current = None
        ctx.parens = 0
        ctx.stat_parens = []
        try:
            if ctx.peek() is None:
                break
            empty = False
            parsed = parse_tokens(ctx, lalr.Driver(*parser))
            for group in parsed:
                items.extend(group)
            break
        except lalr.LalrError as e:
            from stapy.parser.syntax_errors import message_for  # only a script with errors needs it

            tok = getattr(e.token, "stap", None)
            try:
                pe = message_for(e, tok, ctx)
            except Exception:  # never a traceback for a typo: fall back to the plain reading
                pe = ParseError("expected statement" if tok is not None else "unexpected end-of-file",
                                tok, explicit=False)
            if tok is not None and not getattr(pe, "consumed", False):
                ctx.pending.insert(0, tok)
            skip = True
        except ParseError as pe_:
            pe = pe_
            skip = pe.skip
            if pe.no_token and pe.token is None and getattr(pe, "pp_eof", False):
                # a macro invocation cut by EOF: stap names its parser's last token,
                # unless that was punctuation it had already swallowed
                last = ctx.current
                if last is not None and not (last.kind == "operator" and last.text in SWALLOWED):
                    pe.token, pe.no_token, pe.explicit = last, False, False
            if not getattr(pe, "from_lexer", False) and ctx.current is not None:
                ctx.pending.insert(0, ctx.current)
        diags.append(_diag_from(pe, ctx.last, source.name))
        errors += 1
        if skip:
            while True:
                try:
                    t = ctx.peek()
                    if t is None:
                        break
                    if (t.kind == KEYWORD and t.text in RECOVERY_KEYWORDS) or t.kind == EMBEDDED:
                        break
                    ctx.take()
                except ParseError as pe2:
                    diags.append(_diag_from(pe2, None, source.name))
                    errors += 1
    result.errors = errors
    result.saw_tokens = lexer.saw_tokens
    if empty and user_file:
        result.empty = True
        return result
    if errors:
        return result
    f = A.StapFile(source.name, items, privileged=source.privileged, source=source)
    for it in items:
        if isinstance(it, (A.Function, A.Global)):
            it.file = source
    result.file = f
    return result
