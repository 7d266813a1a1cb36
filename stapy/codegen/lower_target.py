"""Lowering of target expressions: the plans stapy.semantic.target_vars attached to the AST.

A plan's Access is evaluated in three parts: the base (a DWARF location expression run as IR over
ctx->regs or ctx->entry_regs, an SDT operand, $return's rax, or a script value used as an address),
the steps (`->` through pointers, member offsets, indexes) and the final read.  While walking, the
object is either in tracee memory ('mem', run-time address) or a value already in hand ('val', i64).
Every tracee read is a guarded access (ctx->read_user) with its own exception-table site: a fault
is stap's `read fault [man error::fault] at 0x<addr>` (catchable), or, inside a pretty print, the
whole string becomes "ERROR" as stap's synthesized try/catch makes it.
Link-time addresses (DW_OP_addr, SDT symbols) get the module's load bias, which is
ctx->uaddr - the site's link-time address (the engine sets uaddr to the probed address for entry
and return probes alike).
"""
from __future__ import annotations

from llvmlite import ir

from stapy.codegen import abi
from stapy.codegen.irbuilder import I8, I64, c32, c64
from stapy.codegen.lower_expr import translation_error
from stapy.parser import ast
from stapy.runtime.native import helpers as H

_FAULT = b"read fault [man error::fault] at 0x%lx"
_PTRACE_GETFPREGS = 14
_FPREGS_SIZE = 512  # struct user_fpregs_struct (the FXSAVE area)
_XMM_SPACE = 160  # offsetof(struct user_fpregs_struct, xmm_space)


def _fpregs_slot(fb):
    """(buffer, fetched flag) of this handler's xmm registers, made once in its entry block."""
    slot = getattr(fb, "_tv_fpregs", None)
    if slot is None:
        eb = fb.entry_builder
        buf = eb.alloca(I8, size=c64(_FPREGS_SIZE), name="fpregs")
        buf.align = 16
        done = eb.alloca(I64, name="fpregs.done")
        eb.store(c64(0), done)
        slot = fb._tv_fpregs = (buf, done)
    return slot


def lower_target(low, e):
    """Entry point from ExprLowering for TargetSymbol / CastOp / AtVar / EntryOp."""
    plan = getattr(e, "tv", None)
    if isinstance(e, ast.EntryOp):
        if plan is not None and plan.kind == "tid":
            return low.fb.ctx_load("tid")
        return low.expr(e.operand)
    if plan is None:
        raise translation_error("unresolved target-symbol expression", e.tok)
    ev = _Eval(low, e.tok)
    if plan.kind == "string":
        return low.fb.str_const(plan.text.encode())
    if plan.kind == "long":
        return ev.access(plan.access)
    if plan.kind == "pretty":
        return ev.pretty(plan.items)
    raise translation_error(f"unknown target plan {plan.kind}", e.tok)


