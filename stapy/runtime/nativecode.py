"""Compile an llvmlite module for this process and keep its machine code alive.

The engine's own native pieces (guarded user access, the hot dispatch loop)
are small modules compiled once per process; `compile_module` returns an
object whose `address(name)` gives a function's entry point.  Calls into libc
(waitpid, ptrace, process_vm_readv) resolve against the running process.
"""
from __future__ import annotations

import ctypes

import llvmlite.binding as llvm

LIBC_SYMBOLS = ("process_vm_readv", "waitpid", "ptrace", "__errno_location", "clock_gettime")

_ready = False


def _init() -> None:
    global _ready
    if not _ready:
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        from stapy.runtime.ptrace import libc

        for name in LIBC_SYMBOLS:  # resolve libc calls explicitly, not by searching the process
            llvm.add_symbol(name, ctypes.cast(getattr(libc, name), ctypes.c_void_p).value)
        _ready = True


class Compiled:
    def __init__(self, engine, module):
        self.engine = engine
        self.module = module

    def address(self, name: str) -> int:
        return self.engine.get_function_address(name)


_keep: list[Compiled] = []


def compile_module(ir_module) -> Compiled:
    _init()
    mod = llvm.parse_assembly(str(ir_module))
    mod.verify()
    target = llvm.Target.from_default_triple()
    tm = target.create_target_machine(opt=3, codemodel="jitdefault")
    pto = llvm.create_pipeline_tuning_options(speed_level=3)
    pb = llvm.create_pass_builder(tm, pto)
    pb.getModulePassManager().run(mod, pb)
    ee = llvm.create_mcjit_compiler(mod, tm)
    ee.finalize_object()
    c = Compiled(ee, mod)
    _keep.append(c)  # machine code lives as long as the process
    return c
