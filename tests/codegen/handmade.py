"""Tiny typed Programs built by hand (no parser needed), for codegen unit tests."""
from __future__ import annotations

from stapy.diagnostics import SourceFile, Token
from stapy.parser import ast
from stapy.semantic.program import LONG, STRING, DerivedProbe, FunctionDef, GlobalVar, Limits, LocalVar, Program

SRC = SourceFile("<input>", "probe begin { x = 7 / 0 }\n")


def tok(text, kind="operator", line=1, col=1):
    return Token(kind, text, SRC, line, col)


def num(v):
    return ast.NumberLit(v, tok=tok(str(v), "number"), type=LONG)


def strlit(s):
    return ast.StringLit(s, tok=tok(s, "string"), type=STRING)


def sym(var):
    return ast.Symbol(var.name, tok=tok(var.name, "identifier"), type=var.type, referent=var)


def binop(op, a, b, col=1, type=LONG):
    return ast.Binary(op, a, b, tok=tok(op, "operator", 1, col), type=type)


def assign(var, e, op="="):
    return ast.ExprStmt(ast.Assignment(op, sym(var), e, tok=tok(op), type=var.type), tok=tok(op))


def printf(fmt, *args):
    return ast.ExprStmt(ast.PrintFormat("printf", format=fmt, args=list(args), tok=tok("printf", "identifier")),
                        tok=tok("printf", "identifier"))


def call(fdef, *args):
    return ast.FunctionCall(fdef.name, list(args), tok=tok(fdef.name, "identifier"), type=fdef.type, referent=[fdef])


def native(name, type=None, nparams=0):
    return FunctionDef(name, "__global_" + name, params=[LocalVar(f"a{i}", LONG, True, i) for i in range(nparams)],
                       type=type, native=True, body=ast.EmbeddedStmt("/* stapy:native */"))


def begin_probe(stmts, locals_, index=0, family="begin"):
    return DerivedProbe(family, {"sequence": 0}, location=family, point_name=family, locals=locals_,
                        body=ast.Block(stmts), index=index, tok=tok(family, "identifier"))


def arith_program():
    x = LocalVar("x", LONG)
    s = LocalVar("s", STRING)
    exit_fn = native("exit")
    stmts = [
        assign(x, binop("/", num(7), num(2))),
        assign(s, binop(".", strlit("ab"), strlit("cd"), type=STRING)),
        printf("%s %d\\n", sym(s), sym(x)),
        ast.ExprStmt(call(exit_fn), tok=tok("exit", "identifier")),
    ]
    return Program(probes=[begin_probe(stmts, [x, s])], functions=[], limits=Limits())


def division_error_program():
    x = LocalVar("x", LONG)
    stmts = [assign(x, binop("/", num(7), num(0), col=21))]
    end = begin_probe([printf("end\\n")], [], index=1, family="end")
    return Program(probes=[begin_probe(stmts, [x]), end], functions=[], limits=Limits())