class _Eval:
    def __init__(self, low, tok):
        self.low = low
        self.fb = low.fb
        self.b = low.b
        self.tok = tok
        self.fault = None  # a block to branch to instead of raising (pretty printing)

    # -- registers and memory ------------------------------------------------------------
    def regs(self, entry: bool):
        return self.fb.ctx_load("entry_regs" if entry else "regs")

    def reg(self, regno: int, entry: bool):
        from stapy.debuginfo.locations import DWARF_REGS_X86_64

        name = DWARF_REGS_X86_64[regno] if regno < len(DWARF_REGS_X86_64) else None
        if name is not None and name.startswith("xmm"):
            if entry:
                raise translation_error(f"register {name} is not saved at function entry", self.tok)
            return self.xmm(int(name[3:]))
        if name not in abi.REG_INDEX:
            raise translation_error(f"register {name or regno} is not accessible", self.tok)
        return self.reg_named(name, entry)

    def reg_named(self, name: str, entry: bool):
        regs = self.regs(entry)
        bad, ok = self.fb.new_block("tv.noregs"), self.fb.new_block("tv.regs")
        self.b.cbranch(self.b.icmp_unsigned("==", self.b.ptrtoint(regs, I64), c64(0)), bad, ok)
        self.b.position_at_end(bad)
        if self.fault is not None:
            self.b.branch(self.fault)
        else:
            self.fb.raise_error("registers", self.tok, b"cannot access CPU registers in this context")
        self.b.position_at_end(ok)
        p = self.b.gep(regs, [c64(abi.REG_INDEX[name] * 8)], source_etype=I8)
        return self.b.load(p, typ=I64)

    def xmm(self, n: int):
        """The low 64 bits of the stopped thread's xmm<n> (stap's pt_dwarf_register_17+n).  The first
        read in a handler fetches user_fpregs_struct with PTRACE_GETFPREGS on ctx->tid into a buffer
        of the handler's frame; later reads in the same run reuse it, so only handlers that read an
        xmm register pay the system call."""
        fb, b = self.fb, self.b
        regs = self.fb.ctx_load("regs")  # no stopped thread (begin, end, timers): no registers
        bad, have = fb.new_block("tv.noxmm"), fb.new_block("tv.xmm")
        b.cbranch(b.icmp_unsigned("==", b.ptrtoint(regs, I64), c64(0)), bad, have)
        b.position_at_end(bad)
        if self.fault is not None:
            b.branch(self.fault)
        else:
            fb.raise_error("registers", self.tok, b"cannot access CPU registers in this context")
        b.position_at_end(have)
        buf, done = _fpregs_slot(fb)
        fetch, ready = fb.new_block("tv.getfpregs"), fb.new_block("tv.fpregs")
        b.cbranch(b.icmp_signed("==", b.load(done, typ=I64), c64(0)), fetch, ready)
        b.position_at_end(fetch)
        from stapy.codegen.irbuilder import I32, PTR

        ptrace = fb.mb.declare("ptrace", I64, [I32], var_arg=True)
        rc = b.call(ptrace, [c32(_PTRACE_GETFPREGS), b.trunc(fb.ctx_load("tid"), I32), c64(0), buf])
        failed, got = fb.new_block("tv.fpregs.fail"), fb.new_block("tv.fpregs.got")
        b.cbranch(b.icmp_signed("!=", rc, c64(0)), failed, got)
        b.position_at_end(failed)
        if self.fault is not None:
            b.branch(self.fault)
        else:
            fb.raise_error("registers", self.tok, b"cannot access CPU registers in this context")
        b.position_at_end(got)
        b.store(c64(1), done)
        b.branch(ready)
        b.position_at_end(ready)
        return b.load(b.gep(buf, [c64(_XMM_SPACE + 16 * n)], source_etype=I8), typ=I64)

    def bias(self, acc):
        if acc.module is None and acc.site_address is not None:
            return self.b.sub(self.fb.ctx_load("uaddr"), c64(acc.site_address))
        if acc.module is None:
            return c64(0)
        # another module (or no probe site): ask the runner where it is mapped (a slow, rare path)
        fb, b = self.fb, self.b
        bias = b.call(self.low.py("stapy_py_long"), [fb.ctx, fb.str_const(b"__tvar_module_bias"), c64(0),
                                                    fb.str_const(acc.module.encode())])
        bad, ok = fb.new_block("tv.nomod"), fb.new_block("tv.mod")
        b.cbranch(b.icmp_signed("==", bias, c64(-1)), bad, ok)
        b.position_at_end(bad)
        if self.fault is not None:
            b.branch(self.fault)
        else:
            fb.raise_error("user-read", self.tok, f"module {acc.module} is not loaded".encode())
        b.position_at_end(ok)
        return bias

    def read(self, addr, size: int):
        """A guarded read of size (1..8) bytes at addr, zero-extended."""
        fb, b = self.fb, self.b
        buf = fb.alloca_long("tvbuf")
        b.store(c64(0), buf)
        rc = b.call(self.low.user_reader(), [fb.ctx, addr, buf, c64(size)])
        bad, ok = fb.new_block("tv.fault"), fb.new_block("tv.ok")
        b.cbranch(b.icmp_signed("!=", rc, c32(0)), bad, ok)
        b.position_at_end(bad)
        if self.fault is not None:
            b.branch(self.fault)
        else:
            self.low.raise_with("user-read", self.tok, _FAULT, addr)
        b.position_at_end(ok)
        v = b.load(buf, typ=I64)
        if size < 8:
            v = b.and_(v, c64((1 << (size * 8)) - 1))
        return v

    def extend(self, v, size: int, signed: bool):
        if size >= 8:
            return v
        small = self.b.trunc(v, ir.IntType(size * 8))
        return self.b.sext(small, I64) if signed else self.b.zext(small, I64)

    # -- DWARF expressions ------------------------------------------------------------------
    def ops(self, ops, acc):
        b = self.b
        st: list = []
        for op in ops:
            k = op[0]
            if k == "addr":
                st.append(b.add(c64(op[1]), self.bias(acc)))
            elif k == "const":
                st.append(c64(op[1]))
            elif k == "breg":
                st.append(b.add(self.reg(op[1], acc.entry), c64(op[2])))
            elif k == "entry_reg":
                st.append(self.reg(op[1], acc.entry))
            elif k == "offset":
                st.append(b.add(st.pop(), c64(op[1])))
            elif k == "deref":
                st.append(self.read(st.pop(), op[1]))
            elif k == "binop":
                y, x = st.pop(), st.pop()
                st.append(self.binop(op[1], x, y))
            elif k == "unop":
                x = st.pop()
                if op[1] == "neg":
                    st.append(b.sub(c64(0), x))
                elif op[1] == "not":
                    st.append(b.xor(x, c64(-1)))
                else:
                    neg = b.icmp_signed("<", x, c64(0))
                    st.append(b.select(neg, b.sub(c64(0), x), x))
            elif k == "dup":
                st.append(st[-1])
            elif k == "drop":
                st.pop()
            elif k == "swap":
                st[-1], st[-2] = st[-2], st[-1]
            elif k == "over":
                st.append(st[-2])
            elif k == "rot":
                st[-1], st[-2], st[-3] = st[-2], st[-3], st[-1]
            elif k == "pick":
                st.append(st[-1 - op[1]])
            else:
                raise translation_error(f"unsupported DWARF operation {k}", self.tok)
        if not st:
            raise translation_error("empty DWARF location", self.tok)
        return st[-1]

    def binop(self, name, x, y):
        b = self.b
        simple = {"plus": b.add, "minus": b.sub, "mul": b.mul, "and": b.and_, "or": b.or_, "xor": b.xor,
                  "shl": b.shl, "shr": b.lshr, "shra": b.ashr}
        if name in simple:
            return simple[name](x, y)
        if name in ("div", "mod"):
            zero = b.icmp_signed("==", y, c64(0))
            safe = b.select(zero, c64(1), y)
            r = b.sdiv(x, safe) if name == "div" else b.urem(x, safe)
            return b.select(zero, c64(0), r)
        cmp = {"eq": "==", "ne": "!=", "lt": "<", "gt": ">", "le": "<=", "ge": ">="}[name]
        return b.zext(b.icmp_signed(cmp, x, y), I64)

    def location(self, loc, acc):
        b = self.b
        k = loc.kind
        if k == "memory":
            return ("mem", self.ops(loc.ops, acc))
        if k == "register":
            return ("val", self.reg(loc.regno, acc.entry))
        if k == "value":
            return ("val", self.ops(loc.ops, acc))
        if k == "implicit":
            return ("val", c64(int.from_bytes(loc.data[:8].ljust(8, b"\0"), "little", signed=True)))
        if k == "pieces":
            total = sum(n for n, _ in loc.pieces)
            if total > 8:
                raise translation_error("not accessible at this address (pieces wider than 8 bytes)", self.tok)
            v, shift = c64(0), 0
            for n, piece in loc.pieces:
                if piece.kind == "unavailable":
                    pv = c64(0)
                elif piece.kind == "memory":
                    pv = self.read(self.ops(piece.ops, acc), n)
                else:
                    pv = self.location(piece, acc)[1]
                if n < 8:
                    pv = b.and_(pv, c64((1 << (n * 8)) - 1))
                v = b.or_(v, b.shl(pv, c64(shift)) if shift else pv)
                shift += n * 8
            return ("val", v)
        raise translation_error("not accessible at this address", self.tok)

    # -- bases ------------------------------------------------------------------------------
    def base(self, acc):
        kind = acc.base[0]
        if kind == "loc":
            return self.location(acc.base[1], acc)
        if kind == "const":
            return ("val", c64(acc.base[1]))
        if kind == "return":
            return ("val", self.reg_named("rax", False))
        if kind == "reg":
            return ("val", self.reg_named(acc.base[1], acc.entry))
        if kind == "expr":
            return ("mem", self.low.long_expr(acc.base[1]))
        if kind == "sdt":
            return ("val", self.sdt(acc.base[1], acc))
        raise translation_error(f"unknown target base {kind}", self.tok)

    def sdt(self, a, acc):
        b = self.b
        if a.kind == "const":
            v = c64(a.value)
        elif a.kind == "reg":
            v = self.reg_named(a.reg, acc.entry)
            if a.reg_shift:
                v = b.lshr(v, c64(a.reg_shift))
            if a.reg_bits < 64:
                v = b.and_(v, c64((1 << a.reg_bits) - 1))
        else:
            if a.address is not None:
                addr = b.add(c64(a.address), self.bias(acc))
            elif a.symbol:
                raise translation_error(f"SDT operand {a.text}: symbol {a.symbol} not found", self.tok)
            else:
                addr = c64(a.disp)
                if a.base:
                    if a.base == "rip":
                        raise translation_error(f"SDT operand {a.text} is not supported", self.tok)
                    addr = b.add(addr, self.reg_named(a.base, acc.entry))
                if a.index:
                    addr = b.add(addr, b.mul(self.reg_named(a.index, acc.entry), c64(a.scale)))
            v = self.read(addr, a.size)
        return self.extend(v, a.size, a.signed)

    # -- steps and reads ------------------------------------------------------------------------
    def walk(self, acc):
        b = self.b
        where = self.base(acc)
        for step in acc.steps:
            k = step[0]
            if k == "deref":
                ptr = self.read(where[1], 8) if where[0] == "mem" else where[1]
                where = ("mem", ptr)
            elif k == "offset":
                where = ("mem", b.add(where[1], c64(step[1]))) if where[0] == "mem" else \
                    ("val", b.lshr(where[1], c64(step[1] * 8)))
            elif k == "index":
                size, idx = step[1], step[2]
                iv = c64(idx) if isinstance(idx, int) else self.low.long_expr(idx)
                off = b.mul(iv, c64(size))
                if where[0] == "mem":
                    where = ("mem", b.add(where[1], off))
                else:
                    where = ("val", b.lshr(where[1], b.mul(off, c64(8))))
            else:
                raise translation_error(f"unknown target step {k}", self.tok)
        return where

    def access(self, acc):
        b = self.b
        where = self.walk(acc)
        r = acc.read
        if r[0] == "int":
            _, size, signed = r
            v = self.read(where[1], size) if where[0] == "mem" else where[1]
            return self.extend(v, size, signed)
        if r[0] == "f32":
            v = self.read(where[1], 4) if where[0] == "mem" else b.and_(where[1], c64(0xFFFFFFFF))
            from stapy.codegen.builtins_float import fp32_to_fp64

            return fp32_to_fp64(self.low, v)
        if r[0] == "bits":
            _, bit_off, bit_size, signed = r
            nbytes = min(8, (bit_off + bit_size + 7) // 8)
            v = self.read(where[1], nbytes) if where[0] == "mem" else where[1]
            v = b.shl(v, c64(64 - bit_off - bit_size))
            return b.ashr(v, c64(64 - bit_size)) if signed else b.lshr(v, c64(64 - bit_size))
        if r[0] == "addr":
            if where[0] != "mem":
                raise translation_error("not accessible at this address (not in memory)", self.tok)
            return where[1]
        raise translation_error(f"unexpected read {r[0]}", self.tok)

    # -- pretty printing ---------------------------------------------------------------------------
    def pretty(self, items):
        fb, b, low = self.fb, self.b, self.low
        size = c64(fb.mb.maxstringlen)
        buf = fb.temp_str()
        out = fb.temp_str()
        n = fb.alloca_long("tvlen")
        b.store(c64(0), n)
        fault_bb, done_bb = fb.new_block("tv.pp.error"), fb.new_block("tv.pp.done")
        self.fault = fault_bb

        def lit(text: bytes):
            v = low.helper("stp_fmt_lit", [buf, b.load(n, typ=I64), size, fb.str_const(text), c64(len(text))])
            b.store(v, n)

        for item in items:
            if isinstance(item, str):
                lit(item.encode())
                continue
            fmt, acc = item
            if acc.read[0] == "quoted":
                s = self.quoted(acc)
                v = low.helper("stp_fmt_str", [buf, b.load(n, typ=I64), size, s, c32(0), c64(-1), c64(-1)])
                b.store(v, n)
                continue
            val = self.access(acc)
            cur = b.load(n, typ=I64)
            if fmt == "%i":
                v = low.helper("stp_fmt_num", [buf, cur, size, val, c32(H.FMT_SIGN), c64(-1), c64(-1), c32(10)])
            elif fmt == "%u":
                v = low.helper("stp_fmt_num", [buf, cur, size, val, c32(0), c64(-1), c64(-1), c32(10)])
            elif fmt in ("%p", "%#x"):
                v = low.helper("stp_fmt_num", [buf, cur, size, val, c32(H.FMT_SPECIAL), c64(-1), c64(-1), c32(16)])
            elif fmt == "'%#c'":
                b.store(cur, n)
                lit(b"'")
                v = low.helper("stp_fmt_char", [buf, b.load(n, typ=I64), size, val, c32(H.FMT_SPECIAL), c64(-1)])
                b.store(v, n)
                lit(b"'")
                continue
            else:
                raise translation_error(f"unknown pretty format {fmt}", self.tok)
            b.store(v, n)
        low.helper("stp_fmt_finish", [buf, b.load(n, typ=I64), size])
        fb.str_copy(out, buf)
        b.branch(done_bb)
        b.position_at_end(fault_bb)
        fb.ctx_store("error_site", c64(0))
        fb.str_copy(out, fb.str_const(b"ERROR"))
        b.branch(done_bb)
        b.position_at_end(done_bb)
        self.fault = None
        return out

    def quoted(self, acc):
        """user_string_quoted(address): "..." escaped, or 0x<hex> when the string cannot be read."""
        fb, b, low = self.fb, self.b, self.low
        where = self.walk(acc)
        addr = where[1]
        limit = min(510, fb.mb.maxstringlen - 1)
        raw = fb.temp_str()
        rc = b.call(low.user_reader(string=True), [fb.ctx, addr, raw, c64(limit + 1)])
        b.store(ir.Constant(I8, 0), b.gep(raw, [c64(limit)], source_etype=I8))
        dst = fb.temp_str()
        bad, ok, end = fb.new_block("tvq.fault"), fb.new_block("tvq.ok"), fb.new_block("tvq.end")
        b.cbranch(b.icmp_signed("!=", rc, c32(0)), bad, ok)
        b.position_at_end(bad)
        from stapy.codegen.builtins import _snprintf

        b.call(_snprintf(fb.mb), [dst, c64(fb.mb.maxstringlen), fb.str_const(b"0x%lx"), addr])
        b.branch(end)
        b.position_at_end(ok)
        low.helper("stp_string_quoted", [dst, raw])
        b.branch(end)
        b.position_at_end(end)
        return dst


# ------------------------------------------------------------------------------------ guru writes
_WFAULT = b"write fault [man error::fault] at 0x%lx"


def _writable(low, target, tok):
    plan = target.tv
    if plan.kind == "long" and plan.access.read[0] == "f32":
        raise translation_error("cannot assign yet to 32-bit float", tok)
    if plan.kind != "long" or plan.access.read[0] not in ("int", "bits"):
        raise translation_error("write to this target expression is not supported", tok)
    return plan.access


def _store(low, ev, acc, value, tok):
    """Write value into the object acc describes (tracee memory only: a register copy would not reach
    the thread), through process_vm_writev on ctx->pid; a failure is stap's write fault."""
    b, fb = low.b, low.fb
    reg = _register_of(acc)
    if reg is not None:
        return _store_register(low, ev, reg, acc, value, tok)
    where = ev.walk(acc)
    if where[0] != "mem":
        raise translation_error("write to this target variable is not supported (not in memory or a register)", tok)
    addr = where[1]
    r = acc.read
    if r[0] == "bits":
        _, bit_off, bit_size, _signed = r
        size = min(8, (bit_off + bit_size + 7) // 8)
        old = ev.read(addr, size)
        mask = ((1 << bit_size) - 1) << bit_off
        value = b.or_(b.and_(old, c64(~mask)), b.and_(b.shl(value, c64(bit_off)), c64(mask)))
    else:
        size = r[1]
    buf = fb.alloca_long("tvw")
    b.store(value, buf)
    local = fb._alloca_b.alloca(I64, size=c64(2), name="liov")  # struct iovec {base, len}
    remote = fb._alloca_b.alloca(I64, size=c64(2), name="riov")
    b.store(b.ptrtoint(buf, I64), local)
    b.store(c64(size), b.gep(local, [c64(1)], source_etype=I64))
    b.store(addr, remote)
    b.store(c64(size), b.gep(remote, [c64(1)], source_etype=I64))
    from stapy.codegen.irbuilder import I32, PTR

    writev = fb.mb.declare("process_vm_writev", I64, [I32, PTR, I64, PTR, I64, I64])
    pid = b.trunc(fb.ctx_load("pid"), I32)
    n = b.call(writev, [pid, local, c64(1), remote, c64(1), c64(0)])
    bad, ok = fb.new_block("tvw.fault"), fb.new_block("tvw.ok")
    b.cbranch(b.icmp_signed("!=", n, c64(size)), bad, ok)
    b.position_at_end(bad)
    low.raise_with("user-write", tok, _WFAULT, addr)
    b.position_at_end(ok)


def _register_of(acc):
    """The user_regs_struct name of a target held whole in a register ($return, a register location)."""
    from stapy.debuginfo.locations import DWARF_REGS_X86_64

    if acc.steps or acc.read[0] != "int":
        return None
    if acc.base[0] == "return":
        return "rax"
    if acc.base[0] == "loc" and acc.base[1].kind == "register":
        regno = acc.base[1].regno
        name = DWARF_REGS_X86_64[regno] if regno < len(DWARF_REGS_X86_64) else None
        return name if name in abi.REG_INDEX else None
    return None


def _store_register(low, ev, name, acc, value, tok):
    """Write into ctx->regs; the engine puts the registers back when the thread resumes."""
    if acc.entry:
        raise translation_error("write to a target variable captured at entry is not supported", tok)
    b = low.b
    ev.reg_named(name, False)  # faults (no registers in this context) like a read would
    p = b.gep(low.fb.ctx_load("regs"), [c64(abi.REG_INDEX[name] * 8)], source_etype=I8)
    size = acc.read[1]
    if size < 8:
        mask = (1 << (size * 8)) - 1
        old = b.load(p, typ=I64)
        value = b.or_(b.and_(old, c64(~mask)), b.and_(value, c64(mask)))
    b.store(value, p)


def assign_target(low, target, op, right, tok):
    acc = _writable(low, target, tok)
    ev = _Eval(low, tok)
    rhs = low.long_expr(right)
    value = rhs if op == "=" else low.arith(op[:-1], ev.access(acc), rhs, tok)
    _store(low, ev, acc, value, tok)
    return value


def incdec_target(low, target, delta, prefix, tok):
    acc = _writable(low, target, tok)
    ev = _Eval(low, tok)
    old = ev.access(acc)
    new = low.b.add(old, delta)
    _store(low, ev, acc, new, tok)
    return new if prefix else old
