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

Handlers run natively from the engine's loop; Python sees a hit only when a
handler returns something other than OK (error, exit) and then applies the
Runner's rules (`after_handler`).
"""
from __future__ import annotations

import os
import shlex
import signal

from stapy.codegen import abi
from stapy.runtime.run import ERROR, RUNNING, STARTING, STOPPING, Runner

# families armed as breakpoints, and how
_BREAKPOINT_FAMILIES = {
    "process.function": "entry", "process.function.return": "return",
    "process.statement": "entry", "process.mark": "entry",
    "process.plt": "entry", "process.plt.return": "return",
}
_SHELL_META = set("|&;<>()$`\\\"'*?[#~=%\n")


def command_argv(cmd: str):
    """stap's -c: wordexp the command, or run it with `sh -c` when it has shell syntax."""
    if any(ch in _SHELL_META for ch in cmd):
        return cmd  # the engine runs a string with /bin/sh -c
    words = shlex.split(cmd)
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
        self.watching_system = False
        self.current_probe = None
        self.by_index = {p.index: p for p in compiled.probes}

    # -- the engine's hooks ------------------------------------------------------------
    def handler_status(self, probe, status: int, ctx) -> bool:
        """A handler run by the engine returned `status`: apply stap's rules; True stops the session."""
        info = self.by_index.get(probe.index)
        if info is not None:
            self.current_probe = info
            self.after_handler(info, status)
        return self.state != RUNNING

    def _lifecycle(self, family: str, pid: int, tid: int) -> None:
        if self.state not in (STARTING, RUNNING):
            return
        exe = None
        for p in self.probes_of(family):
            want_exe, want_pid = p.params.get("exe"), p.params.get("pid")
            if want_pid is not None and want_pid != pid:
                continue
            if want_exe is not None:
                if exe is None:
                    try:
                        exe = os.readlink(f"/proc/{pid}/exe")
                    except OSError:
                        exe = ""
                if exe and os.path.realpath(want_exe) != os.path.realpath(exe):
                    continue

            def setup(ctx, pid=pid, tid=tid):
                ctx.pid, ctx.tid, ctx.regs, ctx.uaddr = pid, tid, None, 0

            self.run_probe(p, setup)
            if self.state not in (STARTING, RUNNING):
                break

    def process_begin(self, pid):
        if self.options.target_cmd and not self.target_set:
            self.target_set = True  # the -c command's first process_begin comes before launch() returns
            self.set_target(pid)
        self._lifecycle("process.begin", pid, pid)

    def process_end(self, pid, status):
        self._lifecycle("process.end", pid, pid)

    def thread_begin(self, pid, tid):
        self._lifecycle("process.thread.begin", pid, tid)

    def thread_end(self, pid, tid):
        self._lifecycle("process.thread.end", pid, tid)

    def next_deadline(self):
        return None

    # -- the Runner's extension points ---------------------------------------------------
    def arm_targets(self) -> None:
        from stapy.runtime.engine import Engine

        o = self.options
        self.engine = Engine(context=self.ctx, maxaction=self.compiled.limits.MAXACTION_INTERRUPTIBLE,
                             hooks=self)
        for p in self.compiled.probes:
            kind = _BREAKPOINT_FAMILIES.get(p.family)
            if kind is None or p.params.get("address") is None:
                continue
            self.engine.add_probe(p.params.get("path"), p.params["address"], self.handler(p.index),
                                  kind=kind, probe_index=p.index)
        if o.target_cmd:
            pid = self.engine.launch(command_argv(o.target_cmd))
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
        try:
            status = super().run()
        finally:
            # Every way out, an internal error included, leaves the tracees as found.
            if self.engine is not None and not self.detached:
                self.detached = True
                self.engine.detach_all()
            signal.setitimer(signal.ITIMER_REAL, 0)
        return 1 if self.child_failed else status


def run_with_targets(compiled, options, stdout, stderr) -> int:
    return TargetRunner(compiled, options, stdout, stderr).run()
