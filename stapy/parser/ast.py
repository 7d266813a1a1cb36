"""The located AST of a stap script: plain dataclasses, one per construct.

Every node carries `tok`, the token stap would name in a diagnostic about it
(the operator of a binary expression, the identifier of a symbol, the
keyword of a statement...).  `tok` does not take part in equality, so two
parses of the same text compare equal wherever they came from (the -p1
round-trip test relies on this).

Semantic passes may attach results to nodes only through the fields marked
"filled by semantic" (`type`, `referent`); the parser leaves them None.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Union

from stapy.diagnostics import SourceFile, Token


def _tok():
    return field(default=None, compare=False, repr=False)


def _sem():
    """A slot filled by the semantic passes; not part of equality."""
    return field(default=None, compare=False, repr=False)


class Node:
    tok: Optional[Token]


# ----------------------------------------------------------------- expressions


class Expr(Node):
    pass


@dataclass(eq=True)
class NumberLit(Expr):
    value: int  # already wrapped to signed 64-bit
    tok: Optional[Token] = _tok()
    type: Optional[str] = _sem()
    hex: bool = field(default=False, compare=False, repr=False)  # printed as 0x.. (stap's derived addresses)


@dataclass(eq=True)
class StringLit(Expr):
    value: str  # stap's token content (escapes kept as written)
    tok: Optional[Token] = _tok()
    type: Optional[str] = _sem()


@dataclass(eq=True)
class Symbol(Expr):
    """A script variable (local, global, or function parameter)."""

    name: str
    tok: Optional[Token] = _tok()
    type: Optional[str] = _sem()
    referent: object = _sem()  # the resolved declaration


@dataclass(eq=True)
class TargetComponent:
    """One `->field`, `[index]` or `$`/`$$` pretty-print suffix of a target expression."""

    kind: str  # 'field' | 'index' | 'pretty'
    name: str = ""  # field name, or '$' / '$$' for pretty
    index: Optional[Expr] = None  # for 'index' (a NumberLit or any expression)
    tok: Optional[Token] = _tok()


@dataclass(eq=True)
class TargetSymbol(Expr):
    """`$var`, `$var->a[3]`, `&$var`, `$var$`, `$$vars`, `$$parms`, `$$locals`, `$$return`, `$$name`..."""

    name: str  # with the leading '$' (or '$$')
    components: list[TargetComponent] = field(default_factory=list)
    addressof: bool = False
    tok: Optional[Token] = _tok()
    type: Optional[str] = _sem()


@dataclass(eq=True)
class CastOp(Expr):
    """`@cast(operand, "type"[, "module"])->components`."""

    operand: Expr
    type_name: str
    module: str = ""
    components: list[TargetComponent] = field(default_factory=list)
    addressof: bool = False
    tok: Optional[Token] = _tok()
    type: Optional[str] = _sem()


@dataclass(eq=True)
class AtVar(Expr):
    """`@var("name[@cu]"[, "module"])->components`."""

    name: str
    module: str = ""
    components: list[TargetComponent] = field(default_factory=list)
    addressof: bool = False
    tok: Optional[Token] = _tok()
    type: Optional[str] = _sem()


@dataclass(eq=True)
class AutoCast(Expr):
    """stap's autocast_op: target suffixes on any other value, `f(x)->a`, `(p)[2]`, `&x->y`."""

    operand: Expr
    components: list[TargetComponent] = field(default_factory=list)
    addressof: bool = False
    tok: Optional[Token] = _tok()
    type: Optional[str] = _sem()


@dataclass(eq=True)
class EntryOp(Expr):
    """`@entry(expr)`."""

    operand: Expr
    tok: Optional[Token] = _tok()
    type: Optional[str] = _sem()


@dataclass(eq=True)
class DefinedOp(Expr):
    """`@defined(expr)`."""

    operand: Expr
    tok: Optional[Token] = _tok()
    type: Optional[str] = _sem()


@dataclass(eq=True)
class ProbewriteOp(Expr):
    """`@probewrite(var)`."""

    name: str
    tok: Optional[Token] = _tok()
    type: Optional[str] = _sem()


@dataclass(eq=True)
class AtOp(Expr):
    """Other @-operators taking plain arguments: `@const("C")`, `@uderef(sz, a)`,
    `@kderef`, `@uregister(n)`, `@kregister(n)`, `@perf("x")`, `@enum`, `@enumname`."""

    name: str  # without '@'
    args: list[Expr] = field(default_factory=list)
    tok: Optional[Token] = _tok()
    type: Optional[str] = _sem()


