"""Probe-point families: how one concrete probe point becomes a derived probe.

A family is registered under its first component (`begin`, `timer`,
`process`...).  Given a probe point whose first component names it, the
family checks the rest and returns `Resolved` values, or raises
`ProbePointError` with stap's text.  User-space families (`process...`)
delegate to a resolver that the debuginfo room installs with
`register_process_resolver`; until then they fail with stap's `no match`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

from stapy.parser import ast
from stapy.diagnostics import Token
from stapy.semantic.suggest import similar


class ProbePointError(Exception):
    """A probe point that cannot be resolved; `token` may be None (then only the message prints)."""

    def __init__(self, message: str, token: Optional[Token] = None, key: str | None = None):
        super().__init__(message)
        self.message = message
        self.token = token
        self.key = key or message.split("(")[0]


@dataclass
class Resolved:
    """One concrete probe: `family` and `params` as in program.DerivedProbe.

    `components` are the probe point's components as pp() shows them (wildcards
    and relative paths resolved); `comment` is extra -p2 text such as
    ' /* pc=.dynamic+0x1143 */'.
    """

    family: str
    params: dict = field(default_factory=dict)
    components: Optional[list] = None
    comment: str = ""
    warnings: list = field(default_factory=list)  # pass-2 warnings stap prints while resolving it


def _arg_value(comp: ast.ProbePointComponent):
    a = comp.arg
    if a is None:
        return None
    if isinstance(a, ast.NumberLit):
        return a.value
    if isinstance(a, ast.StringLit):
        return a.value
    if isinstance(a, ast.Unary) and a.op == "-" and isinstance(a.operand, ast.NumberLit):
        return -a.operand.value
    return a


_ROOTS = None


def stap48_probe_roots() -> set:
    """The probe-point roots 4.8's suggestions draw on (data file stap48_probe_roots.txt)."""
    global _ROOTS
    if _ROOTS is None:
        import os
        with open(os.path.join(os.path.dirname(__file__), "stap48_probe_roots.txt")) as f:
            _ROOTS = {ln.strip() for ln in f if ln.strip() and not ln.startswith("#")}
    return _ROOTS


def root_choices() -> set:
    return set(FAMILY_NAMES()) | stap48_probe_roots()


def _mismatch(comp: ast.ProbePointComponent, choices) -> ProbePointError:
    return ProbePointError("probe point mismatch" + similar(comp.functor, choices), comp.tok,
                           key="probe point mismatch")


def _no_suffix(point: ast.ProbePoint, n: int) -> None:
    if len(point.components) > n:
        extra = point.components[n]
        raise ProbePointError("invalid suffix for probe", extra.tok, key="invalid suffix")


class Family:
    name = ""

    def resolve(self, point: ast.ProbePoint, options) -> list[Resolved]:
        raise NotImplementedError


class SequencedFamily(Family):
    """begin / end / error [(N)] and never."""

    def __init__(self, name: str, takes_sequence: bool = True):
        self.name = name
        self.takes_sequence = takes_sequence

    def resolve(self, point, options):
        head = point.components[0]
        v = _arg_value(head)
        if v is not None and (not self.takes_sequence or not isinstance(v, int)):
            raise _mismatch(head, root_choices())
        _no_suffix(point, 1)
        return [Resolved(self.name, {"sequence": v or 0})]


TIMER_UNITS = {"s": 1_000_000_000, "sec": 1_000_000_000, "ms": 1_000_000, "msec": 1_000_000,
               "us": 1_000, "usec": 1_000, "ns": 1, "nsec": 1}
JIFFY_HZ = 250  # stapy's notion of the kernel tick for timer.jiffies (CONFIG_HZ=250)
MIN_NS = 100_000
MAX_NS = 1_000_000_000 * 60 * 60 * 24


