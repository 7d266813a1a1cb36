"""The typed program: what pass 2 hands to codegen (and what `-p2` prints).

This file is THE contract between the semantic room and the codegen room.
Only additions are made to it once published.

Conventions
-----------
* Types are the plain strings LONG, STRING, STATS (see below) or None
  (UNKNOWN: stap's `unknown`, e.g. a function with no `return value`).
* Every AST `Expr.type` reachable from a function or probe body is filled in
  (LONG / STRING / STATS; None only for a call to an `unknown` function used
  as a statement, or for target expressions resolved later by debuginfo).
* `ast.Symbol.referent` is a `GlobalVar` or a `LocalVar` (parameters,
  locals, foreach keys/values, catch variables are all LocalVar).
* `ast.FunctionCall.referent` is the list of `FunctionDef` overloads that
  the call may reach, in the order they are tried at run time (priority
  ascending, then declaration order).  Usually one element.
* Probe bodies already contain the alias prologues/epilogues, and a probe
  with a condition starts with `if (!(cond)) next` (as stap inlines it);
  `DerivedProbe.condition` is kept for the runtime's enable/disable logic.
* Elision has run (unless -u): unused functions, globals and locals are
  gone; what is listed is what must be generated.
* Locals named `__stable_<mangled>_value` cache calls of `/* stable */`
  zero-argument functions (pid(), execname()...) within one hit.
* Synthetic probes: the unread-global dump probes (`end`, last) and, when
  any probe has a condition, an empty `begin` that stap adds.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Union

from stapy.diagnostics import Diagnostic, SourceFile, Token
from stapy.parser import ast

LONG = "long"
STRING = "string"
STATS = "stats"
UNKNOWN = None  # stap prints it as `unknown`

MAX_INDEXES = 9


def type_name(t: Optional[str]) -> str:
    """How stap spells a type in listings (`unknown` for None)."""
    return t if t is not None else "unknown"


# --------------------------------------------------------------------- variables


@dataclass(eq=False)
class GlobalVar:
    """A global scalar, array or statistic (user-declared or synthesized by a tapset).

    `type` is the value type (LONG, STRING, STATS); `index_types` is empty for
    a scalar, else one type per index (at most 9).  `size` is the declared
    `[N]` (None: MAXMAPENTRIES); `wrap` is the `%` flag.  `init` is the
    declared initializer value (an int or str, already a Python value) and
    `cmdline_init` the `-G NAME=VALUE` value converted to the global's type
    (it wins over `init`).  `stat_ops` holds the aggregate operators used on a
    STATS global ('count' 'sum' 'min' 'max' 'avg' 'variance'), and
    `histograms` the histogram kinds used: ('log',) or ('linear', lo, hi, step).
    `variance_shift` is the largest shift given to @variance (0 by default).
    """

    name: str  # as written by the user (unmangled)
    mangled: str  # '__global_NAME' or '__private_<file>NAME'
    type: Optional[str] = None
    index_types: list = field(default_factory=list)
    size: Optional[int] = None
    wrap: bool = False
    init: Union[int, str, None] = None
    cmdline_init: Union[int, str, None] = None
    private: bool = False
    synthetic: bool = False  # made by stapy itself, not declared anywhere
    stat_ops: set = field(default_factory=set)
    histograms: list = field(default_factory=list)
    variance_shift: int = 0
    tok: Optional[Token] = None
    decl: Optional[ast.Global] = None

    @property
    def is_array(self) -> bool:
        return bool(self.index_types)

    @property
    def arity(self) -> int:
        return len(self.index_types)

    @property
    def initial_value(self):
        """The value the global holds before `begin` (-G wins over the initializer)."""
        if self.cmdline_init is not None:
            return self.cmdline_init
        if self.init is not None:
            return self.init
        if self.is_array:
            return None
        return "" if self.type == STRING else 0


@dataclass(eq=False)
class LocalVar:
    """A function parameter, a local of a function or probe, a foreach key/value or catch var.

    Locals are zeroed (0 / "") on every probe hit or function call.  `slot` is
    the position within its owner's `locals` (parameters first for functions).
    """

    name: str
    type: Optional[str] = None
    is_param: bool = False
    slot: int = 0
    tok: Optional[Token] = None


# --------------------------------------------------------------------- functions


@dataclass(eq=False)
class FunctionDef:
    """One function (one overload of a name).

    `mangled` is stap's name (`__global_f`, `__private_<detoxed file>f`, with
    `__overload_N` appended when the name has several definitions); listings
    are sorted by it.  `params` are LocalVar with is_param=True.  `locals` are
    the other locals (not the params).  `body` is an ast.Block with every
    expression typed, or an ast.EmbeddedStmt for embedded C.

    `native` is True for stapy tapset functions whose body is a placeholder
    `%{ /* stapy:native */ %}`: codegen supplies the implementation by `name`
    (and arity).  `pragmas` are the `/* pure */`-style words of an embedded
    body ('pure', 'stable', 'unprivileged', 'myproc-unprivileged', 'guru',
    'unmodified-fnargs', 'string', 'stapy:native', ...).
    `overload_index` is the 0-based order among same-name same-arity
    functions, after sorting by priority then declaration order.
    """

    name: str
    mangled: str
    params: list = field(default_factory=list)  # list[LocalVar]
    type: Optional[str] = None  # return type
    locals: list = field(default_factory=list)  # list[LocalVar]
    body: Union[ast.Block, ast.EmbeddedStmt, None] = None
    priority: int = 0
    overload_index: int = 0
    private: bool = False
    native: bool = False
    pragmas: frozenset = frozenset()
    from_tapset: bool = False
    file: Optional[SourceFile] = None
    tok: Optional[Token] = None
    decl: Optional[ast.Function] = None

    @property
    def embedded(self) -> bool:
        return isinstance(self.body, ast.EmbeddedStmt)

    @property
    def embedded_code(self) -> Optional[str]:
        return self.body.code if isinstance(self.body, ast.EmbeddedStmt) else None


# ------------------------------------------------------------------------ probes


@dataclass(eq=False)
class DerivedProbe:
    """One concrete probe after alias expansion and wildcard resolution.

    `family` names the probe kind codegen/runtime dispatch on:
      'begin' 'end' 'error' 'never'                 params: {'sequence': int}
      'timer'                                        params: {'unit': 'ms'|'s'|'us'|'ns'|'hz'|'jiffies',
                                                              'value': int, 'period_ns': int,
                                                              'randomize_ns': int (0 if none)}
      'process.begin' 'process.end' 'process.thread.begin' 'process.thread.end'
      'process.syscall' 'process.syscall.return'
      'process.function' 'process.function.return' 'process.statement'
      'process.mark' 'process.plt' 'process.plt.return'
                                                     params: filled by the probe-family
                                                     resolver (path, pid, address, ...)
    `location` is the -p2 text before ` /* ` and what pp() returns
    (`timer.ms(100)`, keeping `?`/`!` and ` if (...)`), `point_name` the
    point as the user wrote it (pn()).  `derivation` is the `/* <- ... */`
    chain text.  `condition` is the `if (...)` expression on globals, typed.
    `locals` are the probe's locals (LocalVar).  `body` is an ast.Block with
    alias prologues/epilogues merged in and every expression typed.
    `index` is the probe's position in `Program.probes`.
    `synthetic` marks probes stapy made (the unread-global dump end probe).
    """

    family: str
    params: dict = field(default_factory=dict)
    location: str = ""
    point_name: str = ""
    derivation: str = ""
    condition: Optional[ast.Expr] = None
    locals: list = field(default_factory=list)  # list[LocalVar]
    body: Optional[ast.Block] = None
    index: int = 0
    synthetic: bool = False
    comment: str = ""  # extra -p2 text after the location, e.g. ' /* pc=.dynamic+0x1143 */'
    tok: Optional[Token] = None

    @property
    def sequence(self) -> int:
        """Sort key of begin/end/error probes (their `(n)`)."""
        return self.params.get("sequence", 0)


# ------------------------------------------------------------------------ limits


@dataclass(frozen=True)
class Limits:
    """stap's -D limits as this program uses them (LANGUAGE.md section 11)."""

    MAXNESTING: int = 1
    MAXSTRINGLEN: int = 512
    MAXACTION: int = 1000
    MAXACTION_INTERRUPTIBLE: int = 10000
    MAXMAPENTRIES: int = 2048
    MAXERRORS: int = 0
    MAXSKIPPED: int = 100
    MAXBACKTRACE: int = 20
    HIST_WIDTH: int = 50
    HIST_ELISION: int = 2


