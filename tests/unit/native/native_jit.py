"""Test harness: compile the runtime module with llvmlite's MCJIT and call helpers through ctypes."""
from __future__ import annotations

import ctypes
import functools

import llvmlite.binding as llvm

from stapy.codegen.abi import Context
from stapy.runtime.native import HELPERS, RuntimeLimits
from stapy.runtime.native.module import build_runtime_module

CT = {"void": None, "i32": ctypes.c_int32, "i64": ctypes.c_int64, "ptr": ctypes.c_void_p}

_init = False


def _llvm():
    global _init
    if not _init:
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        _init = True


class Native:
    """The compiled library: attribute access gives a ctypes function per helper."""

    def __init__(self, limits: RuntimeLimits, allow_missing=False):
        _llvm()
        self.limits = limits
        self.module_ir = build_runtime_module(limits, allow_missing=allow_missing)
        mod = llvm.parse_assembly(str(self.module_ir))
        mod.verify()
        target = llvm.Target.from_default_triple().create_target_machine(opt=2)
        pto = llvm.create_pipeline_tuning_options(speed_level=2)
        pb = llvm.create_pass_builder(target, pto)
        pb.getModulePassManager().run(mod, pb)
        self.engine = llvm.create_mcjit_compiler(mod, target)
        self.engine.finalize_object()
        self._fns = {}
        for h in HELPERS:
            addr = self.engine.get_function_address(h.name)
            if not addr:
                continue
            proto = ctypes.CFUNCTYPE(CT[h.ret], *[CT[a] for a in h.args])
            self._fns[h.name] = proto(addr)
        self.M = limits.maxstringlen

    def __getattr__(self, name):
        fns = self.__dict__.get("_fns", {})
        if name in fns:
            return fns[name]
        raise AttributeError(name)

    # ---- conveniences for tests
    def s(self, text: bytes | str = b""):
        """A MAXSTRINGLEN string buffer holding text."""
        data = text.encode() if isinstance(text, str) else text
        buf = ctypes.create_string_buffer(self.M + 64)
        buf.raw = data[: self.M + 63] + b"\0" * (self.M + 64 - min(len(data), self.M + 63))
        return buf

    def ctx(self):
        return Ctx(self.M)


class Ctx:
    """A Context with its errmsg buffer; passes as a pointer to ctypes."""

    def __init__(self, maxstringlen):
        self.c = Context()
        self.errbuf = ctypes.create_string_buffer(maxstringlen)
        self.c.errmsg = ctypes.addressof(self.errbuf)
        self._as_parameter_ = ctypes.addressof(self.c)

    @property
    def errmsg(self) -> bytes:
        return self.errbuf.value


# One second build with every non-default limit the tests need (each build costs a JIT compile).
ALT_LIMITS = RuntimeLimits(maxmapentries=8, weak_hash=True, hist_elision=-1, hist_width=10)


@functools.lru_cache(maxsize=None)
def native(limits: RuntimeLimits = RuntimeLimits(), allow_missing=True) -> Native:
    return Native(limits, allow_missing)


def addr(buf) -> int:
    return ctypes.addressof(buf)


def sprintf(n: Native, *pieces, size=None) -> bytes:
    """Run a pre-split format: pieces are ("lit", text) / ("num", v, flags, w, p, base) / ("char", v, flags, w)
    / ("str", s, flags, w, p) / ("bin", v, flags, w, p); returns the bytes written (raw, NULs kept)."""
    size = size or n.M
    buf = ctypes.create_string_buffer(size + 16)
    length = 0
    keep = []
    for kind, *a in pieces:
        if kind == "lit":
            t = a[0].encode() if isinstance(a[0], str) else a[0]
            keep.append(t)
            length = n.stp_fmt_lit(buf, length, size, t, len(t))
        elif kind == "num":
            length = n.stp_fmt_num(buf, length, size, *a)
        elif kind == "char":
            length = n.stp_fmt_char(buf, length, size, *a)
        elif kind == "str":
            s = n.s(a[0])
            keep.append(s)
            length = n.stp_fmt_str(buf, length, size, s, *a[1:])
        elif kind == "bin":
            length = n.stp_fmt_bin(buf, length, size, *a)
        else:
            raise ValueError(kind)
        assert 0 <= length <= size
    return buf.raw[:length]
