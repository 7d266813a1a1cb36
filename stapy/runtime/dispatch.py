"""One tracee stop -> what the engine does about it (the Python path).

`Dispatcher.handle(tid, status)` is the engine's answer to every waitpid
report the native hot loop hands back (or to all of them when the hot loop is
off): breakpoint hits that need Python (return probes, trampolines, handler
statuses), finished steps, new threads and processes, exec, exits, signals
(delivered unchanged), group-stops (PTRACE_LISTEN).  Every stop it handles is
resumed before it returns, except stops it holds on purpose (none during run).
"""
from __future__ import annotations

import ctypes
import signal

from stapy.codegen import abi
from stapy.runtime import breakpoints as bpmod
from stapy.runtime import ptrace as pt
from stapy.runtime import stops, uretprobe
from stapy.runtime.arch import x86_64 as arch
from stapy.runtime.tracee import Process, Thread, exe_of, tgid_of


class Dispatcher:
    def __init__(self, engine):
        self.e = engine
        self.regs = arch.Regs()
        self.parked: set[int] = set()  # threads _stop_others stopped whose report is not served yet

    # -- entry point ----------------------------------------------------------
    def handle(self, tid: int, status: int) -> None:
        try:
            self._handle(tid, status)
        except (ProcessLookupError, ChildProcessError):
            pass  # the thread died under us (SIGKILL, exit_group): waitpid reports it next

    def _handle(self, tid: int, status: int) -> None:
        e = self.e
        kind, sig, event = stops.classify(status)
        th = e.threads.get(tid)
        if th is None:
            if kind in (stops.EXITED, stops.KILLED):
                return
            e.early[tid] = status  # a new task's first stop before its parent's event
            return
        proc = th.process
        if proc.arm_pending and kind not in (stops.EXITED, stops.KILLED, stops.GROUP_STOP, stops.SYSCALL_STOP):
            proc.arm_pending = False
            e.arm(proc, th)
        if kind in (stops.EXITED, stops.KILLED):
            self.thread_gone(th, status)
        elif kind == stops.SIGTRAP_STOP:
            self.on_sigtrap(th)
        elif kind == stops.SYSCALL_STOP:
            self.on_syscall(th)
        elif kind == stops.SIGNAL_STOP:
            self.resume(tid, sig)
        elif kind == stops.GROUP_STOP:
            self.listen(tid)
        elif event == pt.EVENT_STOP:
            self.resume(tid, 0)
        elif event in (pt.EVENT_FORK, pt.EVENT_VFORK, pt.EVENT_CLONE):
            self.new_task(th, pt.geteventmsg(tid), event)
            self.resume(tid, 0)
        elif event == pt.EVENT_EXEC:
            self.on_exec(th)
            self.resume(th.tid, 0)
        elif event == pt.EVENT_EXIT:
            if not th.exiting:
                th.exiting = True
                e.dirty = True
                if _others_live(proc, tid):  # the last thread's death is the process's end (stap)
                    e.hook("thread_end", proc.tgid, tid)
                elif not proc.ended:  # reported while /proc still shows it (execname(), its exe)
                    proc.ended = True
                    e.hook("process_end", proc.tgid, pt.geteventmsg(tid))
            self.resume(tid, 0)
        else:
            self.resume(tid, 0)

    # -- resuming -----------------------------------------------------------------
    def resume(self, tid: int, sig: int) -> None:
        """PTRACE_SYSCALL for a thread of a process with syscall probes, else PTRACE_CONT."""
        th = self.e.threads.get(tid)
        try:
            pt.ptrace(th.process.resume_request if th is not None else pt.CONT, tid, 0, sig)
        except ProcessLookupError:
            pass

    def listen(self, tid: int) -> None:
        try:
            pt.listen(tid)
        except ProcessLookupError:
            pass

    # -- lifecycle ------------------------------------------------------------------
    def thread_gone(self, th: Thread, status: int) -> None:
        e = self.e
        proc = th.process
        e.threads.pop(th.tid, None)
        proc.threads.pop(th.tid, None)
        proc.returns_active = max(0, proc.returns_active - len(th.shadow))  # frames that never return
        th.shadow.clear()
        e.dirty = True
        if th.tid == proc.tgid:
            proc.exit_status = status
            for t in list(proc.threads):
                e.threads.pop(t, None)
            proc.threads.clear()
            proc.close_mem()
            e.procs.pop(proc.tgid, None)
            if proc.is_target:
                e.target_status = status
            if not proc.ended:
                proc.ended = True
                e.hook("process_end", proc.tgid, status)
        elif not th.exiting:
            th.exiting = True
            if _others_live(proc, th.tid):
                e.hook("thread_end", proc.tgid, th.tid)

    def new_task(self, parent: Thread, tid: int, event: int) -> None:
        e = self.e
        proc = parent.process
        if event == pt.EVENT_CLONE and tgid_of(tid) == proc.tgid:
            nt = Thread(tid, proc)
            proc.threads[tid] = nt
            e.threads[tid] = nt
            e.dirty = True
            e.hook("thread_begin", proc.tgid, tid)
        else:
            child = Process(tid, exe=proc.exe)
            child.open_mem()
            child.breakpoints = {a: bp.copy() for a, bp in proc.breakpoints.items()}
            child.xol = proc.xol.clone_for(child) if proc.xol else None
            nt = Thread(tid, child)
            nt.shadow = parent.shadow.copy()  # the child's stack is a copy, hijacked slots included
            child.returns_active = len(nt.shadow)
            child.armed = set(proc.armed)
            child.semaphores = dict(proc.semaphores)  # the copy carries our raised semaphores
            child.hooked_libs = set(proc.hooked_libs)
            child.entry_hooked = proc.entry_hooked
            child.rdebug_hooked = proc.rdebug_hooked
            e._arm_syscalls(child)  # process(PID).syscall does not follow a fork
            child.threads[tid] = nt
            e.threads[tid] = nt
            e.procs[tid] = child
            e.dirty = True
            e.hook("process_begin", tid)
        early = e.early.pop(tid, None)
        if early is not None:
            self.handle(tid, early)

    def on_exec(self, th: Thread) -> None:
        e = self.e
        proc = th.process
        for t in list(proc.threads):
            if t != th.tid:
                e.threads.pop(t, None)
                proc.threads.pop(t, None)
        proc.breakpoints = {}
        proc.semaphores = {}  # a new image: its semaphores start at zero
        proc.xol = None
        proc.returns_active = 0
        proc.armed = set()
        proc.hooked_libs = set()
        proc.entry_hooked = False
        proc.rdebug_hooked = False
        th.shadow.clear()
        th.exiting = False
        proc.exe = exe_of(proc.tgid)
        proc.open_mem()
        e.dirty = True
        e.hook("exec", proc.tgid, proc.exe)
        e.arm(proc, th)

    # -- syscall-stops ------------------------------------------------------------
    def on_syscall(self, th: Thread, start: int = 0, entry: bool | None = None) -> None:
        """A syscall-entry or -exit-stop: run the process's .syscall or .syscall.return handlers.
        entry/start: the hot loop ran the handlers before `start` and left its registers in self.regs.
        At an exit, orig_rax (what $syscall reads) is the number the thread's entry saw, else 0."""
        regs = self.regs
        if entry is None:
            pt.getregs(th.tid, regs)
            entry = syscall_entry(th.tid, regs)
            if entry:
                th.sysnr.value = regs[arch.ORIG_RAX] + 1
            else:
                regs[arch.ORIG_RAX] = max(th.sysnr.value - 1, 0)
                th.sysnr.value = 0
        if not self.e.stopping:
            proc = th.process
            self.run_handlers((proc.sys_entry if entry else proc.sys_exit)[start:], th, regs, regs[arch.RIP], 0, None)
        self.resume(th.tid, 0)

    # -- breakpoints --------------------------------------------------------------
    def on_sigtrap(self, th: Thread) -> None:
        tid = th.tid
        regs = self.regs
        try:
            pt.getregs(tid, regs)
        except ProcessLookupError:
            return
        proc = th.process
        addr = regs[arch.RIP] - 1
        bp = proc.breakpoints.get(addr)
        if bp is not None:
            self.on_breakpoint(th, bp, regs)
        elif proc.xol is not None and addr == proc.xol.trampoline:
            self.on_trampoline(th, regs)
        else:
            self.resume(tid, signal.SIGTRAP)  # the program's own SIGTRAP, delivered unchanged

    def on_breakpoint(self, th: Thread, bp, regs, start: int = 0, internal: bool = True) -> None:
        e = self.e
        if internal and bp.internal is not None:
            bp.internal(e, th, regs)
        if not e.stopping:
            self.run_handlers(bp.entry[start:], th, regs, bp.address, 0, None)
            if bp.returns and not e.stopping and th.process.xol is not None:
                uretprobe.hijack(th.process, th, bp, regs, e.maxactive)
        self.step_past(th, bp, regs)

    def run_handlers(self, probes, th: Thread, regs, uaddr: int, is_return: int, entry_regs,
                     pc: int | None = None) -> None:
        """pc: what uaddr() answers (ctx->pc) when it is not uaddr: a .return's return address."""
        e = self.e
        ctx = e.ctx
        ctx.pc = uaddr if pc is None else pc
        ctx.regs = ctypes.addressof(regs)
        ctx.pid = th.process.tgid
        ctx.tid = th.tid
        ctx.uaddr = uaddr
        ctx.is_return = is_return
        ctx.entry_regs = ctypes.addressof(entry_regs) if entry_regs is not None else None
        for p in probes:
            if e.stopping:
                break
            ctx.probe_index = p.index
            ctx.actions = e.maxaction
            ctx.nesting = ctx.error_site = ctx.error_depth = ctx.exit_requested = 0
            st = p.cfunc(e.ctx_addr)
            p.hits += 1
            if (st != abi.STATUS_OK and st != abi.STATUS_NEXT) or ctx.exit_requested:
                e.handler_status(p, st)

    def on_trampoline(self, th: Thread, regs) -> None:
        proc = th.process
        rsp = regs[arch.RSP]
        inst, _stale = uretprobe.pop_for_return(proc, th, rsp)
        if inst is None:
            inst = uretprobe.find_any(proc, rsp)
        if inst is None:
            self.e.warn(f"return probe trampoline hit without an instance in {th.tid}")
            self.resume(th.tid, signal.SIGSEGV)
            return
        inst.hijacked = 0
        bp = proc.breakpoints.get(inst.bp)
        if not self.e.stopping and bp is not None:
            self.run_handlers(bp.returns, th, regs, bp.address, 1, inst.regs, pc=inst.ret)
        regs[arch.RIP] = inst.ret
        pt.setregs(th.tid, regs)
        self.resume(th.tid, th.pending_signal)
        th.pending_signal = 0

    # -- resuming past a breakpoint --------------------------------------------------------
    def step_past(self, th: Thread, bp, regs) -> None:
        p = bp.plan
        addr = bp.address
        proc = th.process
        op = p.op
        if op == arch.OP_PUSH:
            rsp = (regs[arch.RSP] - 8) & (2**64 - 1)
            if not proc.write_u64(rsp, regs[p.reg]):
                op = arch.OP_INPLACE  # the push itself faults: let the CPU do it for real
            else:
                regs[arch.RSP] = rsp
        elif op == arch.OP_MOVRBP:
            regs[arch.RBP] = regs[arch.RSP]
        elif op == arch.OP_SUBRSP:
            regs[arch.RSP], regs[arch.EFLAGS] = arch.sub_flags(regs[arch.RSP], p.imm, regs[arch.EFLAGS])
        if op in (arch.OP_SKIP, arch.OP_PUSH, arch.OP_MOVRBP, arch.OP_SUBRSP):
            regs[arch.RIP] = addr + p.length
            pt.setregs(th.tid, regs)
            self.resume(th.tid, 0)
        elif op == arch.OP_XOL:
            self.xol_step(th, bp, regs)
        else:
            self.inplace_step(th, bp, regs)

    def _step_wait(self, th: Thread, origin: int, at: int, fixregs, first_status: int | None = None) -> bool:
        """Single-step th (already set up) until the step finishes.  False: the step ended
        otherwise (the instruction faulted and the fault was delivered, or the thread is gone).
        first_status: the step was started elsewhere (the hot loop) and this is its first report."""
        tid = th.tid
        if first_status is None:
            pt.singlestep(tid)
        while True:
            if first_status == -1:
                self.thread_gone(th, 0)
                return False
            if first_status is not None:
                status, first_status = first_status, None
            else:
                try:
                    _, status = pt.waitpid(tid, pt.WALL)
                except InterruptedError:
                    continue
                except ChildProcessError:
                    self.thread_gone(th, 0)
                    return False
            kind, sig, event = stops.classify(status)
            if kind == stops.SIGTRAP_STOP:
                return True
            if kind in (stops.EXITED, stops.KILLED):
                self.thread_gone(th, status)
                return False
            if kind == stops.SIGNAL_STOP:
                si = pt.getsiginfo(tid)
                tmp = arch.Regs()
                pt.getregs(tid, tmp)
                if sig in stops.SYNC_FAULTS and si is not None and si.si_code > 0 and tmp[arch.RIP] == at:
                    # the displaced instruction faulted: the program's own fault, at its own address
                    fixregs(tmp)
                    tmp[arch.RIP] = origin
                    pt.setregs(tid, tmp)
                    self.resume(tid, sig)
                    return False
                th.pending_signal = th.pending_signal or sig  # hold it until the step is done
                pt.singlestep(tid)
                continue
            if kind == stops.GROUP_STOP:
                pt.singlestep(tid)
                continue
            if event in (pt.EVENT_FORK, pt.EVENT_VFORK, pt.EVENT_CLONE):
                self.new_task(th, pt.geteventmsg(tid), event)
                pt.singlestep(tid)
                continue
            if event == pt.EVENT_EXEC:
                self.on_exec(th)
                self.resume(tid, 0)
                return False
            if event == pt.EVENT_EXIT:
                th.exiting = True
                self.resume(tid, 0)
                return False
            pt.singlestep(tid)

    def xol_step(self, th: Thread, bp, regs, resume_from=None) -> None:
        """Run the displaced instruction from its slot.  resume_from=(status, saved scratch):
        the hot loop started the step and hands over its first unexpected report."""
        p = bp.plan
        addr, slot, tid = bp.address, bp.slot, th.tid
        if resume_from is None:
            saved = regs[p.reg] if p.reg >= 0 else 0
            regs[arch.RIP] = slot
            if p.reg >= 0:
                regs[p.reg] = addr + p.length
            pt.setregs(tid, regs)
            first = None
        else:
            first, saved = resume_from
            saved &= 2**64 - 1

        def unscratch(r):
            if p.reg >= 0:
                r[p.reg] = saved

        if not self._step_wait(th, addr, slot, unscratch, first):
            return
        pt.getregs(tid, regs)
        unscratch(regs)
        delta = (addr - slot) & (2**64 - 1)
        rip = regs[arch.RIP]
        if p.fix == arch.FIX_RIP:
            if rip == slot + p.length:
                regs[arch.RIP] = addr + p.length
        elif p.fix == arch.FIX_JREL:
            regs[arch.RIP] = (rip + delta) & (2**64 - 1)
        elif p.fix == arch.FIX_CALL_REL:
            regs[arch.RIP] = (rip + delta) & (2**64 - 1)
            th.process.write_u64(regs[arch.RSP], addr + p.length)
        elif p.fix == arch.FIX_CALL_ABS:
            th.process.write_u64(regs[arch.RSP], addr + p.length)
        pt.setregs(tid, regs)
        self.resume(tid, th.pending_signal)
        th.pending_signal = 0

    def inplace_step(self, th: Thread, bp, regs) -> None:
        """The fallback (arch.plan_step says which instructions need it): put the original byte
        back, single-step it where it is, re-insert the int3.  Every other thread of the address
        space is stopped first, so none runs through the window untrapped; their stops are served
        once the int3 is back."""
        proc = th.process
        addr = bp.address
        others = self._stop_others(th)
        try:
            proc.write(addr, bp.orig)
            regs[arch.RIP] = addr
            pt.setregs(th.tid, regs)
            try:
                ok = self._step_wait(th, addr, addr, lambda r: None)
            finally:
                if bp.address in proc.breakpoints and proc.memfd >= 0:
                    proc.write(addr, bytes([arch.INT3]))
            if ok:
                self.resume(th.tid, th.pending_signal)
                th.pending_signal = 0
        finally:
            for tid, status in others:
                self.parked.discard(tid)
                self.handle(tid, status)

    def _stop_others(self, th: Thread) -> list[tuple[int, int]]:
        """PTRACE_INTERRUPT every other running thread of th's process and wait for each stop;
        returns the (tid, status) reports, to be handled as usual afterwards (our interrupt's
        PTRACE_EVENT_STOP resumes; a breakpoint hit, signal or exit reported first is kept)."""
        e = self.e
        stopped = []
        for t in list(th.process.threads.values()):
            if t is th or t.exiting or t.tid in e.held or t.tid in self.parked:
                continue
            try:
                pt.interrupt(t.tid)
            except ProcessLookupError:
                continue
            stopped.append(t.tid)
        reports = []
        for tid in stopped:
            while True:
                try:
                    _, status = pt.waitpid(tid, pt.WALL)
                except InterruptedError:
                    continue
                except ChildProcessError:
                    break
                reports.append((tid, status))
                self.parked.add(tid)
                break
        return reports


def syscall_entry(tid: int, regs) -> bool:
    """Is this syscall-stop an entry?  x86-64 enters with rax = -ENOSYS; only then is the kernel
    asked (an exit can return -ENOSYS too)."""
    return regs[arch.RAX] == pt.ENOSYS_RAX and pt.syscall_op(tid) != pt.SYSCALL_INFO_EXIT


def _others_live(proc, tid: int) -> bool:
    """Whether a thread other than tid is still running: stap's task finder calls a death a thread
    end only while the thread group has live members (task_finder2.c: process_p = signal->live == 0)."""
    return any(t != tid and not other.exiting for t, other in proc.threads.items())
