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


def _execname_fn(mb) -> ir.Function:
    """`void stapy_execname(ctx, dst)`: /proc/<ctx->pid or self>/comm without its newline (15 chars max)."""
    existing = mb.module.globals.get("stapy_execname")
    if existing is not None:
        return existing
    from stapy.codegen.irbuilder import CONTEXT_TYPE

    fn = ir.Function(mb.module, ir.FunctionType(VOID, [PTR, PTR]), name="stapy_execname")
    fn.linkage = "internal"
    ctx, dst = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    path = b.alloca(I8, size=c64(64))
    pid = b.load(b.gep(ctx, [c32(0), c32(abi.CONTEXT_INDEX["pid"])], source_etype=CONTEXT_TYPE), typ=I64)
    own = b.sext(b.call(mb.declare("getpid", I32, []), []), I64)
    pid = b.select(b.icmp_signed("==", pid, c64(0)), own, pid)
    b.call(_snprintf(mb), [path, c64(64), mb.const_bytes(b"/proc/%ld/comm"), pid])
    b.store(ir.Constant(I8, 0), dst)
    open_ = mb.declare("open", I32, [PTR, I32], var_arg=True)
    read = mb.declare("read", I64, [I32, PTR, I64])
    close = mb.declare("close", I32, [I32])
    fd = b.call(open_, [path, c32(0)])
    got, done = fn.append_basic_block("got"), fn.append_basic_block("done")
    b.cbranch(b.icmp_signed("<", fd, c32(0)), done, got)
    b.position_at_end(got)
    n = b.call(read, [fd, dst, c64(16)])
    b.call(close, [fd])
    n = b.select(b.icmp_signed("<", n, c64(0)), c64(0), n)
    last = b.gep(dst, [b.sub(n, c64(1))], source_etype=I8)
    newline = b.and_(b.icmp_signed(">", n, c64(0)), b.icmp_signed("==", b.load(b.select(
        b.icmp_signed(">", n, c64(0)), last, dst), typ=I8), ir.Constant(I8, 10)))
    end = b.select(newline, b.sub(n, c64(1)), n)
    end = b.select(b.icmp_signed(">", end, c64(15)), c64(15), end)
    b.store(ir.Constant(I8, 0), b.gep(dst, [end], source_etype=I8))
    b.branch(done)
    b.position_at_end(done)
    b.ret_void()
    return fn


@builtin("execname")
def _execname(low, e):
    dst = low.fb.temp_str()
    low.b.call(_execname_fn(low.fb.mb), [low.fb.ctx, dst])
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


def _clamp_user_len(low, n):
    """stap's clamp_t(n + 1, 1, MAXSTRINGLEN - 1) - 1: at most MAXSTRINGLEN-2 characters."""
    top = c64(low.fb.mb.maxstringlen - 2)
    n = low.b.select(low.b.icmp_signed(">", n, top), top, n)
    return low.b.select(low.b.icmp_signed("<", n, c64(0)), c64(0), n)


def _user_string_impl(low, e, maxlen_expr=None, default=None, mode="error"):
    """Read a NUL-terminated string of at most `maxlen` (510 by default) bytes."""
    fb = low.fb
    addr = low.expr(e.args[0])
    dst = fb.temp_str()
    n = _clamp_user_len(low, maxlen_expr if maxlen_expr is not None else c64(fb.mb.maxstringlen))
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


# ------------------------------------------------------------------ answered by the Python runner


def _py_str(low, e, name, n=None, sv=None):
    dst = low.fb.temp_str()
    low.b.call(low.py("stapy_py_str"), [low.fb.ctx, low.fb.str_const(name.encode()), n if n is not None else c64(0),
                                        sv if sv is not None else low.fb.str_const(b""), dst])
    return dst


def _py_long(low, e, name, n=None, sv=None):
    return low.b.call(low.py("stapy_py_long"), [low.fb.ctx, low.fb.str_const(name.encode()),
                                                n if n is not None else c64(0),
                                                sv if sv is not None else low.fb.str_const(b"")])


for _name in ("pexecname", "cmdline_str"):
    builtin(_name)(lambda low, e, nm=_name: _py_str(low, e, nm))


@builtin("cmdline_arg")
def _cmdline_arg(low, e):
    return _py_str(low, e, "cmdline_arg", n=low.expr(e.args[0]))


