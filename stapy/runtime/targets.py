"""Pass 5 with target processes: the Runner's session rules driving the ptrace engine.

`TargetRunner` is the `Runner` (run.py: begin/timer/end/error probes, output,
error rules) with its engine extension points filled in:

- `arm_targets`: one `Engine` sharing the Runner's context; every process
  function/statement/mark/plt probe becomes an engine probe on its module's
  link-time address with its compiled handler; then `-c CMD` is launched
  (armed before its first instruction), `-x PID` attached, or, without
  either, the running processes that `process("P")`/`process(PID)` name.
- the engine is an event source of the Runner's loop: `poll` serves tracee
  stops between timer ticks; the session stops when the -c/-x process is gone.
- `process.begin/end` and `thread.begin/end` probes run from the engine's hooks.
- `disarm_targets`: every int3 removed, every return address restored, every
  thread detached; a -c command still running is left running, as stap does.

- `symbol_string`: usymname/usymdata/umodname/usymfileline and the backtrace family
  in stap's sym.c/stack.c formats, from the tracee's module map (/proc/PID/maps,
  re-read on a miss, dropped on exec) and an unwind of the hit's registers (.eh_frame
  CFI, frame pointers as a fallback, at most MAXBACKTRACE frames).  Frame 0 is the
  probed address (in a .return probe, the real return address); return addresses
  the engine hijacked are read through its shadow stack, so its trampoline never shows.

Handlers run natively from the engine's loop; Python sees a hit only when a
handler returns something other than OK (error, exit) and then applies the
Runner's rules (`after_handler`).
"""
from __future__ import annotations

import ctypes
import dataclasses
import os
import signal

from stapy.codegen import abi
from stapy.runtime.run import ERROR, RUNNING, STARTING, STOPPING, Runner, UserFault

# families armed as breakpoints, and how
_BREAKPOINT_FAMILIES = {
    "process.function": "entry", "process.function.return": "return",
    "process.statement": "entry", "process.mark": "entry",
    "process.plt": "entry", "process.plt.return": "return",
}
# process.syscall probes: PTRACE_SYSCALL stops (engine.add_syscall_probe)
_SYSCALL_FAMILIES = {"process.syscall": "syscall", "process.syscall.return": "syscall.return"}
_WRDE_NOCMD, _WRDE_UNDEF = 1 << 2, 1 << 5
_WRDE_BADCHAR = 2


class _WordExp(ctypes.Structure):
    _fields_ = [("we_wordc", ctypes.c_size_t), ("we_wordv", ctypes.POINTER(ctypes.c_char_p)),
                ("we_offs", ctypes.c_size_t)]


def command_argv(cmd: str):
    """stap's -c (staprun start_cmd.c): wordexp(3) the command with WRDE_NOCMD|WRDE_UNDEF and exec
    the words; a shell metacharacter (`|&;<>(){}` or newline, unquoted: WRDE_BADCHAR) runs it with
    `sh -c` instead.  (Other wordexp errors also go to sh, which reports them.)"""
    libc = ctypes.CDLL(None)
    we = _WordExp()
    rc = libc.wordexp(cmd.encode(), ctypes.byref(we), _WRDE_NOCMD | _WRDE_UNDEF)
    if rc != 0:
        if rc != _WRDE_BADCHAR:
            libc.wordfree(ctypes.byref(we))
        return cmd  # the engine runs a string with /bin/sh -c
    try:
        words = [os.fsdecode(we.we_wordv[i]) for i in range(we.we_wordc)]
    finally:
        libc.wordfree(ctypes.byref(we))
    return words if words else cmd


def uses_targets(compiled, options) -> bool:
    return bool(options.target_cmd or options.target_pid
                or any(p.family.startswith("process") for p in compiled.probes))


class _EngineSource:
    """The engine as one of the Runner's event sources."""

    def __init__(self, runner: "TargetRunner"):
        self.runner = runner

    def poll(self, timeout: float) -> None:
        r = self.runner
        reason = r.engine.poll(timeout)
        if r.pending_work():
            r.after_handler(r.current_probe, abi.STATUS_OK)
        if reason is not None and r.state == RUNNING:
            if reason == "exited" and not r.watching_system:
                r.state = STOPPING
            elif reason in ("stopped", "signal"):
                r.state = STOPPING


