"""Native bodies of tapset functions, supplied by name (`native=True` in the Program).

Each entry lowers one call inline: `BUILTINS[name](lowerer, call_expr) -> value`
(an i64, a string pointer, or None for statements).  This file holds the registry,
the shared helpers (BuiltinLowering), control (exit/abort/error/assert/warn/log/system),
strings and regex subexpressions; builtins_context.py and builtins_user.py hold the
context and user-memory families.  Rare services the Python runner answers are called
through function-pointer slots (abi.PY_CALLBACKS).
"""
from __future__ import annotations

from llvmlite import ir

from stapy.codegen import abi
from stapy.codegen.irbuilder import I32, I64, I8, PTR, VOID, c32, c64
from stapy.codegen.lower_expr import translation_error

BUILTINS: dict = {}

_IRT = {"void": VOID, "i32": I32, "i64": I64, "ptr": PTR}


def define_callback_slots(module) -> None:
    """One null function-pointer global per abi.PY_CALLBACKS entry; the runner fills them in."""
    for name in abi.PY_CALLBACKS:
        if name not in module.globals:
            g = ir.GlobalVariable(module, PTR, name=name)
            g.initializer = ir.Constant(PTR, None)


def builtin(*names):
    def deco(fn):
        for n in names:
            BUILTINS[n] = fn
        return fn
    return deco


class BuiltinLowering:
    """Mixin of the per-function lowerer."""

    def call_builtin(self, fdef, e):
        # the name at the call site first: pass 2 may merge natives whose placeholder bodies look alike
        impl = BUILTINS.get(e.name) or BUILTINS.get(fdef.name)
        if impl is None:
            raise translation_error(f"function {fdef.name} has no native body in stapy yet", e.tok)
        return impl(self, e)

    def extern(self, name, ret, args):
        return self.fb.mb.declare(name, ret, args)

    def py(self, name):
        """A callable for the runner service `name` (loaded from its function-pointer slot)."""
        ret, args = abi.PY_CALLBACKS[name]
        fnty = ir.FunctionType(_IRT[ret], [_IRT[a] for a in args])
        slot = self.fb.mb.module.globals[name]
        return self.b.load(slot, typ=ir.PointerType(fnty))

    def args(self, e):
        return [self.expr(a) for a in e.args]

    def user_reader(self, string: bool = False) -> ir.Function:
        """`i32 stapy_uread[_str](ctx, addr, dst, n)`: 0, or -14 (EFAULT) when the bytes cannot be read.

        Reads go through the engine's guarded accessors (ctx->read_user,
        ctx->read_user_string); with none installed (begin/end/timer probes,
        no tracee) every read faults, as in stap.
        """
        mb = self.fb.mb
        name = "stapy_uread_str" if string else "stapy_uread"
        existing = mb.module.globals.get(name)
        if existing is not None:
            return existing
        from stapy.codegen.irbuilder import CONTEXT_TYPE

        fn = ir.Function(mb.module, ir.FunctionType(I32, [PTR, I64, PTR, I64]), name=name)
        fn.linkage = "internal"
        ctx, addr, dst, n = fn.args
        b = ir.IRBuilder(fn.append_basic_block("entry"))
        field = "read_user_string" if string else "read_user"
        fnty = ir.FunctionType(I64, [PTR, I64, PTR, I64])
        slot = b.gep(ctx, [c32(0), c32(abi.CONTEXT_INDEX[field])], source_etype=CONTEXT_TYPE)
        fp = b.load(slot, typ=ir.PointerType(fnty))
        fault = fn.append_basic_block("fault")
        read = fn.append_basic_block("read")
        b.cbranch(b.icmp_unsigned("==", b.ptrtoint(fp, I64), c64(0)), fault, read)
        b.position_at_end(fault)
        b.ret(c32(-14))
        b.position_at_end(read)
        got = b.call(fp, [ctx, addr, dst, n])
        ok = b.icmp_signed(">=", got, c64(0)) if string else b.icmp_signed("==", got, n)
        b.ret(b.select(ok, c32(0), c32(-14)))
        return fn

    def errmsg_printf(self, fmt: bytes, *values) -> None:
        """snprintf stap's message into ctx->errmsg."""
        self.b.call(_snprintf(self.fb.mb),
                    [self.fb.ctx_load("errmsg"), c64(self.fb.mb.maxstringlen), self.fb.str_const(fmt), *values])

    def raise_with(self, kind, tok, fmt: bytes, *values, catchable=True):
        fb = self.fb
        sid = fb.new_site(kind, tok) if catchable else fb.mb.exctable.add(kind, tok, "abort")
        fb.ctx_store("error_site", c64(sid))
        fb.ctx_store("error_depth", fb.ctx_load("nesting"))
        self.errmsg_printf(fmt, *values)
        self.b.branch(fb.current_fixup() if catchable else fb.error_exit)


