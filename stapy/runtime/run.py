"""Pass 5 for scripts without a target process: begin, timer, end and error probes.

`Runner` dlopens the program (pass 4 links the script's object and the native
runtime into one shared object; each run loads a private copy, so globals
start fresh), fills in the runner-service slots (abi.PY_CALLBACKS), then
drives stap's session states:

    STARTING  begin probes by (sequence, script order); exit() or an error stops the rest
    RUNNING   the event loop: timer probes, `event_sources` (engine hook), -T, SIGINT/SIGTERM
    STOPPING  end probes (not after an error), the -t report, then output is flushed
    ERROR     a runtime error past MAXERRORS: no end probes, error probes run

Extension points for the ptrace engine (-c/-x); all are no-ops or no-tracee answers here:
  `arm_targets()`        after begin probes, before the loop: resolve and arm process probes
  `event_sources`        objects with `poll(timeout_seconds)`; the loop calls each once per turn
                         (at most 50 ms apart); poll handles tracee stops and runs handlers
  `disarm_targets()`     on every way out, before end probes
  `handler(index)`       native address of a probe's compiled handler (`i32 (ctx*)`)
  `set_target(pid)`      what target() returns (set from -x already; -c sets it once the child exists)
  `run_probe(probe, setup)`  the one way a handler runs: resets the context (actions, nesting,
                         error site), calls `setup(ctx)` (registers, pid/tid, uaddr, read_user...),
                         runs the handler and applies the error/exit rules; returns the status
  `after_handler(probe, status)`  the rules alone, for an engine that calls `handler(index)` natively
                         with `self.ctx` (needed after any status other than OK/NEXT, after exit(),
                         and whenever `pending_work()` is true)
  `symbol_string(ctx, name, n, s)`  usymname/umodname/ubacktrace/print_ubacktrace... answers
  `context_string` / `context_long`  the other Python-answered tapset functions
  `state`                set it to STOPPING to end the session (target exited, -c command done)
The engine can also read `self.ctx` (the abi.Context), `self.compiled.probes` (ProbeInfo: family,
params, location) and `self.compiled.exctable`.
"""
from __future__ import annotations

import ctypes
import itertools
import os
import signal
import sys
import time

from stapy.codegen import abi
from stapy.runtime.native.helpers import OUT_ROTATE_WORD
from stapy.runtime import procinfo

STARTING, RUNNING, STOPPING, ERROR = "starting", "running", "stopping", "error"

_LOAD_NAMES = itertools.count()

HANDLER = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p)
WARN_CB = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_char_p)
EXECNAME_CB = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)
CTIME_CB = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int64)
PY_STR_CB = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int64, ctypes.c_char_p, ctypes.c_void_p)
PY_LONG_CB = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int64, ctypes.c_char_p)
PY_STR_STATUS_CB = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int64, ctypes.c_char_p,
                                    ctypes.c_void_p)
READ_USER = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p, ctypes.c_int64)


class SessionStartFailed(Exception):
    """stapy_init refused to start (a histogram shape stap's runtime rejects)."""


ROTATE_CB = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64)