@builtin("env_var")
def _env_var(low, e):
    return _py_str(low, e, "env_var", sv=low.expr(e.args[0]))


@builtin("thread_indent")
def _thread_indent(low, e):
    return _py_str(low, e, "thread_indent", n=low.expr(e.args[0]))


for _name in ("start_stopwatch", "stop_stopwatch", "delete_stopwatch"):
    builtin(_name)(lambda low, e, nm=_name: (_py_long(low, e, nm, sv=low.expr(e.args[0])), None)[1])
for _unit in ("s", "ms", "us", "ns"):
    builtin(f"read_stopwatch_{_unit}")(
        lambda low, e, u=_unit: _py_long(low, e, f"read_stopwatch_{u}", sv=low.expr(e.args[0])))


@builtin("pgrp")
def _pgrp(low, e):
    return low.b.sext(low.b.call(low.extern("getpgid", I32, [I32]), [low.b.trunc(low.fb.ctx_load("pid"), I32)]), I64)


@builtin("sid")
def _sid(low, e):
    return low.b.sext(low.b.call(low.extern("getsid", I32, [I32]), [low.b.trunc(low.fb.ctx_load("pid"), I32)]), I64)


@builtin("user_mode")
def _user_mode(low, e):
    regs = low.fb.ctx_load("regs")
    return low.b.zext(low.b.icmp_unsigned("!=", low.b.ptrtoint(regs, I64), c64(0)), I64)


@builtin("addr")
def _addr(low, e):
    return c64(0)  # no kernel address in a user-space tracer


@builtin("HZ")
def _hz(low, e):
    return c64(100)


@builtin("jiffies")
def _jiffies(low, e):
    return _clock(low, 1, 10_000_000)


# ------------------------------------------------------------------ per-probe compile-time strings

PROBE_TYPES = {"begin": "begin_end", "end": "begin_end", "error": "begin_end", "never": "begin_end",
               "process.function": "uprobe", "process.statement": "uprobe", "process.mark": "uprobe",
               "process.plt": "uprobe", "process.function.return": "uretprobe", "process.plt.return": "uretprobe",
               "process.begin": "utrace", "process.end": "utrace", "process.thread.begin": "utrace",
               "process.thread.end": "utrace", "process.syscall": "utrace_syscall",
               "process.syscall.return": "utrace_syscall"}


def probe_type_of(probe) -> str:
    if probe.family == "timer":
        return "timer" if probe.params.get("unit") == "jiffies" else "hrtimer"
    return PROBE_TYPES.get(probe.family, "")


def ppfunc_of(location: str) -> str:
    """stap's ppfunc(): the function name inside function("...") or statement("...") of pp()."""
    for marker in ('function("', 'statement("'):
        at = location.find(marker)
        if at >= 0:
            rest = location[at + len(marker):]
            out = []
            for ch in rest:
                if ch in '@"':
                    break
                out.append(ch)
            return "".join(out)
    return ""


@builtin("probe_type")
def _probe_type(low, e):
    return _probe_string(low, "stapy_probe_type_table")


@builtin("ppfunc")
def _ppfunc(low, e):
    return _probe_string(low, "stapy_ppfunc_table")


# ------------------------------------------------------------------ errno

def errno_names() -> dict:
    """stap's errlist: Linux errno names, the first of each alias (EAGAIN, EDEADLK, EOPNOTSUPP), 1..131."""
    import errno as _errno

    names = {n: _errno.errorcode[n] for n in _errno.errorcode if 0 < n <= 131}
    names.update({11: "EAGAIN", 35: "EDEADLK", 95: "EOPNOTSUPP"})
    return names


def _errno_table(low):
    mb = low.fb.mb
    g = mb.module.globals.get("stapy_errno_table")
    if g is None:
        names = errno_names()
        size = max(names) + 1
        ty = ir.ArrayType(PTR, size)
        g = ir.GlobalVariable(mb.module, ty, name="stapy_errno_table")
        g.global_constant = True
        g.linkage = "internal"
        g.initializer = ir.Constant(ty, [mb.const_bytes(names[i].encode()) if i in names else mb.const_bytes(b"")
                                         for i in range(size)])
    return g


def _errno_index(low, e):
    v = low.expr(e.args[0])
    a = low.b.select(low.b.icmp_signed("<", v, c64(0)), low.b.sub(c64(0), v), v)
    size = _errno_table(low).value_type.count
    ok = low.b.and_(low.b.icmp_signed(">", a, c64(0)), low.b.icmp_signed("<", a, c64(size)))
    return low.b.select(ok, a, c64(0)), ok