@dataclass(eq=True)
class StatOp(Expr):
    """`@count(s) @sum @min @max @avg`, `@variance(s[, shift])`."""

    op: str  # 'count' 'sum' 'min' 'max' 'avg' 'variance'
    stat: Expr  # a Symbol or an ArrayIndex naming the statistic
    params: list[Expr] = field(default_factory=list)
    tok: Optional[Token] = _tok()
    type: Optional[str] = _sem()


@dataclass(eq=True)
class HistOp(Expr):
    """`@hist_linear(s, lo, hi, step)` or `@hist_log(s)`."""

    kind: str  # 'linear' | 'log'
    stat: Expr
    params: list[Expr] = field(default_factory=list)  # lo, hi, step for linear
    tok: Optional[Token] = _tok()
    type: Optional[str] = _sem()


@dataclass(eq=True)
class ArrayIndex(Expr):
    """`A[i, j]` (an entry of `*` is None, for slices), or `@hist_log(s)[i]`."""

    base: Union[Symbol, HistOp]
    indexes: list[Optional[Expr]]
    tok: Optional[Token] = _tok()
    type: Optional[str] = _sem()


@dataclass(eq=True)
class ArrayIn(Expr):
    """`[k1, k2] in A` / `k in A` (indexes may hold None for `*`)."""

    index: ArrayIndex
    tok: Optional[Token] = _tok()
    type: Optional[str] = _sem()


@dataclass(eq=True)
class FunctionCall(Expr):
    name: str
    args: list[Expr] = field(default_factory=list)
    tok: Optional[Token] = _tok()
    type: Optional[str] = _sem()
    referent: object = _sem()  # list of candidate overloads, filled by semantic


@dataclass(eq=True)
class PrintFormat(Expr):
    """`print println printf printd printdln sprint sprintln sprintf sprintd sprintdln`.

    `format` is the raw format literal for the printf family, `delimiter` the
    literal for the printd family, `args` the remaining arguments.
    """

    name: str
    format: Optional[str] = None
    delimiter: Optional[str] = None
    args: list[Expr] = field(default_factory=list)
    hist: Optional["HistOp"] = None  # print(@hist_log(s)): the histogram itself
    tok: Optional[Token] = _tok()
    type: Optional[str] = _sem()


@dataclass(eq=True)
class Unary(Expr):
    op: str  # '+' '-' '!' '~'
    operand: Expr
    tok: Optional[Token] = _tok()
    type: Optional[str] = _sem()


@dataclass(eq=True)
class Binary(Expr):
    """Arithmetic, bitwise, shifts, `.`, comparisons, `&&`/`||` (op says which)."""

    op: str
    left: Expr
    right: Expr
    tok: Optional[Token] = _tok()
    type: Optional[str] = _sem()


@dataclass(eq=True)
class RegexMatch(Expr):
    op: str  # '=~' | '!~'
    left: Expr
    regex: str
    tok: Optional[Token] = _tok()
    type: Optional[str] = _sem()


@dataclass(eq=True)
class Ternary(Expr):
    cond: Expr
    then: Expr
    else_: Expr
    tok: Optional[Token] = _tok()
    type: Optional[str] = _sem()


@dataclass(eq=True)
class Assignment(Expr):
    op: str  # '=' '+=' ... '.=' '<<<'
    left: Expr
    right: Expr
    tok: Optional[Token] = _tok()
    type: Optional[str] = _sem()


@dataclass(eq=True)
class IncDec(Expr):
    op: str  # '++' | '--'
    operand: Expr
    prefix: bool
    tok: Optional[Token] = _tok()
    type: Optional[str] = _sem()


@dataclass(eq=True)
class EmbeddedExpr(Expr):
    """`%{ C %}` used as an expression."""

    code: str
    tok: Optional[Token] = _tok()
    type: Optional[str] = _sem()


# ------------------------------------------------------------------ statements


class Stmt(Node):
    pass


@dataclass(eq=True)
class Block(Stmt):
    statements: list[Stmt] = field(default_factory=list)
    tok: Optional[Token] = _tok()


@dataclass(eq=True)
class NullStmt(Stmt):
    tok: Optional[Token] = _tok()


@dataclass(eq=True)
class ExprStmt(Stmt):
    expr: Expr
    tok: Optional[Token] = _tok()


@dataclass(eq=True)
class If(Stmt):
    cond: Expr
    then: Stmt
    else_: Optional[Stmt] = None
    tok: Optional[Token] = _tok()


@dataclass(eq=True)
class For(Stmt):
    """`for (init; cond; incr) body`; `while (cond) body` has no init/incr."""

    init: Optional[Stmt]
    cond: Optional[Expr]
    incr: Optional[Stmt]
    body: Stmt
    tok: Optional[Token] = _tok()


