"""The native dispatch loop: waitpid -> GETREGS -> table lookup -> handlers -> resume, in LLVM IR.

The common stop (a SIGTRAP at an entry-only breakpoint whose instruction is
emulated or stepped out of line) is served here without entering Python or
creating any Python object.  Everything else is handed back to
`Dispatcher.handle`: the loop returns with the stop it has not consumed.

    i64 stapy_hot_loop(LoopState*)
       < 0   -errno of waitpid (EINTR: a timer or a session signal woke us)
       1     a stop for Python: state.tid / state.status, untouched
       3     nothing to wait for right now (state.wflags had WNOHANG)
       4     state.deadline (CLOCK_MONOTONIC ns) has passed: Python's turn for timers and signals
       2     a breakpoint hit Python must finish: state.phase says where the loop left it
               PHASE_HANDLER  handler state.next-1 returned state.hstatus (or set ctx->exit_requested);
                              handlers from state.next on
                              and the resume are still to do
               PHASE_RESUME   handlers done, the resume could not be emulated (Python steps)
               PHASE_STEP     the out-of-line step stopped with state.status2 instead of finishing;
                              state.scratch holds the scratch register's saved value
               PHASE_RETURN   at the trampoline, return handler state.next-1 of entry state.entry
                              returned state.hstatus; state.inst is the popped instance (Inst*)
               PHASE_SYSCALL  at a syscall-stop (state.entry: 1 entry, 0 exit), syscall handler
                              state.next-1 returned state.hstatus; the rest and the resume are to do
Syscall-stops (status SIGTRAP|0x80) of a process with syscall probes run Table.sys_entry or .sys_exit
(entry: rax == -ENOSYS and PTRACE_GET_SYSCALL_INFO says ENTRY) with ctx->uaddr = rip, then resume
with Table.resume (PTRACE_SYSCALL); every resume of the loop uses Table.resume (CONT or SYSCALL).
Return probes: after an entry's handlers the loop hijacks [rsp] when the entry has return handlers
(pool Table.active < maxactive, shadow stack not full, [rsp] readable and writable; else a miss per
return probe in misses[serial]), and serves trampoline hits: pops stale instances (longjmp), runs the
matching entry's return handlers with ctx->is_return = 1 and ctx->entry_regs = the saved registers.

Tables (rebuilt by `HotLoop.sync` whenever threads, processes or breakpoints change):
  tid table: TSLOT entries {tid, bptable*}, open addressing on tid
  breakpoint table: {mask, tgid, entries*}; entry {addr, fast, op, len, reg, imm, slot, fix, nh, handlers*}
  handler: {fn, probe_index, serial}; hits[serial] counts native hits per probe
"""
from __future__ import annotations

import ctypes
import time

from llvmlite import ir

from stapy.codegen import abi
from stapy.runtime import ptrace as pt
from stapy.runtime.arch import x86_64 as arch
from stapy.runtime.uretprobe import Inst

I8, I32, I64 = ir.IntType(8), ir.IntType(32), ir.IntType(64)
PTR = ir.PointerType()

PHASE_NONE, PHASE_HANDLER, PHASE_RESUME, PHASE_STEP, PHASE_RETURN = 0, 1, 2, 3, 4
PHASE_SYSCALL = 5
OP_TRAMPOLINE = 6  # the return-probe trampoline's int3 (table only)
GOLDEN = 0x9E3779B97F4A7C15


class LoopState(ctypes.Structure):
    _fields_ = [("tid", ctypes.c_int64), ("status", ctypes.c_int64), ("phase", ctypes.c_int64),
                ("entry", ctypes.c_int64), ("next", ctypes.c_int64), ("hstatus", ctypes.c_int64),
                ("status2", ctypes.c_int64), ("scratch", ctypes.c_int64), ("maxaction", ctypes.c_int64),
                ("ctx", ctypes.c_void_p), ("regs", ctypes.c_void_p), ("tids", ctypes.c_void_p),
                ("tid_mask", ctypes.c_int64), ("hits", ctypes.c_void_p), ("wflags", ctypes.c_int64),
                ("misses", ctypes.c_void_p), ("inst", ctypes.c_uint64), ("deadline", ctypes.c_int64)]


