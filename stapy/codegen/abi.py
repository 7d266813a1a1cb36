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
    # appended by the engine (stapy/runtime/guarded.py): guarded tracee reads, see USER_HELPERS
    ("read_user", ctypes.c_void_p),  # i64 (*)(ctx*, i64 addr, ptr buf, i64 len): len or -14 (EFAULT)
    ("read_user_string", ctypes.c_void_p),  # i64 (*)(ctx*, i64 addr, ptr buf, i64 size): strlen or -14
    # appended by the engine: the user pc as stap's handler sees REG_IP (uaddr()): the probed address,
    # in a .return the real return address (the kernel's uretprobe sets ip before the handlers), at a
    # syscall-stop the pc after the syscall instruction.  ctx->uaddr stays the probed (entry) address.
    ("pc", ctypes.c_uint64),
]


class Context(ctypes.Structure):
    _fields_ = CONTEXT_FIELDS


CONTEXT_INDEX = {name: i for i, (name, _) in enumerate(CONTEXT_FIELDS)}


# Native runtime helpers (stapy/runtime/native/helpers.py is the master copy, with each one's doc;
# tests/unit/native checks this mirror).  name -> (LLVM return type, argument types, can_fail).
# Helpers that can fail write stap's message into ctx->errmsg and return STATUS_ERROR (i32) or a
# negative i64; see helpers.py for the calling conventions (strings, keys, printf pieces).
HELPERS: dict[str, tuple[str, tuple[str, ...], bool]] = {
    'stp_str_copy': ('void', ('ptr', 'ptr'), False),
    'stp_str_concat': ('void', ('ptr', 'ptr', 'ptr'), False),
    'stp_str_append': ('void', ('ptr', 'ptr'), False),
    'stp_str_cmp': ('i64', ('ptr', 'ptr'), False),
    'stp_str_from_long': ('void', ('ptr', 'i64'), False),
    'stp_strlen': ('i64', ('ptr',), False),
    'stp_substr': ('void', ('ptr', 'ptr', 'i64', 'i64'), False),
    'stp_stringat': ('i32', ('ptr', 'ptr', 'i64', 'ptr'), True),
    'stp_isinstr': ('i64', ('ptr', 'ptr'), False),
    'stp_strpos': ('i64', ('ptr', 'ptr'), False),
    'stp_str_replace': ('void', ('ptr', 'ptr', 'ptr', 'ptr'), False),
    'stp_strtol': ('i64', ('ptr', 'i64'), False),
    'stp_isdigit': ('i64', ('ptr',), False),
    'stp_tokenize': ('void', ('ptr', 'ptr', 'ptr', 'ptr'), False),
    'stp_text_str': ('void', ('ptr', 'ptr'), False),
    'stp_text_strn': ('void', ('ptr', 'ptr', 'i64', 'i64'), False),
    'stp_string_quoted': ('void', ('ptr', 'ptr'), False),
    'stp_text_buffer_quoted': ('void', ('ptr', 'ptr', 'i64', 'i64'), False),
    'stp_fmt_lit': ('i64', ('ptr', 'i64', 'i64', 'ptr', 'i64'), False),
    'stp_fmt_num': ('i64', ('ptr', 'i64', 'i64', 'i64', 'i32', 'i64', 'i64', 'i32'), False),
    'stp_fmt_char': ('i64', ('ptr', 'i64', 'i64', 'i64', 'i32', 'i64'), False),
    'stp_fmt_str': ('i64', ('ptr', 'i64', 'i64', 'ptr', 'i32', 'i64', 'i64'), False),
    'stp_fmt_bin': ('i64', ('ptr', 'i64', 'i64', 'i64', 'i32', 'i64', 'i64'), False),
    'stp_fmt_mem': ('i64', ('ptr', 'ptr', 'i64', 'i64', 'i64', 'i32', 'i64', 'i64', 'i32', 'ptr'), True),
    'stp_fmt_star': ('i64', ('i64',), False),
    'stp_fmt_finish': ('i64', ('ptr', 'i64', 'i64'), False),
    'stp_out_init': ('void', ('ptr', 'ptr', 'i64', 'i64'), False),
    'stp_out_write': ('void', ('ptr', 'ptr', 'i64'), False),
    'stp_out_str': ('void', ('ptr', 'ptr'), False),
    'stp_out_long': ('void', ('ptr', 'i64'), False),
    'stp_out_char': ('void', ('ptr', 'i64'), False),
    'stp_out_flush': ('i64', ('ptr',), False),
    'stp_hist_buckets': ('i64', ('i32', 'i64', 'i64', 'i64'), False),
    'stp_stat_bytes': ('i64', ('i32', 'i64', 'i64', 'i64'), False),
    'stp_stat_init': ('void', ('ptr', 'i32', 'i64', 'i64', 'i64', 'i64'), False),
    'stp_stat_clear': ('void', ('ptr',), False),
    'stp_stat_add': ('void', ('ptr', 'i64'), False),
    'stp_stat_get': ('i32', ('ptr', 'ptr', 'i32', 'ptr'), True),
    'stp_stat_hist_bucket': ('i32', ('ptr', 'ptr', 'i64', 'ptr'), True),
    'stp_stat_hist_format': ('i64', ('ptr', 'ptr', 'ptr', 'i64', 'i64'), True),
    'stp_out_hist': ('i32', ('ptr', 'ptr', 'ptr'), True),
    'stp_map_bytes': ('i64', ('i32', 'i32', 'i32', 'i64', 'i32', 'i64', 'i64', 'i64'), False),
    'stp_map_init': ('void', ('ptr', 'i32', 'i32', 'i32', 'i64', 'i32', 'i32', 'i64', 'i64', 'i64', 'i64'), False),
    'stp_map_count': ('i64', ('ptr',), False),
    'stp_map_exists': ('i64', ('ptr', 'ptr'), False),
    'stp_map_get_long': ('i64', ('ptr', 'ptr'), False),
    'stp_map_get_str': ('void', ('ptr', 'ptr', 'ptr'), False),
    'stp_map_set_long': ('i32', ('ptr', 'ptr', 'ptr', 'i64'), True),
    'stp_map_set_str': ('i32', ('ptr', 'ptr', 'ptr', 'ptr'), True),
    'stp_map_add_long': ('i32', ('ptr', 'ptr', 'ptr', 'i64', 'ptr'), True),
    'stp_map_stat_add': ('i32', ('ptr', 'ptr', 'ptr', 'i64'), True),
    'stp_map_stat_ref': ('ptr', ('ptr', 'ptr'), False),
    'stp_map_delete': ('void', ('ptr', 'ptr'), False),
    'stp_map_delete_slice': ('void', ('ptr', 'ptr', 'i32'), False),
    'stp_map_clear': ('void', ('ptr',), False),
    'stp_map_sort': ('void', ('ptr', 'i32', 'i32', 'i32', 'i64'), False),
    'stp_map_first': ('i64', ('ptr',), False),
    'stp_map_next': ('i64', ('ptr', 'i64'), False),
    'stp_map_key_long': ('i64', ('ptr', 'i64', 'i32'), False),
    'stp_map_key_str': ('ptr', ('ptr', 'i64', 'i32'), False),
    'stp_map_slot_long': ('i64', ('ptr', 'i64'), False),
    'stp_map_slot_str': ('ptr', ('ptr', 'i64'), False),
    'stp_map_slot_stat': ('ptr', ('ptr', 'i64'), False),
}


