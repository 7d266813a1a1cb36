"""grammar.lark's LALR(1) tables, and the small driver that runs them.

Lark computes the tables from grammar.lark; they are flattened here into
plain lists and dicts (one dict per state: terminal -> shift target or
~rule, nonterminal -> goto target), renumbered breadth-first so that state
numbers depend on the grammar alone, and kept under ~/.cache/stapy keyed
by the grammar's hash.  A process with the cache never imports Lark.

The driver replaces Lark's parser loop: it calls build.Builder's methods
directly on each reduction, with the children Lark's parse-tree builder
would pass (`_helper` rules spliced into their parent, `?rule` with one
child passing it through), and skips the callback entirely for the unit
`?rule`s that only pass their child on.
"""
from __future__ import annotations

import marshal
import os
import zlib

GRAMMAR = os.path.join(os.path.dirname(__file__), "grammar.lark")
FORMAT = "stapy-lalr-2"
END = "$END"


class LarkToken:
    """A terminal on the parser's value stack: its terminal name (`type`), its text
    (`value`, also `str()`), the stap token it was read from (`stap`), and whether it
    was read inside a `private` declaration (`private`)."""

    __slots__ = ("type", "value", "stap", "private")

    def __init__(self, type_: str, value: str, stap=None, private: bool = False):
        self.type = type_
        self.value = value
        self.stap = stap
        self.private = private

    def __str__(self) -> str:
        return self.value

    def __repr__(self) -> str:
        return f"LarkToken({self.type}, {self.value!r})"


class Tables:
    """The flattened LALR tables.

    actions[state]: symbol -> int; for a terminal, >= 0 shifts to that state and
    < 0 reduces by rule ~n; for a nonterminal, the goto state.
    rules[n]: (origin, length, callback name or None, expand1, splice positions).
    """

    def __init__(self, data: dict):
        self.actions: list[dict] = data["actions"]
        self.rules: list[tuple] = [tuple(r) for r in data["rules"]]
        self.start_state: int = data["start"]
        self.end_state: int = data["end"]
        self.digest: str = data["digest"]

    def expected(self, state: int) -> set:
        """The terminals state `state` has an action for (Lark's UnexpectedToken.expected)."""
        return {s for s in self.actions[state] if s.isupper()}


def _grammar_digest() -> str:
    with open(GRAMMAR, "rb") as f:
        text = FORMAT.encode() + f.read()
    return f"{zlib.crc32(text):08x}{len(text):x}"


def _from_lark() -> dict:
    """Run Lark's LALR analysis on grammar.lark and flatten its tables."""
    from lark import Lark
    from lark.lexer import Lexer as LarkLexer
    from lark.parsers.lalr_analysis import Shift

    class _NoLexer(LarkLexer):
        __future_interface__ = 2

        def __init__(self, lexer_conf=None):
            pass

        def lex(self, lexer_state, parser_state):
            return iter(())

    with open(GRAMMAR) as f:
        lark = Lark(f.read(), parser="lalr", lexer=_NoLexer, maybe_placeholders=False)
    table = lark.parser.parser.parser.parse_table
    # rules in an order of their own (Lark's depends on the hash seed)
    rules = sorted(lark.rules, key=lambda r: (str(r.origin.name), [str(x.name) for x in r.expansion],
                                              str(r.alias or "")))
    rule_index = {id(r): i for i, r in enumerate(rules)}

    # breadth-first renumbering from the start state, symbols in name order
    start = table.start_states["start"]
    order = {start: 0}
    queue = [start]
    for s in queue:
        for sym in sorted(table.states[s]):
            action, arg = table.states[s][sym]
            if action is Shift and arg not in order:
                order[arg] = len(order)
                queue.append(arg)
    for s in table.states:  # unreachable states (none expected) keep a number all the same
        if s not in order:
            order[s] = len(order)
    actions: list = [None] * len(order)
    for s, acts in table.states.items():
        out = {}
        for sym in sorted(acts):
            action, arg = acts[sym]
            out[str(sym)] = order[arg] if action is Shift else ~rule_index[id(arg)]
        actions[order[s]] = out

    flat_rules = []
    for r in rules:
        origin = str(r.origin.name)
        splice = [i for i, sym in enumerate(r.expansion)
                  if not sym.is_term and sym.name.startswith("_")]
        if any(sym.is_term and sym.filter_out for sym in r.expansion):
            raise RuntimeError(f"grammar.lark: rule {origin} filters a terminal out (declare it)")
        name = str(r.alias or r.options.template_source or origin)
        expand1 = bool(r.options.expand1 and not r.alias)
        flat_rules.append([origin, len(r.expansion), name, expand1, splice])
    end = table.end_states["start"]
    return {"actions": actions, "rules": flat_rules, "start": order[start], "end": order[end]}


