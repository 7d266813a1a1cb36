"""The -p1 listing, byte for byte as stap 4.8 prints it (staptree.cxx print methods).

4.8 differs from the snapshot in one place: `.` is a plain binary
operator, so `a . b . c` prints `((a) . (b)) . (c)`.
"""
from __future__ import annotations

from stapy.parser import ast as A
from stapy.parser.lexer import quote_arg


def _str_lit(v: str) -> str:
    return '"' + v.replace('"', '\\"') + '"'


def expr(e) -> str:
    m = _EXPR.get(type(e))
    if m is None:
        raise TypeError(f"cannot print {type(e).__name__}")
    return m(e)


def _components(comps) -> str:
    out = []
    for c in comps:
        if c.kind in ("field", "pretty"):
            out.append("->" + c.name)
        else:
            out.append("[" + expr(c.index) + "]")
    return "".join(out)


def _indexes(idx) -> str:
    return ", ".join("*" if i is None else expr(i) for i in idx)


def _print_format(e: A.PrintFormat) -> str:
    parts = []
    if e.format is not None:
        parts.append(quote_arg(e.format))
    if e.delimiter is not None:
        parts.append(quote_arg(e.delimiter))
    head = ""
    if e.hist is not None:
        head = expr(e.hist)
    args = [expr(a) for a in e.args]
    if parts:
        return f"{e.name}(" + ", ".join(parts + args) + ")"
    return f"{e.name}(" + head + (", " if head and args else "") + ", ".join(args) + ")"


def _hist(e: A.HistOp) -> str:
    if e.kind == "linear":
        return "@hist_linear(" + expr(e.stat) + "".join(", " + expr(p) for p in e.params) + ")"
    return "@hist_log(" + expr(e.stat) + ")"


def _stat(e: A.StatOp) -> str:
    s = f"@{e.op}(" + expr(e.stat)
    if e.op == "variance" and len(e.params) == 1:
        s += ", " + expr(e.params[0])
    return s + ")"


def _atop(e: A.AtOp) -> str:
    if e.name in ("uregister", "kregister"):
        return f"@{e.name}({expr(e.args[0])})"
    if e.name in ("uderef", "kderef"):
        return f"@{e.name}({expr(e.args[0])}, {expr(e.args[1])})"
    return f"@{e.name}(" + ", ".join(expr(a) for a in e.args) + ")"


def _cast(e: A.CastOp) -> str:
    s = ("&" if e.addressof else "") + "@cast(" + expr(e.operand) + ", " + quote_arg(e.type_name)
    if e.module:
        s += ", " + quote_arg(e.module)
    return s + ")" + _components(e.components)


def _atvar(e: A.AtVar) -> str:
    s = ("&" if e.addressof else "") + '@var("' + e.name + '"'
    if e.module:
        s += ", " + quote_arg(e.module)
    return s + ")" + _components(e.components)


_EXPR = {
    A.NumberLit: lambda e: f"{e.value:#x}" if e.hex else str(e.value),  # hex: derived addresses (stap prints them so)
    A.StringLit: lambda e: _str_lit(e.value),
    A.Symbol: lambda e: e.name,
    A.TargetSymbol: lambda e: ("&" if e.addressof else "") + e.name + _components(e.components),
    A.CastOp: _cast,
    A.AtVar: _atvar,
    A.AutoCast: lambda e: ("&" if e.addressof else "") + "(" + expr(e.operand) + ")"
    + _components(e.components),
    A.EntryOp: lambda e: "@entry(" + expr(e.operand) + ")",
    A.DefinedOp: lambda e: "@defined(" + expr(e.operand) + ")",
    A.ProbewriteOp: lambda e: "@probewrite(" + e.name + ")",
    A.AtOp: _atop,
    A.StatOp: _stat,
    A.HistOp: _hist,
    A.ArrayIndex: lambda e: expr(e.base) + "[" + _indexes(e.indexes) + "]",
    A.ArrayIn: lambda e: "[" + _indexes(e.index.indexes) + "] in " + expr(e.index.base),
    A.FunctionCall: lambda e: e.name + "(" + ", ".join(expr(a) for a in e.args) + ")",
    A.PrintFormat: _print_format,
    A.Unary: lambda e: e.op + "(" + expr(e.operand) + ")",
    A.Binary: lambda e: "(" + expr(e.left) + ") " + e.op + " (" + expr(e.right) + ")",
    A.RegexMatch: lambda e: "(" + expr(e.left) + ") " + e.op + " " + _str_lit(e.regex),
    A.Ternary: lambda e: "(" + expr(e.cond) + ")?(" + expr(e.then) + "):(" + expr(e.else_) + ")",
    A.Assignment: lambda e: "(" + expr(e.left) + ") " + e.op + " (" + expr(e.right) + ")",
    A.IncDec: lambda e: (e.op + "(" + expr(e.operand) + ")") if e.prefix
    else ("(" + expr(e.operand) + ")" + e.op),
    A.EmbeddedExpr: lambda e: "%{ " + e.code + " %}",
}