@builtin("errno_str")
def _errno_str(low, e):
    idx, _ = _errno_index(low, e)
    g = _errno_table(low)
    return low.b.load(low.b.gep(g, [c32(0), idx], source_etype=g.value_type), typ=PTR)


@builtin("errno_p")
def _errno_p(low, e):
    idx, ok = _errno_index(low, e)
    g = _errno_table(low)
    name = low.b.load(low.b.gep(g, [c32(0), idx], source_etype=g.value_type), typ=PTR)
    nonempty = low.b.icmp_unsigned("!=", low.b.load(name, typ=I8), ir.Constant(I8, 0))
    return low.b.select(low.b.and_(ok, nonempty), idx, c64(0))


# ------------------------------------------------------------------ registers (ctx->regs: user_regs_struct)

REG_OFFSETS = {"r15": 0, "r14": 8, "r13": 16, "r12": 24, "rbp": 32, "rbx": 40, "r11": 48, "r10": 56, "r9": 64,
               "r8": 72, "rax": 80, "rcx": 88, "rdx": 96, "rsi": 104, "rdi": 112, "orig_rax": 120, "rip": 128,
               "xcs": 136, "eflags": 144, "rsp": 152, "xss": 160}
R32 = {"ebp": 32, "ebx": 40, "eax": 80, "ecx": 88, "edx": 96, "esi": 104, "edi": 112, "orig_eax": 120, "eip": 128,
       "esp": 152}
R16 = {"bp": 32, "bx": 40, "ax": 80, "cx": 88, "dx": 96, "si": 104, "di": 112, "orig_ax": 120, "ip": 128,
       "cs": 136, "flags": 144, "sp": 152, "ss": 160}
R8 = {"al": 80, "ah": 81, "bl": 40, "bh": 41, "cl": 88, "ch": 89, "dl": 96, "dh": 97}


def register_spec(name: str):
    """(byte offset, width in bits) of a register name, as stap's x86_64 registers.stp knows them."""
    for table, bits in ((REG_OFFSETS, 64), (R32, 32), (R16, 16), (R8, 8)):
        if name in table:
            return table[name], bits
    return None


def _regs_or_fail(low, e, message: bytes):
    fb = low.fb
    regs = fb.ctx_load("regs")
    bad, ok = fb.new_block("regs.none"), fb.new_block("regs.ok")
    low.b.cbranch(low.b.icmp_unsigned("==", low.b.ptrtoint(regs, I64), c64(0)), bad, ok)
    low.b.position_at_end(bad)
    fb.set_error(fb.new_site("registers", e.tok), message)
    low.b.branch(fb.current_fixup())
    low.b.position_at_end(ok)
    return regs


def _register(low, e, signed: bool):
    from stapy.parser import ast

    arg = e.args[0]
    if not isinstance(arg, ast.StringLit):
        return _py_long(low, e, "register" if signed else "u_register", sv=low.expr(arg))
    name = arg.value
    spec = register_spec(name)
    regs = _regs_or_fail(low, e, b"cannot access CPU registers in this context")
    if spec is None:
        fb = low.fb
        fb.set_error(fb.new_site("registers", e.tok), ("Unknown register: " + name).encode())
        low.b.branch(fb.current_fixup())
        low.b.position_at_end(fb.new_block("after.register"))
        return c64(0)
    offset, bits = spec
    ty = ir.IntType(bits)
    v = low.b.load(low.b.gep(regs, [c64(offset)], source_etype=I8), typ=ty)
    if bits == 64:
        return v
    return low.b.sext(v, I64) if signed else low.b.zext(v, I64)


builtin("register")(lambda low, e: _register(low, e, True))
builtin("u_register")(lambda low, e: _register(low, e, False))


