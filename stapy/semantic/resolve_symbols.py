"""Pass: symbol resolution (stap's semantic_pass_symbols / symresolution_info).

Binds every `Symbol` to a LocalVar or GlobalVar and every `FunctionCall` to
its overloads, pulling tapset functions and globals in on demand.  Unknown
scalar names become locals of the probe or function; unknown arrays are
errors.  Globals are listed in first-reference order, which -p2 shows.
"""
from __future__ import annotations

from stapy.parser import ast
from stapy.semantic import derive_probes
from stapy.semantic.draft import Draft, ProbeDraft
from stapy.semantic.program import FunctionDef, GlobalVar, LocalVar
from stapy.semantic.suggest import similar


class ResolveError(Exception):
    def __init__(self, message, token, key=None, chain=None, token2=None):
        super().__init__(message)
        self.message, self.token, self.key, self.chain, self.token2 = message, token, key, chain, token2


_STAP48_NAMES = None


def stap48_function_names() -> set:
    """SystemTap 4.8's library function names, which its suggestions draw on (data file)."""
    global _STAP48_NAMES
    if _STAP48_NAMES is None:
        import os
        path = os.path.join(os.path.dirname(__file__), "stap48_function_names.txt")
        with open(path) as f:
            _STAP48_NAMES = {ln.strip() for ln in f if ln.strip() and not ln.startswith("#")}
    return _STAP48_NAMES


def detox_path(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name) + "_"


def _pragmas(code: str) -> frozenset:
    import re
    return frozenset(m.strip() for m in re.findall(r"/\*\s*([^*]*?)\s*\*/", code))