class TargetRunner(Runner):
    def __init__(self, compiled, options, stdout, stderr):
        super().__init__(compiled, options, stdout, stderr)
        self.engine = None
        self.target_set = False
        self.spawned = None
        self._exes: dict[int, str] = {}  # pid -> the image it runs (realpath), for process(PATH).end
        self.watching_system = False
        self.current_probe = None
        self.by_index = {p.index: p for p in compiled.probes}
        self._spaces: dict = {}

    # -- the engine's hooks ------------------------------------------------------------
    def handler_status(self, probe, status: int, ctx) -> bool:
        """A handler run by the engine returned `status`: apply stap's rules; True stops the session."""
        info = self.by_index.get(probe.index)
        if info is not None:
            self.current_probe = info
            self.after_handler(info, status)
        return self.state != RUNNING

    def _lifecycle(self, family: str, pid: int, tid: int, exe: str | None = None) -> None:
        """Run the family's probes that apply to pid; exe: the image it ran (else read from /proc)."""
        if self.state not in (STARTING, RUNNING):
            return
        for p in self.probes_of(family):
            want_exe, want_pid = p.params.get("exe"), p.params.get("pid")
            if want_pid is not None and want_pid != pid:
                continue
            if want_exe is not None:
                if exe is None:
                    exe = self._exe_of(pid)
                if exe and os.path.realpath(want_exe) != exe:
                    continue

            def setup(ctx, pid=pid, tid=tid):
                ctx.pid, ctx.tid, ctx.regs, ctx.uaddr, ctx.pc = pid, tid, None, 0, 0

            self.run_probe(p, setup)
            if self.state not in (STARTING, RUNNING):
                break

    @staticmethod
    def _exe_of(pid: int) -> str:
        try:
            return os.path.realpath(os.readlink(f"/proc/{pid}/exe"))
        except OSError:
            return ""

    def process_begin(self, pid):
        if self.options.target_cmd and not self.target_set:
            self.target_set = True  # the -c command's first process_begin comes before launch() returns
            self.set_target(pid)
        self._exes[pid] = exe = self._exe_of(pid)
        self._lifecycle("process.begin", pid, pid, exe)

    def process_end(self, pid, status):
        # process(PATH).end only for a process that ran PATH (the image it had, remembered)
        self._lifecycle("process.end", pid, pid, self._exes.pop(pid, None))
        self._spaces.pop(pid, None)

    def exec(self, pid, path):
        """stap's task finder: an exec ends the old image's process and begins the new one's."""
        self._spaces.pop(pid, None)  # a new image: its module map is read again on the next lookup
        self._lifecycle("process.end", pid, pid, self._exes.get(pid))
        self._exes[pid] = exe = os.path.realpath(path) if path else self._exe_of(pid)
        self._lifecycle("process.begin", pid, pid, exe)

    def thread_begin(self, pid, tid):
        self._lifecycle("process.thread.begin", pid, tid)

    def thread_end(self, pid, tid):
        self._lifecycle("process.thread.end", pid, tid)

    def next_deadline(self):
        return None

    # -- symbols and backtraces of the tracee (ucontext*.stp, runtime/sym.c, stack.c) -------------
    def _space(self, pid: int, addr: int):
        """The tracee's module map (/proc/PID/maps), re-read when an address is in no known module."""
        from stapy.debuginfo.symbolize import AddressSpace

        space = self._spaces.get(pid)
        try:
            if space is None:
                space = self._spaces[pid] = AddressSpace.of_pid(pid)
            elif addr and space.module_of(addr) is None:
                space.refresh()
        except OSError:
            return None
        return space

    def _lookup(self, ctx, addr: int):
        if not ctx.pid or not addr:
            return None
        space = self._space(ctx.pid, addr)
        r = space.lookup(addr) if space is not None else None
        if r is not None and r.symbol and "@" in r.symbol:
            # .dynsym names carry their version (`f@@GLIBC_2.34`); stap's symbol tables do not
            r = dataclasses.replace(r, symbol=r.symbol.split("@", 1)[0])
        return r

    @staticmethod
    def _regs(ptr) -> dict[str, int] | None:
        if not ptr:
            return None
        raw = (ctypes.c_uint64 * abi.N_USER_REGS).from_address(ptr)
        return {name: raw[i] for i, name in enumerate(abi.USER_REGS)}

    def _frames(self, ctx) -> list[int]:
        """The user call chain of this hit, innermost first (at most MAXBACKTRACE): CFI, else frame pointers."""
        from stapy.debuginfo import cfi
        from stapy.debuginfo.elf import open_elf

        regs = self._regs(ctx.regs)
        if regs is None or not ctx.pid:
            return []
        # The stopped registers are past the int3; stap's frame 0 is the probed address (uprobe
        # semantics), and in a .return probe the real return address (uprobe_get_pc).
        if ctx.is_return:
            ret = self._return_address(ctx)
            if ret:
                regs["rip"] = ret
        elif ctx.uaddr:
            regs["rip"] = ctx.uaddr
        hijacked = self._hijacked_slots(ctx.tid)

        def read_u64(addr):
            if addr in hijacked:  # a return address the engine replaced with its trampoline
                return hijacked[addr]
            data = self.read_user(ctx, addr, 8)
            return int.from_bytes(data, "little") if data is not None else None

        def modules(addr):
            space = self._space(ctx.pid, addr)
            path = space.module_of(addr) if space is not None else None
            if path is None:
                return None
            try:
                return open_elf(path), space.modules()[path]
            except (OSError, KeyError, ValueError):
                return None

        try:
            pcs = cfi.unwind(cfi.regs_from_names(regs), read_u64, modules, self._maxbacktrace())
        except Exception:
            pcs = [regs["rip"]]
        return pcs

    @staticmethod
    def _return_address(ctx) -> int:
        """The real return address of a .return hit: its instance holds it (ctx->entry_regs is inside it)."""
        from stapy.runtime.uretprobe import Inst

        if not ctx.entry_regs:
            return 0
        return Inst.from_address(ctx.entry_regs - Inst.regs.offset).ret

    def _hijacked_slots(self, tid: int) -> dict[int, int]:
        """stack slot -> original return address for every hijacked frame of the thread."""
        th = self.engine.threads.get(tid) if self.engine is not None else None
        if th is None:
            return {}
        return {inst.slot: inst.ret for inst in th.shadow if inst.hijacked}

    def _maxbacktrace(self) -> int:
        return int(self.compiled.limits.MAXBACKTRACE)

    def _fmt(self, ctx, addr: int, kind: str) -> str:
        """One address in one of stap's _stp_snprint_addr formats."""
        r = self._lookup(ctx, addr)
        name = r.symbol if r is not None else None
        mod = r.module if r is not None else None
        hexa = f"{addr:#x}"
        if kind == "none":
            return hexa + " "
        if kind == "brief":
            return f"{name}+{r.offset:#x}\n" if name else hexa + "\n"
        if kind == "simple":
            if name:
                return f"{name}+{r.offset:#x} [{os.path.basename(mod)}]\n"
            if mod:
                return f"{hexa} [{os.path.basename(mod)}+{r.link_addr:#x}]\n"
            return hexa + "\n"
        if kind in ("full", "fuller"):
            where = ""
            if kind == "fuller" and r is not None:
                try:
                    fl = r.fileline()
                except Exception:
                    fl = None
                where = f" at {fl}" if fl else ""
            if name:
                return f" {hexa} : {name}+{r.offset:#x}/{r.size:#x}{where} [{mod}]\n"
            if mod:
                return f" {hexa} [{mod}+{r.link_addr:#x}/0x0]{where}\n"
            return f" {hexa}\n"
        raise ValueError(kind)

    def symbol_string(self, ctx, name: str, n: int, sv: str) -> str:
        if not ctx.pid or not ctx.regs:
            return super().symbol_string(ctx, name, n, sv)
        addr = n & 0xFFFFFFFFFFFFFFFF
        if name == "usymname":
            r = self._lookup(ctx, addr)
            return r.symbol if r is not None and r.symbol else f"{addr:#x}"
        if name == "usymdata":
            r = self._lookup(ctx, addr)
            if r is None:
                return f"{addr:#x}"
            if r.symbol:
                return f"{r.symbol}+{r.offset:#x}/{r.size:#x} [{r.module}]"
            return f"{addr:#x} [{r.module}+{r.link_addr:#x}/0x0]"
        if name == "umodname":
            r = self._lookup(ctx, addr)
            if r is None:
                self._set_last_error("module cannot be found")
                return "<unknown>"
            return r.module
        if name == "usymfileline":
            r = self._lookup(ctx, addr)
            fl = r.fileline() if r is not None else None
            return fl if fl else f"{addr:#x}"
        limit = self.compiled.limits.MAXSTRINGLEN - 1
        frames = self._frames(ctx)
        if name == "ucallers":
            if n < -1:
                return ""  # ucontext.stp's loop runs while i <= n || n == -1
            out, total = [], 0
            for i, pc in enumerate(frames if n < 0 else frames[: n + 1]):
                piece = (" " if i else "") + f"{pc:#x}"
                total += len(piece)
                if total > limit:
                    break
                out.append(piece)
            return "".join(out)
        if name == "ubacktrace":
            return _cut("".join(self._fmt(ctx, pc, "none") for pc in frames), limit)
        if name == "sprint_ubacktrace":
            return _cut("".join(self._fmt(ctx, pc, "simple") for pc in frames), limit)
        if name.startswith("print_ubacktrace"):
            kind = {"print_ubacktrace": "full", "print_ubacktrace_brief": "brief",
                    "print_ubacktrace_fileline": "fuller"}[name]
            head = ""
            if ctx.is_return and kind != "brief" and ctx.uaddr:
                entry = ctx.uaddr
                head = "Returning from: " + self._fmt(ctx, entry, kind) + "Returning to  : "
            return self._print_long(head + "".join(self._fmt(ctx, pc, kind) for pc in frames))
        if name == "print_usyms":
            return self._print_long("".join(f" {tok} : {self.symbol_string(ctx, 'usymdata', int(tok, 16), '')}\n"
                                            for tok in sv.split(" ") if tok))
        return super().symbol_string(ctx, name, n, sv)

    def context_string_checked(self, ctx, name: str, n: int, sv: str) -> str:
        """umodname and ucallers as stap raises their errors (for codegen's stapy_py_str_status route):
        umodname sets CONTEXT->last_error, which ends the handler like any error; ucallers(n) past the
        end of the stack fails as its ustack(i) calls do."""
        if name == "umodname":
            r = self._lookup(ctx, n & 0xFFFFFFFFFFFFFFFF) if ctx.pid and ctx.regs else None
            if r is None:
                raise UserFault("module cannot be found")
            return r.module
        if name == "ucallers":
            frames = self._frames(ctx) if ctx.pid and ctx.regs else []
            if n >= len(frames) and n != -1:
                raise UserFault(f"reached end of stack before unwinding to level {n}")
            return self.symbol_string(ctx, "ucallers", n, sv) if frames else ""
        return super().context_string_checked(ctx, name, n, sv)

    def _print_long(self, text: str) -> str:
        """print_* output is not a string value: no MAXSTRINGLEN cut.  The handler's buffered output
        goes first, then this text; the handler prints the empty string it gets back."""
        if len(text.encode("utf-8", "surrogateescape")) < self.compiled.limits.MAXSTRINGLEN:
            return text
        self.write_output(text)
        return ""

    def _set_last_error(self, msg: str) -> None:
        # stap sets CONTEXT->last_error (what a later catch would see) without raising
        data = msg.encode()[: self.compiled.limits.MAXSTRINGLEN - 1]
        ctypes.memmove(self.errmsg, data + b"\0", len(data) + 1)


    # -- the Runner's extension points ---------------------------------------------------
    def before_begin(self) -> None:
        """-c: fork the command (stopped before its exec) now, as staprun does before the module's
        begin probes run, so target() is its pid in them."""
        from stapy.runtime.engine import spawn

        if self.options.target_cmd:
            self.spawned = spawn(command_argv(self.options.target_cmd), label=self.options.target_cmd)
            self.set_target(self.spawned)

    def _drop_spawned(self) -> None:
        """The session ended in its begin probes (exit(), an error): staprun still resumes the command
        (STP_START with res 0), which then runs on its own, untraced."""
        if self.spawned is not None:
            pid, self.spawned = self.spawned, None
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass

    def arm_targets(self) -> None:
        from stapy.runtime.engine import Engine

        o = self.options
        self.engine = Engine(context=self.ctx, maxaction=self.compiled.limits.MAXACTION_INTERRUPTIBLE,
                             hooks=self)
        for p in self.compiled.probes:
            if p.family in _SYSCALL_FAMILIES:
                pid = p.params.get("pid")
                self.engine.add_syscall_probe(self.handler(p.index), _SYSCALL_FAMILIES[p.family], p.index,
                                              exe=p.params.get("exe"), pid=int(pid) if pid is not None else None)
                continue
            kind = _BREAKPOINT_FAMILIES.get(p.family)
            if kind is None or p.params.get("address") is None:
                continue
            self.engine.add_probe(p.params.get("path"), p.params["address"], self.handler(p.index),
                                  kind=kind, probe_index=p.index)
            if p.params.get("semaphore"):
                self.engine.add_semaphore(p.params.get("path"), p.params["semaphore"])
        if o.target_cmd:
            pid, self.spawned = self.spawned, None
            pid = self.engine.launch(command_argv(o.target_cmd), label=o.target_cmd, pid=pid)
            if not self.target_set:
                self.target_set = True
                self.set_target(pid)
        elif o.target_pid:
            try:
                self.engine.attach(int(o.target_pid))
            except (ProcessLookupError, PermissionError, OSError) as e:
                self.stderr.write(f"ERROR: cannot attach to process {o.target_pid}: "
                                  f"{getattr(e, 'strerror', None) or e}\n")
                self.had_error = True
                self.state = ERROR
                return
        else:
            for pid in self._running_matches():
                try:
                    self.engine.attach(pid)
                except (ProcessLookupError, PermissionError, OSError):
                    continue
            # no -c/-x: the session runs until exit(), -T or a signal, like stap's
            self.watching_system = True
        self.event_sources.append(_EngineSource(self))

    def _running_matches(self) -> list[int]:
        exes, pids = set(), set()
        for p in self.compiled.probes:
            if not p.family.startswith("process"):
                continue
            if p.params.get("pid") is not None:
                pids.add(int(p.params["pid"]))
            elif p.params.get("exe"):
                exes.add(os.path.realpath(p.params["exe"]))
        me = os.getpid()
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == me:
                continue
            try:
                if os.path.realpath(os.readlink(f"/proc/{entry}/exe")) in exes:
                    pids.add(int(entry))
            except OSError:
                continue
        return sorted(pids)

    def disarm_targets(self) -> None:
        if self.engine is None or self.detached:
            return
        self.detached = True
        try:
            self.engine.detach_all()
        finally:
            warning = self.engine.child_exit_warning() if self.options.target_cmd else None
            if warning:
                self.flush()
                self.stderr.write(f"WARNING: {warning}\n" if not warning.startswith("WARNING") else warning + "\n")
                self.child_failed = True

    def run(self) -> int:
        self.child_failed = False
        self.detached = False
        self.spawned = None
        try:
            status = super().run()
        finally:
            self._drop_spawned()
            # Every way out, an internal error included, leaves the tracees as found.
            if self.engine is not None and not self.detached:
                self.detached = True
                self.engine.detach_all()
            signal.setitimer(signal.ITIMER_REAL, 0)
        return 1 if self.child_failed else status


def _cut(text: str, limit: int) -> str:
    return text[:limit]


def run_with_targets(compiled, options, stdout, stderr) -> int:
    return TargetRunner(compiled, options, stdout, stderr).run()