class RotatingOutput:
    """-S size[,N] with -o FILE, as staprun does it (common.c parse_args, relay.c open/switch_outfile).

    Files are FILE.0, FILE.1 ... (FILE through strftime at each opening).  Before a chunk of n bytes
    is written, a file that would pass size MiB is closed and the next one opened (so a chunk is never
    split); with N, opening file k removes file k-N, so at most N files remain.
    switch_file() (SIGUSR2) closes the file before the next chunk and opens the next one; that is
    also how plain -o FILE (spec "", no size) moves on from FILE to FILE.1, FILE.2 ...
    """

    def __init__(self, pattern: str, spec: str):
        size, _, count = spec.partition(",")
        self.pattern = pattern
        self.fsize_max = int(size or 0) << 20
        self.switches = 0  # switch_file() requests not yet served
        self.fnum_max = int(count or 0)
        self.fnum = 0
        self.wsize = 0
        self.names: dict[int, str] = {}
        self.fd = self._open(0)
        self.callback = ROTATE_CB(self._before_write)

    def _open(self, fnum: int) -> int:
        if self.fnum_max and fnum >= self.fnum_max:
            old = self.names.pop(fnum - self.fnum_max, None)
            if old is not None:
                try:
                    os.remove(old)  # staprun: "don't care"
                except OSError:
                    pass
        name = f"{time.strftime(self.pattern)}.{fnum}"
        if self.pattern == "/dev/null" or (fnum == 0 and not self.fsize_max and not self.fnum_max):
            name = time.strftime(self.pattern)  # staprun's stream mode: -o FILE without -S
        self.names[fnum] = name
        return os.open(name, os.O_CREAT | os.O_TRUNC | os.O_WRONLY | os.O_CLOEXEC, 0o666)

    def _before_write(self, n: int) -> int:
        if (self.fsize_max and self.wsize + n > self.fsize_max) or self.switches:
            self.switches = 0
            os.close(self.fd)
            self.fnum += 1
            self.fd = self._open(self.fnum)
            self.wsize = 0
        self.wsize += n
        return self.fd

    def fileno(self) -> int:
        return self.fd

    def flush(self) -> None:
        pass

    def close(self) -> None:
        os.close(self.fd)


INIT_WARNINGS = {
    1: "histogram: interval cannot be zero.",
    2: "histogram: Number of buckets must be between 1 and 126\nNumber_of_buckets = (stop - start) / interval.\n"
       "Please adjust your start, stop, and interval values.",
}


class UserFault(Exception):
    """A tracee read failed inside a runner service; the message is stap's."""

_TIMER_UNITS_NS = {"s": 1_000_000_000, "sec": 1_000_000_000, "ms": 1_000_000, "msec": 1_000_000, "us": 1_000,
                   "usec": 1_000, "ns": 1, "nsec": 1}


def timer_period_ns(params: dict) -> tuple[int, int]:
    """(period, randomize) in ns of a timer probe's params."""
    if params.get("period_ns"):
        return int(params["period_ns"]), int(params.get("randomize_ns", 0) or 0)
    unit = params.get("unit", "ms")
    value = int(params.get("value", 1))
    if unit == "hz":
        return 1_000_000_000 // max(value, 1), 0
    if unit == "jiffies":
        scale = 10_000_000  # HZ=100
    else:
        scale = _TIMER_UNITS_NS.get(unit, 1_000_000)
    return value * scale, int(params.get("randomize", 0) or 0) * scale


