"""stapy's native runtime library: strings, maps, statistics, printf and output.

Emitted as LLVM IR with llvmlite.ir by `build_runtime_module(limits)`;
compiled probe handlers declare the helpers listed in HELPERS (mirrored in
stapy.codegen.abi.HELPERS) as externals and are linked against this module.
No Python object is created while a handler runs any of it.

HELPERS (helpers.py) is the one table of exported functions: name, LLVM
signature and whether the helper can fail (then it writes stap's message
into ctx->errmsg and returns a STATUS_ERROR status).  The ones that can fail:
stp_stringat ('Position out of bounds'), stp_fmt_mem ('N is too many bytes for
a memory dump', 'read fault [man error::fault] at 0x..'), stp_stat_get,
stp_stat_hist_format, stp_out_hist ('empty aggregate'), stp_stat_hist_bucket
(also 'histogram index out of range'), stp_map_set_long, stp_map_set_str,
stp_map_add_long, stp_map_stat_add ('Array overflow, check MAXMAPENTRIES' or
'Array overflow, check size limit (N)').
"""
from stapy.runtime.native.helpers import HELPER_INDEX, HELPERS, Helper  # noqa: F401
from stapy.runtime.native.limits import RuntimeLimits  # noqa: F401


def build_runtime_module(limits: RuntimeLimits | None = None):
    """The whole library as one llvmlite.ir.Module for these limits."""
    from stapy.runtime.native.module import build_runtime_module as build

    return build(limits or RuntimeLimits())