def _snprintf(mb):
    if "snprintf" not in mb.module.globals:
        ir.Function(mb.module, ir.FunctionType(I32, [PTR, I64, PTR], var_arg=True), name="snprintf")
    return mb.module.globals["snprintf"]


# ------------------------------------------------------------------ control


@builtin("exit")
def _exit(low, e):
    low.fb.ctx_store("exit_requested", c64(1))
    return None


@builtin("abort")
def _abort(low, e):
    low.fb.ctx_store("exit_requested", c64(1))
    low.b.branch(low.abort_block)
    low.b.position_at_end(low.fb.new_block("after.abort"))
    return None


@builtin("error")
def _error(low, e):
    msg = low.expr(e.args[0])
    fb = low.fb
    sid = fb.new_site("error", e.tok)
    fb.set_error(sid, msg)
    low.b.branch(fb.current_fixup())
    low.b.position_at_end(fb.new_block("after.error"))
    return None


@builtin("assert")
def _assert(low, e):
    cond = low.cond(e.args[0])
    msg = low.expr(e.args[1]) if len(e.args) > 1 else low.fb.str_const(b"Assertion failed")
    fb = low.fb
    bad, ok = fb.new_block("assert.fail"), fb.new_block("assert.ok")
    low.b.cbranch(cond, ok, bad)
    low.b.position_at_end(bad)
    fb.set_error(fb.new_site("error", e.tok), msg)
    low.b.branch(fb.current_fixup())
    low.b.position_at_end(ok)
    return None


@builtin("warn")
def _warn(low, e):
    low.b.call(low.py("stapy_py_warn"), [low.fb.ctx, low.expr(e.args[0])])
    return None


@builtin("system")
def _system(low, e):
    low.b.call(low.py("stapy_py_system"), [low.fb.ctx, low.expr(e.args[0])])
    return None


@builtin("log")
def _log(low, e):
    out = low.globals.out
    low.helper("stp_out_str", [out, low.expr(e.args[0])])
    low.helper("stp_out_char", [out, c64(10)])
    return None


# ------------------------------------------------------------------ strings


def _str_result(low, name, *args):
    dst = low.fb.temp_str()
    low.helper(name, [dst, *args])
    return dst


@builtin("strlen")
def _strlen(low, e):
    return low.helper("stp_strlen", low.args(e))


@builtin("substr")
def _substr(low, e):
    return _str_result(low, "stp_substr", *low.args(e))


@builtin("stringat")
def _stringat(low, e):
    s, pos = low.args(e)
    out = low.fb.alloca_long("chr")
    low.checked("stp_stringat", [low.fb.ctx, s, pos, out], "string", e.tok)
    return low.b.load(out, typ=I64)


@builtin("isinstr")
def _isinstr(low, e):
    return low.helper("stp_isinstr", low.args(e))


@builtin("strpos")
def _strpos(low, e):
    return low.helper("stp_strpos", low.args(e))


@builtin("str_replace")
def _str_replace(low, e):
    return _str_result(low, "stp_str_replace", *low.args(e))