class Runner:
    def __init__(self, compiled, options, stdout, stderr):
        self.compiled = compiled
        self.options = options
        self.stdout = stdout
        self.stderr = stderr
        self.state = STARTING
        self.errors = 0
        self.skipped = 0
        self.had_error = False
        self.event_sources: list = []
        self.hits: dict[int, list] = {}
        self._warned: set = set()
        self._stop_signal = None
        self._keep = []  # ctypes callbacks and buffers that must outlive the engine

    # -- hooks for the engine room ------------------------------------------------
    def before_begin(self) -> None:
        """Before the begin probes (-c forks its command here, so target() is set in them)."""

    def arm_targets(self) -> None:
        pass

    def disarm_targets(self) -> None:
        pass

    # -- loading ---------------------------------------------------------------------
    def load(self) -> None:
        """dlopen a private copy of the program's shared object and fill in its callback slots.

        A private copy, because the same script may run twice in one process
        (tests, the REPL) and each run must start from fresh globals.
        """
        with open(self.compiled.library_path, "rb") as f:
            data = f.read()
        fd, private = self._private_file()
        try:
            os.write(fd, data)
            os.close(fd)
            self.lib = ctypes.CDLL(private, mode=os.RTLD_NOW | os.RTLD_LOCAL)
        finally:
            os.unlink(private)
        self._register_callbacks()

        def addr(name: str) -> int:
            return ctypes.cast(getattr(self.lib, name), ctypes.c_void_p).value

        self._init = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_int64)(addr("stapy_init"))
        self._flush = ctypes.CFUNCTYPE(ctypes.c_int64)(addr("stapy_flush"))
        self.handlers = {p.index: HANDLER(addr(p.handler)) for p in self.compiled.probes}
        self.handler_addresses = {p.index: addr(p.handler) for p in self.compiled.probes}
        if self.options.target_pid:
            self.set_target(self.options.target_pid)
        self._setup_context()

    def _private_file(self) -> tuple[int, str]:
        """A new file next to the cached library (or in the temp dir when that is not writable)."""
        dirs = [os.path.dirname(self.compiled.library_path), os.environ.get("TMPDIR") or "/tmp"]
        for d in dirs:
            # names are never reused in a process: dlopen would hand back the library loaded under it before
            for n in _LOAD_NAMES:
                path = os.path.join(d, f".stapy-load-{os.getpid()}-{n}.so")
                try:
                    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o700), path
                except FileExistsError:
                    continue
                except OSError:
                    break
        raise OSError("no writable directory to load the compiled script from")

    def set_target(self, pid: int) -> None:
        """What target() returns (-x PID, or the -c command's pid once it exists)."""
        ctypes.c_int64.in_dll(self.lib, "stapy_target").value = int(pid)

    def handler(self, index: int) -> int:
        return self.handler_addresses[index]

    def _register_callbacks(self) -> None:
        def warn(ctx, msg):
            self.warning(msg.decode("utf-8", "replace") if msg else "")

        def execname(ctx, dst):
            c = abi.Context.from_address(ctx)
            pid = c.pid or os.getpid()
            try:
                with open(f"/proc/{pid}/comm", "rb") as f:
                    name = f.read().strip()[:15]
            except OSError:
                name = b""
            ctypes.memmove(dst, name + b"\0", len(name) + 1)

        def system(ctx, cmd):
            self._pending_system.append(cmd.decode("utf-8", "replace"))

        def ctime_cb(dst, secs):
            try:
                text = time.strftime("%a %b %e %H:%M:%S %Y", time.gmtime(secs)).encode()
            except (OverflowError, ValueError, OSError):
                text = b"<invalid time>"
            ctypes.memmove(dst, text + b"\0", len(text) + 1)

        def py_str(ctx, name, n, sv, dst):
            try:
                text = self.context_string(abi.Context.from_address(ctx), name.decode(), n,
                                           sv.decode("utf-8", "surrogateescape") if sv else "")
            except Exception:  # a handler must never see a Python exception
                text = ""
            data = text.encode("utf-8", "surrogateescape")[: self.compiled.limits.MAXSTRINGLEN - 1]
            ctypes.memmove(dst, data + b"\0", len(data) + 1)

        def py_long(ctx, name, n, sv):
            try:
                return int(self.context_long(abi.Context.from_address(ctx), name.decode(), n,
                                             sv.decode("utf-8", "surrogateescape") if sv else ""))
            except Exception:
                return 0

        def py_str_status(ctx, name, n, sv, dst):
            limit = self.compiled.limits.MAXSTRINGLEN - 1
            try:
                text = self.context_string_checked(abi.Context.from_address(ctx), name.decode(), n,
                                                   sv.decode("utf-8", "surrogateescape") if sv else "")
            except UserFault as fault:
                msg = str(fault).encode()[:limit]
                ctypes.memmove(self.errmsg, msg + b"\0", len(msg) + 1)
                return 1
            except Exception:
                text = ""
            data = text.encode("utf-8", "surrogateescape")[:limit]
            ctypes.memmove(dst, data + b"\0", len(data) + 1)
            return 0

        self._pending_system: list[str] = []
        self._stopwatches: dict[str, list] = {}
        self._indent: dict[int, list] = {}
        cbs = {"stapy_py_warn": WARN_CB(warn), "stapy_py_execname": EXECNAME_CB(execname),
               "stapy_py_system": WARN_CB(system), "stapy_py_ctime": CTIME_CB(ctime_cb),
               "stapy_py_str": PY_STR_CB(py_str), "stapy_py_long": PY_LONG_CB(py_long),
               "stapy_py_str_status": PY_STR_STATUS_CB(py_str_status)}
        for name, cb in cbs.items():
            ctypes.c_void_p.in_dll(self.lib, name).value = ctypes.cast(cb, ctypes.c_void_p).value
            self._keep.append(cb)

    # -- context answered in Python (rare calls; the tracee's /proc, or stapy's own) ------------
    @staticmethod
    def _proc(pid: int, what: str) -> bytes:
        try:
            with open(f"/proc/{pid or 'self'}/{what}", "rb") as f:
                return f.read()
        except OSError:
            return b""

    def _comm(self, pid) -> str:
        return self._proc(pid, "comm").strip()[:15].decode("utf-8", "replace")

    def symbol_string(self, ctx, name: str, n: int, sv: str) -> str:
        """Symbols and backtraces (ucontext*.stp).  The engine overrides this; here there is no tracee.

        stap's answers for a probe without user registers: addresses print as
        `0x<hex>`, backtraces are empty, and the print_ubacktrace family says
        `<no user backtrace at PP>`.
        """
        if name.startswith("print_ubacktrace"):
            return f"<no user backtrace at {self.current_probe.location}>\n"
        if name in ("usymname", "usymdata", "usymfileline"):
            return f"0x{n & 0xFFFFFFFFFFFFFFFF:x}"
        if name == "umodname":
            return "<unknown>"
        return ""

    def context_string(self, ctx, name: str, n: int, sv: str) -> str:
        if name.startswith("proc:"):  # the task tapsets' /proc services (stapy.runtime.procinfo)
            return procinfo.context_string(ctx, name[5:], n, sv) or ""
        if name in ("usymname", "usymdata", "umodname", "usymfileline", "ucallers", "ubacktrace",
                    "sprint_ubacktrace", "print_ubacktrace", "print_ubacktrace_brief", "print_ubacktrace_fileline",
                    "print_usyms"):
            return self.symbol_string(ctx, name, n, sv)
        pid = ctx.pid
        if name == "pexecname":
            stat = self._proc(pid, "stat").decode("utf-8", "replace")
            ppid = int(stat.rsplit(")", 1)[1].split()[1]) if ")" in stat else 0
            return self._comm(ppid)
        if name in ("cmdline_str", "cmdline_arg"):
            args = [a.decode("utf-8", "surrogateescape") for a in self._proc(pid, "cmdline").split(b"\0")[:-1]]
            if name == "cmdline_str":
                return " ".join(args)
            return args[n] if 0 <= n < len(args) else ""
        if name == "env_var":
            for item in self._proc(pid, "environ").split(b"\0"):
                k, _, v = item.partition(b"=")
                if k.decode("utf-8", "surrogateescape") == sv:
                    return v.decode("utf-8", "surrogateescape")
            return ""
        if name == "thread_indent":
            # tapset/indent.stp's _generic_indent, keyed by tid: "%6d %s:%-*s"
            tid = ctx.tid or (ctx.pid and ctx.pid) or os.getpid()
            now = time.monotonic_ns() // 1000
            rec = self._indent.get(tid)
            if rec is None or rec[0] == 0:
                rec = [0, now]
                self._indent[tid] = rec
            x = rec[0] + (n if n > 0 else 0)
            rec[0] += n
            desc = f"{self._comm(ctx.pid)}({tid})"
            return "%6d %s:%-*s" % (now - rec[1], desc, x - 1 if x > 0 else 0, "")
        return ""

    def read_user(self, ctx, addr: int, n: int) -> bytes | None:
        """n bytes of tracee memory through the engine's guarded ctx->read_user, or None on a fault."""
        if not ctx.read_user or addr == 0:
            return None
        buf = ctypes.create_string_buffer(n)
        got = READ_USER(ctx.read_user)(ctypes.addressof(ctx), addr, buf, n)
        return buf.raw[:n] if got == n else None

    def context_string_checked(self, ctx, name: str, n: int, sv: str) -> str:
        """Services that can fail: raise UserFault with stap's message."""
        if name.startswith("proc:"):
            return procinfo.context_string_checked(ctx, name[5:], n, sv, UserFault) or ""
        if name in ("user_string_utf16", "user_string_utf32"):
            # uconversions.stp: read units until 0, combine surrogate pairs, encode as UTF-8
            width = 2 if name.endswith("16") else 4
            out = bytearray()
            room = self.compiled.limits.MAXSTRINGLEN - 1
            at = n
            while True:
                raw = self.read_user(ctx, at, width)
                if raw is None:
                    raise UserFault(f"user string copy fault at 0x{at & 0xFFFFFFFFFFFFFFFF:x} [man error::fault]")
                c = int.from_bytes(raw, "little")
                if c == 0:
                    break
                if width == 2 and 0xD800 <= c <= 0xDBFF:
                    low = self.read_user(ctx, at + 2, 2)
                    lo = int.from_bytes(low, "little") if low is not None else 0
                    if 0xDC00 <= lo <= 0xDFFF:
                        c = 0x10000 + ((c & 0x3FF) << 10) + (lo & 0x3FF)
                        at += 2
                if 0xD800 <= c <= 0xDFFF or c > 0x10FFFF:
                    kind = "UTF-16" if width == 2 else "UTF-32"
                    raise UserFault(f"invalid {kind} character U+{c:X} at 0x{at:x}")
                enc = chr(c).encode("utf-8")
                if len(out) + len(enc) > room:
                    break
                out += enc
                at += width
            return out.decode("utf-8", "surrogateescape")
        if name == "umodname":  # no tracee here: _stp_umod_lookup finds nothing
            raise UserFault("module cannot be found")
        if name == "ucallers":
            return self.symbol_string(ctx, name, n, sv)
        return ""

    def context_long(self, ctx, name: str, n: int, sv: str) -> int:
        if name == "_caller_match":  # context-caller.stp, for .callee probes (codegen packs level and addr)
            return self.caller_match(ctx, (n >> 56) & 0xFF, n & ((1 << 56) - 1), sv)
        if name.startswith("proc:"):
            return procinfo.context_long(ctx, name[5:], n, sv) or 0
        if name == "__tvar_module_bias":  # stapy.codegen.lower_target: @var in another module than the probe's
            from stapy.debuginfo import elf

            bias = elf.load_bias(ctx.pid, sv) if ctx.pid else None
            return -1 if bias is None else bias
        if "stopwatch" in name:
            now = time.monotonic_ns()
            sw = self._stopwatches.get(sv)
            if name == "start_stopwatch":
                if sw is None:
                    self._stopwatches[sv] = [0, now]
                elif sw[1] is None:
                    sw[1] = now
                return 0
            if name == "stop_stopwatch":
                if sw is not None and sw[1] is not None:
                    sw[0] += now - sw[1]
                    sw[1] = None
                return 0
            if name == "delete_stopwatch":
                self._stopwatches.pop(sv, None)
                return 0
            if sw is None:
                return 0
            total = sw[0] + (now - sw[1] if sw[1] is not None else 0)
            div = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}[name.rsplit("_", 1)[1]]
            return total // div
        return 0

    def caller_match(self, ctx, level: int, addr: int, module: str) -> int:
        """stap's _caller_match: 1 when frame `level` of the user stack is `addr` of `module` relocated
        into the traced process (frames as ustack() counts them: 0 is the probed pc)."""
        from stapy.debuginfo import elf

        frames_of = getattr(self, "_frames", None)
        if frames_of is None or not ctx.pid:
            return 0
        frames = frames_of(ctx)
        if level >= len(frames):
            return 0
        bias = elf.load_bias(ctx.pid, module)
        return int(bias is not None and frames[level] == addr + bias)

    def _setup_context(self) -> None:
        L = self.compiled.limits.MAXSTRINGLEN
        self.errmsg = ctypes.create_string_buffer(L)
        self.call_sites = (ctypes.c_int64 * (self.compiled.maxnesting + 2))()
        self.ctx = abi.Context()
        self.ctx.errmsg = ctypes.cast(self.errmsg, ctypes.c_void_p)
        self.ctx.last_error = self.ctx.errmsg
        self.ctx.call_sites = ctypes.cast(self.call_sites, ctypes.c_void_p)
        self.ctx_ptr = ctypes.addressof(self.ctx)

    # -- output --------------------------------------------------------------------------
    def open_output(self) -> None:
        self._capture = None
        self._out_file = None
        size_spec = getattr(self.options, "output_size", None)
        if size_spec and not self.options.output_file:
            raise SessionStartFailed("-S")
        if size_spec:
            self._out_file = RotatingOutput(self.options.output_file, size_spec)
            fd = self._out_file.fileno()
        elif self.options.output_file:  # a RotatingOutput without a size, for switch_file()
            self._out_file = RotatingOutput(self.options.output_file, "")
            fd = self._out_file.fileno()
        else:
            fd = None
            try:
                fd = self.stdout.fileno()
                self.stdout.flush()
            except (AttributeError, OSError, ValueError):
                fd = None
            if fd is None:
                import tempfile

                self._capture = tempfile.TemporaryFile()
                fd = self._capture.fileno()
        rc = self._init(fd)
        if rc:
            raise SessionStartFailed(rc)
        if isinstance(self._out_file, RotatingOutput):
            out = ctypes.cast(getattr(self.lib, "stapy_out"), ctypes.c_void_p).value
            ctypes.c_int64.from_address(out + 8 * OUT_ROTATE_WORD).value = \
                ctypes.cast(self._out_file.callback, ctypes.c_void_p).value

    def flush(self) -> None:
        self._flush()
        if self._capture is not None:
            self._capture.seek(0)
            data = self._capture.read()
            self._capture.seek(0)
            self._capture.truncate()
            if data:
                self.stdout.write(data.decode("utf-8", "replace"))
        if self._out_file is not None:
            self._out_file.flush()

    def _on_switch_file(self, signum, frame) -> None:
        if isinstance(self._out_file, RotatingOutput):
            self._out_file.switches += 1

    def close_output(self) -> None:
        self.flush()
        if self._out_file is not None:
            self._out_file.close()
        if self._capture is not None:
            self._capture.close()

    # -- messages ------------------------------------------------------------------------------
    def warning(self, text: str) -> None:
        if text in self._warned and not self.options.verbose:
            return
        self._warned.add(text)
        self.stderr.write(f"WARNING: {text}\n")

    def error_text(self, probe) -> str:
        msg = self.errmsg.value.decode("utf-8", "replace")
        table = self.compiled.exctable
        site = table.get(self.ctx.error_site)
        if site is None or not site.token:
            return msg
        parts = [f"{msg} near {site.token}"]
        depth = self.ctx.error_depth
        for level in range(min(depth, len(self.call_sites)) - 1, -1, -1):
            caller = table.get(self.call_sites[level])
            if caller is not None and caller.token:
                parts.append(f" (called from {caller.token})")
        parts.append(f" in probe {probe.location}")
        return "".join(parts)

    # -- running one handler --------------------------------------------------------------------
    def run_probe(self, probe, setup=None) -> int:
        """Run one probe's handler under stap's rules; returns its status."""
        ctx = self.ctx
        self.current_probe = probe
        ctx.probe_index = probe.index
        ctx.error_site = 0
        ctx.error_depth = 0
        ctx.nesting = 0
        ctx.exit_requested = 0
        ctx.actions = self.compiled.limits.MAXACTION_INTERRUPTIBLE
        self.errmsg[0] = b"\0"
        if setup is not None:
            setup(ctx)
        t0 = time.perf_counter_ns() if self.options.timing else 0
        status = self.handlers[probe.index](self.ctx_ptr)
        if self.options.timing:
            rec = self.hits.setdefault(probe.index, [0, 0, None, 0, 0])
            dt = time.perf_counter_ns() - t0
            rec[0] += 1
            rec[1] += dt
            rec[2] = dt if rec[2] is None else min(rec[2], dt)
            rec[3] = max(rec[3], dt)
            rec[4] += dt * dt
        self.after_handler(probe, status)
        return status

    def after_handler(self, probe, status: int) -> None:
        """stap's rules after one handler ran (the engine calls this when it runs handlers itself):
        an error is reported and counted, exit()/abort() stop the session, system() commands run."""
        if status == abi.STATUS_ERROR:
            self.handler_error(probe)
        if self.ctx.exit_requested and self.state in (STARTING, RUNNING):
            self.state = STOPPING
        while self._pending_system:
            self.flush()
            cmd = self._pending_system.pop(0)
            import subprocess

            subprocess.run(["/bin/sh", "-c", cmd])

    def pending_work(self) -> bool:
        return bool(self._pending_system)

    def handler_error(self, probe) -> None:
        self.errors += 1
        if self.options.suppress_handler_errors:
            return
        self.had_error = True
        self.flush()
        self.stderr.write(f"ERROR: {self.error_text(probe)}\n")
        if self.errors > self.compiled.limits.MAXERRORS:
            self.state = ERROR

    def probes_of(self, family: str) -> list:
        ps = [p for p in self.compiled.probes if p.family == family]
        return sorted(ps, key=lambda p: (p.params.get("sequence", 0), p.index))

    # -- the session ------------------------------------------------------------------------------
    def _on_signal(self, signum, frame) -> None:
        self._stop_signal = signum
        if self.state in (STARTING, RUNNING):
            self.state = STOPPING

    def internal_error(self, e: BaseException) -> None:
        """A bug in stapy during the run: one ERROR line, then the error state, so the targets are
        detached, output flushed and error probes run, like any other way out [ENGINE.md]."""
        from stapy.diagnostics import internal_error_line

        self.flush()
        self.stderr.write(internal_error_line(e) + "\n")
        self.errors += 1
        self.had_error = True
        self.state = ERROR

    @staticmethod
    def _inject_fault(point: str) -> None:
        """Test hook: STAPY_INJECT_FAULT=<point> raises a fake internal error there, so the tests can
        check that a stapy bug still leaves every tracee as found."""
        if os.environ.get("STAPY_INJECT_FAULT") == point:
            raise RuntimeError(f"injected fault at {point}")

    def run(self) -> int:
        self.load()
        try:
            self.open_output()
        except SessionStartFailed as failed:
            from stapy.session import pass_failed

            if failed.args[0] == "-S":  # staprun's parse_args
                self.stderr.write("ERROR: You have to specify output FILE with '-S' option.\n")
            else:
                self.stderr.write(f"WARNING: {INIT_WARNINGS.get(failed.args[0], 'the session could not start')}\n")
            self.stderr.write(pass_failed(5) + "\n")
            return 1
        old = {}
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # staprun's interrupt_handler set
            try:
                old[s] = signal.signal(s, self._on_signal)
            except ValueError:  # not the main thread
                pass
        try:  # switch_file(): staprun's switchfile_handler; ignored without -o
            old[signal.SIGUSR2] = signal.signal(signal.SIGUSR2, self._on_switch_file)
        except ValueError:
            pass
        try:
            self.before_begin()
            for p in self.probes_of("begin"):
                if self.state != STARTING:
                    break
                self.run_probe(p)
            if self.state == STARTING:
                self.state = RUNNING
                try:
                    self.arm_targets()
                    self._inject_fault("event_loop")
                    self.event_loop()
                except Exception as e:  # a bug in stapy: say so, then leave as stap leaves on an error
                    self.internal_error(e)
            self.disarm_targets()
            if self.state != ERROR:
                self.state = STOPPING
                for p in self.probes_of("end"):
                    self.run_probe(p)
                    if self.state == ERROR:
                        break
            if self.state == ERROR:
                for p in self.probes_of("error"):
                    self.run_probe(p)
            if self.options.timing:
                self.timing_report()
        finally:
            self.close_output()
            for s, h in old.items():
                signal.signal(s, h)
        if self.errors or self.skipped:
            self.stderr.write(f"WARNING: Number of errors: {self.errors}, skipped probes: {self.skipped}\n")
        if self.had_error:
            from stapy.session import pass_failed

            self.stderr.write(pass_failed(5) + "\n")
            return 1
        return 0

    def event_loop(self) -> None:
        timers = []
        now = time.monotonic_ns()
        for p in self.probes_of("timer"):
            period, rnd = timer_period_ns(p.params)
            timers.append([now + self._jitter(period, rnd), period, rnd, p])
        deadline = None
        if self.options.timeout:
            deadline = now + int(self.options.timeout * 1_000_000_000)
        while self.state == RUNNING:
            now = time.monotonic_ns()
            if deadline is not None and now >= deadline:
                self.state = STOPPING
                break
            due = [t for t in timers if t[0] <= now]
            for t in sorted(due, key=lambda t: (t[0], t[3].index)):
                if self.state != RUNNING:
                    break
                self.run_probe(t[3])
                t[0] += self._jitter(t[1], t[2])
                if t[0] <= now:  # we fell behind: do not burst
                    t[0] = now + t[1]
            if self.state != RUNNING:
                break
            wake = [t[0] for t in timers]
            if deadline is not None:
                wake.append(deadline)
            wait = (min(wake) - time.monotonic_ns()) / 1e9 if wake else 0.05
            wait = max(0.0, min(wait, 0.05))
            for src in self.event_sources:
                src.poll(wait)
                wait = 0
            if wait > 0:
                time.sleep(wait)
            self.flush_periodically()  # staprun drains the buffers while the session runs, even one without events

    def flush_periodically(self) -> None:
        now = time.monotonic()
        if now - getattr(self, "_last_flush", 0) > 0.2:
            self._last_flush = now
            self.flush()

    @staticmethod
    def _jitter(period: int, rnd: int) -> int:
        if rnd:
            import random

            return max(1, period + random.randint(-rnd, rnd))
        return period

    def write_output(self, text: str) -> None:
        """Text the runtime itself prints to the script's output (after what handlers wrote)."""
        self._flush()
        data = text.encode("utf-8", "surrogateescape")
        if self._capture is not None:
            self._capture.write(data)
        elif self._out_file is not None:
            self._out_file.write(data)
        else:
            os.write(self.stdout.fileno(), data)

    def timing_report(self) -> None:
        """stap -t: translate.cxx's probe hit report, in nsecs as stap's user-space runtimes print it."""
        lines = ["----- probe hit report: \n"]
        for p in self.compiled.probes:
            rec = self.hits.get(p.index)
            if not rec or not rec[0]:
                continue
            n, total, lo, hi, sq = rec
            avg = total // n
            variance = (sq - n * avg * avg) // (n - 1) if n > 1 else 0
            lines.append(f"{p.location}, ({p.source_location}), hits: {n}, nsecs: {lo}min/{avg}avg/{hi}max, "
                         f"variance: {max(variance, 0)},{p.derivation}, index: {p.index}\n")
        self.write_output("".join(lines))


def run_program(compiled, options, stdout=None, stderr=None) -> int:
    from stapy.runtime.targets import TargetRunner, uses_targets

    runner = TargetRunner if uses_targets(compiled, options) else Runner
    return runner(compiled, options, stdout or sys.stdout, stderr or sys.stderr).run()
