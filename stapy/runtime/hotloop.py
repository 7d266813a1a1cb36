"""The native dispatch loop: waitpid -> GETREGS -> table lookup -> handlers -> resume, in LLVM IR.

The common stop (a SIGTRAP at an entry-only breakpoint whose instruction is
emulated or stepped out of line) is served here without entering Python or
creating any Python object.  Everything else is handed back to
`Dispatcher.handle`: the loop returns with the stop it has not consumed.

    i64 stapy_hot_loop(LoopState*)
       < 0   -errno of waitpid (EINTR: a timer or a session signal woke us)
       1     a stop for Python: state.tid / state.status, untouched
       3     nothing to wait for right now (state.wflags had WNOHANG)
       2     a breakpoint hit Python must finish: state.phase says where the loop left it
               PHASE_HANDLER  handler state.next-1 returned state.hstatus (or set ctx->exit_requested);
                              handlers from state.next on
                              and the resume are still to do
               PHASE_RESUME   handlers done, the resume could not be emulated (Python steps)
               PHASE_STEP     the out-of-line step stopped with state.status2 instead of finishing;
                              state.scratch holds the scratch register's saved value

Tables (rebuilt by `HotLoop.sync` whenever threads, processes or breakpoints change):
  tid table: TSLOT entries {tid, bptable*}, open addressing on tid
  breakpoint table: {mask, tgid, entries*}; entry {addr, fast, op, len, reg, imm, slot, fix, nh, handlers*}
  handler: {fn, probe_index, serial}; hits[serial] counts native hits per probe
"""
from __future__ import annotations

import ctypes

from llvmlite import ir

from stapy.codegen import abi
from stapy.runtime import ptrace as pt
from stapy.runtime.arch import x86_64 as arch

I8, I32, I64 = ir.IntType(8), ir.IntType(32), ir.IntType(64)
PTR = ir.PointerType()

PHASE_NONE, PHASE_HANDLER, PHASE_RESUME, PHASE_STEP = 0, 1, 2, 3
GOLDEN = 0x9E3779B97F4A7C15


class LoopState(ctypes.Structure):
    _fields_ = [("tid", ctypes.c_int64), ("status", ctypes.c_int64), ("phase", ctypes.c_int64),
                ("entry", ctypes.c_int64), ("next", ctypes.c_int64), ("hstatus", ctypes.c_int64),
                ("status2", ctypes.c_int64), ("scratch", ctypes.c_int64), ("maxaction", ctypes.c_int64),
                ("ctx", ctypes.c_void_p), ("regs", ctypes.c_void_p), ("tids", ctypes.c_void_p),
                ("tid_mask", ctypes.c_int64), ("hits", ctypes.c_void_p), ("wflags", ctypes.c_int64)]


class Entry(ctypes.Structure):
    _fields_ = [("addr", ctypes.c_uint64), ("fast", ctypes.c_int64), ("op", ctypes.c_int64),
                ("len", ctypes.c_int64), ("reg", ctypes.c_int64), ("imm", ctypes.c_uint64),
                ("slot", ctypes.c_uint64), ("fix", ctypes.c_int64), ("nh", ctypes.c_int64),
                ("handlers", ctypes.c_void_p)]


class Handler(ctypes.Structure):
    _fields_ = [("fn", ctypes.c_void_p), ("probe_index", ctypes.c_int64), ("serial", ctypes.c_int64)]


class Table(ctypes.Structure):
    _fields_ = [("mask", ctypes.c_int64), ("tgid", ctypes.c_int64), ("entries", ctypes.c_void_p)]


class TidSlot(ctypes.Structure):
    _fields_ = [("tid", ctypes.c_int64), ("table", ctypes.c_void_p)]


def _off(struct, name):
    return getattr(struct, name).offset