class Resolver:
    def __init__(self, d: Draft):
        self.d = d
        self.arity: dict = {}  # var -> (arity, tok)
        self.maxsize: dict = {}  # GlobalVar -> declared size (arrays)
        self.global_decls: dict = {}  # id(ast.Global) -> GlobalVar
        self.fn_by_decl: dict = {}  # id(ast.Function) -> FunctionDef
        self.pending: list = []
        self.done: set = set()
        self.scope = None  # dict of locals of the current probe/function
        self.owner = None  # ProbeDraft or FunctionDef
        self.file = None  # StapFile of the code being resolved
        self._number_overloads()

    # -- functions --------------------------------------------------------
    def _number_overloads(self):
        """stap numbers same-name functions in parse order: user files, then the library."""
        self.decls_by_name: dict = {}
        for f in self.d.user_files:
            for fn in f.functions:
                self.decls_by_name.setdefault(fn.name, []).append((fn, f, False))

    def _decls(self, name):
        if name not in self._lib_loaded:
            self._lib_loaded.add(name)
            lst = self.decls_by_name.setdefault(name, [])
            for fn, f in self.d.library.functions(name):
                lst.append((fn, f, True))
        return self.decls_by_name.get(name, [])

    _lib_loaded: set

    def function_def(self, decl, f, from_tapset, index) -> FunctionDef:
        fd = self.fn_by_decl.get(id(decl))
        if fd is not None:
            return fd
        fname = (f.source.name if f.source is not None else f.name)
        base = f"__private_{detox_path(fname)}{decl.name}" if decl.private else f"__global_{decl.name}"
        mangled = f"{base}__overload_{index}"
        params = [LocalVar(p.name, p.type, is_param=True, slot=i, tok=p.tok) for i, p in enumerate(decl.params)]
        body = decl.body
        pragmas = _pragmas(body.code) if isinstance(body, ast.EmbeddedStmt) else frozenset()
        from stapy.semantic.draft import clone, replace_exprs
        body = clone(body)
        if isinstance(body, ast.Block):
            body = replace_exprs(body, self._const_limit)
        fd = FunctionDef(name=decl.name, mangled=mangled, params=params, type=decl.type,
                         body=body, priority=decl.priority, private=decl.private,
                         native="stapy:native" in pragmas, pragmas=pragmas, from_tapset=from_tapset,
                         file=decl.file or f.source, tok=decl.tok, decl=decl)
        fd._file = f
        self.fn_by_decl[id(decl)] = fd
        self.d.functions[mangled] = fd
        self.pending.append(fd)
        return fd

    def _const_limit(self, e):
        """`@const("MAXSTRINGLEN")` (the tapset's @MAXSTRINGLEN) becomes the limit's value."""
        import re
        if isinstance(e, ast.EmbeddedExpr):
            name = re.sub(r"/\*.*?\*/", "", e.code).strip()
            if name in ("MAXSTRINGLEN", "MAXACTION", "MAXMAPENTRIES", "MAXBACKTRACE"):
                defaults = {"MAXSTRINGLEN": 512, "MAXACTION": 1000, "MAXMAPENTRIES": 2048, "MAXBACKTRACE": 20}
                return ast.NumberLit(self.d.options.define(name, defaults[name]), tok=e.tok)
        return e

    def find_functions(self, call: ast.FunctionCall) -> list:
        name, arity = call.name, len(call.args)
        found, last = [], None
        for idx, (decl, f, lib) in enumerate(self._decls(name)):
            if decl.private and f is not self.file:
                continue
            if len(decl.params) == arity:
                found.append(self.function_def(decl, f, lib, idx))
            else:
                last = decl
        if not found and last is not None:
            raise ResolveError(f"arity mismatch found (function '{name}' takes {len(last.params)} args)",
                               call.tok, key="arity mismatch found", token2=last.tok)
        if not found:
            # 4.8 suggests library functions and those already pulled in, not the user's others
            names = {fd.name for fd in self.d.functions.values()}
            names.update(n for n in self.d.library.function_names())
            names.update(stap48_function_names())
            names.discard(name)  # a 4.8 function stapy lacks is not its own suggestion
            raise ResolveError(f"unresolved function {name}{similar(name, names)}", call.tok,
                               key="unresolved function")
        found.sort(key=lambda fd: fd.priority)  # stable: keeps declaration order
        return found

    # -- variables --------------------------------------------------------
    def set_arity(self, var, a, tok):
        if a < 0:
            return
        if a == 0 and self.maxsize.get(var):
            raise ResolveError("inconsistent arity", var.tok, key="inconsistent arity0")
        cur, ctok = self.arity.get(var, (-1, None))
        if cur >= 0 and cur != a:
            from stapy.diagnostics import Diagnostic
            chain = [Diagnostic("semantic error", f"arity {cur} first inferred here", ctok)] if ctok else []
            raise ResolveError(f"inconsistent arity ({cur} vs {a})", tok or var.tok, key="inconsistent arity",
                               chain=chain)
        if cur != a:
            self.arity[var] = (a, tok)
            if isinstance(var, GlobalVar):
                var.index_types = [None] * a

    def global_var(self, decl: ast.Global, f, from_tapset: bool) -> GlobalVar:
        gv = self.global_decls.get(id(decl))
        if gv is None:
            fname = f.source.name if f.source is not None else f.name
            mangled = f"__private_{detox_path(fname)}{decl.name}" if decl.private else f"__global_{decl.name}"
            init = None
            if decl.init is not None:
                e = decl.init
                if isinstance(e, ast.Unary) and e.op == "-" and isinstance(e.operand, ast.NumberLit):
                    init = -e.operand.value
                else:
                    init = getattr(e, "value", None)
            gv = GlobalVar(name=decl.name, mangled=mangled, size=decl.size, wrap=decl.wrap, init=init,
                           private=decl.private, tok=decl.tok, decl=decl)
            if isinstance(init, int):
                gv.type = "long"
            elif isinstance(init, str):
                gv.type = "string"
            gv.from_tapset = from_tapset
            self.global_decls[id(decl)] = gv
            self.d.globals.append(gv)
            if decl.size or decl.array:
                self.maxsize[gv] = decl.size or 1
            if decl.init is not None:
                self.arity[gv] = (0, decl.tok)
        return gv

    def find_global(self, name, tok):
        for f in self.d.user_files:
            for g in f.globals:
                if g.name == name and (not g.private or f is self.file):
                    return self.global_var(g, f, False)
        for g, f in self.d.library.globals(name):
            if not g.private or f is self.file:
                return self.global_var(g, f, True)
        return None

    def find_var(self, name, arity, tok):
        if self.scope is not None and name in self.scope:
            v = self.scope[name]
            self.set_arity(v, arity, tok)
            return v
        g = self.find_global(name, tok)
        if g is not None:
            self.set_arity(g, arity, tok)
        return g

    def new_local(self, sym: ast.Symbol) -> LocalVar:
        if self.scope is None:
            raise ResolveError("probe condition must not reference undeclared global", sym.tok)
        v = LocalVar(sym.name, tok=sym.tok, slot=len(self.scope))
        self.scope[sym.name] = v
        self.arity[v] = (0, sym.tok)
        return v

    # -- the walk ---------------------------------------------------------
    def stmt(self, s):
        if isinstance(s, ast.Block):
            for x in s.statements:
                try:
                    self.stmt(x)
                except ResolveError as e:
                    self.report(e)
        elif isinstance(s, ast.ExprStmt):
            self.expr(s.expr)
        elif isinstance(s, ast.If):
            self.expr(s.cond)
            self.stmt(s.then)
            if s.else_ is not None:
                self.stmt(s.else_)
        elif isinstance(s, ast.For):
            if s.init is not None:
                self.stmt(s.init)
            if s.cond is not None:
                self.expr(s.cond)
            if s.incr is not None:
                self.stmt(s.incr)
            self.stmt(s.body)
        elif isinstance(s, ast.Foreach):
            for k in s.keys:
                self.expr(k)
            for x in s.slice or []:
                if x is not None:
                    self.expr(x)
            if s.array is None:
                pass  # the parser could not tell what is iterated
            elif isinstance(s.array, ast.Symbol):
                arr = s.array
                v = self.find_var(arr.name, len(s.keys), arr.tok)
                if v is None or isinstance(v, LocalVar):
                    raise ResolveError(f"unresolved arity-{len(s.keys)} global array {arr.name}, "
                                       "missing global declaration?", arr.tok, key="unresolved array")
                arr.referent = v
                if s.slice and len(s.slice) != len(s.keys):
                    raise ResolveError(f"unresolved arity-{len(s.slice)} global array {v.mangled}, "
                                       "missing global declaration?", arr.tok, key="unresolved array")
            else:
                self.expr(s.array)
            if s.value is not None:
                self.expr(s.value)
            if s.limit is not None:
                self.expr(s.limit)
            self.stmt(s.body)
        elif isinstance(s, ast.Return):
            if s.value is not None:
                self.expr(s.value)
        elif isinstance(s, ast.Delete):
            self.delete_target(s.target)
        elif isinstance(s, ast.TryCatch):
            self.stmt(s.try_block)
            if s.var is not None:
                self.expr(s.var)
            self.stmt(s.catch_block)

    def delete_target(self, e):
        if isinstance(e, ast.Symbol):
            v = self.find_var(e.name, -1, e.tok)
            if v is None:
                raise ResolveError("unresolved array in delete statement", e.tok)
            e.referent = v
        elif isinstance(e, ast.ArrayIndex):
            self.array_index(e, wildcard_ok=True)
        else:
            self.expr(e)

    def array_index(self, e: ast.ArrayIndex, wildcard_ok=False):
        for i in e.indexes:
            if i is None:
                if not wildcard_ok:
                    raise ResolveError("wildcard not allowed in array index", e.tok)
            else:
                self.expr(i)
        if isinstance(e.base, ast.Symbol):
            arr = e.base
            if arr.referent is not None:
                return
            v = self.find_var(arr.name, len(e.indexes), arr.tok)
            if v is None:
                raise ResolveError(f"unresolved arity-{len(e.indexes)} global array {arr.name}, "
                                   "missing global declaration?", e.tok, key="unresolved array")
            arr.referent = v
        else:
            self.expr(e.base)

    def expr(self, e):
        if e is None:
            return
        if isinstance(e, ast.Symbol):
            if e.referent is not None:
                return
            v = self.find_var(e.name, 0, e.tok)
            e.referent = v if v is not None else self.new_local(e)
        elif isinstance(e, ast.ArrayIndex):
            self.array_index(e)
        elif isinstance(e, ast.ArrayIn):
            self.array_index(e.index, wildcard_ok=True)
        elif isinstance(e, ast.FunctionCall):
            if self.scope is None:
                raise ResolveError("probe condition must not reference function", e.tok)
            for a in e.args:
                self.expr(a)
            if not e.referent:
                e.referent = self.find_functions(e)
        elif isinstance(e, ast.PrintFormat):
            if getattr(e, "hist", None) is not None:
                self.expr(e.hist)
            for a in e.args:
                self.expr(a)
        elif isinstance(e, (ast.StatOp, ast.HistOp)):
            self.expr(e.stat)
            for p in e.params:
                self.expr(p)
        elif isinstance(e, ast.Unary):
            self.expr(e.operand)
        elif isinstance(e, (ast.Binary, ast.Assignment)):
            self.expr(e.left)
            self.expr(e.right)
        elif isinstance(e, ast.RegexMatch):
            self.expr(e.left)
        elif isinstance(e, ast.Ternary):
            self.expr(e.cond)
            self.expr(e.then)
            self.expr(e.else_)
        elif isinstance(e, ast.IncDec):
            self.expr(e.operand)
        elif isinstance(e, (ast.EntryOp, ast.DefinedOp)):
            self.expr(e.operand)
        elif isinstance(e, ast.CastOp):
            self.expr(e.operand)
        elif isinstance(e, ast.AtOp):
            for a in e.args:
                self.expr(a)
        elif isinstance(e, ast.TargetSymbol):
            for c in e.components:
                if c.index is not None:
                    self.expr(c.index)

    def report(self, e: ResolveError):
        self.d.reporter.error(e.message, e.token, key=e.key, chain=e.chain, token2=e.token2)

    def run(self):
        """stap's semantic_pass_symbols: a tapset file pulled in by a function or global brings its
        probes along (argv.stp's `probe init`), and those may pull in more files."""
        self._lib_loaded = set()
        derived_files = {id(f) for f in self.d.user_files}
        done = 0
        while True:
            while done < len(self.d.probes):
                self.probe(self.d.probes[done])
                done += 1
            self.functions()
            fresh = [f for f in pulled_files(self.d) if id(f) not in derived_files]
            if not fresh:
                break
            for f in fresh:
                derived_files.add(id(f))
                derive_probes.derive_file(self.d, f)
        self.d.arity = self.arity

    def probe(self, p):
        self.scope, self.owner, self.file = p.locals, p, p.file
        try:
            self.stmt(p.body)
        except ResolveError as e:
            self.report(e)
        if p.point.condition is not None:
            self.scope, self.owner = None, None
            try:
                self.expr(p.point.condition)
            except ResolveError as e:
                self.report(e)

    def functions(self):
        while self.pending:
            self.pending.sort(key=lambda fd: fd.mangled)
            fd = self.pending.pop(0)
            self.scope = {v.name: v for v in fd.params}
            for v in fd.params:
                self.arity[v] = (0, v.tok)
            self.owner, self.file = fd, fd._file
            try:
                self.stmt(fd.body)
            except ResolveError as e:
                self.report(e)
            fd.locals = [v for v in self.scope.values() if not v.is_param]


def pulled_files(d: Draft) -> list:
    """The tapset files the program refers to (by a function or a global), first reference first."""
    pulled = []
    for fd in d.functions.values():
        f = getattr(fd, "_file", None)
        if f is not None and all(f is not x for x in d.user_files) and all(f is not x for x in pulled):
            pulled.append(f)
    for g in d.globals:
        for decl, f in d.library.globals(g.name):
            if decl is g.decl and all(f is not x for x in pulled):
                pulled.append(f)
    return pulled


def run(d: Draft) -> Draft:
    Resolver(d).run()
    # top-level %{ %} blocks: the user's, then those of tapset files that were pulled in (as stap's s.files)
    for f in list(d.user_files) + pulled_files(d):
        d.embeds.extend(f.embeds)
    return d