class Entry(ctypes.Structure):
    _fields_ = [("addr", ctypes.c_uint64), ("fast", ctypes.c_int64), ("op", ctypes.c_int64),
                ("len", ctypes.c_int64), ("reg", ctypes.c_int64), ("imm", ctypes.c_uint64),
                ("slot", ctypes.c_uint64), ("fix", ctypes.c_int64), ("nh", ctypes.c_int64),
                ("handlers", ctypes.c_void_p), ("nret", ctypes.c_int64), ("rets", ctypes.c_void_p)]


class Handler(ctypes.Structure):
    _fields_ = [("fn", ctypes.c_void_p), ("probe_index", ctypes.c_int64), ("serial", ctypes.c_int64)]


class Table(ctypes.Structure):
    _fields_ = [("mask", ctypes.c_int64), ("tgid", ctypes.c_int64), ("entries", ctypes.c_void_p),
                ("active", ctypes.c_void_p), ("maxactive", ctypes.c_int64), ("trampoline", ctypes.c_uint64),
                ("resume", ctypes.c_int64), ("nsys_entry", ctypes.c_int64), ("sys_entry", ctypes.c_void_p),
                ("nsys_exit", ctypes.c_int64), ("sys_exit", ctypes.c_void_p)]


class TidSlot(ctypes.Structure):
    _fields_ = [("tid", ctypes.c_int64), ("table", ctypes.c_void_p), ("shadow", ctypes.c_void_p),
                ("depth", ctypes.c_void_p), ("cap", ctypes.c_int64), ("sysnr", ctypes.c_void_p)]


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


def _build_lookup(module: ir.Module) -> ir.Function:
    """i64 stapy_bp_lookup(i64 table, i64 addr): the entry for addr (open addressing), or 0."""
    fn = ir.Function(module, ir.FunctionType(I64, [I64, I64]), "stapy_bp_lookup")
    fn.linkage = "internal"
    table, addr = fn.args
    B = _B(fn)
    b, c = B.b, B.c
    emask = B.ld(B.at(table, _off(Table, "mask")))
    entries = B.ld(B.at(table, _off(Table, "entries")))
    start = b.and_(b.lshr(b.mul(addr, c(GOLDEN)), c(40)), emask)
    loop, found, notempty, nxt, none = (B.block(n) for n in ("probe", "found", "notempty", "next", "none"))
    entry_block = b.block
    b.branch(loop)
    b.position_at_end(loop)
    i = b.phi(I64)
    i.add_incoming(start, entry_block)
    ent = b.add(entries, b.mul(i, c(ctypes.sizeof(Entry))))
    eaddr = B.ld(ent)
    b.cbranch(b.icmp_unsigned("==", eaddr, addr), found, notempty)
    b.position_at_end(notempty)
    b.cbranch(b.icmp_unsigned("==", eaddr, c(0)), none, nxt)
    b.position_at_end(nxt)
    i.add_incoming(b.and_(b.add(i, c(1)), emask), nxt)
    b.branch(loop)
    b.position_at_end(found)
    b.ret(ent)
    b.position_at_end(none)
    b.ret(c(0))
    return fn


def _build_read8(module: ir.Module) -> ir.Function:
    """i64 stapy_read8(i32 tid, i64 addr, ptr out): 8 when [addr] was read (process_vm_readv), else < 8."""
    vm = ir.Function(module, ir.FunctionType(I64, [I32, PTR, I64, PTR, I64, I64]), "process_vm_readv")
    fn = ir.Function(module, ir.FunctionType(I64, [I32, I64, PTR]), "stapy_read8")
    fn.linkage = "internal"
    tid, addr, out = fn.args
    B = _B(fn)
    b, c = B.b, B.c
    local = b.alloca(I64, size=2)
    remote = b.alloca(I64, size=2)
    b.store(b.ptrtoint(out, I64), local)
    b.store(c(8), b.gep(local, [ir.Constant(I32, 1)]))
    b.store(addr, remote)
    b.store(c(8), b.gep(remote, [ir.Constant(I32, 1)]))
    b.ret(b.call(vm, [tid, local, c(1), remote, c(1), c(0)]))
    return fn