@builtin("_stp_arg2")
def _stp_arg2(low, e):
    from stapy.codegen.abi import ARG_REGS, REG_INDEX

    fb = low.fb
    n, sign_extend, truncate, force64 = (low.expr(a) for a in e.args)
    regs = _regs_or_fail(low, e, b"cannot access function args in this context")
    res = fb.alloca_long("arg")
    low.b.store(c64(0), res)
    done, bad, stack = fb.new_block("arg.done"), fb.new_block("arg.bad"), fb.new_block("arg.stack")
    sw = low.b.switch(n, stack)
    for i, reg in enumerate(ARG_REGS, start=1):
        blk = fb.new_block(f"arg.{i}")
        sw.add_case(c64(i), blk)
        low.b.position_at_end(blk)
        low.b.store(low.b.load(low.b.gep(regs, [c64(REG_INDEX[reg])], source_etype=I64), typ=I64), res)
        low.b.branch(done)
    low.b.position_at_end(stack)
    onstack = fb.new_block("arg.onstack")
    low.b.cbranch(low.b.icmp_signed("<", n, c64(1)), bad, onstack)
    low.b.position_at_end(onstack)
    rsp = low.b.load(low.b.gep(regs, [c64(REG_INDEX["rsp"])], source_etype=I64), typ=I64)
    where = low.b.add(rsp, low.b.mul(low.b.sub(n, c64(6)), c64(8)))
    low.b.call(low.user_reader(), [fb.ctx, where, res, c64(8)])  # unreadable: 0, as stap after its warning
    low.b.branch(done)
    low.b.position_at_end(bad)
    low.raise_with("registers", e.tok, b"cannot access arg(%lld)", n)
    low.b.position_at_end(done)
    v = low.b.load(res, typ=I64)
    cut = low.b.and_(low.fb.truth(truncate), low.b.icmp_signed("==", force64, c64(0)))
    low32 = low.b.trunc(v, I32)
    narrowed = low.b.select(low.fb.truth(sign_extend), low.b.sext(low32, I64), low.b.zext(low32, I64))
    return low.b.select(cut, narrowed, v)


@builtin("returnval")
def _returnval(low, e):
    from stapy.codegen.abi import REG_INDEX

    regs = _regs_or_fail(low, e, b"cannot access function return value in this context")
    return low.b.load(low.b.gep(regs, [c64(REG_INDEX["rax"])], source_etype=I64), typ=I64)


@builtin("print_regs")
def _print_regs(low, e):
    from stapy.codegen.abi import REG_INDEX

    fb = low.fb
    regs = fb.ctx_load("regs")
    go, end = fb.new_block("pregs.go"), fb.new_block("pregs.end")
    low.b.cbranch(low.b.icmp_unsigned("==", low.b.ptrtoint(regs, I64), c64(0)), end, go)
    low.b.position_at_end(go)
    lines = [("RIP: %016lx\nRSP: %016lx\n", ["rip", "rsp"]),
             ("RAX: %016lx RBX: %016lx RCX: %016lx\n", ["rax", "rbx", "rcx"]),
             ("RDX: %016lx RSI: %016lx RDI: %016lx\n", ["rdx", "rsi", "rdi"]),
             ("RBP: %016lx R08: %016lx R09: %016lx\n", ["rbp", "r8", "r9"]),
             ("R10: %016lx R11: %016lx R12: %016lx\n", ["r10", "r11", "r12"]),
             ("R13: %016lx R14: %016lx R15: %016lx\n", ["r13", "r14", "r15"])]
    from stapy.codegen.lower_print import parse_format

    buf, size = low.globals.printf_buf, c64(8192)
    length = c64(0)
    for fmt, regnames in lines:
        vals = iter([low.b.load(low.b.gep(regs, [c64(REG_INDEX[r])], source_etype=I64), typ=I64) for r in regnames])
        for piece in parse_format(fmt.encode()):
            length = low.fmt_piece(buf, length, size, piece, None if isinstance(piece, bytes) else (None, None, next(vals)),
                                   e.tok)
    low.helper("stp_out_write", [low.globals.out, buf, length])
    low.b.branch(end)
    low.b.position_at_end(end)
    return None


# ------------------------------------------------------------------ more user-memory forms


