"""The x86-64 breakpoint engine: the Python API the pass-5 driver calls.

    eng = Engine(context=None, maxactive=1024, maxaction=10000, hotloop=True, hooks=None)
    eng.add_probe(path, location, handler, kind='entry', probe_index=0)
        path      executable or library the location belongs to; None = the traced program's executable
        location  symbol name ('main', 'f+4') or link-time address (statement(ADDR));
                  absolute=True: a run-time address
        handler   address of a compiled `i32 handler(ctx*)` (stapy.codegen.abi)
        kind      'entry' (runs on the hit) or 'return' (runs when the function returns; $return = rax,
                  ctx->entry_regs = registers at entry)
      -> Probe (probe.hits, probe.misses)
    eng.add_syscall_probe(handler, kind='syscall', probe_index=0, exe=None, pid=None)
                                  process.syscall ('syscall': at every syscall-entry-stop) and
                                  .syscall.return ('syscall.return': every syscall-exit-stop) of the
                                  traced processes running exe (realpath) / with tgid pid (None: any).
                                  Handlers read $syscall/$argN/$return from ctx->regs (orig_rax, rdi..r9,
                                  rax); ctx->uaddr = the user pc.  Only threads of a process that has a
                                  syscall probe are resumed with PTRACE_SYSCALL: the others pay nothing.
    pid = eng.launch(argv)        -c: fork, PTRACE_SEIZE, exec; probes are armed at the exec stop, before
                                  the command's first instruction; the command stays stopped until run()
    eng.attach(pid)               -x: seize every thread, arm probes; threads stay stopped until run()
    reason = eng.run(hooks=None)  event loop until the -c/-x process (or every tracee) is gone ('exited'),
                                  request_stop(reason) was called (that reason, default 'stopped'), or
                                  SIGINT/SIGTERM/SIGHUP arrived ('signal'); timers come from hooks
    eng.request_stop(reason)      end run() after the current stop (exit(), MAXERRORS, a timer)
    eng.poll(timeout)             for a driver that owns the event loop (an Engine is a run.py event
                                  source: timeout_hint()/poll()): serve stops for <= timeout s or until a
                                  signal (poll(0) serves what is pending); 'exited' once eng.finished,
                                  the stop reason after request_stop(), else None.  Uses SIGALRM.
    eng.detach_all()              remove every int3, restore every hijacked return address, unmap the XOL
                                  area, detach every thread outside any step (pending signals re-delivered);
                                  call it in a `finally` on every way out (also after 'exited': children)
    eng.hits(probe), eng.misses(probe)  handler runs (both paths), hits that could not run
    eng.target_status             raw wait status of the -c/-x process once it ended, else None
    eng.child_exit_warning()      stap's `Child process exited with status N` / `with signal N (Name)` or None
    eng.unresolved                [(probe, reason)] locations that could not be armed

Order for the driver: Engine(hooks) -> add_probe()* -> launch()/attach() (the target is stopped before
its first instruction / where it was: run begin probes now) -> run() -> end probes -> detach_all().
Entry hits, return-address hijacks and trampoline hits never leave the native loop (hotloop.py): no
Python object per hit.  Rare events (new threads, exits, exec, fork, signals, dlopen, C++ throw/catch
hooks, handler statuses other than OK/NEXT or ctx->exit_requested, steps interrupted by a signal) go
through Python (dispatch.py).  The native loop hands control back at least every 50 ms (and at the
next hooks deadline) so timers and Python's signal handlers run while tracees are busy; a blocking
waitpid is woken by SIGALRM (ITIMER_REAL: the driver must not use it while the engine runs).
Limits: shadow stacks hold 64 frames per thread (uretprobe.SHADOW_DEPTH, the kernel's uretprobe
nesting limit: deeper returns are silently not probed, as under stap), the return pool `maxactive`
instances per process (beyond: a miss).  In-place stepping (the fallback: a RIP-relative instruction
leaving no scratch register, or a push whose stack slot is unwritable) first stops every other thread
of the process (dispatch.inplace_step), so none runs through the restored bytes.

`hooks` (given to Engine() to see the target's own process_begin at launch/attach, or to run())
is any object; the engine calls whichever of these it has:
    next_deadline() -> float|None (time.monotonic() seconds)   on_deadline(now)
    process_begin(pid)  process_end(pid, status)  thread_begin(pid, tid)  thread_end(pid, tid)
    exec(pid, path)     handler_status(probe, status, ctx) -> bool (True: stop the session)
As stap's task finder: thread_end is for threads that die while others live; the last one's death is
process_end, reported at its PTRACE_EVENT_EXIT (the process is still in /proc; status: its wait status).
Without handler_status, STATUS_EXIT/ABORT/ERROR stop the session.  Handlers get ctx->regs (user_regs_struct,
abi.REG_INDEX), pid/tid, probe_index, uaddr, is_return, entry_regs, and read tracee memory through the
guarded accessors whose pointers the engine stores in the context (see guarded.py).
"""
from __future__ import annotations