@builtin("strtol")
def _strtol(low, e):
    a = low.args(e)
    if len(a) == 1:
        a.append(c64(10))
    return low.helper("stp_strtol", a)


@builtin("isdigit")
def _isdigit(low, e):
    return low.helper("stp_isdigit", low.args(e))


@builtin("text_str")
def _text_str(low, e):
    return _str_result(low, "stp_text_str", *low.args(e))


@builtin("text_strn")
def _text_strn(low, e):
    return _str_result(low, "stp_text_strn", *low.args(e))


@builtin("string_quoted")
def _string_quoted(low, e):
    return _str_result(low, "stp_string_quoted", *low.args(e))


@builtin("tokenize")
def _tokenize(low, e):
    mb = low.fb.mb
    state = mb.module.globals.get("stapy_tokenize_state")
    if state is None:
        ty = ir.ArrayType(I8, mb.maxstringlen + 16)
        state = ir.GlobalVariable(mb.module, ty, name="stapy_tokenize_state")
        state.initializer = ir.Constant(ty, None)
    a = low.args(e)
    if len(a) == 1:
        a = [low.fb.str_const(b""), a[0]]
    return _str_result(low, "stp_tokenize", state, *a)


# ------------------------------------------------------------------ regex subexpressions (tapset/regex.stp)


@builtin("ngroups")
def _ngroups(low, e):
    st = low.match_state()
    fb = low.fb
    bad, ok = fb.new_block("ngroups.bad"), fb.new_block("ngroups.ok")
    low.b.cbranch(low.b.icmp_signed("==", low.b.load(st["ok"], typ=I64), c64(0)), bad, ok)
    low.b.position_at_end(bad)
    fb.set_error(fb.new_site("regex", e.tok), b"Attempted to get subexpression count from failed match")
    low.b.branch(fb.current_fixup())
    low.b.position_at_end(ok)
    return low.b.load(st["n"], typ=I64)


@builtin("matched")
def _matched(low, e):
    st = low.match_state()
    fb = low.fb
    b = low.b
    n = low.expr(e.args[0])
    failed, check, bad_n, ok = (fb.new_block(x) for x in ("matched.failed", "matched.check", "matched.bad", "matched.ok"))
    b.cbranch(b.icmp_signed("==", b.load(st["ok"], typ=I64), c64(0)), failed, check)
    b.position_at_end(failed)
    low.raise_with("regex", e.tok, b"Attempted to get subexpression %lld from failed match", n)
    b.position_at_end(check)
    b.cbranch(b.or_(b.icmp_signed("<", n, c64(0)), b.icmp_signed(">=", n, b.load(st["n"], typ=I64))), bad_n, ok)
    b.position_at_end(bad_n)
    low.raise_with("regex", e.tok, b"Attempted to get nonexistent subexpression %lld", n)
    b.position_at_end(ok)
    start = b.sext(b.load(b.gep(st["regs"], [b.mul(n, c64(2))], source_etype=I32), typ=I32), I64)
    end = b.sext(b.load(b.gep(st["regs"], [b.add(b.mul(n, c64(2)), c64(1))], source_etype=I32), typ=I32), I64)
    unmatched = b.or_(b.icmp_signed("<", start, c64(0)), b.icmp_signed("<", end, start))
    start = b.select(unmatched, c64(0), start)
    end = b.select(unmatched, c64(0), end)
    dst = fb.temp_str()
    low.helper("stp_substr", [dst, st["subject"], start, b.sub(end, start)])
    return dst


# the other families register themselves on import
from stapy.codegen import builtins_context, builtins_float, builtins_user  # noqa: E402,F401
from stapy.codegen import builtins_proc  # noqa: E402,F401
from stapy.codegen import builtins_syscall  # noqa: E402,F401
from stapy.codegen.builtins_context import ppfunc_of, probe_type_of  # noqa: E402,F401  (translate uses them)