class _B:
    """IRBuilder plus loads/stores at integer addresses (no pointer typing games)."""

    def __init__(self, fn):
        self.fn = fn
        self.b = ir.IRBuilder(fn.append_basic_block("entry"))

    def block(self, name):
        return self.fn.append_basic_block(name)

    def ld(self, addr, ty=I64):
        return self.b.load(self.b.inttoptr(addr, ty.as_pointer()))

    def st(self, val, addr):
        self.b.store(val, self.b.inttoptr(addr, val.type.as_pointer()))

    def at(self, base, off):
        return self.b.add(base, ir.Constant(I64, off))

    def c(self, n):
        return ir.Constant(I64, n)


def build(module: ir.Module) -> ir.Function:
    waitpid = ir.Function(module, ir.FunctionType(I32, [I32, PTR, I32]), "waitpid")
    ptrace = ir.Function(module, ir.FunctionType(I64, [I64], var_arg=True), "ptrace")
    errno_loc = ir.Function(module, ir.FunctionType(PTR, []), "__errno_location")
    hty = ir.FunctionType(I32, [PTR])
    fn = ir.Function(module, ir.FunctionType(I64, [PTR]), "stapy_hot_loop")
    B = _B(fn)
    b = B.b
    c = B.c
    sp = b.ptrtoint(fn.args[0], I64)
    S = lambda name: B.at(sp, _off(LoopState, name))  # noqa: E731
    statusp = b.alloca(I32)
    regs = B.ld(S("regs"))
    ctx = B.ld(S("ctx"))
    ctxp = b.inttoptr(ctx, PTR)
    regsp = b.inttoptr(regs, PTR)
    R = lambda name: B.at(regs, abi.REG_INDEX[name] * 8)  # noqa: E731
    C = lambda name: B.at(ctx, _off(abi.Context, name))  # noqa: E731

    def pcall(req, tid32, addr, data):
        return b.call(ptrace, [c(req), tid32, b.inttoptr(addr, PTR) if addr.type == I64 else addr,
                               b.inttoptr(data, PTR) if data.type == I64 else data])

    top = B.block("top")
    b.branch(top)
    # ---- wait for a stop
    b.position_at_end(top)
    r = b.call(waitpid, [ir.Constant(I32, -1), statusp, b.trunc(B.ld(S("wflags")), I32)])
    failed, got, gotany, idle = B.block("wait_failed"), B.block("got"), B.block("got_any"), B.block("idle")
    b.cbranch(b.icmp_signed("<", r, ir.Constant(I32, 0)), failed, gotany)
    b.position_at_end(gotany)
    b.cbranch(b.icmp_signed("==", r, ir.Constant(I32, 0)), idle, got)
    b.position_at_end(idle)
    b.ret(c(3))
    b.position_at_end(failed)
    e = b.load(b.call(errno_loc, []), typ=I32)
    b.ret(b.sub(c(0), b.sext(e, I64)))

    b.position_at_end(got)
    tid32 = r
    tid = b.sext(r, I64)
    status = b.sext(b.load(statusp), I64)
    B.st(tid, S("tid"))
    B.st(status, S("status"))
    B.st(c(PHASE_NONE), S("phase"))
    to_py = B.block("to_python")
    b.position_at_end(to_py)
    b.ret(c(1))
    b.position_at_end(got)
    is_trap = B.block("is_trap")
    b.cbranch(b.icmp_signed("==", status, c(0x57F)), is_trap, to_py)

    # ---- tid -> breakpoint table
    b.position_at_end(is_trap)
    tids = B.ld(S("tids"))
    tmask = B.ld(S("tid_mask"))
    tprobe = B.block("tid_probe")
    start = b.and_(b.mul(tid, c(GOLDEN)), tmask)
    b.branch(tprobe)
    b.position_at_end(tprobe)
    ti = b.phi(I64)
    ti.add_incoming(start, is_trap)
    tslot = b.add(tids, b.mul(ti, c(ctypes.sizeof(TidSlot))))
    stid = B.ld(tslot)
    tfound, tnext = B.block("tid_found"), B.block("tid_next")
    tnotempty = B.block("tid_notempty")
    b.cbranch(b.icmp_signed("==", stid, tid), tfound, tnotempty)
    b.position_at_end(tnotempty)
    b.cbranch(b.icmp_signed("==", stid, c(0)), to_py, tnext)
    b.position_at_end(tnext)
    ti.add_incoming(b.and_(b.add(ti, c(1)), tmask), tnext)
    b.branch(tprobe)

    b.position_at_end(tfound)
    table = B.ld(B.at(tslot, 8))
    rc = pcall(pt.GETREGS, tid32, c(0), regs)
    gotregs = B.block("gotregs")
    b.cbranch(b.icmp_signed("<", rc, c(0)), to_py, gotregs)
    b.position_at_end(gotregs)
    addr = b.sub(B.ld(R("rip")), c(1))
    emask = B.ld(table)
    entries = B.ld(B.at(table, 16))
    eprobe = B.block("bp_probe")
    estart = b.and_(b.lshr(b.mul(addr, c(GOLDEN)), c(40)), emask)
    b.branch(eprobe)
    b.position_at_end(eprobe)
    ei = b.phi(I64)
    ei.add_incoming(estart, gotregs)
    ent = b.add(entries, b.mul(ei, c(ctypes.sizeof(Entry))))
    eaddr = B.ld(ent)
    efound, enext, enotempty = B.block("bp_found"), B.block("bp_next"), B.block("bp_notempty")
    b.cbranch(b.icmp_unsigned("==", eaddr, addr), efound, enotempty)
    b.position_at_end(enotempty)
    b.cbranch(b.icmp_unsigned("==", eaddr, c(0)), to_py, enext)
    b.position_at_end(enext)
    ei.add_incoming(b.and_(b.add(ei, c(1)), emask), enext)
    b.branch(eprobe)

    b.position_at_end(efound)
    E = lambda name: B.at(ent, _off(Entry, name))  # noqa: E731
    fast = B.ld(E("fast"))
    hit = B.block("hit")
    b.cbranch(b.icmp_signed("==", fast, c(0)), to_py, hit)

    # ---- run the handlers
    b.position_at_end(hit)
    B.st(ei, S("entry"))
    B.st(regs, C("regs"))
    B.st(B.ld(B.at(table, 8)), C("pid"))
    B.st(tid, C("tid"))
    B.st(addr, C("uaddr"))
    B.st(c(0), C("is_return"))
    B.st(c(0), C("entry_regs"))
    nh = B.ld(E("nh"))
    hs = B.ld(E("handlers"))
    maxaction = B.ld(S("maxaction"))
    hits = B.ld(S("hits"))
    hloop, hbody, hdone = B.block("h_loop"), B.block("h_body"), B.block("h_done")
    b.branch(hloop)
    b.position_at_end(hloop)
    hi = b.phi(I64)
    hi.add_incoming(c(0), hit)
    b.cbranch(b.icmp_signed("<", hi, nh), hbody, hdone)
    b.position_at_end(hbody)
    h = b.add(hs, b.mul(hi, c(ctypes.sizeof(Handler))))
    B.st(B.ld(B.at(h, 8)), C("probe_index"))
    B.st(maxaction, C("actions"))
    for field in ("nesting", "error_site", "error_depth", "exit_requested"):
        B.st(c(0), C(field))
    st = b.call(b.inttoptr(B.ld(h), hty.as_pointer()), [ctxp])
    hitp = b.add(hits, b.mul(B.ld(B.at(h, 16)), c(8)))
    B.st(b.add(B.ld(hitp), c(1)), hitp)
    hnext = b.add(hi, c(1))
    ok = b.or_(b.icmp_signed("==", st, ir.Constant(I32, abi.STATUS_OK)),
               b.icmp_signed("==", st, ir.Constant(I32, abi.STATUS_NEXT)))
    ok = b.and_(ok, b.icmp_signed("==", B.ld(C("exit_requested")), c(0)))
    hcont, hstop = B.block("h_cont"), B.block("h_stop")
    b.cbranch(ok, hcont, hstop)
    b.position_at_end(hcont)
    hi.add_incoming(hnext, hcont)
    b.branch(hloop)
    b.position_at_end(hstop)
    B.st(c(PHASE_HANDLER), S("phase"))
    B.st(hnext, S("next"))
    B.st(b.sext(st, I64), S("hstatus"))
    b.ret(c(2))

    # ---- resume past the instruction
    b.position_at_end(hdone)
    op = B.ld(E("op"))
    length = B.ld(E("len"))
    after = b.add(addr, length)
    resume_py = B.block("resume_py")
    b.position_at_end(resume_py)
    B.st(c(PHASE_RESUME), S("phase"))
    b.ret(c(2))
    cont = B.block("cont")
    b.position_at_end(hdone)
    blocks = {k: B.block(f"op{k}") for k in (arch.OP_SKIP, arch.OP_PUSH, arch.OP_MOVRBP, arch.OP_SUBRSP,
                                               arch.OP_XOL)}
    sw = b.switch(op, resume_py)
    for k, blk in blocks.items():
        sw.add_case(c(k), blk)
    # skip
    b.position_at_end(blocks[arch.OP_SKIP])
    B.st(after, R("rip"))
    b.branch(cont)
    # push %reg
    b.position_at_end(blocks[arch.OP_PUSH])
    rsp = b.sub(B.ld(R("rsp")), c(8))
    val = B.ld(b.add(regs, b.mul(B.ld(E("reg")), c(8))))
    prc = pcall(pt.POKEDATA, tid32, rsp, val)
    pok = B.block("push_ok")
    b.cbranch(b.icmp_signed("<", prc, c(0)), resume_py, pok)
    b.position_at_end(pok)
    B.st(rsp, R("rsp"))
    B.st(after, R("rip"))
    b.branch(cont)
    # mov %rsp,%rbp
    b.position_at_end(blocks[arch.OP_MOVRBP])
    B.st(B.ld(R("rsp")), R("rbp"))
    B.st(after, R("rip"))
    b.branch(cont)
    # sub $imm,%rsp with flags
    b.position_at_end(blocks[arch.OP_SUBRSP])
    a = B.ld(R("rsp"))
    imm = B.ld(E("imm"))
    res = b.sub(a, imm)
    fl = b.and_(B.ld(R("eflags")), c(~0x8D5 & (2**64 - 1)))
    cf = b.zext(b.icmp_unsigned("<", a, imm), I64)
    ctpop = module.declare_intrinsic("llvm.ctpop", [I64])
    pf = b.xor(b.and_(b.call(ctpop, [b.and_(res, c(0xFF))]), c(1)), c(1))
    af = b.and_(b.lshr(b.xor(b.xor(a, imm), res), c(4)), c(1))
    zf = b.zext(b.icmp_unsigned("==", res, c(0)), I64)
    sf = b.lshr(res, c(63))
    of = b.lshr(b.and_(b.xor(a, imm), b.xor(a, res)), c(63))
    fl = b.or_(fl, cf)
    fl = b.or_(fl, b.shl(pf, c(2)))
    fl = b.or_(fl, b.shl(af, c(4)))
    fl = b.or_(fl, b.shl(zf, c(6)))
    fl = b.or_(fl, b.shl(sf, c(7)))
    fl = b.or_(fl, b.shl(of, c(11)))
    B.st(res, R("rsp"))
    B.st(fl, R("eflags"))
    B.st(after, R("rip"))
    b.branch(cont)
    # out of line
    b.position_at_end(blocks[arch.OP_XOL])
    slot = B.ld(E("slot"))
    reg = B.ld(E("reg"))
    has_scratch = b.icmp_signed(">=", reg, c(0))
    regslot = b.add(regs, b.mul(b.select(has_scratch, reg, c(abi.REG_INDEX["rax"])), c(8)))
    saved = B.ld(regslot)
    B.st(saved, S("scratch"))
    B.st(b.select(has_scratch, after, saved), regslot)
    B.st(slot, R("rip"))
    pcall(pt.SETREGS, tid32, c(0), regs)
    pcall(pt.SINGLESTEP, tid32, c(0), c(0))
    swait = B.block("step_wait")
    b.branch(swait)
    b.position_at_end(swait)
    r2 = b.call(waitpid, [tid32, statusp, ir.Constant(I32, pt.WALL)])
    s2 = b.sext(b.load(statusp), I64)
    sret, sgot = B.block("step_eintr"), B.block("step_got")
    b.cbranch(b.icmp_signed("<", r2, ir.Constant(I32, 0)), sret, sgot)
    b.position_at_end(sret)
    b.branch(swait)  # EINTR: the step is in flight, wait again
    b.position_at_end(sgot)
    sdone, sodd = B.block("step_done"), B.block("step_odd")
    b.cbranch(b.icmp_signed("==", s2, c(0x57F)), sdone, sodd)
    b.position_at_end(sodd)
    B.st(s2, S("status2"))
    B.st(c(PHASE_STEP), S("phase"))
    b.ret(c(2))
    b.position_at_end(sdone)
    pcall(pt.GETREGS, tid32, c(0), regs)
    regslot2 = b.add(regs, b.mul(b.select(has_scratch, reg, c(abi.REG_INDEX["rax"])), c(8)))
    B.st(b.select(has_scratch, saved, B.ld(regslot2)), regslot2)
    rip = B.ld(R("rip"))
    fix = B.ld(E("fix"))
    delta = b.sub(addr, slot)
    fx = {k: B.block(f"fix{k}") for k in (arch.FIX_RIP, arch.FIX_JREL, arch.FIX_CALL_REL, arch.FIX_CALL_ABS)}
    sw2 = b.switch(fix, cont)
    for k, blk in fx.items():
        sw2.add_case(c(k), blk)
    b.position_at_end(fx[arch.FIX_RIP])
    B.st(b.select(b.icmp_unsigned("==", rip, b.add(slot, length)), after, rip), R("rip"))
    b.branch(cont)
    b.position_at_end(fx[arch.FIX_JREL])
    B.st(b.add(rip, delta), R("rip"))
    b.branch(cont)
    b.position_at_end(fx[arch.FIX_CALL_REL])
    B.st(b.add(rip, delta), R("rip"))
    pcall(pt.POKEDATA, tid32, B.ld(R("rsp")), after)
    b.branch(cont)
    b.position_at_end(fx[arch.FIX_CALL_ABS])
    pcall(pt.POKEDATA, tid32, B.ld(R("rsp")), after)
    b.branch(cont)
    # ---- back to work
    b.position_at_end(cont)
    pcall(pt.SETREGS, tid32, c(0), regs)
    pcall(pt.CONT, tid32, c(0), c(0))
    b.branch(top)
    return fn