import ctypes
import os
import signal
import sys
import time

from stapy.codegen import abi
from stapy.runtime import breakpoints as bpmod
from stapy.runtime import cxxunwind, libraries
from stapy.runtime import guarded, ptrace as pt
from stapy.runtime import stops, uretprobe, xol as xolmod
from stapy.runtime.arch import x86_64 as arch
from stapy.runtime.dispatch import Dispatcher
from stapy.runtime.tracee import Process, Thread, exe_of, list_tasks

OPTIONS = (pt.O_TRACESYSGOOD | pt.O_TRACEFORK | pt.O_TRACEVFORK | pt.O_TRACECLONE | pt.O_TRACEEXEC
           | pt.O_TRACEEXIT)
SESSION_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
TICK = 0.05  # safety-net wake-up of the event loop (a signal racing the blocking waitpid)


class Engine:
    def __init__(self, context: abi.Context | None = None, maxactive: int = 1024, maxaction: int = 10000,
                 hotloop: bool = True, hooks=None):
        self.ctx = context if context is not None else abi.Context()
        self._errmsg = ctypes.create_string_buffer(abi.MAXSTRINGLEN_DEFAULT + 1)
        if not self.ctx.errmsg:
            self.ctx.errmsg = ctypes.addressof(self._errmsg)
        guarded.install(self.ctx)
        self.ctx_addr = ctypes.addressof(self.ctx)
        self.maxactive = maxactive
        self.maxaction = maxaction
        self.probes: list[bpmod.Probe] = []
        self.semaphores: list[tuple] = []  # (module realpath or None, link-time address)
        self.procs: dict[int, Process] = {}
        self.threads: dict[int, Thread] = {}
        self.early: dict[int, int] = {}
        self.held: dict[int, int] = {}       # tid -> signal to deliver when resumed (stopped by us)
        self.group_stopped: set[int] = set()  # held threads that were in a group-stop
        self.target_pid: int | None = None
        self.target_status: int | None = None
        self.unresolved: list = []
        self.stopping = False
        self.stop_reason = None
        self.hooks = hooks
        self.dispatcher = Dispatcher(self)
        self.use_hotloop = hotloop
        self.hot = None
        self.dirty = True
        self.native_hits = (ctypes.c_uint64 * 0)()
        self.native_misses = (ctypes.c_uint64 * 0)()
        self._signalled = 0
        self._polling = False

    # -- probes ------------------------------------------------------------
    def add_probe(self, path, location, handler: int, kind: str = "entry", probe_index: int = 0,
                  absolute: bool = False) -> bpmod.Probe:
        if kind not in ("entry", "return"):
            raise ValueError(kind)
        p = bpmod.Probe(os.path.realpath(path) if path else None, location, handler, kind, probe_index, absolute)
        self.probes.append(p)
        return p

    def add_syscall_probe(self, handler: int, kind: str = "syscall", probe_index: int = 0,
                          exe: str | None = None, pid: int | None = None) -> bpmod.Probe:
        if kind not in bpmod.SYSCALL_KINDS:
            raise ValueError(kind)
        p = bpmod.Probe(os.path.realpath(exe) if exe else None, None, handler, kind, probe_index, pid=pid)
        self.probes.append(p)
        return p

    def _arm_syscalls(self, proc: Process) -> None:
        """Which syscall probes apply to proc (its executable and tgid); they decide its resume request."""
        exe = os.path.realpath(proc.exe) if proc.exe else ""
        mine = [p for p in self.probes if p.kind in bpmod.SYSCALL_KINDS
                and (p.pid is None or p.pid == proc.tgid) and (p.path is None or p.path == exe)]
        entry = [p for p in mine if p.kind == "syscall"]
        exit_ = [p for p in mine if p.kind == "syscall.return"]
        if entry != proc.sys_entry or exit_ != proc.sys_exit:
            proc.sys_entry, proc.sys_exit = entry, exit_
            self.dirty = True

    def add_semaphore(self, path, address: int) -> None:
        """An SDT semaphore (link-time address in module `path`) to raise while armed: programs
        test it before doing the work of building a marker's arguments.  It is incremented in each
        traced process that maps the module and decremented again on detach."""
        key = (os.path.realpath(path) if path else None, int(address))
        if key not in self.semaphores:
            self.semaphores.append(key)

    def _raise_semaphores(self, proc: Process) -> None:
        from stapy.debuginfo import elf

        for key in self.semaphores:
            if key in proc.semaphores:
                continue
            path = key[0] or proc.exe
            bias = elf.load_bias(proc.tgid, path)
            if bias is None:
                continue  # not mapped (yet): a later arm() will see it
            addr = key[1] + bias
            cur = proc.read(addr, 2)
            if cur is None:
                continue
            value = int.from_bytes(cur, "little")
            if proc.write(addr, ((value + 1) & 0xFFFF).to_bytes(2, "little")):
                proc.semaphores[key] = addr

    @staticmethod
    def _lower_semaphores(proc: Process) -> None:
        for addr in proc.semaphores.values():
            cur = proc.read(addr, 2)
            if cur is not None:
                value = int.from_bytes(cur, "little")
                proc.write(addr, (max(value - 1, 0)).to_bytes(2, "little"))
        proc.semaphores = {}

    def grow_hits(self) -> None:
        n = max(16, 2 * len(self.probes))
        for name in ("native_hits", "native_misses"):
            new = (ctypes.c_uint64 * n)()
            old = getattr(self, name)
            ctypes.memmove(new, old, ctypes.sizeof(old))
            setattr(self, name, new)

    def hits(self, probe) -> int:
        """Handler runs of probe so far (Python path and native loop)."""
        i = self.probes.index(probe)
        native = self.native_hits[i] if i < len(self.native_hits) else 0
        return probe.hits + native

    def misses(self, probe) -> int:
        """Hits of a return probe that could not be armed (pool exhausted, [rsp] unreadable/unwritable)."""
        i = self.probes.index(probe)
        native = self.native_misses[i] if i < len(self.native_misses) else 0
        return probe.misses + native

    def hook(self, name: str, *args):
        fn = getattr(self.hooks, name, None) if self.hooks is not None else None
        return fn(*args) if fn is not None else None

    def handler_status(self, probe, status: int) -> None:
        fn = getattr(self.hooks, "handler_status", None) if self.hooks is not None else None
        if fn is not None:
            if fn(probe, status, self.ctx):
                self.request_stop()
        elif status in (abi.STATUS_EXIT, abi.STATUS_ABORT, abi.STATUS_ERROR) or self.ctx.exit_requested:
            self.request_stop()

    def request_stop(self, reason: str = "stopped") -> None:
        self.stopping = True
        self.stop_reason = self.stop_reason or reason

    def warn(self, msg: str) -> None:
        print(f"WARNING: {msg}", file=sys.stderr)

    # -- resolving and arming ------------------------------------------------
    def resolve(self, probe, proc: Process) -> int | None:
        """Run-time address of probe in proc, or None (not this process's object / not mapped yet)."""
        from stapy.debuginfo import elf

        if probe.absolute:
            return int(probe.location)
        path = probe.path or proc.exe
        if probe.path and os.path.realpath(proc.exe) != probe.path:
            maps = elf.read_maps(proc.tgid)
            if not any(m.path and os.path.realpath(m.path) == probe.path for m in maps):
                return None  # a library not (yet) mapped
        bias = elf.load_bias(proc.tgid, path)
        if bias is None:
            return None
        loc = probe.location
        if isinstance(loc, int):
            return loc + bias
        name, _, off = str(loc).partition("+")
        syms = [s for s in elf.open_elf(path).lookup(name, kinds=("func", "notype")) if s.address]
        if not syms:
            raise LookupError(f"no symbol '{name}' in {path}")
        return syms[0].address + (int(off, 0) if off else 0) + bias

    def arm(self, proc: Process, thread: Thread) -> None:
        """Insert the breakpoints of every probe that applies to proc (idempotent)."""
        if self.semaphores:
            self._raise_semaphores(proc)
        self._arm_syscalls(proc)
        for p in self.probes:
            if id(p) in proc.armed or p.kind in bpmod.SYSCALL_KINDS:
                continue
            try:
                addr = self.resolve(p, proc)
            except (LookupError, OSError, ValueError) as ex:
                proc.armed.add(id(p))
                self.unresolved.append((p, str(ex)))
                continue
            if addr is None:
                continue
            if proc.xol is None:
                proc.xol = xolmod.map_xol(proc, thread)
            bp = bpmod.insert(proc, addr, proc.xol)
            proc.armed.add(id(p))
            self.dirty = True
            if bp is None:
                self.unresolved.append((p, f"cannot place a breakpoint at {addr:#x}"))
                continue
            (bp.entry if p.kind == "entry" else bp.returns).append(p)
        if proc.xol is None and not proc.rdebug_hooked and any(
                id(p) not in proc.armed and p.kind not in bpmod.SYSCALL_KINDS for p in self.probes):
            self._map_xol(proc, thread)  # probes left for libraries: watch ld.so from the start
        if proc.xol is not None:
            cxxunwind.install(self, proc)
            libraries.install(self, proc)
        if not proc.entry_hooked and any(p.kind not in bpmod.SYSCALL_KINDS for p in self.probes):
            self._hook_entry(proc, thread)  # (syscall probes alone need no XOL area, no int3)

    def _hook_entry(self, proc: Process, thread: Thread) -> None:
        """Stop once at the program's entry point: by then ld.so has mapped the DT_NEEDED libraries,
        whose probes (and C++ unwinder hooks) are armed there."""
        from stapy.debuginfo import elf

        proc.entry_hooked = True
        needs = [p for p in self.probes if p.path and p.path != os.path.realpath(proc.exe)
                 and p.kind not in bpmod.SYSCALL_KINDS]
        if not needs and not any(p.kind == "return" for p in self.probes) and proc.rdebug_hooked:
            return
        try:
            entry = elf.open_elf(proc.exe).elffile.header.e_entry + (elf.load_bias(proc.tgid, proc.exe) or 0)
        except (OSError, ValueError, TypeError):
            return
        regs = arch.Regs()
        pt.getregs(thread.tid, regs)
        if regs[arch.RIP] == entry or proc.xol is None and self._map_xol(proc, thread) is None:
            return
        bp = bpmod.insert(proc, entry, proc.xol)
        if bp is not None and bp.internal is None:
            bp.internal = lambda e, th, r: e.arm(th.process, th)
            self.dirty = True

    def _map_xol(self, proc: Process, thread: Thread):
        try:
            proc.xol = xolmod.map_xol(proc, thread)
        except (xolmod.InjectError, OSError):
            return None
        return proc.xol

    # -- targets -----------------------------------------------------------
    def launch(self, argv, label: str | None = None, pid: int | None = None) -> int:
        """-c: start argv (a list, or a string run by `sh -c`) stopped at its exec, probes armed.
        A failed exec prints `LABEL: strerror` (staprun's perror(target_cmd); default argv[0]) and exits 1.
        pid: a child from spawn() already waiting before its exec (forked before the begin probes)."""
        if pid is None:
            pid = spawn(argv, label)
        pt.seize(pid, OPTIONS)
        os.kill(pid, signal.SIGCONT)
        self.target_pid = pid
        proc = Process(pid, is_target=True)
        th = Thread(pid, proc)
        proc.threads[pid] = th
        while True:
            try:
                _, status = pt.waitpid(pid, pt.WALL)
            except InterruptedError:
                continue
            kind, sig, event = stops.classify(status)
            if kind in (stops.EXITED, stops.KILLED):  # exec failed
                self.target_status = status
                return pid
            if kind == stops.EVENT_STOP and event == pt.EVENT_EXEC:
                break
            pt.cont(pid, 0)  # pre-exec stops (our SIGSTOP/SIGCONT): swallowed
        self.procs[pid] = proc
        self.threads[pid] = th
        proc.exe = exe_of(pid)
        proc.open_mem()
        self.hook("process_begin", pid)
        self.arm(proc, th)
        self.held[pid] = 0
        return pid

    def attach(self, pid: int) -> None:
        """-x: seize every thread of pid and arm the probes; the threads stay stopped until run()."""
        tasks = list_tasks(pid)
        if not tasks:
            raise ProcessLookupError(pid)
        proc = Process(pid, is_target=True, exe=exe_of(pid))
        proc.open_mem()
        self.procs[pid] = proc
        self.target_pid = pid
        while True:
            new = [t for t in list_tasks(pid) if t not in proc.threads]
            if not new:
                break
            for tid in new:
                try:
                    pt.seize(tid, OPTIONS)
                    pt.interrupt(tid)
                except ProcessLookupError:
                    continue
                th = Thread(tid, proc)
                proc.threads[tid] = th
                self.threads[tid] = th
        for tid in list(proc.threads):
            self._collect_stop(tid)
        self.hook("process_begin", pid)  # stap: once per preexisting traced process
        for tid in list(proc.threads):
            if tid != pid:
                self.hook("thread_begin", pid, tid)
        th = self.threads.get(pid) or next(iter(proc.live_threads()), None)
        if th is None:
            raise ProcessLookupError(pid)
        if all(t in self.group_stopped for t in proc.threads):
            # stopped by job control: running our mmap in it would end its group-stop for good,
            # so the probes are armed at its first stop after SIGCONT
            proc.arm_pending = True
            return
        self.arm(proc, th)

    def _collect_stop(self, tid: int) -> None:
        """Wait until tid (interrupted) is stopped; remember how to resume it."""
        th = self.threads.get(tid)
        while th is not None:
            try:
                _, status = pt.waitpid(tid, pt.WALL)
            except InterruptedError:
                continue
            except ChildProcessError:
                self.dispatcher.thread_gone(th, 0)
                return
            kind, sig, event = stops.classify(status)
            if kind in (stops.EXITED, stops.KILLED):
                self.dispatcher.thread_gone(th, status)
                return
            if kind == stops.SIGTRAP_STOP:
                self._rewind(th)
                self.held[tid] = self._own_sigtrap(th)
            elif kind == stops.SIGNAL_STOP:
                self.held[tid] = sig
            elif kind == stops.GROUP_STOP:
                self.held[tid] = 0
                self.group_stopped.add(tid)
            elif kind == stops.SYSCALL_STOP:
                # a syscall-stop consumed our interrupt.  Held there, the thread could not carry an
                # injected syscall (the munmap of detach) without losing its own: resume it with
                # PTRACE_CONT (no more syscall-stops) into a fresh interrupt; a blocking syscall is
                # interrupted and restarts once detached, as after any ptrace stop.
                try:
                    pt.interrupt(tid)
                    pt.cont(tid, 0)
                except ProcessLookupError:
                    pass
                continue
            elif event in (pt.EVENT_FORK, pt.EVENT_VFORK, pt.EVENT_CLONE):
                self.dispatcher.new_task(th, pt.geteventmsg(tid), event)
                self.held[tid] = 0
            elif event == pt.EVENT_EXEC:
                self.dispatcher.on_exec(th)
                self.held[tid] = 0
            elif event == pt.EVENT_EXIT:
                th.exiting = True
                self.held[tid] = 0
            else:
                self.held[tid] = 0
            return

    def _own_sigtrap(self, th) -> int:
        return th.__dict__.pop("_own_trap", 0)

    def _rewind(self, th) -> None:
        """A thread stopped at one of our int3s or the trampoline: undo the hit so it can run untraced."""
        regs = arch.Regs()
        try:
            pt.getregs(th.tid, regs)
        except ProcessLookupError:
            return
        proc = th.process
        addr = regs[arch.RIP] - 1
        if addr in proc.breakpoints:
            regs[arch.RIP] = addr
            pt.setregs(th.tid, regs)
        elif proc.xol is not None and addr == proc.xol.trampoline:
            inst, _ = uretprobe.pop_for_return(proc, th, regs[arch.RSP])
            inst = inst or uretprobe.find_any(proc, regs[arch.RSP])
            if inst is not None:
                regs[arch.RIP] = inst.ret
                pt.setregs(th.tid, regs)
        else:
            th.__dict__["_own_trap"] = signal.SIGTRAP

    # -- the event loop -----------------------------------------------------------------
    def run(self, hooks=None) -> str:
        if hooks is not None:
            self.hooks = hooks
        self.stopping = False
        self.stop_reason = None
        old = {s: signal.signal(s, self._on_session_signal) for s in SESSION_SIGNALS}  # main thread only
        old_alrm = signal.signal(signal.SIGALRM, lambda *_: None)
        try:
            self._resume_held()
            return self._loop()
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old_alrm)
            for s, h in old.items():
                signal.signal(s, h)

    def timeout_hint(self) -> None:
        """run.py's event-source protocol: the engine has no deadlines of its own."""
        return None

    @property
    def finished(self) -> bool:
        """Nothing left to trace: the -c/-x process (or every tracee) is gone."""
        return not self.procs or (self.target_pid is not None and self.target_status is not None)

    def poll(self, timeout: float) -> str | None:
        """Serve tracee stops for at most `timeout` seconds, for a driver that owns the event loop
        (its timers, its SIGINT/SIGTERM handlers).  Returns early on any signal; returns 'exited' once
        `finished`, the stop reason once request_stop() was called, else None."""
        if self.finished:
            return "exited"
        if self.stopping:
            return self.stop_reason
        if not self._polling:
            self._polling = True
            signal.signal(signal.SIGALRM, lambda *_: None)
            self._resume_held()
        return self._loop(time.monotonic() + timeout, once=True)

    def _resume_held(self) -> None:
        for tid, sig in list(self.held.items()):
            del self.held[tid]
            if tid in self.group_stopped:
                self.group_stopped.discard(tid)
                self.dispatcher.listen(tid)
            else:
                self.dispatcher.resume(tid, sig)
        if self.use_hotloop and self.hot is None:
            from stapy.runtime import hotloop
            self.hot = hotloop.HotLoop(self)

    def _on_session_signal(self, signo, frame):
        self._signalled = signo
        self.request_stop("signal")

    def _arm_timer(self, until: float | None = None) -> None:
        delay = TICK
        if until is not None:
            delay = max(min(until - time.monotonic(), TICK), 1e-4)
        nd = getattr(self.hooks, "next_deadline", None)
        if nd is not None:
            d = nd()
            if d is not None:
                delay = max(min(d - time.monotonic(), TICK), 1e-4)
        signal.setitimer(signal.ITIMER_REAL, delay, TICK)

    def _deadlines(self) -> None:
        nd = getattr(self.hooks, "next_deadline", None)
        if nd is None:
            return
        while not self.stopping:
            d = nd()
            now = time.monotonic()
            if d is None or d > now:
                return
            self.hook("on_deadline", now)

    def _loop(self, until: float | None = None, once: bool = False) -> str | None:
        """Serve stops until finished/stopped, or (poll) until `until` or the first signal;
        once `until` has passed, what is already pending is still served (poll(0) drains)."""
        while True:
            self._deadlines()
            if self.stopping:
                return self.stop_reason
            if self.finished:
                return "exited"  # everything traced is gone, or the -c/-x process itself ended
            block = until is None or time.monotonic() < until
            if block:
                self._arm_timer(until)
            if not self._serve_one(block, self._next_wake(until)):
                if once or not block:
                    return "exited" if self.finished else (self.stop_reason if self.stopping else None)

    def _next_wake(self, until: float | None) -> int:
        """When the native loop must hand control back (monotonic ns): the caller's deadline, a hook
        deadline, or one TICK from now (Python's signal handlers only run between native calls)."""
        t = time.monotonic() + TICK
        if until is not None:
            t = min(t, until)
        nd = getattr(self.hooks, "next_deadline", None)
        if nd is not None:
            d = nd()
            if d is not None:
                t = min(t, d)
        return int(t * 1e9)

    def _serve_one(self, block: bool, wake_ns: int | None = None) -> bool:
        """Handle one stop; False when woken by a signal or (not blocking) nothing was pending."""
        if self.hot is not None:
            r = self.hot.run(block, wake_ns)
            if r is None:
                return False
            tid, status, partial = r
            if partial is not None:
                self.hot.finish(partial)
                return True
        else:
            try:
                tid, status = pt.waitpid(-1, pt.WALL if block else pt.WALL | pt.WNOHANG)
            except InterruptedError:
                return False
            except ChildProcessError:
                self.procs.clear()
                return False
            if tid == 0:
                return False
        self.dispatcher.handle(tid, status)
        return True

    # -- the end ----------------------------------------------------------------------
    def detach_all(self) -> None:
        """Leave every tracee as found: no int3, no hijacked return address, no XOL area, no stop.

        Order matters: first every thread is brought to a stop we own (PTRACE_INTERRUPT; a stop at one
        of our int3s is rewound, a signal is kept to re-deliver), then memory is repaired while nothing
        runs, then each thread is detached with its pending signal."""
        signal.setitimer(signal.ITIMER_REAL, 0)
        self._polling = False
        for _ in range(2):  # a second pass collects threads cloned while we collected
            for tid, th in list(self.threads.items()):
                if tid in self.held or th.exiting:
                    continue
                try:
                    pt.interrupt(tid)
                except OSError:
                    continue
                self._collect_stop(tid)
        for proc in list(self.procs.values()):
            if proc.memfd < 0:
                continue
            try:
                self._lower_semaphores(proc)
                bpmod.remove_all(proc)
                if proc.xol is not None:
                    uretprobe.restore_all(proc)
                    self._unmap_xol(proc)
            finally:
                proc.xol = None
                proc.close_mem()
        for tid, sig in list(self.held.items()):
            try:
                pt.detach(tid, sig)
            except OSError:
                pass
        for tid, th in list(self.threads.items()):
            if th.exiting and tid not in self.held:
                self._reap_exiting(th)
        self.held.clear()
        self.group_stopped.clear()
        self.threads.clear()
        self.procs.clear()
        self.dirty = True

    def _reap_exiting(self, th: Thread) -> None:
        """A thread past PTRACE_EVENT_EXIT cannot be detached; it dies promptly and, traced, only its
        tracer can reap it (else the group's leader is never reported to its real parent)."""
        tid = th.tid
        try:
            pt.detach(tid, 0)
            return
        except OSError:
            pass
        if tid == th.process.tgid:
            return  # a leader that left early: released when the group ends or stapy exits
        while True:
            try:
                pt.waitpid(tid, pt.WALL)
                return
            except InterruptedError:
                continue
            except OSError:
                return

    def _unmap_xol(self, proc: Process) -> None:
        th = next((t for t in proc.threads.values() if t.tid in self.held and not t.exiting), None)
        if th is None:
            return
        try:
            xolmod.inject_syscall(proc, th, xolmod.SYS_MUNMAP, (proc.xol.base, proc.xol.size))
        except (xolmod.InjectError, OSError):
            return
        if th.pending_signal and not self.held.get(th.tid):
            self.held[th.tid] = th.pending_signal
        th.pending_signal = 0

    def child_exit_warning(self) -> str | None:
        st = self.target_status
        if st is None or st == 0:
            return None
        kind, sig, _ = stops.classify(st)
        if kind == stops.KILLED:
            return f"Child process exited with signal {sig} ({stops.signal_name(sig)})"
        if kind == stops.EXITED and sig:
            return f"Child process exited with status {sig}"
        return None


def spawn(argv, label: str | None = None) -> int:
    """Fork the -c command, stopped (SIGSTOP) before its exec: staprun's start_cmd, done before the
    begin probes so that target() is known in them.  Engine.launch(pid=...) lets it run."""
    if label is None:
        label = argv if isinstance(argv, str) else argv[0]
    if isinstance(argv, str):
        argv = ["/bin/sh", "-c", argv]
    pid = os.fork()
    if pid == 0:  # the child: become the command
        try:
            signal.pthread_sigmask(signal.SIG_SETMASK, [])
            for s in (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(s, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGSTOP)
            os.execvp(argv[0], argv)
        except OSError as ex:
            os.write(2, f"{label}: {ex.strerror}\n".encode())
            os._exit(1)
        finally:
            os._exit(127)
    os.waitpid(pid, os.WUNTRACED)
    return pid