def _cache_file(digest: str) -> str | None:
    from stapy.parser.parse import cache_dir

    d = cache_dir()
    return os.path.join(d, f"lalr-{digest}.marshal") if d else None


_TABLES: Tables | None = None


def tables() -> Tables:
    """The LALR tables of grammar.lark (from the cache, else from Lark, then cached)."""
    global _TABLES
    if _TABLES is not None:
        return _TABLES
    digest = _grammar_digest()
    path = _cache_file(digest)
    data = None
    if path is not None:
        try:
            with open(path, "rb") as f:
                data = marshal.loads(f.read())  # marshal.load(f) reads piecemeal: 30 times slower
            if not isinstance(data, dict) or data.get("grammar") != digest:
                data = None
        except (OSError, EOFError, ValueError, TypeError):
            data = None
    if data is None:
        data = _from_lark()
        data["grammar"] = digest
        import hashlib

        data["digest"] = hashlib.sha256(repr(data).encode()).hexdigest()[:16]
        if path is not None:
            from stapy.cache import store

            store(path, marshal.dumps(data))
    _TABLES = Tables(data)
    return _TABLES


class LalrError(Exception):
    """No action for `token` in the current state (Lark's UnexpectedToken).

    `state_stack` and `value_stack` are the parser's stacks at that point
    (after the reductions the token did cause); `expected` the terminals the
    state had an action for."""

    def __init__(self, token: LarkToken, tables: Tables, state_stack: list, value_stack: list):
        super().__init__(f"unexpected {token.type}")
        self.token = token
        self.tables = tables
        self.state_stack = state_stack
        self.value_stack = value_stack
        self.expected = tables.expected(state_stack[-1])


def _splicer(splice, fn):
    """Children with each `_helper` rule's list spliced in, then `fn` (or the list itself)."""
    if len(splice) == 1:
        i = splice[0]

        def reduce_one(kids):
            out = kids[:i]
            out.extend(kids[i])
            out.extend(kids[i + 1:])
            return out if fn is None else fn(out)

        return reduce_one
    positions = frozenset(splice)

    def reduce(kids):
        out = []
        for i, k in enumerate(kids):
            if i in positions:
                out.extend(k)
            else:
                out.append(k)
        return out if fn is None else fn(out)

    return reduce


def _expand1(fn):
    def reduce(kids):
        return kids[0] if len(kids) == 1 else fn(kids)

    return reduce


def _extend(kids):
    """A left-recursive `_helper: _helper x y` rule: the helper's list grows in place."""
    lst = kids[0]
    lst.extend(kids[1:])
    return lst


def _same(kids):
    """A `_helper: x y` rule starting a list: the children are the list."""
    return kids


