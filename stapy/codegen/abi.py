"""The one contract between compiled handlers and the runtime.

Declared once, read by both sides: codegen builds IR against these layouts,
the runtime (engine, timers, begin/end) fills a `Context` and calls the
handler.  Nothing else in codegen knows the runtime, and the runtime knows
nothing of the AST.

A compiled probe handler has the C signature::

    int32_t handler(struct stapy_context *ctx);

and returns a STATUS_* code.  On STATUS_ERROR the handler has stored the
exception-table site id of the failing operation in `ctx->error_site` and the
message text (NUL-terminated, at most MAXSTRINGLEN bytes) in `ctx->errmsg`.
Fields may be appended by either side (append only: offsets never move);
`CONTEXT_FIELDS` is the single list, turned into both the ctypes structure and
the LLVM struct type.
"""
from __future__ import annotations

import ctypes

# Handler return codes.
STATUS_OK = 0
STATUS_ERROR = 1  # a runtime error (ctx->error_site, ctx->errmsg)
STATUS_NEXT = 2  # `next` left the handler early (treated as OK by the runtime)
STATUS_EXIT = 3  # exit() was called; the handler finished normally
STATUS_ABORT = 4  # abort(): stop at once, no end probes

# x86-64 user_regs_struct order (27 u64), as PTRACE_GETREGS fills it.
USER_REGS = (
    "r15 r14 r13 r12 rbp rbx r11 r10 r9 r8 rax rcx rdx rsi rdi orig_rax "
    "rip cs eflags rsp ss fs_base gs_base ds es fs gs"
).split()
REG_INDEX = {name: i for i, name in enumerate(USER_REGS)}
N_USER_REGS = len(USER_REGS)
ARG_REGS = ("rdi", "rsi", "rdx", "rcx", "r8", "r9")

MAXSTRINGLEN_DEFAULT = 512

# (name, ctypes type).  Pointers are void* on the ctypes side and i8* in IR.
CONTEXT_FIELDS: list[tuple[str, object]] = [
    ("regs", ctypes.c_void_p),  # u64[27] of the stopped thread, or NULL (begin/end/timer)
    ("pid", ctypes.c_int64),  # tgid of the tracee (0 when there is none: user reads fault)
    ("tid", ctypes.c_int64),
    ("probe_index", ctypes.c_int64),  # which probe of the program is running
    ("error_site", ctypes.c_int64),  # exception-table site id of the last error
    ("errmsg", ctypes.c_void_p),  # char[MAXSTRINGLEN] for the error text
    ("actions", ctypes.c_int64),  # MAXACTION countdown
    ("nesting", ctypes.c_int64),  # current function-call depth
    ("last_error", ctypes.c_void_p),  # message seen by catch(msg)
    ("is_return", ctypes.c_int64),  # 1 in a .return probe
    ("entry_regs", ctypes.c_void_p),  # registers saved at function entry (.return probes)
    ("uaddr", ctypes.c_uint64),  # probed user address (0 without a tracee)
    ("session", ctypes.c_void_p),  # runtime-private session state
    # appended by codegen:
    ("error_depth", ctypes.c_int64),  # ctx->nesting when the error was raised
    ("call_sites", ctypes.c_void_p),  # i64[MAXNESTING+2]: call-site id per nesting level (`called from`)
    ("exit_requested", ctypes.c_int64),  # set by exit()/abort(): the session stops after this handler
]


class Context(ctypes.Structure):
    _fields_ = CONTEXT_FIELDS


CONTEXT_INDEX = {name: i for i, (name, _) in enumerate(CONTEXT_FIELDS)}