_compiled = None


def native():
    global _compiled
    if _compiled is None:
        from stapy.runtime.nativecode import compile_module

        m = ir.Module(name="stapy_hotloop")
        build(m)
        _compiled = compile_module(m)
    return _compiled


LOOP_FN = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_void_p)


class HotLoop:
    """Owns the native tables for one Engine and runs the native loop."""

    def __init__(self, engine):
        self.e = engine
        self.fn = LOOP_FN(native().address("stapy_hot_loop"))
        self.state = LoopState()
        self.state.ctx = engine.ctx_addr
        self.regs = engine.dispatcher.regs
        self.state.regs = ctypes.addressof(self.regs)
        self.state.maxaction = engine.maxaction
        self.state_addr = ctypes.addressof(self.state)
        self.keep = []
        self.tables = {}  # tgid -> (Table, [bp by entry index])
        self.sync()

    def sync(self) -> None:
        """Rebuild every table from the engine's processes, threads and breakpoints."""
        e = self.e
        keep = []
        serial = {id(p): i for i, p in enumerate(e.probes)}
        if len(e.native_hits) < len(e.probes):
            e.grow_hits()
        self.state.hits = ctypes.addressof(e.native_hits)
        tables = {}
        for tgid, proc in e.procs.items():
            bps = [bp for bp in proc.breakpoints.values()]
            size = 16
            while size < 2 * len(bps) + 2:
                size *= 2
            ents = (Entry * size)()
            owner = [None] * size
            for bp in bps:
                i = ((bp.address * GOLDEN) % 2**64 >> 40) & (size - 1)
                while ents[i].addr:
                    i = (i + 1) & (size - 1)
                p = bp.plan
                fast = (not bp.returns and bp.internal is None and p.op in
                        (arch.OP_SKIP, arch.OP_PUSH, arch.OP_MOVRBP, arch.OP_SUBRSP, arch.OP_XOL))
                hs = (Handler * max(1, len(bp.entry)))()
                for j, pr in enumerate(bp.entry):
                    hs[j].fn, hs[j].probe_index, hs[j].serial = pr.handler, pr.index, serial[id(pr)]
                keep.append(hs)
                ents[i] = Entry(bp.address, int(fast), p.op, p.length, p.reg, p.imm, bp.slot, p.fix,
                                len(bp.entry), ctypes.addressof(hs))
                owner[i] = bp
            t = Table(size - 1, tgid, ctypes.addressof(ents))
            keep += [ents, t]
            tables[tgid] = (t, owner)
        n = 64
        while n < 2 * len(e.threads) + 2:
            n *= 2
        slots = (TidSlot * n)()
        for tid, th in e.threads.items():
            t = tables.get(th.process.tgid)
            if t is None or th.exiting:
                continue
            i = ((tid * GOLDEN) % 2**64) & (n - 1)
            while slots[i].tid:
                i = (i + 1) & (n - 1)
            slots[i].tid, slots[i].table = tid, ctypes.addressof(t[0])
        keep.append(slots)
        self.state.tids = ctypes.addressof(slots)
        self.state.tid_mask = n - 1
        self.keep = keep
        self.tables = tables
        e.dirty = False

    def run(self, block: bool = True):
        """None: woken (EINTR), nothing to do, or nothing traced; else (tid, status, partial-or-None)."""
        if self.e.dirty:
            self.sync()
        self.state.wflags = pt.WALL if block else pt.WALL | pt.WNOHANG
        r = self.fn(self.state_addr)
        s = self.state
        if r < 0:
            if r == -10:  # ECHILD
                self.e.procs.clear()
            return None
        if r == 3:
            return None
        if r == 1:
            return s.tid, s.status, None
        return s.tid, s.status, (s.tid, s.phase, s.entry, s.next, s.hstatus, s.status2, s.scratch)

    def finish(self, partial) -> None:
        """Complete a hit the native loop handed back half done."""
        tid, phase, entry, nxt, hstatus, status2, scratch = partial
        e = self.e
        d = e.dispatcher
        th = e.threads.get(tid)
        if th is None:
            return
        bp = self.tables[th.process.tgid][1][entry]
        regs = self.regs
        try:
            self._finish(th, bp, regs, phase, nxt, hstatus, status2, scratch)
        except (ProcessLookupError, ChildProcessError):
            pass  # died under us: waitpid reports it next

    def _finish(self, th, bp, regs, phase, nxt, hstatus, status2, scratch) -> None:
        e = self.e
        d = e.dispatcher
        if phase == PHASE_HANDLER:
            e.handler_status(bp.entry[nxt - 1], hstatus)
            d.on_breakpoint(th, bp, regs, start=nxt, internal=False)
        elif phase == PHASE_RESUME:
            d.step_past(th, bp, regs)
        elif phase == PHASE_STEP:
            d.xol_step(th, bp, regs, resume_from=(status2, scratch))
