"""build_runtime_module: every helper of HELPERS, emitted into one llvmlite.ir.Module."""
from __future__ import annotations

from llvmlite import ir

from stapy.runtime.native import fmt, maps, output, stats, strings
from stapy.runtime.native.helpers import FMT_SIGN, HELPERS
from stapy.runtime.native.irkit import I32, I64, PTR, TYPES, Fn, Lib, c64, ctx_field_offset
from stapy.runtime.native.limits import RuntimeLimits

FILES = [strings, fmt, output, stats, maps]


def build_runtime_module(limits: RuntimeLimits, allow_missing: bool = False) -> ir.Module:
    module = ir.Module(name="stapy_runtime")
    module.triple = "x86_64-unknown-linux-gnu"
    lib = Lib(module, limits)
    for h in HELPERS:  # declared first so any helper can call any other
        ir.Function(module, ir.FunctionType(TYPES[h.ret], [TYPES[a] for a in h.args]), h.name)
    _declare_internals(lib)
    _build_errors(lib)
    for part in FILES:
        part.build(lib)
    missing = [h.name for h in HELPERS if module.get_global(h.name).is_declaration]
    if missing and not allow_missing:
        raise AssertionError(f"runtime helpers without a body: {missing}")
    return module


def _declare_internals(lib):
    m = lib.module
    for name, ret, args in [
        ("stp_i_strnlen", I64, [PTR, I64]),
        ("stp_i_error", ir.VoidType(), [PTR, PTR]),
        ("stp_i_error_num", ir.VoidType(), [PTR, PTR, I64, I32, PTR]),
    ]:
        fn = ir.Function(m, ir.FunctionType(ret, args), name)
        fn.linkage = "internal"


def _build_errors(lib):
    """ctx->errmsg = message (cut to MAXSTRINGLEN-1); the _num form formats prefix NUMBER suffix."""
    m = lib.limits.maxstringlen
    off = ctx_field_offset("errmsg")

    def errmsg(f):
        """ctx->errmsg; a context without one (NULL) just loses the text."""
        buf = f.ld(PTR, f["ctx"], off)
        f.return_if(f.eq(f.b.ptrtoint(buf, I64), 0))
        return buf

    f = Fn(lib, "stp_i_error", "void", [PTR, PTR], ["ctx", "msg"])
    f.call("stp_str_copy", errmsg(f), f["msg"])
    f.finish()

    f = Fn(lib, "stp_i_error_num", "void", [PTR, PTR, I64, I32, PTR], ["ctx", "prefix", "num", "base", "suffix"])
    buf = errmsg(f)
    n = f.call("stp_fmt_lit", buf, c64(0), c64(m), f["prefix"], f.call("stp_strlen", f["prefix"]))
    flags = f.select(f.eq(f["base"], ir.Constant(I32, 10)), ir.Constant(I32, FMT_SIGN), ir.Constant(I32, 0))
    n = f.call("stp_fmt_num", buf, n, c64(m), f["num"], flags, c64(-1), c64(-1), f["base"])
    n = f.call("stp_fmt_lit", buf, n, c64(m), f["suffix"], f.call("stp_strlen", f["suffix"]))
    f.call("stp_fmt_finish", buf, n, c64(m))
    f.finish()