def build(module: ir.Module) -> ir.Function:
    waitpid = ir.Function(module, ir.FunctionType(I32, [I32, PTR, I32]), "waitpid")
    ptrace = ir.Function(module, ir.FunctionType(I64, [I64], var_arg=True), "ptrace")
    errno_loc = ir.Function(module, ir.FunctionType(PTR, []), "__errno_location")
    hty = ir.FunctionType(I32, [PTR])
    lookup = _build_lookup(module)
    read8 = _build_read8(module)
    memcpy = module.declare_intrinsic("llvm.memcpy", [PTR, PTR, I64])
    fn = ir.Function(module, ir.FunctionType(I64, [PTR]), "stapy_hot_loop")
    B = _B(fn)
    b = B.b
    c = B.c
    retp = b.alloca(I64)
    tsp = b.alloca(I64, size=2)  # struct timespec
    info = b.alloca(I64, size=pt.SYSCALL_INFO_SIZE // 8)  # struct ptrace_syscall_info
    clock_gettime = ir.Function(module, ir.FunctionType(I32, [I32, PTR]), "clock_gettime")
    cont_early = B.block("cont")
    sp = b.ptrtoint(fn.args[0], I64)
    S = lambda name: B.at(sp, _off(LoopState, name))  # noqa: E731
    statusp = b.alloca(I32)
    regs = B.ld(S("regs"))
    ctx = B.ld(S("ctx"))
    maxaction = B.ld(S("maxaction"))
    hits = B.ld(S("hits"))
    ctxp = b.inttoptr(ctx, PTR)
    regsp = b.inttoptr(regs, PTR)
    R = lambda name: B.at(regs, abi.REG_INDEX[name] * 8)  # noqa: E731
    C = lambda name: B.at(ctx, _off(abi.Context, name))  # noqa: E731

    def pcall(req, tid32, addr, data):
        return b.call(ptrace, [c(req), tid32, b.inttoptr(addr, PTR) if addr.type == I64 else addr,
                               b.inttoptr(data, PTR) if data.type == I64 else data])

    top = B.block("top")
    b.branch(top)
    # ---- the deadline: a busy loop rarely sleeps in waitpid, so signals seldom interrupt it
    b.position_at_end(top)
    b.call(clock_gettime, [ir.Constant(I32, 1), tsp])  # CLOCK_MONOTONIC, as time.monotonic_ns()
    now = b.add(b.mul(b.load(tsp), c(1_000_000_000)), b.load(b.gep(tsp, [ir.Constant(I32, 1)])))
    expired, waitb = B.block("expired"), B.block("wait")
    b.cbranch(b.icmp_signed(">=", now, B.ld(S("deadline"))), expired, waitb)
    b.position_at_end(expired)
    b.ret(c(4))
    # ---- wait for a stop
    b.position_at_end(waitb)
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
    is_sys = b.icmp_signed("==", status, c(0x857F))  # a syscall-stop (PTRACE_O_TRACESYSGOOD)
    b.cbranch(b.or_(b.icmp_signed("==", status, c(0x57F)), is_sys), is_trap, to_py)

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
    sysb, bpb = B.block("syscall_stop"), B.block("bp_lookup")
    b.cbranch(is_sys, sysb, bpb)
    b.position_at_end(bpb)
    addr = b.sub(B.ld(R("rip")), c(1))
    ent = b.call(lookup, [table, addr])
    efound = B.block("bp_found")
    b.cbranch(b.icmp_unsigned("==", ent, c(0)), to_py, efound)

    b.position_at_end(efound)
    E = lambda name: B.at(ent, _off(Entry, name))  # noqa: E731
    entries = B.ld(B.at(table, _off(Table, "entries")))
    ei = b.udiv(b.sub(ent, entries), c(ctypes.sizeof(Entry)))
    fast = B.ld(E("fast"))
    hit, tramp = B.block("hit"), B.block("trampoline")
    isfast = B.block("is_fast")
    b.cbranch(b.icmp_signed("==", fast, c(0)), to_py, isfast)
    b.position_at_end(isfast)
    b.cbranch(b.icmp_signed("==", B.ld(E("op")), c(OP_TRAMPOLINE)), tramp, hit)

    # ---- run the handlers
    def run_handlers(start_block, hs, nh, phase, tag):
        """Emit the loop over handlers; returns the block reached when all returned OK/NEXT."""
        hloop, hbody, hdone = B.block(f"{tag}_loop"), B.block(f"{tag}_body"), B.block(f"{tag}_done")
        b.branch(hloop)
        b.position_at_end(hloop)
        hi = b.phi(I64)
        hi.add_incoming(c(0), start_block)
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
        hcont, hstop = B.block(f"{tag}_cont"), B.block(f"{tag}_stop")
        b.cbranch(ok, hcont, hstop)
        b.position_at_end(hcont)
        hi.add_incoming(hnext, hcont)
        b.branch(hloop)
        b.position_at_end(hstop)
        B.st(c(phase), S("phase"))
        B.st(hnext, S("next"))
        B.st(b.sext(st, I64), S("hstatus"))
        b.ret(c(2))
        return hdone

    def set_ctx(uaddr, is_return, entry_regs, pc=None):
        B.st(uaddr if pc is None else pc, C("pc"))
        B.st(regs, C("regs"))
        B.st(B.ld(B.at(table, _off(Table, "tgid"))), C("pid"))
        B.st(tid, C("tid"))
        B.st(uaddr, C("uaddr"))
        B.st(c(is_return) if isinstance(is_return, int) else is_return, C("is_return"))
        B.st(entry_regs, C("entry_regs"))

    b.position_at_end(hit)
    B.st(ei, S("entry"))
    set_ctx(addr, 0, c(0))
    hdone = run_handlers(hit, B.ld(E("handlers")), B.ld(E("nh")), PHASE_HANDLER, "h")

    # ---- a syscall-stop: entry or exit?  x86-64 enters with rax = -ENOSYS; only then ask the kernel
    b.position_at_end(sysb)
    T = lambda name: B.at(table, _off(Table, name))  # noqa: E731
    ask, decided = B.block("sys_ask"), B.block("sys_decided")
    b.cbranch(b.icmp_unsigned("==", B.ld(R("rax")), c(2**64 - 38)), ask, decided)
    b.position_at_end(ask)
    b.store(c(0), info)
    pcall(pt.GET_SYSCALL_INFO, tid32, c(pt.SYSCALL_INFO_SIZE), b.ptrtoint(info, I64))
    op = b.load(info, typ=I8)
    asked = b.icmp_unsigned("!=", op, ir.Constant(I8, pt.SYSCALL_INFO_EXIT))
    b.branch(decided)
    b.position_at_end(decided)
    is_entry = b.phi(ir.IntType(1))
    is_entry.add_incoming(ir.Constant(ir.IntType(1), 0), sysb)
    is_entry.add_incoming(asked, ask)
    B.st(b.zext(is_entry, I64), S("entry"))
    # $syscall in .return is the number its entry saw (0 without one): rt_sigreturn leaves orig_rax -1
    sysnrp = B.ld(B.at(tslot, _off(TidSlot, "sysnr")))
    orig = B.ld(R("orig_rax"))
    saved = B.ld(sysnrp)
    B.st(b.select(is_entry, b.add(orig, c(1)), c(0)), sysnrp)
    B.st(b.select(is_entry, orig, b.select(b.icmp_signed("==", saved, c(0)), c(0), b.sub(saved, c(1)))),
         R("orig_rax"))
    set_ctx(B.ld(R("rip")), 0, c(0))
    sdone = run_handlers(decided, b.select(is_entry, B.ld(T("sys_entry")), B.ld(T("sys_exit"))),
                         b.select(is_entry, B.ld(T("nsys_entry")), B.ld(T("nsys_exit"))), PHASE_SYSCALL, "s")
    b.position_at_end(sdone)
    b.call(ptrace, [B.ld(T("resume")), tid32, b.inttoptr(c(0), PTR), b.inttoptr(c(0), PTR)])
    b.branch(top)

    # ---- return probes: hijack the return address (the seed's four steps)
    b.position_at_end(hdone)
    resume = B.block("resume")
    hij, miss = B.block("hijack"), B.block("miss")
    nret = B.ld(E("nret"))
    b.cbranch(b.icmp_signed(">", nret, c(0)), hij, resume)
    b.position_at_end(hij)
    activep = B.ld(B.at(table, _off(Table, "active")))
    depthp = B.ld(B.at(tslot, _off(TidSlot, "depth")))
    # 2 (first). read [rsp]: the cleanup below needs it; unreadable: a miss, nothing dropped
    hrsp = B.ld(R("rsp"))
    hread_ok = B.block("hij_read_ok")
    got8 = b.call(read8, [tid32, hrsp, retp])
    b.cbranch(b.icmp_signed("==", got8, c(8)), hread_ok, miss)
    b.position_at_end(hread_ok)
    # 0. drop instances of frames a longjmp (or an exception, or a coroutine switch) left without
    # returning, as the kernel's cleanup_return_instances: no live frame of this thread has its return
    # slot below the rsp of a function being entered, nor at it unless [rsp] is our trampoline (a tail
    # call through a hijacked slot chains on it; any other value means a new call reused the slot).
    hshadow = B.ld(B.at(tslot, _off(TidSlot, "shadow")))
    chained = b.icmp_unsigned("==", b.load(retp), B.ld(B.at(table, _off(Table, "trampoline"))))
    hd0 = B.ld(depthp)
    hloop, hcheck, hstale, hclean = B.block("hij_stale_loop"), B.block("hij_stale_check"), \
        B.block("hij_stale_pop"), B.block("hij_clean")
    b.branch(hloop)
    b.position_at_end(hloop)
    hd = b.phi(I64)
    hd.add_incoming(hd0, hread_ok)
    b.cbranch(b.icmp_signed(">", hd, c(0)), hcheck, hclean)
    b.position_at_end(hcheck)
    htop = B.ld(B.at(b.add(hshadow, b.mul(b.sub(hd, c(1)), c(ctypes.sizeof(Inst)))), _off(Inst, "slot")))
    dead = b.or_(b.icmp_unsigned("<", htop, hrsp),
                 b.and_(b.icmp_unsigned("==", htop, hrsp), b.not_(chained)))
    b.cbranch(dead, hstale, hclean)
    b.position_at_end(hstale)
    hact = B.ld(activep)
    B.st(b.select(b.icmp_signed(">", hact, c(0)), b.sub(hact, c(1)), c(0)), activep)
    hd.add_incoming(b.sub(hd, c(1)), hstale)
    b.branch(hloop)
    b.position_at_end(hclean)
    depth = b.phi(I64)
    depth.add_incoming(hd, hloop)
    depth.add_incoming(hd, hcheck)
    B.st(depth, depthp)
    active = B.ld(activep)
    room = b.and_(b.icmp_signed("<", active, B.ld(B.at(table, _off(Table, "maxactive")))),
                  b.icmp_signed("<", depth, B.ld(B.at(tslot, _off(TidSlot, "cap")))))
    s2, s3, s4 = B.block("hijack_read"), B.block("hijack_write"), B.block("hijack_push")
    b.cbranch(room, s2, miss)                                                   # 1. reserve
    b.position_at_end(s2)
    rsp0 = hrsp                                                                 # 2. read above
    b.branch(s3)
    b.position_at_end(s3)
    wr = pcall(pt.POKEDATA, tid32, rsp0, B.ld(B.at(table, _off(Table, "trampoline"))))  # 3. write
    b.cbranch(b.icmp_signed("<", wr, c(0)), miss, s4)
    b.position_at_end(s4)                                                        # 4. push
    inst = b.add(B.ld(B.at(tslot, _off(TidSlot, "shadow"))), b.mul(depth, c(ctypes.sizeof(Inst))))
    B.st(b.load(retp), inst)
    B.st(rsp0, B.at(inst, _off(Inst, "slot")))
    B.st(addr, B.at(inst, _off(Inst, "bp")))
    B.st(c(1), B.at(inst, _off(Inst, "hijacked")))
    b.call(memcpy, [b.inttoptr(B.at(inst, _off(Inst, "regs")), PTR), regsp, c(8 * abi.N_USER_REGS),
                    ir.Constant(ir.IntType(1), 0)])
    B.st(b.add(depth, c(1)), depthp)
    B.st(b.add(active, c(1)), activep)
    b.branch(resume)
    b.position_at_end(miss)
    misses = B.ld(S("misses"))  # per-call constant, loaded where it is used
    rets = B.ld(E("rets"))
    mloop, mbody = B.block("miss_loop"), B.block("miss_body")
    b.branch(mloop)
    b.position_at_end(mloop)
    mi = b.phi(I64)
    mi.add_incoming(c(0), miss)
    b.cbranch(b.icmp_signed("<", mi, nret), mbody, resume)
    b.position_at_end(mbody)
    mp = b.add(misses, b.mul(B.ld(B.at(b.add(rets, b.mul(mi, c(ctypes.sizeof(Handler)))), 16)), c(8)))
    B.st(b.add(B.ld(mp), c(1)), mp)
    mi.add_incoming(b.add(mi, c(1)), mbody)
    b.branch(mloop)

    # ---- the trampoline: a hijacked function returned
    b.position_at_end(tramp)
    tslot_depthp = B.ld(B.at(tslot, _off(TidSlot, "depth")))
    shadow = B.ld(B.at(tslot, _off(TidSlot, "shadow")))
    t_activep = B.ld(B.at(table, _off(Table, "active")))
    want = b.sub(B.ld(R("rsp")), c(8))
    ploop, pcheck, pstale, pafter = B.block("pop_loop"), B.block("pop_check"), B.block("pop_stale"), B.block("pop_after")
    d0 = B.ld(tslot_depthp)
    b.branch(ploop)
    b.position_at_end(ploop)
    d = b.phi(I64)
    d.add_incoming(d0, tramp)
    b.cbranch(b.icmp_signed(">", d, c(0)), pcheck, pafter)
    b.position_at_end(pcheck)
    topslot = B.ld(B.at(b.add(shadow, b.mul(b.sub(d, c(1)), c(ctypes.sizeof(Inst)))), _off(Inst, "slot")))
    b.cbranch(b.icmp_unsigned("<", topslot, want), pstale, pafter)
    b.position_at_end(pstale)
    act = B.ld(t_activep)
    B.st(b.select(b.icmp_signed(">", act, c(0)), b.sub(act, c(1)), c(0)), t_activep)
    d.add_incoming(b.sub(d, c(1)), pstale)
    b.branch(ploop)
    b.position_at_end(pafter)
    dfin = b.phi(I64)
    dfin.add_incoming(d, ploop)
    dfin.add_incoming(d, pcheck)
    B.st(dfin, tslot_depthp)
    pfound = B.block("pop_found")
    tinst = b.add(shadow, b.mul(b.sub(dfin, c(1)), c(ctypes.sizeof(Inst))))
    match = B.block("pop_match")
    b.cbranch(b.icmp_signed(">", dfin, c(0)), match, to_py)
    b.position_at_end(match)
    b.cbranch(b.icmp_unsigned("==", B.ld(B.at(tinst, _off(Inst, "slot"))), want), pfound, to_py)
    b.position_at_end(pfound)
    B.st(b.sub(dfin, c(1)), tslot_depthp)
    act2 = B.ld(t_activep)
    B.st(b.select(b.icmp_signed(">", act2, c(0)), b.sub(act2, c(1)), c(0)), t_activep)
    B.st(c(0), B.at(tinst, _off(Inst, "hijacked")))
    B.st(tinst, S("inst"))
    bpaddr = B.ld(B.at(tinst, _off(Inst, "bp")))
    owner = b.call(lookup, [table, bpaddr])
    have, back = B.block("ret_have"), B.block("ret_back")
    b.cbranch(b.icmp_unsigned("==", owner, c(0)), back, have)
    b.position_at_end(have)
    B.st(b.udiv(b.sub(owner, entries), c(ctypes.sizeof(Entry))), S("entry"))
    set_ctx(bpaddr, 1, B.at(tinst, _off(Inst, "regs")), pc=B.ld(B.at(tinst, _off(Inst, "ret"))))
    rdone = run_handlers(have, B.ld(B.at(owner, _off(Entry, "rets"))), B.ld(B.at(owner, _off(Entry, "nret"))),
                         PHASE_RETURN, "r")
    b.position_at_end(rdone)
    b.branch(back)
    b.position_at_end(back)
    B.st(B.ld(B.at(tinst, _off(Inst, "ret"))), R("rip"))
    b.branch(cont_early)

    # ---- resume past the instruction
    b.position_at_end(resume)
    op = B.ld(E("op"))
    length = B.ld(E("len"))
    after = b.add(addr, length)
    resume_py = B.block("resume_py")
    b.position_at_end(resume_py)
    B.st(c(PHASE_RESUME), S("phase"))
    b.ret(c(2))
    cont = cont_early
    b.position_at_end(resume)
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
    e2 = b.load(b.call(errno_loc, []), typ=I32)
    gone = B.block("step_gone")
    b.cbranch(b.icmp_signed("==", e2, ir.Constant(I32, 4)), swait, gone)  # EINTR: in flight, wait again
    b.position_at_end(gone)  # ECHILD: the thread was reaped under us
    B.st(c(-1), S("status2"))
    B.st(c(PHASE_STEP), S("phase"))
    b.ret(c(2))
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
    b.call(ptrace, [B.ld(B.at(table, _off(Table, "resume"))), tid32, b.inttoptr(c(0), PTR), b.inttoptr(c(0), PTR)])
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
        self.state.misses = ctypes.addressof(e.native_misses)
        tables = {}

        def handlers(probes):
            hs = (Handler * max(1, len(probes)))()
            for j, pr in enumerate(probes):
                hs[j].fn, hs[j].probe_index, hs[j].serial = pr.handler, pr.index, serial[id(pr)]
            keep.append(hs)
            return hs

        for tgid, proc in e.procs.items():
            bps = [bp for bp in proc.breakpoints.values()]
            size = 16
            while size < 2 * len(bps) + 4:
                size *= 2
            ents = (Entry * size)()
            owner = [None] * size

            def place(addr):
                i = ((addr * GOLDEN) % 2**64 >> 40) & (size - 1)
                while ents[i].addr:
                    i = (i + 1) & (size - 1)
                return i

            for bp in bps:
                i = place(bp.address)
                p = bp.plan
                fast = bp.internal is None and p.op in (arch.OP_SKIP, arch.OP_PUSH, arch.OP_MOVRBP,
                                                        arch.OP_SUBRSP, arch.OP_XOL)
                hs, rs = handlers(bp.entry), handlers(bp.returns)
                ents[i] = Entry(bp.address, int(fast), p.op, p.length, p.reg, p.imm, bp.slot, p.fix,
                                len(bp.entry), ctypes.addressof(hs), len(bp.returns), ctypes.addressof(rs))
                owner[i] = bp
            tramp = proc.xol.trampoline if proc.xol is not None else 0
            if tramp:
                i = place(tramp)
                ents[i] = Entry(tramp, 1, OP_TRAMPOLINE, 1, -1, 0, 0, 0, 0, None, 0, None)
            t = Table(size - 1, tgid, ctypes.addressof(ents), ctypes.addressof(proc.active), e.maxactive, tramp)
            t.resume = proc.resume_request
            t.nsys_entry, t.sys_entry = len(proc.sys_entry), ctypes.addressof(handlers(proc.sys_entry))
            t.nsys_exit, t.sys_exit = len(proc.sys_exit), ctypes.addressof(handlers(proc.sys_exit))
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
            slots[i].shadow = ctypes.addressof(th.shadow.arr)
            slots[i].depth = ctypes.addressof(th.shadow.depth)
            slots[i].cap = th.shadow.cap
            slots[i].sysnr = ctypes.addressof(th.sysnr)
        keep.append(slots)
        self.state.tids = ctypes.addressof(slots)
        self.state.tid_mask = n - 1
        self.keep = keep
        self.tables = tables
        e.dirty = False

    def run(self, block: bool = True, deadline_ns: int | None = None):
        """None: woken (EINTR), deadline, nothing to do, or nothing traced; else (tid, status, partial)."""
        if self.e.dirty:
            self.sync()
        self.state.wflags = pt.WALL if block else pt.WALL | pt.WNOHANG
        soon = time.monotonic_ns() + 50_000_000
        self.state.deadline = deadline_ns if deadline_ns is not None and block else soon
        r = self.fn(self.state_addr)
        s = self.state
        if r < 0:
            if r == -10:  # ECHILD
                self.e.procs.clear()
            return None
        if r in (3, 4):
            return None
        if r == 1:
            return s.tid, s.status, None
        return s.tid, s.status, (s.tid, s.phase, s.entry, s.next, s.hstatus, s.status2, s.scratch, s.inst)

    def finish(self, partial) -> None:
        """Complete a hit the native loop handed back half done."""
        tid, phase, entry, nxt, hstatus, status2, scratch, inst = partial
        e = self.e
        d = e.dispatcher
        th = e.threads.get(tid)
        if th is None:
            return
        if phase == PHASE_SYSCALL:
            proc = th.process
            e.handler_status((proc.sys_entry if entry else proc.sys_exit)[nxt - 1], hstatus)
            try:
                d.on_syscall(th, start=nxt, entry=bool(entry))
            except (ProcessLookupError, ChildProcessError):
                pass
            return
        bp = self.tables[th.process.tgid][1][entry]
        regs = self.regs
        try:
            self._finish(th, bp, regs, phase, nxt, hstatus, status2, scratch, inst)
        except (ProcessLookupError, ChildProcessError):
            pass  # died under us: waitpid reports it next

    def _finish(self, th, bp, regs, phase, nxt, hstatus, status2, scratch, inst) -> None:
        e = self.e
        d = e.dispatcher
        if phase == PHASE_HANDLER:
            e.handler_status(bp.entry[nxt - 1], hstatus)
            d.on_breakpoint(th, bp, regs, start=nxt, internal=False)
        elif phase == PHASE_RESUME:
            d.step_past(th, bp, regs)
        elif phase == PHASE_STEP:
            d.xol_step(th, bp, regs, resume_from=(status2, scratch))
        elif phase == PHASE_RETURN:
            e.handler_status(bp.returns[nxt - 1], hstatus)
            saved = Inst.from_address(inst)
            d.run_handlers(bp.returns[nxt:], th, regs, bp.address, 1, saved.regs, pc=saved.ret)
            regs[arch.RIP] = saved.ret
            pt.setregs(th.tid, regs)
            d.resume(th.tid, 0)