# ------------------------------------------------------------------------ program


@dataclass(eq=False)
class Program:
    """The whole resolved, typed, elided program.

    `globals` are in -p2 order (first reference), `functions` sorted by
    mangled name, `probes` in script order (derived probes of one statement
    adjacent; the global-dump end probe last).  `embeds` are the top-level
    `%{ %}` blocks (ast.Embed) kept after checks.  `warnings` are the
    warnings pass 2 already printed (kept for tools and tests).
    `recursive` tells whether any function (indirectly) calls itself.
    """

    globals: list = field(default_factory=list)  # list[GlobalVar]
    functions: list = field(default_factory=list)  # list[FunctionDef]
    probes: list = field(default_factory=list)  # list[DerivedProbe]
    embeds: list = field(default_factory=list)  # list[ast.Embed]
    limits: Limits = field(default_factory=Limits)
    recursive: bool = False
    warnings: list = field(default_factory=list)  # list[Diagnostic]
    files: list = field(default_factory=list)  # the user's ast.StapFile(s)
    suppressed: tuple = (0, 0)  # duplicate (errors, warnings) hidden, for the closing summary

    def function(self, name: str) -> Optional[FunctionDef]:
        """The first overload called `name` (or None)."""
        for f in self.functions:
            if f.name == name:
                return f
        return None

    def global_(self, name: str) -> Optional[GlobalVar]:
        for g in self.globals:
            if g.name == name:
                return g
        return None
