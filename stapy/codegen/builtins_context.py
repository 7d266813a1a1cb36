"""Native bodies of the context tapset functions: process facts, clocks, probe strings, errno,
registers and arguments, symbols and backtraces, and the functions the Python runner answers.

pid()/tid()... answer for the tracee when ctx->pid is set, else for stapy itself (begin, end,
timer probes).  Registers come from ctx->regs (user_regs_struct); with none, stap's errors.
"""
from __future__ import annotations

from llvmlite import ir

from stapy.codegen import abi
from stapy.codegen.builtins import _snprintf, builtin
from stapy.codegen.irbuilder import I32, I64, I8, PTR, VOID, c32, c64


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


# The traced task's parent and credentials (its /proc status; stapy's own outside process probes),
# like pgrp()/sid() below: the runner's procinfo services.
for _name in ("ppid", "uid", "euid", "gid", "egid"):
    builtin(_name)(lambda low, e, nm=_name: _py_long(low, e, f"proc:{nm}", n=c64(-1)))


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
    # stap's REG_IP(uregs): in a .return the return address, not the probed entry (ctx->uaddr)
    return low.fb.ctx_load("pc")


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
    """tapset/linux/ctime.stp caps the input to what a 32-bit time_t holds, else an error."""
    secs = low.expr(e.args[0])
    fb = low.fb
    for cmp, bound, text in ((">", 2147483647, b"Time too far in the future to be converted"),
                             ("<", -2147483648, b"Time too far in the past to be converted")):
        bad, ok = fb.new_block("ctime.bad"), fb.new_block("ctime.ok")
        low.b.cbranch(low.b.icmp_signed(cmp, secs, c64(bound)), bad, ok)
        low.b.position_at_end(bad)
        fb.set_error(fb.new_site("error", e.tok), text)
        low.b.branch(fb.current_fixup())
        low.b.position_at_end(ok)
    dst = fb.temp_str()
    low.b.call(low.py("stapy_py_ctime"), [dst, secs])
    return dst


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


# ------------------------------------------------------------------ symbols and backtraces (ucontext*.stp)
# Answered by the runner's `symbol_string(ctx, name, n, s)` hook: the engine, which knows the tracee's
# modules, overrides it; without a tracee the runner gives stap's answers for a probe with no user regs.

for _name in ("usymname", "usymdata", "usymfileline"):
    builtin(_name)(lambda low, e, nm=_name: _py_str(low, e, nm, n=low.expr(e.args[0])))
# These two can fail as stap's do (`module cannot be found`, `reached end of stack ...`): the
# runner answers through the status-returning service and a failure is an ordinary error site.
def _checked_symbol(low, e, name):
    from stapy.codegen.builtins_user import _py_str_checked  # a sibling builtins module (import cycle)

    return _py_str_checked(low, e, name, low.expr(e.args[0]))


for _name in ("umodname", "ucallers"):
    builtin(_name)(lambda low, e, nm=_name: _checked_symbol(low, e, nm))
for _name in ("ubacktrace", "sprint_ubacktrace"):
    builtin(_name)(lambda low, e, nm=_name: _py_str(low, e, nm))


@builtin("ustack")
def _ustack(low, e):
    return _py_long(low, e, "ustack", n=low.expr(e.args[0]))


@builtin("_caller_match")
def _caller_match(low, e):
    """context-caller.stp's check of .callee probes: is ustack(level) the module's link-time addr once
    relocated?  The runner answers `_caller_match` with n = level << 56 | addr, sv = module."""
    args = [low.expr(a) for a in e.args]
    level, module, addr = args[1], args[2], args[4]
    n = low.b.or_(low.b.shl(level, c64(56)), low.b.and_(addr, c64((1 << 56) - 1)))
    return _py_long(low, e, "_caller_match", n=n, sv=module)


def _print_py(low, e, name, n=None, sv=None):
    low.helper("stp_out_str", [low.globals.out, _py_str(low, e, name, n=n, sv=sv)])
    return None


for _name in ("print_ubacktrace", "print_ubacktrace_brief", "print_ubacktrace_fileline"):
    builtin(_name)(lambda low, e, nm=_name: _print_py(low, e, nm))


@builtin("print_usyms")
def _print_usyms(low, e):
    return _print_py(low, e, "print_usyms", sv=low.expr(e.args[0]))