@builtin("user_string_n_warn", "user_string_warn")
def _user_string_warn(low, e):
    fb = low.fb
    addr = low.expr(e.args[0])
    n = _clamp_user_len(low, low.expr(e.args[1]) if len(e.args) > 1 else c64(fb.mb.maxstringlen))
    warn_msg = low.expr(e.args[2]) if len(e.args) > 2 else fb.str_const(b"")
    dst = fb.temp_str()
    rc = low.b.call(low.user_reader(string=True), [fb.ctx, addr, dst, low.b.add(n, c64(1))])
    low.b.store(ir.Constant(I8, 0), low.b.gep(dst, [n], source_etype=I8))
    bad, ok = fb.new_block("ustrw.fault"), fb.new_block("ustrw.ok")
    low.b.cbranch(low.b.icmp_signed("!=", rc, c32(0)), bad, ok)
    low.b.position_at_end(bad)
    msg = fb.temp_str()
    low.b.call(_snprintf(fb.mb), [msg, c64(fb.mb.maxstringlen),
                                  fb.str_const(b"user string copy fault %d at 0x%lx [man error::fault]"), c32(-14), addr])
    low.b.call(low.py("stapy_py_warn"), [fb.ctx, msg])
    fb.str_copy(dst, warn_msg)
    low.b.branch(ok)
    low.b.position_at_end(ok)
    return dst


def _user_string_quoted(low, e, with_n: bool):
    fb = low.fb
    addr = low.expr(e.args[0])
    n = _clamp_user_len(low, low.expr(e.args[1]) if with_n else c64(fb.mb.maxstringlen))
    raw = fb.temp_str()
    rc = low.b.call(low.user_reader(string=True), [fb.ctx, addr, raw, low.b.add(n, c64(1))])
    low.b.store(ir.Constant(I8, 0), low.b.gep(raw, [n], source_etype=I8))
    dst = fb.temp_str()
    bad, ok, end = fb.new_block("uq.fault"), fb.new_block("uq.ok"), fb.new_block("uq.end")
    low.b.cbranch(low.b.icmp_signed("!=", rc, c32(0)), bad, ok)
    low.b.position_at_end(bad)
    low.b.call(_snprintf(fb.mb), [dst, c64(fb.mb.maxstringlen), fb.str_const(b"0x%lx"), addr])
    low.b.branch(end)
    low.b.position_at_end(ok)
    low.helper("stp_string_quoted", [dst, raw])
    low.b.branch(end)
    low.b.position_at_end(end)
    return dst


builtin("user_string_quoted")(lambda low, e: _user_string_quoted(low, e, False))
builtin("user_string_n_quoted")(lambda low, e: _user_string_quoted(low, e, True))


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


# ------------------------------------------------------------------ symbols and backtraces (ucontext*.stp)
# Answered by the runner's `symbol_string(ctx, name, n, s)` hook: the engine, which knows the tracee's
# modules, overrides it; without a tracee the runner gives stap's answers for a probe with no user regs.

for _name in ("usymname", "usymdata", "umodname", "usymfileline", "ucallers"):
    builtin(_name)(lambda low, e, nm=_name: _py_str(low, e, nm, n=low.expr(e.args[0])))
for _name in ("ubacktrace", "sprint_ubacktrace"):
    builtin(_name)(lambda low, e, nm=_name: _py_str(low, e, nm))


@builtin("ustack")
def _ustack(low, e):
    return _py_long(low, e, "ustack", n=low.expr(e.args[0]))


def _print_py(low, e, name, n=None, sv=None):
    low.helper("stp_out_str", [low.globals.out, _py_str(low, e, name, n=n, sv=sv)])
    return None


for _name in ("print_ubacktrace", "print_ubacktrace_brief", "print_ubacktrace_fileline"):
    builtin(_name)(lambda low, e, nm=_name: _print_py(low, e, nm))


@builtin("print_usyms")
def _print_usyms(low, e):
    return _print_py(low, e, "print_usyms", sv=low.expr(e.args[0]))


# ------------------------------------------------------------------ UTF-16/32 strings (answered by the runner)


def _py_str_checked(low, e, name, n):
    fb = low.fb
    dst = fb.temp_str()
    status = low.b.call(low.py("stapy_py_str_status"), [fb.ctx, fb.str_const(name.encode()), n, fb.str_const(b""), dst])
    bad, ok = fb.new_block(f"{name}.fail"), fb.new_block(f"{name}.ok")
    low.b.cbranch(low.b.icmp_signed("!=", status, c64(0)), bad, ok)
    low.b.position_at_end(bad)
    fb.set_error(fb.new_site("user-read", e.tok), None)
    low.b.branch(fb.current_fixup())
    low.b.position_at_end(ok)
    return dst


builtin("user_string_utf16")(lambda low, e: _py_str_checked(low, e, "user_string_utf16", low.expr(e.args[0])))
builtin("user_string_utf32")(lambda low, e: _py_str_checked(low, e, "user_string_utf32", low.expr(e.args[0])))
