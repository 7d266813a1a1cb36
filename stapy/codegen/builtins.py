"""Native bodies of tapset functions, supplied by name (`native=True` in the Program).

Each entry lowers one call inline: `BUILTINS[name](lowerer, call_expr) -> value`
(an i64, a string pointer, or None for statements).  Context functions
answer for the tracee when `ctx->pid` is set, and for stapy's own process in
begin/end/error/timer probes.  User-memory reads go through `stapy_uread`
(process_vm_readv on ctx->pid; with no tracee every read faults, as stap's
begin probes do).  A few functions call back into the Python runner
(`stapy_py_*` symbols the runner registers): warnings, execname, system.
"""
from __future__ import annotations

from llvmlite import ir

from stapy.codegen import abi
from stapy.codegen.irbuilder import I32, I64, I8, PTR, VOID, c32, c64
from stapy.codegen.lower_expr import translation_error

BUILTINS: dict = {}

# Python callbacks the runner registers with the JIT (name -> (ret, args)).
PY_CALLBACKS = {
    "stapy_py_warn": (VOID, [PTR, PTR]),
    "stapy_py_execname": (VOID, [PTR, PTR]),
    "stapy_py_system": (VOID, [PTR, PTR]),
    "stapy_py_ctime": (VOID, [PTR, I64]),
}


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
        ret, args = PY_CALLBACKS[name]
        return self.extern(name, ret, args)

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


# ------------------------------------------------------------------ context


def _libc(low, name, ret=I64, args=()):
    return low.b.call(low.extern(name, ret, list(args)), [])


def _ctx_or(low, field, fallback):
    v = low.fb.ctx_load(field)
    return low.b.select(low.b.icmp_signed("!=", v, c64(0)), v, fallback)


@builtin("pid")
def _pid(low, e):
    return _ctx_or(low, "pid", low.b.sext(_libc(low, "getpid", I32), I64))


@builtin("tid")
def _tid(low, e):
    return _ctx_or(low, "tid", low.b.sext(_libc(low, "gettid", I32), I64))


@builtin("ppid")
def _ppid(low, e):
    return low.b.sext(_libc(low, "getppid", I32), I64)


@builtin("uid")
def _uid(low, e):
    return low.b.zext(_libc(low, "getuid", I32), I64)


@builtin("euid")
def _euid(low, e):
    return low.b.zext(_libc(low, "geteuid", I32), I64)


@builtin("gid")
def _gid(low, e):
    return low.b.zext(_libc(low, "getgid", I32), I64)


@builtin("egid")
def _egid(low, e):
    return low.b.zext(_libc(low, "getegid", I32), I64)


@builtin("cpu")
def _cpu(low, e):
    return low.b.sext(_libc(low, "sched_getcpu", I32), I64)


@builtin("execname")
def _execname(low, e):
    dst = low.fb.temp_str()
    low.b.call(low.py("stapy_py_execname"), [low.fb.ctx, dst])
    return dst


@builtin("target")
def _target(low, e):
    mb = low.fb.mb
    g = mb.module.globals.get("stapy_target")
    if g is None:
        g = ir.GlobalVariable(mb.module, I64, name="stapy_target")
        g.initializer = c64(0)
    return low.b.load(g, typ=I64)


@builtin("uaddr")
def _uaddr(low, e):
    return low.fb.ctx_load("uaddr")


@builtin("is_return")
def _is_return(low, e):
    return low.fb.ctx_load("is_return")


def _probe_string(low, table_name):
    """pp()/pn() of the running probe: a table indexed by ctx->probe_index (built by translate)."""
    g = low.fb.mb.module.globals[table_name]
    idx = low.fb.ctx_load("probe_index")
    return low.b.load(low.b.gep(g, [c32(0), idx], source_etype=g.value_type), typ=PTR)


@builtin("pp")
def _pp(low, e):
    return _probe_string(low, "stapy_pp_table")


@builtin("pn")
def _pn(low, e):
    return _probe_string(low, "stapy_pn_table")


def _clock(low, clock_id: int, div: int):
    ts_ty = ir.LiteralStructType([I64, I64])
    ts = low.fb.alloca(ts_ty, "ts")
    low.b.call(low.extern("clock_gettime", I32, [I32, PTR]), [c32(clock_id), ts])
    sec = low.b.load(low.b.gep(ts, [c32(0), c32(0)], source_etype=ts_ty), typ=I64)
    nsec = low.b.load(low.b.gep(ts, [c32(0), c32(1)], source_etype=ts_ty), typ=I64)
    ns = low.b.add(low.b.mul(sec, c64(1_000_000_000)), nsec)
    return low.b.sdiv(ns, c64(div)) if div != 1 else ns


for _unit, _div in (("s", 1_000_000_000), ("ms", 1_000_000), ("us", 1_000), ("ns", 1)):
    builtin(f"gettimeofday_{_unit}")(lambda low, e, d=_div: _clock(low, 0, d))
    builtin(f"local_clock_{_unit}", f"cpu_clock_{_unit}")(lambda low, e, d=_div: _clock(low, 1, d))