class TimerFamily(Family):
    """timer.{s,sec,ms,msec,us,usec,ns,nsec}(N)[.randomize(M)], timer.hz(N), timer.jiffies(N)[.randomize(M)]."""

    name = "timer"

    def _expand(self, point, options, unit_c, choices) -> list[Resolved]:
        """`timer.*(100)`: every unit the pattern names that accepts the rest of the point, each
        a probe of its own under its concrete name (stap's match_node wildcard walk)."""
        import fnmatch

        out = []
        for unit in sorted(u for u in choices if u != "profile" and fnmatch.fnmatchcase(u, unit_c.functor)):
            comps = list(point.components)
            comps[1] = ast.ProbePointComponent(unit, unit_c.arg, tok=unit_c.tok)
            concrete = ast.ProbePoint(comps, point.optional, point.sufficient, point.condition, point.tok)
            try:
                for r in self.resolve(concrete, options):
                    if r.components is None:
                        r.components = comps
                    out.append(r)
            except ProbePointError:
                continue
        if not out:
            raise _mismatch(unit_c, choices)
        return out

    def resolve(self, point, options):
        comps = point.components
        if comps[0].arg is not None:
            raise _mismatch(comps[0], root_choices())
        if len(comps) < 2:
            follow = " hz(number) jiffies(number) ms(number) msec(number) ns(number) nsec(number) profile" \
                     " s(number) sec(number) us(number) usec(number)"
            raise ProbePointError(f"probe point truncated (follow: {follow})", comps[0].tok, key="truncated")
        unit_c = comps[1]
        unit = unit_c.functor
        choices = list(TIMER_UNITS) + ["hz", "jiffies", "profile"]
        if any(ch in unit for ch in "*?["):
            return self._expand(point, options, unit_c, choices)
        if unit == "profile":
            raise ProbePointError("kernel probes are not supported by stapy", unit_c.tok)
        value = _arg_value(unit_c)
        if unit not in choices or not isinstance(value, int):
            raise _mismatch(unit_c, choices)
        rand = 0
        n = 2
        if len(comps) > 2 and comps[2].functor == "randomize" and unit != "hz":
            rand = _arg_value(comps[2])
            if not isinstance(rand, int):
                raise _mismatch(comps[2], ["randomize"])
            n = 3
        _no_suffix(point, n)
        params = {"unit": unit, "value": value, "randomize": rand}
        if unit == "jiffies":
            if value <= 0 or value > 1_000_000:
                raise ProbePointError("invalid interval for jiffies timer")
            if rand < 0 or rand > value:
                raise ProbePointError("invalid randomize for jiffies timer")
            tick = 1_000_000_000 // JIFFY_HZ
            params.update(period_ns=value * tick, randomize_ns=rand * tick)
            return [Resolved("timer", params)]
        if unit == "hz":
            if value <= 0:
                raise ProbePointError("frequency must be greater than 0")
            period, scale = (1_000_000_000 + value - 1) // value, 1
        else:
            scale = TIMER_UNITS[unit]
            period, rand = value * scale, rand * scale
        if period < MIN_NS or period > MAX_NS:
            low = MIN_NS // scale if scale < MIN_NS else 1
            raise ProbePointError(f"interval value out of range ({low}, {MAX_NS // scale})")
        if rand < 0 or rand > period:
            raise ProbePointError("randomization value out of range")
        params.update(period_ns=period, randomize_ns=rand)
        return [Resolved("timer", params)]


# ----------------------------------------------------------- user-space families

ProcessResolver = Callable[[ast.ProbePoint, object], list]
_process_resolver: Optional[ProcessResolver] = None

#: the user-space probe families (pass-2 family names, see program.DerivedProbe)
PROCESS_FAMILIES = (
    "process.begin", "process.end", "process.thread.begin", "process.thread.end",
    "process.syscall", "process.syscall.return",
    "process.function", "process.function.call", "process.function.inline",
    "process.function.exported", "process.function.return",
    "process.function.label", "process.function.callee", "process.function.callees",
    "process.statement", "process.statement.nearest", "process.statement.absolute",
    "process.mark", "process.provider.mark", "process.plt", "process.plt.return",
    "process.library.function", "process.library.function.return", "process.library.mark",
    "process.library.plt", "process.library.statement",
)


def register_process_resolver(resolver: ProcessResolver) -> None:
    """Install the debuginfo room's resolver: `resolver(point, options) -> [Resolved]`.

    It receives the whole `process...` probe point (no alias or wildcard in
    its first component) and returns one Resolved per concrete probe (with
    `components` holding the resolved point, e.g. the absolute path and
    `function("add@/p.c:6")`), or raises ProbePointError (e.g. 'no match').
    """
    global _process_resolver
    _process_resolver = resolver


class ProcessFamily(Family):
    name = "process"

    def resolve(self, point, options):
        if _process_resolver is None:
            raise ProbePointError("no match", None, key="no match")
        return _process_resolver(point, options)


KERNEL_ROOTS = ("kernel", "module", "kprobe", "syscall", "nd_syscall", "tp_syscall", "netfilter",
                "perf", "procfs", "java", "python3", "hrtimer", "tracepoint", "netdev", "ioblock",
                "scheduler", "vfs", "nfs", "nfsd", "signal", "socket", "tcp", "udp", "irq_handler",
                "softirq", "workqueue", "memory", "vm", "generic", "init")


class KernelFamily(Family):
    def __init__(self, name):
        self.name = name

    def resolve(self, point, options):
        raise ProbePointError("kernel probes are not supported by stapy", None, key="kernel")


_FAMILIES: dict[str, Family] = {}


def register_family(family: Family) -> None:
    _FAMILIES[family.name] = family


def family(name: str) -> Optional[Family]:
    return _FAMILIES.get(name)


def FAMILY_NAMES() -> list:
    return sorted(n for n, f in _FAMILIES.items() if not isinstance(f, KernelFamily))


for _n in ("begin", "end", "error"):
    register_family(SequencedFamily(_n))
register_family(SequencedFamily("never", takes_sequence=False))
register_family(TimerFamily())
register_family(ProcessFamily())
for _n in ("kernel", "module", "kprobe", "syscall", "nd_syscall", "tp_syscall", "netfilter", "perf",
           "procfs", "java", "python3", "kernel_v", "tracepoint"):
    register_family(KernelFamily(_n))

# The user-space families resolve through stapy.debuginfo; process_points registers that resolver.
from stapy.semantic import process_points as _process_points  # noqa: E402,F401