def reducers(tables: Tables, builder) -> list:
    """Per rule, (function from the children to the value, or None when the reduction
    leaves the value as it is (a unit `?rule`); the rule's nonterminal; its length)."""
    out = []
    for origin, n, name, expand1, splice in tables.rules:
        if origin.startswith("_"):
            if not splice:
                fn = _same
            elif splice == [0]:
                fn = _extend
            else:
                fn = _splicer(splice, None)
        elif expand1 and n == 1 and not splice:
            fn = None  # the single child passes through
        else:
            fn = getattr(builder, name, None)
            if fn is None:
                raise RuntimeError(f"build.Builder has no method for rule {name}")
            else:
                if expand1:
                    fn = _expand1(fn)
                if splice:
                    fn = _splicer(splice, fn)
        out.append((fn, origin, n))
    return out


class Driver:
    """One LALR parse: feed it terminals, then `finish()` for the value of `start`."""

    __slots__ = ("tables", "actions", "reduce", "units", "stack", "values")

    def __init__(self, tables: Tables, reduce: list, units: dict | None = None):
        self.tables = tables
        self.actions = tables.actions
        self.reduce = reduce
        # (state below, state, terminal) -> the state a run of unit reductions ends in;
        # shareable between drivers over the same tables
        self.units = units if units is not None else {}
        self.stack = [tables.start_state]
        self.values: list = []

    def _units(self, below: int, state: int, term: str) -> int:
        actions = self.actions
        reduce = self.reduce
        while True:
            act = actions[state].get(term)
            if act is None or act >= 0:
                return state
            fn, origin, _n = reduce[~act]
            if fn is not None:
                return state
            state = actions[below][origin]

    def feed(self, term: str, token: LarkToken) -> None:
        """Reduce as `term` requires, then shift `token`; LalrError when it does not fit."""
        actions = self.actions
        stack = self.stack
        values = self.values
        reduce = self.reduce
        units = self.units
        while True:
            act = actions[stack[-1]].get(term)
            if act is None:
                raise LalrError(token, self.tables, stack, values)
            if act >= 0:
                stack.append(act)
                values.append(token)
                return
            fn, origin, n = reduce[~act]
            if fn is None:
                key = (stack[-2], stack[-1], term)
                top = units.get(key)
                if top is None:
                    top = units[key] = self._units(stack[-2], stack[-1], term)
                stack[-1] = top
            elif n == 1:
                values[-1] = fn([values[-1]])
                stack[-1] = actions[stack[-2]][origin]
            elif n:
                kids = values[-n:]
                del values[1 - n:]
                values[-1] = fn(kids)
                del stack[1 - n:]
                stack[-1] = actions[stack[-2]][origin]
            else:
                values.append(fn([]))
                stack.append(actions[stack[-1]][origin])

    def finish(self):
        """Reduce at the end of input; the value of `start`."""
        actions = self.actions
        stack = self.stack
        values = self.values
        end = self.tables.end_state
        while True:
            act = actions[stack[-1]].get(END)
            if act is None or act >= 0:
                raise LalrError(LarkToken(END, ""), self.tables, stack, values)
            fn, origin, n = self.reduce[~act]
            if fn is None:
                stack[-1] = actions[stack[-2]][origin]
            else:
                if n:
                    kids = values[-n:]
                    del values[-n:]
                    del stack[-n:]
                else:
                    kids = []
                values.append(fn(kids))
                stack.append(actions[stack[-1]][origin])
            if stack[-1] == end:
                return values[-1]

    def accepts(self, term: str) -> bool:
        """Would `term` be shifted here, after whatever reductions it implies?"""
        actions = self.actions
        reduce = self.reduce
        stack = self.stack
        top = len(stack)  # stack[:top] + extra is the simulated stack
        extra: list = []
        while True:
            state = extra[-1] if extra else stack[top - 1]
            act = actions[state].get(term)
            if act is None:
                return False
            if act >= 0:
                return True
            _fn, origin, n = reduce[~act]
            k = min(n, len(extra))
            if k:
                del extra[-k:]
            top -= n - k
            state = extra[-1] if extra else stack[top - 1]
            extra.append(actions[state][origin])