# Guarded tracee-memory access, built in IR by stapy.runtime.guarded.add_functions (also reachable through
# ctx->read_user / ctx->read_user_string).  A fault (NULL, unmapped, PROT_NONE, non-canonical, kernel half,
# a string running into an unmapped page) returns -14; nothing faults in stapy.  The reads use ctx->pid.
USER_HELPERS: dict[str, tuple[str, tuple[str, ...], bool]] = {
    'stp_read_user': ('i64', ('ptr', 'i64', 'ptr', 'i64'), False),  # (ctx, addr, buf, len) -> len | -14
    'stp_read_user_string': ('i64', ('ptr', 'i64', 'ptr', 'i64'), False),  # (ctx, addr, buf, size) -> strlen | -14
}


# Services of the Python runner that compiled code calls (rare, slow-path calls only).  Each is a
# function-pointer global of the program's module, named as below, that the runner fills in after
# loading the program; codegen calls through it.  name -> (return type, argument types).
PY_CALLBACKS: dict[str, tuple[str, tuple[str, ...]]] = {
    "stapy_py_warn": ("void", ("ptr", "ptr")),  # (ctx, message): WARNING: message
    "stapy_py_execname": ("void", ("ptr", "ptr")),  # (ctx, dst)
    "stapy_py_system": ("void", ("ptr", "ptr")),  # (ctx, command): run after the handler
    "stapy_py_ctime": ("void", ("ptr", "i64")),  # (dst, epoch seconds)
    "stapy_py_str": ("void", ("ptr", "ptr", "i64", "ptr", "ptr")),  # (ctx, function name, n, s, dst)
    "stapy_py_long": ("i64", ("ptr", "ptr", "i64", "ptr")),  # (ctx, function name, n, s)
    # (ctx, function name, n, s, dst) -> 0, or 1 after writing stap's message into ctx->errmsg
    "stapy_py_str_status": ("i64", ("ptr", "ptr", "i64", "ptr", "ptr")),
}
