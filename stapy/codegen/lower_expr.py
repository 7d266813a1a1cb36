"""Lowering of expressions: longs are i64 values, strings are pointers to NUL-terminated buffers.

A string result may point at a constant, at a variable's storage or at a
fresh temporary; whoever stores it copies it (bounded by MAXSTRINGLEN-1).
Array, statistic and print operations go through `lower_data` / `lower_print`.
"""
from __future__ import annotations

from llvmlite import ir

from stapy.codegen.irbuilder import I8, I64, PTR, c64, decode_stap_string
from stapy.diagnostics import StapError, Diagnostic
from stapy.parser import ast
from stapy.semantic.program import LONG, STRING, STATS, GlobalVar, LocalVar


def translation_error(message: str, tok) -> StapError:
    return StapError([Diagnostic("semantic error", message, tok)])


ARITH_OPS = {"+", "-", "*", "/", "%", "<<", ">>", ">>>", "&", "|", "^"}
COMPARE_OPS = {"<", ">", "<=", ">=", "==", "!="}


class ExprLowering:
    """Mixin of the per-function lowerer: `self.fb` is the FunctionBuilder, `self.b` its IRBuilder."""

    # -- entry point -------------------------------------------------------------
    def expr(self, e: ast.Expr):
        method = getattr(self, "expr_" + type(e).__name__, None)
        if method is None:
            raise translation_error(f"unsupported expression {type(e).__name__}", e.tok)
        return method(e)

    def long_expr(self, e: ast.Expr) -> ir.Value:
        v = self.expr(e)
        if v is None or v.type != I64:
            raise translation_error("expected a long value", e.tok)
        return v

    def cond(self, e: ast.Expr) -> ir.Value:
        """An i1 for an expression used as a condition."""
        return self.fb.truth(self.long_expr(e))

    # -- leaves ------------------------------------------------------------------
    def expr_NumberLit(self, e):
        return c64(e.value)

    def expr_StringLit(self, e):
        return self.fb.str_const(decode_stap_string(e.value))

    def expr_Symbol(self, e):
        var = e.referent
        if isinstance(var, GlobalVar) and var.is_array:
            raise translation_error("array used as a scalar", e.tok)
        if isinstance(var, GlobalVar) and var.type == STATS:
            raise translation_error("statistic used as a scalar", e.tok)
        ptr = self.var_ptr(var, e.tok)
        if self.var_type(var) == STRING:
            return ptr
        return self.b.load(ptr, typ=I64)

    def expr_DefinedOp(self, e):
        return c64(getattr(e, "defined", 0))  # decided in pass 2 (stapy.semantic.target_vars)

    def expr_TargetSymbol(self, e):  # $var, @cast, @var, @entry: stapy.codegen.lower_target
        from stapy.codegen.lower_target import lower_target
        return lower_target(self, e)

    expr_CastOp = expr_AtVar = expr_EntryOp = expr_TargetSymbol

    # -- variables -----------------------------------------------------------------
    def var_type(self, var) -> str:
        return var.type if var.type is not None else LONG

    def var_ptr(self, var, tok) -> ir.Value:
        if isinstance(var, LocalVar):
            ptr = self.locals.get(id(var))
            if ptr is None:
                ptr = self.add_local(var)
            return ptr
        if isinstance(var, GlobalVar):
            return self.globals.scalar(var)
        raise translation_error("unresolved symbol", tok)

    def store_to(self, var, value, tok) -> None:
        ptr = self.var_ptr(var, tok)
        if self.var_type(var) == STRING:
            self.fb.str_copy(ptr, value)
        else:
            self.b.store(value, ptr)

    # -- operators -------------------------------------------------------------------
    def expr_Unary(self, e):
        v = self.long_expr(e.operand)
        if e.op == "-":
            return self.b.sub(c64(0), v)
        if e.op == "+":
            return v
        if e.op == "!":
            return self.b.zext(self.b.icmp_signed("==", v, c64(0)), I64)
        if e.op == "~":
            return self.b.xor(v, c64(-1))
        raise translation_error(f"unknown unary operator {e.op}", e.tok)

    def arith(self, op: str, a: ir.Value, b: ir.Value, tok) -> ir.Value:
        bb = self.b
        if op == "+":
            return bb.add(a, b)
        if op == "-":
            return bb.sub(a, b)
        if op == "*":
            return bb.mul(a, b)
        if op in ("/", "%"):
            self.fb.check(bb.icmp_signed("==", b, c64(0)), "division", tok, b"division by 0")
            minus1 = bb.icmp_signed("==", b, c64(-1))
            safe = bb.select(minus1, c64(1), b)
            if op == "/":
                return bb.select(minus1, bb.sub(c64(0), a), bb.sdiv(a, safe))
            return bb.srem(a, safe)
        if op in ("<<", ">>", ">>>"):
            n = bb.and_(b, c64(63))
            if op == "<<":
                return bb.shl(a, n)
            return bb.ashr(a, n) if op == ">>" else bb.lshr(a, n)
        if op == "&":
            return bb.and_(a, b)
        if op == "|":
            return bb.or_(a, b)
        if op == "^":
            return bb.xor(a, b)
        raise translation_error(f"unknown operator {op}", tok)

    def expr_Binary(self, e):
        op = e.op
        if op in ("&&", "||"):
            return self.short_circuit(e)
        if op == ".":
            left = self.expr(e.left)
            right = self.expr(e.right)
            out = self.fb.temp_str()
            self.fb.str_copy(out, left)
            self.fb.str_cat(out, right)
            return out
        if op in COMPARE_OPS:
            left = self.expr(e.left)
            right = self.expr(e.right)
            if left.type == PTR:
                r = self.fb.str_cmp(left, right)
                res = self.b.icmp_signed(op, r, ir.Constant(r.type, 0))
            else:
                res = self.b.icmp_signed(op, left, right)
            return self.b.zext(res, I64)
        if op in ARITH_OPS:
            left = self.long_expr(e.left)
            right = self.long_expr(e.right)
            return self.arith(op, left, right, e.tok)
        raise translation_error(f"unknown operator {op}", e.tok)

    def short_circuit(self, e):
        fb = self.fb
        res = fb.alloca_long("sc")
        rhs_bb = fb.new_block("sc.rhs")
        end_bb = fb.new_block("sc.end")
        left = self.cond(e.left)
        short_value = 0 if e.op == "&&" else 1
        self.b.store(c64(short_value), res)
        if e.op == "&&":
            self.b.cbranch(left, rhs_bb, end_bb)
        else:
            self.b.cbranch(left, end_bb, rhs_bb)
        self.b.position_at_end(rhs_bb)
        right = self.cond(e.right)
        self.b.store(self.b.zext(right, I64), res)
        self.b.branch(end_bb)
        self.b.position_at_end(end_bb)
        return self.b.load(res, typ=I64)

    def expr_Ternary(self, e):
        fb = self.fb
        is_str = e.type == STRING
        res = fb.alloca_str("tern") if is_str else fb.alloca_long("tern")
        then_bb, else_bb, end_bb = fb.new_block("t.then"), fb.new_block("t.else"), fb.new_block("t.end")
        self.b.cbranch(self.cond(e.cond), then_bb, else_bb)
        for bb, sub in ((then_bb, e.then), (else_bb, e.else_)):
            self.b.position_at_end(bb)
            v = self.expr(sub)
            if is_str:
                fb.str_copy(res, v)
            else:
                self.b.store(v, res)
            self.b.branch(end_bb)
        self.b.position_at_end(end_bb)
        return res if is_str else self.b.load(res, typ=I64)

    # -- assignment ------------------------------------------------------------------
    def expr_Assignment(self, e):
        target = e.left
        if e.op == "<<<":
            return self.stat_add(target, self.long_expr(e.right), e.tok)
        if isinstance(target, ast.ArrayIndex):
            return self.array_assign(target, e.op, e.right, e.tok)
        if getattr(target, "tv", None) is not None:  # guru writes: stapy.codegen.lower_target
            from stapy.codegen.lower_target import assign_target
            return assign_target(self, target, e.op, e.right, e.tok)
        if not isinstance(target, ast.Symbol):
            raise translation_error("unsupported assignment target", e.tok)
        var = target.referent
        vtype = self.var_type(var)
        if vtype == STRING:
            right = self.expr(e.right)
            ptr = self.var_ptr(var, target.tok)
            if e.op == "=":
                self.fb.str_copy(ptr, right)
            elif e.op == ".=":
                self.fb.str_cat(ptr, right)
            else:
                raise translation_error(f"operator {e.op} on a string", e.tok)
            return ptr
        right = self.long_expr(e.right)
        ptr = self.var_ptr(var, target.tok)
        if e.op == "=":
            value = right
        else:
            value = self.arith(e.op[:-1], self.b.load(ptr, typ=I64), right, e.tok)
        self.b.store(value, ptr)
        return value

    def expr_IncDec(self, e):
        target = e.operand
        delta = c64(1 if e.op == "++" else -1)
        if isinstance(target, ast.ArrayIndex):
            return self.array_incdec(target, delta, e.prefix, e.tok)
        if getattr(target, "tv", None) is not None:
            from stapy.codegen.lower_target import incdec_target
            return incdec_target(self, target, delta, e.prefix, e.tok)
        ptr = self.var_ptr(target.referent, target.tok)
        old = self.b.load(ptr, typ=I64)
        new = self.b.add(old, delta)
        self.b.store(new, ptr)
        return new if e.prefix else old


