"""stapy's native runtime library: strings, maps, statistics, printf and output.

Emitted as LLVM IR with llvmlite.ir by `build_runtime_module(limits)`;
compiled probe handlers declare the helpers listed in HELPERS (mirrored in
stapy.codegen.abi.HELPERS) as externals and are linked against this module.
No Python object is created while a handler runs any of it.

HELPERS (helpers.py) is the one table of exported functions: name, LLVM
signature and whether the helper can fail (then it writes stap's message
into ctx->errmsg and returns a STATUS_ERROR status).
"""
from stapy.runtime.native.helpers import HELPER_INDEX, HELPERS, Helper  # noqa: F401
from stapy.runtime.native.limits import RuntimeLimits  # noqa: F401


def build_runtime_module(limits: RuntimeLimits | None = None):
    """The whole library as one llvmlite.ir.Module for these limits."""
    from stapy.runtime.native.module import build_runtime_module as build

    return build(limits or RuntimeLimits())