def stmt(s) -> str:
    if isinstance(s, A.Block):
        return "{\n" + "".join(stmt(x) + ";\n" for x in s.statements) + "}"
    if isinstance(s, A.NullStmt):
        return ";"
    if isinstance(s, A.ExprStmt):
        return expr(s.expr)
    if isinstance(s, A.If):
        out = "if (" + expr(s.cond) + ") " + stmt(s.then) + "\n"
        if s.else_ is not None:
            out += "else " + stmt(s.else_) + "\n"
        return out
    if isinstance(s, A.For):
        init = stmt(s.init) if s.init is not None else ""
        cond = expr(s.cond) if s.cond is not None else "1"
        incr = stmt(s.incr) if s.incr is not None else ""
        return f"for ({init}; {cond}; {incr}) " + stmt(s.body)
    if isinstance(s, A.Foreach):
        return _foreach(s)
    if isinstance(s, A.Return):
        return "return " + expr(s.value) if s.value is not None else "return"
    if isinstance(s, A.Delete):
        return "delete " + expr(s.target)
    if isinstance(s, A.Next):
        return "next"
    if isinstance(s, A.Break):
        return "break"
    if isinstance(s, A.Continue):
        return "continue"
    if isinstance(s, A.TryCatch):
        out = "try {\n" + stmt(s.try_block) + "\n} catch "
        if s.var is not None:
            out += "(" + s.var.name + ") "
        return out + "{\n" + stmt(s.catch_block) + "\n}\n"
    if isinstance(s, A.EmbeddedStmt):
        return "%{" + s.code + "%}"
    raise TypeError(f"cannot print {type(s).__name__}")


def _foreach(s: A.Foreach) -> str:
    out = "foreach ("
    if s.value is not None:
        out += s.value.name + " = "
    keys = []
    for i, k in enumerate(s.keys):
        mark = ""
        if s.sort_dir and s.sort_column == i + 1:
            mark = "+" if s.sort_dir > 0 else "-"
        keys.append(k.name + mark)
    out += "[" + ", ".join(keys) + "] in " + expr(s.array)
    if s.slice:
        out += "[" + _indexes(s.slice) + "]"
    if s.sort_dir and s.sort_column in (0, -1):
        if s.sort_aggregate in ("count", "avg", "min", "max", "sum"):
            out += " @" + s.sort_aggregate
        out += "+" if s.sort_dir > 0 else "-"
    if s.limit is not None:
        out += " limit " + expr(s.limit)
    return out + ") " + stmt(s.body)


def probe_point(pp: A.ProbePoint) -> str:
    parts = []
    for c in pp.components:
        p = c.functor
        if c.arg is not None:
            p += "(" + expr(c.arg) + ")"
        parts.append(p)
    out = ".".join(parts)
    if pp.sufficient:
        out += "!"
    elif pp.optional:
        out += "?"
    if pp.condition is not None:
        out += " if (" + expr(pp.condition) + ")"
    return out


def _global(g: A.Global) -> str:
    out = "global " + g.name
    if g.wrap:
        out += "%"
    if g.size:
        out += f"[{g.size}]"
    if g.init is not None:
        out += " = " + expr(g.init)
    return out


def print_file(f: A.StapFile) -> str:
    """One `# file NAME` section, in stap's order: embeds, globals, aliases, probes, functions."""
    out = ["# file " + f.name + "\n"]
    for e in f.embeds:
        out.append("%{" + e.code + "%}")
    for g in f.globals:
        out.append(_global(g) + "\n")
    for a in f.aliases:
        sig = " = ".join(probe_point(n) for n in a.names)
        sig += " += " if a.epilogue else " = "
        sig += ", ".join(probe_point(p) for p in a.points)
        out.append("probe " + sig + stmt(a.body) + "\n")
    for p in f.probes:
        out.append("probe " + ",".join(probe_point(pp) for pp in p.points) + stmt(p.body) + "\n")
    for fn in f.functions:
        params = ", ".join(p.name for p in fn.params)
        out.append(f"function {fn.name} ({params})\n" + stmt(fn.body) + "\n")
    return "".join(out)


def print_parsed(parsed, options, out) -> None:
    """Pass 1's listing: `# parse tree dump`, each user file (and tapsets with -v), a blank line."""
    out.write("# parse tree dump\n")
    for f in parsed.user_files:
        out.write(print_file(f))
    out.write("\n")
    if getattr(options, "verbose", 0):
        for f in parsed.tapsets.files():
            out.write(print_file(f) + "\n")