class RegexLowering:
    """`s =~ "ERE"` / `!~`: libc's POSIX regcomp(REG_EXTENDED) compiled once per site on first use.

    The pattern is a compile-time literal; Python's `re` checks it is sane at
    translation time, and each site owns a module-level regex_t (glibc: 64
    bytes) plus a flag saying it is compiled.
    """

    REGEX_T_BYTES = 64
    REG_EXTENDED = 1

    def expr_RegexMatch(self, e):
        from stapy.codegen.irbuilder import I32, I8, c32

        mb = self.fb.mb
        subject = self.expr(e.left)
        pattern = decode_stap_string(e.regex)
        ty = ir.ArrayType(I8, self.REGEX_T_BYTES)
        re_g = ir.GlobalVariable(mb.module, ty, name=mb.unique("stapy_regex"))
        re_g.initializer = ir.Constant(ty, None)
        re_g.linkage = "internal"
        ready = ir.GlobalVariable(mb.module, I64, name=mb.unique("stapy_regex_ready"))
        ready.initializer = c64(0)
        ready.linkage = "internal"
        regcomp = mb.declare("regcomp", I32, [PTR, PTR, I32])
        regexec = mb.declare("regexec", I32, [PTR, PTR, I64, PTR, I32])
        b = self.b
        fb = self.fb
        comp, go = fb.new_block("re.compile"), fb.new_block("re.exec")
        b.cbranch(b.icmp_signed("==", b.load(ready, typ=I64), c64(0)), comp, go)
        b.position_at_end(comp)
        b.call(regcomp, [re_g, fb.str_const(pattern), c32(self.REG_EXTENDED)])
        b.store(c64(1), ready)
        b.branch(go)
        b.position_at_end(go)
        if not self.uses_match_groups():
            rc = b.call(regexec, [re_g, subject, c64(0), ir.Constant(PTR, None), c32(0)])
            hit = b.icmp_signed("==" if e.op == "=~" else "!=", rc, c32(0))
            return b.zext(hit, I64)
        # keep what matched(n) / ngroups() need: the subject, the group offsets, the group count
        state = self.match_state()
        rc = b.call(regexec, [re_g, subject, c64(self.MAX_GROUPS), state["regs"], c32(0)])
        ok = b.icmp_signed("==", rc, c32(0))
        b.store(b.zext(ok, I64), state["ok"])
        b.store(c64(regex_groups(pattern) + 1), state["n"])
        fb.str_copy(state["subject"], subject)
        hit = ok if e.op == "=~" else b.not_(ok)
        return b.zext(hit, I64)

    MAX_GROUPS = 10

    def uses_match_groups(self) -> bool:
        names = {f.name for f in self.unit.program.functions}
        return bool(names & {"matched", "ngroups", "matched_str"})

    def match_state(self) -> dict:
        """Module globals holding the last =~ match (stap keeps it in the probe context)."""
        from stapy.codegen.irbuilder import I32

        mb = self.fb.mb
        m = mb.module
        if "stapy_match_ok" not in m.globals:
            for name, ty in (("stapy_match_ok", I64), ("stapy_match_n", I64),
                             ("stapy_match_subject", mb.strtype),
                             ("stapy_match_regs", ir.ArrayType(I32, 2 * self.MAX_GROUPS))):
                g = ir.GlobalVariable(m, ty, name=name)
                g.initializer = ir.Constant(ty, None)
                g.linkage = "internal"
        return {"ok": m.globals["stapy_match_ok"], "n": m.globals["stapy_match_n"],
                "subject": m.globals["stapy_match_subject"].bitcast(PTR),
                "regs": m.globals["stapy_match_regs"].bitcast(PTR)}


def regex_groups(pattern: bytes) -> int:
    """How many parenthesised groups a (POSIX ERE) pattern has."""
    import re

    try:
        return re.compile(pattern).groups
    except re.error:
        n, i, in_class = 0, 0, False
        while i < len(pattern):
            c = pattern[i:i + 1]
            if c == b"\\":
                i += 2
                continue
            if c == b"[":
                in_class = True
            elif c == b"]":
                in_class = False
            elif c == b"(" and not in_class:
                n += 1
            i += 1
        return n
