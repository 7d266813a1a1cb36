"""stap's printed form of pass-2 expressions and probe points (staptree.cxx print).

Used for -p2 locations (`end! if ((__global_g) > (0))`): after symbol
resolution stap prints globals by their mangled names.
"""
from __future__ import annotations

from stapy.parser import ast
from stapy.semantic.program import GlobalVar


def literal(e) -> str:
    if isinstance(e, ast.NumberLit):
        return f"{e.value:#x}" if e.hex else str(e.value)
    if isinstance(e, ast.StringLit):
        return '"' + e.value.replace('"', '\\"') + '"'
    return expr(e)


def component(c: ast.ProbePointComponent) -> str:
    s = c.functor
    if c.arg is not None:
        s += "(" + literal(c.arg) + ")"
    return s


def probe_point(pp: ast.ProbePoint, with_condition: bool = True) -> str:
    s = ".".join(component(c) for c in pp.components)
    if pp.sufficient:
        s += "!"
    elif pp.optional:
        s += "?"
    if with_condition and pp.condition is not None:
        s += " if (" + expr(pp.condition) + ")"
    return s


def _name(sym: ast.Symbol) -> str:
    ref = sym.referent
    if isinstance(ref, GlobalVar):
        return ref.mangled
    return sym.name


def expr(e) -> str:
    if e is None:
        return ""
    if isinstance(e, ast.NumberLit):
        return str(e.value)
    if isinstance(e, ast.StringLit):
        return '"' + e.value.replace('"', '\\"') + '"'
    if isinstance(e, ast.Symbol):
        return _name(e)
    if isinstance(e, ast.Binary):
        return f"({expr(e.left)}) {e.op} ({expr(e.right)})"
    if isinstance(e, ast.Assignment):
        return f"({expr(e.left)}) {e.op} ({expr(e.right)})"
    if isinstance(e, ast.Unary):
        return f"{e.op}({expr(e.operand)})"
    if isinstance(e, ast.IncDec):
        return f"{e.op}({expr(e.operand)})" if e.prefix else f"({expr(e.operand)}){e.op}"
    if isinstance(e, ast.Ternary):
        return f"({expr(e.cond)})?({expr(e.then)}):({expr(e.else_)})"
    if isinstance(e, ast.RegexMatch):
        return f'({expr(e.left)}) {e.op} "{e.regex}"'
    if isinstance(e, ast.ArrayIndex):
        base = _name(e.base) if isinstance(e.base, ast.Symbol) else expr(e.base)
        return base + "[" + ", ".join("*" if i is None else expr(i) for i in e.indexes) + "]"
    if isinstance(e, ast.ArrayIn):
        idx = e.index
        base = _name(idx.base) if isinstance(idx.base, ast.Symbol) else expr(idx.base)
        return "[" + ", ".join("*" if i is None else expr(i) for i in idx.indexes) + "] in " + base
    if isinstance(e, ast.FunctionCall):
        name = e.referent[0].mangled if e.referent else e.name
        return f"{name}(" + ", ".join(expr(a) for a in e.args) + ")"
    if isinstance(e, ast.StatOp):
        return f"@{e.op}(" + ", ".join([expr(e.stat)] + [expr(p) for p in e.params]) + ")"
    if isinstance(e, ast.HistOp):
        return f"@hist_{e.kind}(" + ", ".join([expr(e.stat)] + [expr(p) for p in e.params]) + ")"
    if isinstance(e, ast.PrintFormat):
        args = []
        if e.format is not None:
            args.append('"' + e.format + '"')
        if e.delimiter is not None:
            args.append('"' + e.delimiter + '"')
        args += [expr(a) for a in e.args]
        return f"{e.name}(" + ", ".join(args) + ")"
    if isinstance(e, ast.TargetSymbol):
        s = ("&" if e.addressof else "") + e.name
        for c in e.components:
            if c.kind == "field":
                s += "->" + c.name
            elif c.kind == "index":
                s += "[" + expr(c.index) + "]"
            else:
                s += c.name
        return s
    if isinstance(e, ast.DefinedOp):
        return f"@defined({expr(e.operand)})"
    if isinstance(e, ast.EmbeddedExpr):
        return "%{" + e.code + "%}"
    return type(e).__name__