@dataclass(eq=True)
class Foreach(Stmt):
    """`foreach ([v =] [k1, k2] in A[slice] [@agg][+/-] [limit N]) body`.

    `sort_column`: 0 for none, 1..n for key n, -1 for the value (v or after A).
    `sort_dir`: +1 ascending, -1 descending, 0 none.
    `sort_aggregate`: '' or the @-operator name ('count', 'sum', ...) written after A.
    """

    keys: list[Symbol]
    array: Union[Symbol, HistOp]
    body: Stmt
    value: Optional[Symbol] = None
    slice: Optional[list[Optional[Expr]]] = None
    sort_column: int = 0
    sort_dir: int = 0
    sort_aggregate: str = ""
    limit: Optional[Expr] = None
    tok: Optional[Token] = _tok()


@dataclass(eq=True)
class Return(Stmt):
    value: Optional[Expr] = None
    tok: Optional[Token] = _tok()


@dataclass(eq=True)
class Delete(Stmt):
    target: Expr  # Symbol (whole array or scalar) or ArrayIndex (element or slice)
    tok: Optional[Token] = _tok()


@dataclass(eq=True)
class Next(Stmt):
    tok: Optional[Token] = _tok()


@dataclass(eq=True)
class Break(Stmt):
    tok: Optional[Token] = _tok()


@dataclass(eq=True)
class Continue(Stmt):
    tok: Optional[Token] = _tok()


@dataclass(eq=True)
class TryCatch(Stmt):
    try_block: Block
    catch_block: Block
    var: Optional[Symbol] = None
    tok: Optional[Token] = _tok()


@dataclass(eq=True)
class EmbeddedStmt(Stmt):
    """A `%{ C %}` function body."""

    code: str
    tok: Optional[Token] = _tok()


# ---------------------------------------------------------------- declarations


@dataclass(eq=True)
class ProbePointComponent:
    functor: str  # may contain '*' / '**' wildcards
    arg: Optional[Expr] = None  # NumberLit or StringLit (or None)
    tok: Optional[Token] = _tok()


@dataclass(eq=True)
class ProbePoint:
    components: list[ProbePointComponent]
    optional: bool = False  # '?'
    sufficient: bool = False  # '!'
    condition: Optional[Expr] = None  # 'if (expr)'
    tok: Optional[Token] = _tok()


@dataclass(eq=True)
class Probe:
    points: list[ProbePoint]
    body: Block
    privileged: bool = False
    tok: Optional[Token] = _tok()


@dataclass(eq=True)
class ProbeAlias:
    """`probe NAME[,NAME] = PP,... { prologue }`, `+= { epilogue }`, or `= PP {pro}, {epi}`."""

    names: list[ProbePoint]
    points: list[ProbePoint]
    body: Block
    epilogue: bool = False  # True for '+='
    epilogue_body: Optional[Block] = None  # the second body of `= PP {pro}, {epi}`
    privileged: bool = False
    tok: Optional[Token] = _tok()


@dataclass(eq=True)
class Param:
    name: str
    type: Optional[str] = None  # 'long' | 'string' | None (declared type)
    tok: Optional[Token] = _tok()


@dataclass(eq=True)
class Function:
    name: str
    params: list[Param]
    body: Union[Block, EmbeddedStmt]
    type: Optional[str] = None  # declared return type
    priority: int = 0
    private: bool = False
    tok: Optional[Token] = _tok()
    file: Optional[SourceFile] = field(default=None, compare=False, repr=False)


@dataclass(eq=True)
class Global:
    name: str
    init: Optional[Expr] = None  # NumberLit / StringLit
    size: Optional[int] = None  # `a[100]`
    wrap: bool = False  # `a%`
    private: bool = False
    array: bool = False  # declared with `[N]`
    tok: Optional[Token] = _tok()
    file: Optional[SourceFile] = field(default=None, compare=False, repr=False)


@dataclass(eq=True)
class Embed:
    """A top-level `%{ ... %}` block."""

    code: str
    tok: Optional[Token] = _tok()


TopLevel = Union[Probe, ProbeAlias, Function, Global, Embed]


@dataclass(eq=True)
class StapFile:
    """One parsed file, items in source order."""

    name: str
    items: list = field(default_factory=list)
    privileged: bool = False
    source: Optional[SourceFile] = field(default=None, compare=False, repr=False)

    def of(self, cls) -> list:
        return [it for it in self.items if isinstance(it, cls)]

    @property
    def probes(self) -> list[Probe]:
        return self.of(Probe)

    @property
    def aliases(self) -> list[ProbeAlias]:
        return self.of(ProbeAlias)

    @property
    def functions(self) -> list[Function]:
        return self.of(Function)

    @property
    def globals(self) -> list[Global]:
        return self.of(Global)

    @property
    def embeds(self) -> list[Embed]:
        return self.of(Embed)