@builtin("get_cycles")
def _cycles(low, e):
    return _clock(low, 1, 1)


@builtin("randint")
def _randint(low, e):
    n = low.expr(e.args[0])
    fb = low.fb
    bad, ok = fb.new_block("rand.bad"), fb.new_block("rand.ok")
    low.b.cbranch(low.b.icmp_signed(">", n, c64(1048576)), bad, ok)
    low.b.position_at_end(bad)
    fb.set_error(fb.new_site("error", e.tok), b"range too wide")
    low.b.branch(fb.current_fixup())
    low.b.position_at_end(ok)
    r = low.b.call(low.extern("random", I64, []), [])
    safe = low.b.select(low.b.icmp_signed("<=", n, c64(0)), c64(1), n)
    return low.b.srem(r, safe)


@builtin("ctime")
def _ctime(low, e):
    dst = low.fb.temp_str()
    low.b.call(low.py("stapy_py_ctime"), [dst, low.expr(e.args[0])])
    return dst


# ------------------------------------------------------------------ user memory


def _user_string_impl(low, e, maxlen_expr=None, default=None, mode="error"):
    """Read a NUL-terminated string of at most `maxlen` (510 by default) bytes."""
    fb = low.fb
    addr = low.expr(e.args[0])
    dst = fb.temp_str()
    n = maxlen_expr if maxlen_expr is not None else c64(min(510, fb.mb.maxstringlen - 1))
    n = low.b.select(low.b.icmp_signed(">", n, c64(fb.mb.maxstringlen - 1)), c64(fb.mb.maxstringlen - 1), n)
    n = low.b.select(low.b.icmp_signed("<", n, c64(0)), c64(0), n)
    rc = low.b.call(low.user_reader(string=True), [fb.ctx, addr, dst, low.b.add(n, c64(1))])
    low.b.store(ir.Constant(I8, 0), low.b.gep(dst, [n], source_etype=I8))
    bad, ok = fb.new_block("ustr.fault"), fb.new_block("ustr.ok")
    low.b.cbranch(low.b.icmp_signed("!=", rc, c32(0)), bad, ok)
    low.b.position_at_end(bad)
    if default is not None:
        fb.str_copy(dst, default)
        low.b.branch(ok)
    elif mode == "nofault":
        fb.str_empty(dst)
        low.b.branch(ok)
    else:
        low.raise_with("user-read", e.tok, b"user string copy fault %d at 0x%lx [man error::fault]",
                       c32(-14), addr)
    low.b.position_at_end(ok)
    return dst


@builtin("user_string")
def _user_string(low, e):
    if len(e.args) > 1:
        return _user_string_impl(low, e, default=low.expr(e.args[1]))
    return _user_string_impl(low, e)


@builtin("user_string2")
def _user_string2(low, e):
    return _user_string_impl(low, e, default=low.expr(e.args[1]))


@builtin("user_string_n")
def _user_string_n(low, e):
    n = low.expr(e.args[1])
    if len(e.args) > 2:
        return _user_string_impl(low, e, maxlen_expr=n, default=low.expr(e.args[2]))
    return _user_string_impl(low, e, maxlen_expr=n)


@builtin("user_string_nofault")
def _user_string_nofault(low, e):
    return _user_string_impl(low, e, mode="nofault")


def _user_int(low, e, size: int, signed: bool, mode: str):
    fb = low.fb
    addr = low.expr(e.args[0])
    buf = fb.alloca_long("uval")
    low.b.store(c64(0), buf)
    rc = low.b.call(low.user_reader(), [fb.ctx, addr, buf, c64(size)])
    bad, ok = fb.new_block("uint.fault"), fb.new_block("uint.ok")
    low.b.cbranch(low.b.icmp_signed("!=", rc, c32(0)), bad, ok)
    low.b.position_at_end(bad)
    if mode == "error":
        low.raise_with("user-read", e.tok, b"read fault [man error::fault] at 0x%lx", addr)
    else:
        low.b.store(c64(0), buf)
        low.b.branch(ok)
    low.b.position_at_end(ok)
    raw = low.b.load(buf, typ=I64)
    if size == 8:
        return raw
    small = low.b.trunc(raw, ir.IntType(size * 8))
    return low.b.sext(small, I64) if signed else low.b.zext(small, I64)


_INTS = {"char": (1, True), "short": (2, True), "ushort": (2, False), "int": (4, True), "uint": (4, False),
         "long": (8, True), "ulong": (8, False), "int8": (1, True), "uint8": (1, False), "int16": (2, True),
         "uint16": (2, False), "int32": (4, True), "uint32": (4, False), "int64": (8, True), "uint64": (8, False)}
for _n, (_sz, _sg) in _INTS.items():
    builtin(f"user_{_n}")(lambda low, e, s=_sz, g=_sg: _user_int(low, e, s, g, "zero"))
    builtin(f"user_{_n}_error")(lambda low, e, s=_sz, g=_sg: _user_int(low, e, s, g, "error"))
