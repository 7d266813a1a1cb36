"""Pass 3: the typed Program -> one LLVM IR module plus its exception table.

The module holds every probe handler (`stapy_probe_N`), the script
functions, the script globals, `stapy_init(out_fd)` (allocates maps, stats and
the output buffer), `stapy_flush()`, and the pp()/pn() tables.  Native runtime
helpers are declared, not defined: pass 5 links the module against
stapy.runtime.native's library.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from llvmlite import binding as llvm
from llvmlite import ir

from stapy.codegen.builtins import define_callback_slots, ppfunc_of, probe_type_of
from stapy.codegen.compiled import ProbeInfo  # noqa: F401  (re-exported)
from stapy.codegen.exctable import ExceptionTable
from stapy.codegen.irbuilder import I64, PTR, ModuleBuilder, c64
from stapy.codegen.lower_data import Globals
from stapy.codegen.lower_probe import Unit, handler_name
from stapy.diagnostics import Diagnostic, StapError


@dataclass
class Translated:
    module: ir.Module
    exctable: ExceptionTable
    probes: list  # list[ProbeInfo]
    limits: object  # semantic.program.Limits
    maxnesting: int
    warnings: int = 0  # how many warnings pass 2 printed (a cached run must not skip them)
    ir_text: str = ""
    extra: dict = field(default_factory=dict)


_llvm_ready = False


def init_llvm() -> None:
    global _llvm_ready
    if not _llvm_ready:
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        _llvm_ready = True


def _pp_table(mb: ModuleBuilder, name: str, texts: list) -> None:
    ty = ir.ArrayType(PTR, max(len(texts), 1))
    g = ir.GlobalVariable(mb.module, ty, name=name)
    g.global_constant = True
    consts = [mb.const_bytes(t.encode("utf-8", "surrogateescape")) for t in texts] or [ir.Constant(PTR, None)]
    g.initializer = ir.Constant(ty, consts)


def _note_histograms(program) -> None:
    """Make sure every statistic printed as a histogram has that histogram's shape recorded."""
    import dataclasses

    from stapy.parser import ast
    from stapy.semantic.program import STATS

    if not any(g.type == STATS and not g.histograms for g in program.globals):
        return

    def walk(node):
        if isinstance(node, list):
            for n in node:
                walk(n)
            return
        if not dataclasses.is_dataclass(node) or isinstance(node, type):
            return
        if isinstance(node, ast.HistOp):
            stat = node.stat.base if isinstance(node.stat, ast.ArrayIndex) else node.stat
            g = stat.referent if getattr(stat, "referent", None) is not None else program.global_(stat.name)
            if g is not None and not g.histograms:
                if node.kind == "log":
                    g.histograms.append(("log",))
                else:
                    g.histograms.append(("linear", *(p.value for p in node.params)))
        for f in dataclasses.fields(node):
            if f.name in ("tok", "referent", "type"):
                continue
            walk(getattr(node, f.name))

    for p in program.probes:
        walk(p.body)
    for f in program.functions:
        walk(f.body)


def translate(program, options) -> Translated:
    """Build the module (with the cyclic GC paused: it only rescans the many new, live IR objects)."""
    import gc

    paused = gc.isenabled()
    gc.disable()
    try:
        return _translate(program, options)
    finally:
        if paused:
            gc.enable()


def _translate(program, options) -> Translated:
    _note_histograms(program)
    limits = program.limits
    mb = ModuleBuilder("stapy_script", limits.MAXSTRINGLEN)
    globals_ = Globals(mb, program, options)
    define_callback_slots(mb.module)
    target = ir.GlobalVariable(mb.module, I64, name="stapy_target")
    target.initializer = c64(0)
    _pp_table(mb, "stapy_pp_table", [p.location for p in program.probes])
    _pp_table(mb, "stapy_pn_table", [p.point_name or p.location for p in program.probes])
    _pp_table(mb, "stapy_probe_type_table", [probe_type_of(p) for p in program.probes])
    _pp_table(mb, "stapy_ppfunc_table", [ppfunc_of(p.location) for p in program.probes])
    unit = Unit(mb, globals_, program, options)
    unit.declare_functions()
    for fdef in program.functions:
        if id(fdef) in unit.functions:
            unit.lower_function(fdef)
    probes = []
    for probe in program.probes:
        unit.lower_probe(probe)
        steps = [d.strip() for d in (probe.derivation or probe.point_name or probe.location).split(" <- ") if d.strip()]
        # pass 5 gets plain values only (cached as JSON): the debuginfo site stays in pass 3
        params = {k: v for k, v in probe.params.items() if k != "site"}
        probes.append(ProbeInfo(probe.index, probe.family, params, probe.location,
                                probe.point_name or probe.location, handler_name(probe),
                                probe.tok.describe() if probe.tok is not None else "",
                                probe.tok.location() if probe.tok is not None else "",
                                "".join(f" from: {d}" for d in steps)))
    globals_.build_init()
    globals_.build_flush()
    text = str(mb.module)
    init_llvm()
    try:
        ref = llvm.parse_assembly(text)
        ref.verify()
    except RuntimeError as e:  # a bug in stapy: say so in stap's pass-3 words
        raise StapError([Diagnostic("semantic error", f"stapy produced invalid IR: {e}")])
    return Translated(mb.module, mb.exctable, probes, limits, limits.MAXNESTING,
                      warnings=_printed_warnings(program), ir_text=text,
                      extra={"module_ref": ref, "embedded_c": unit.embedded.source() if unit.embedded.used else None})


def _printed_warnings(program) -> int:
    """Pass-2 diagnostics that a cached run would have to repeat (not -v's own summary line)."""
    return sum(1 for d in getattr(program, "warnings", []) or [] if getattr(d, "prefix", "x"))
