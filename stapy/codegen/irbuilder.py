"""Domain helpers over llvmlite.ir: the only place lowering touches raw IR plumbing.

`ModuleBuilder` owns the module being built (external declarations, string
constants, the exception table).  `FunctionBuilder` wraps one IR function (a
probe handler or a script function): entry-block allocas for locals and
string temporaries, context field access, string-buffer operations, and the
error protocol (store the site id and message in the context, branch to the
current fixup).
"""
from __future__ import annotations

import ctypes

from llvmlite import ir

from stapy.codegen import abi
from stapy.codegen.exctable import ExceptionTable

I1 = ir.IntType(1)
I8 = ir.IntType(8)
I32 = ir.IntType(32)
I64 = ir.IntType(64)
PTR = ir.PointerType()
VOID = ir.VoidType()

INT64_MIN = -(1 << 63)


def _ir_type(ct) -> ir.Type:
    if ct is ctypes.c_void_p:
        return PTR
    if ct in (ctypes.c_int64, ctypes.c_uint64):
        return I64
    if ct in (ctypes.c_int32, ctypes.c_uint32):
        return I32
    raise TypeError(f"no IR type for {ct}")


CONTEXT_TYPE = ir.LiteralStructType([_ir_type(t) for _, t in abi.CONTEXT_FIELDS])
HANDLER_TYPE = ir.FunctionType(I32, [PTR])


def c64(v: int) -> ir.Constant:
    """An i64 constant, wrapped to signed 64 bits."""
    v &= (1 << 64) - 1
    if v >= 1 << 63:
        v -= 1 << 64
    return ir.Constant(I64, v)


def c32(v: int) -> ir.Constant:
    return ir.Constant(I32, v)


def decode_stap_string(text: str) -> bytes:
    """A string token's content as bytes: stap keeps `\\a \\b \\f \\n \\r \\t \\v \\\\ \\ooo \\xHH` for C."""
    out = bytearray()
    raw = text.encode("utf-8", "surrogateescape")
    i = 0
    simple = {ord("a"): 7, ord("b"): 8, ord("f"): 12, ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("v"): 11,
              ord("\\"): 92, ord('"'): 34, ord("'"): 39, ord("?"): 63}
    while i < len(raw):
        c = raw[i]
        if c != 92 or i + 1 >= len(raw):
            out.append(c)
            i += 1
            continue
        n = raw[i + 1]
        if n in simple:
            out.append(simple[n])
            i += 2
        elif 48 <= n <= 55:
            j = i + 1
            v = 0
            while j < len(raw) and j < i + 4 and 48 <= raw[j] <= 55:
                v = v * 8 + raw[j] - 48
                j += 1
            out.append(v & 0xFF)
            i = j
        elif n in (ord("x"), ord("X")):
            j = i + 2
            v = 0
            while j < len(raw) and chr(raw[j]) in "0123456789abcdefABCDEF":
                v = v * 16 + int(chr(raw[j]), 16)
                j += 1
            out.append(v & 0xFF)
            i = j
        else:
            out.append(n)
            i += 2
    return bytes(out)


class ModuleBuilder:
    """The IR module of one program, with its string constants and exception table."""

    def __init__(self, name: str, maxstringlen: int):
        self.module = ir.Module(name=name)
        self.module.triple = ""
        self.maxstringlen = maxstringlen
        self.strtype = ir.ArrayType(I8, maxstringlen)
        self.exctable = ExceptionTable()
        self._strings: dict[bytes, ir.GlobalVariable] = {}
        self._counter = 0
        self._define_string_helpers()

    # -- names and declarations ---------------------------------------------
    def unique(self, stem: str) -> str:
        self._counter += 1
        return f"{stem}.{self._counter}"

    def declare(self, name: str, ret: ir.Type, args: list, var_arg: bool = False) -> ir.Function:
        """An external function (libc or the native runtime), declared once."""
        existing = self.module.globals.get(name)
        if existing is not None:
            return existing
        fn = ir.Function(self.module, ir.FunctionType(ret, args, var_arg=var_arg), name=name)
        return fn

    def const_bytes(self, data: bytes) -> ir.GlobalVariable:
        """A NUL-terminated private constant holding `data` (cut to MAXSTRINGLEN-1)."""
        data = data[: self.maxstringlen - 1]
        gv = self._strings.get(data)
        if gv is None:
            buf = bytearray(data) + b"\0"
            ty = ir.ArrayType(I8, len(buf))
            gv = ir.GlobalVariable(self.module, ty, name=self.unique(".str"))
            gv.global_constant = True
            gv.linkage = "private"
            gv.unnamed_addr = True
            gv.initializer = ir.Constant(ty, buf)
            self._strings[data] = gv
        return gv

    def raw_bytes(self, data: bytes, name: str) -> ir.GlobalVariable:
        """A private constant byte table (not cut), e.g. a regex DFA."""
        ty = ir.ArrayType(I8, len(data))
        gv = ir.GlobalVariable(self.module, ty, name=self.unique(name))
        gv.global_constant = True
        gv.linkage = "private"
        gv.initializer = ir.Constant(ty, bytearray(data))
        return gv

    # -- string helpers defined inside the module ---------------------------
    def _define_string_helpers(self) -> None:
        """stapy_strcpy(dst, src) and stapy_strcat(dst, src): bounded by MAXSTRINGLEN-1, overlap-safe."""
        m = self.module
        L = self.maxstringlen
        strnlen = self.declare("strnlen", I64, [PTR, I64])
        memmove = m.declare_intrinsic("llvm.memmove", [PTR, PTR, I64])

        fn = ir.Function(m, ir.FunctionType(VOID, [PTR, PTR]), name="stapy_strcpy")
        fn.linkage = "internal"
        dst, src = fn.args
        b = ir.IRBuilder(fn.append_basic_block("entry"))
        n = b.call(strnlen, [src, c64(L - 1)])
        b.call(memmove, [dst, src, n, ir.Constant(I1, 0)])
        b.store(ir.Constant(I8, 0), b.gep(dst, [n], source_etype=I8))
        b.ret_void()
        self.strcpy = fn

        fn = ir.Function(m, ir.FunctionType(VOID, [PTR, PTR]), name="stapy_strcat")
        fn.linkage = "internal"
        dst, src = fn.args
        b = ir.IRBuilder(fn.append_basic_block("entry"))
        have = b.call(strnlen, [dst, c64(L - 1)])
        room = b.sub(c64(L - 1), have)
        n = b.call(strnlen, [src, room])
        b.call(memmove, [b.gep(dst, [have], source_etype=I8), src, n, ir.Constant(I1, 0)])
        b.store(ir.Constant(I8, 0), b.gep(dst, [b.add(have, n)], source_etype=I8))
        b.ret_void()
        self.strcat = fn


class FunctionBuilder:
    """One IR function under construction (handler or script function).

    `fixups` is the stack of catch targets: an error branches to the innermost
    one, or to `error_exit` (return STATUS_ERROR) outside any try.
    """

    def __init__(self, mb: ModuleBuilder, fn: ir.Function, ctx: ir.Value):
        self.mb = mb
        self.fn = fn
        self.ctx = ctx
        self.entry = fn.append_basic_block("entry")
        self.body = fn.append_basic_block("body")
        self.b = ir.IRBuilder(self.body)
        self._alloca_b = ir.IRBuilder(self.entry)
        self.fixups: list[ir.Block] = []
        self.error_exit = fn.append_basic_block("error_exit")
        self.loops: list[tuple[ir.Block, ir.Block]] = []  # (continue target, break target)
        self._raise_blocks: dict = {}
        self._ctx_fields: dict = {}  # (field, block) -> its address, computed once per block

    def finish_entry(self) -> None:
        self._alloca_b.branch(self.body)

    # -- storage -------------------------------------------------------------
    def alloca(self, ty: ir.Type, name: str = "") -> ir.Value:
        return self._alloca_b.alloca(ty, name=name)

    def alloca_long(self, name: str = "") -> ir.Value:
        return self.alloca(I64, name)

    def alloca_slots(self, n: int, name: str = "") -> ir.Value:
        """n consecutive i64 slots in the entry block (map keys, iovecs...), as an i64 pointer."""
        return self._alloca_b.alloca(I64, size=c64(n), name=name)

    @property
    def entry_builder(self) -> ir.IRBuilder:
        """Builder positioned in the entry block (storage that must exist once per call)."""
        return self._alloca_b

    def alloca_str(self, name: str = "") -> ir.Value:
        """A MAXSTRINGLEN buffer, as an i8 pointer to its first byte."""
        return self._alloca_b.alloca(I8, size=c64(self.mb.maxstringlen), name=name)

    def temp_str(self) -> ir.Value:
        """A fresh string temporary, emptied where it is created."""
        p = self.alloca_str("tmp")
        self.b.store(ir.Constant(I8, 0), p)  # i8* from alloca_str
        return p

    # -- context fields ------------------------------------------------------
    def ctx_ptr(self, field: str) -> ir.Value:
        """The address of a context field, computed in the block that uses it: the constant offset folds into the
        access even with the quick instruction selector, where entry-block addresses would each hold a
        callee-saved register for the whole function.  A byte offset (abi.Context's own layout) keeps the
        IR text short: the context's struct type spelt out in every access was a third of the module."""
        block = self.b.block
        key = (field, block)
        ptr = self._ctx_fields.get(key)
        if ptr is None:
            ptr = self.b.gep(self.ctx, [c64(getattr(abi.Context, field).offset)], source_etype=I8)
            self._ctx_fields[key] = ptr
        return ptr

    def ctx_load(self, field: str) -> ir.Value:
        ptr = self.ctx_ptr(field)
        return self.b.load(ptr, typ=CONTEXT_TYPE.elements[abi.CONTEXT_INDEX[field]])

    def ctx_store(self, field: str, value: ir.Value) -> None:
        self.b.store(value, self.ctx_ptr(field))

    # -- strings ---------------------------------------------------------------
    def str_const(self, data: bytes) -> ir.Value:
        return self.mb.const_bytes(data).bitcast(PTR)

    def str_copy(self, dst: ir.Value, src: ir.Value) -> None:
        self.b.call(self.mb.strcpy, [dst, src])

    def str_cat(self, dst: ir.Value, src: ir.Value) -> None:
        self.b.call(self.mb.strcat, [dst, src])

    def str_empty(self, dst: ir.Value) -> None:
        self.str_copy(dst, self.str_const(b""))

    def str_cmp(self, a: ir.Value, b: ir.Value) -> ir.Value:
        strcmp = self.mb.declare("strcmp", I32, [PTR, PTR])
        return self.b.call(strcmp, [a, b])

    def str_len(self, s: ir.Value) -> ir.Value:
        strnlen = self.mb.declare("strnlen", I64, [PTR, I64])
        return self.b.call(strnlen, [s, c64(self.mb.maxstringlen - 1)])

    # -- control flow ------------------------------------------------------------
    def new_block(self, name: str) -> ir.Block:
        return self.fn.append_basic_block(name)

    def terminated(self) -> bool:
        return self.b.block.is_terminated

    def branch_if_open(self, target: ir.Block) -> None:
        if not self.b.block.is_terminated:
            self.b.branch(target)

    def truth(self, v: ir.Value) -> ir.Value:
        """An i1 for a long used as a condition."""
        return self.b.icmp_signed("!=", v, c64(0))

    # -- errors ------------------------------------------------------------------
    def current_fixup(self) -> ir.Block:
        return self.fixups[-1] if self.fixups else self.error_exit

    def fixup_kind(self) -> str:
        return "catch" if self.fixups else "abort"

    def new_site(self, kind: str, tok) -> int:
        return self.mb.exctable.add(kind, tok, self.fixup_kind())

    def raise_error(self, kind: str, tok, message: bytes | ir.Value, catchable: bool = True) -> int:
        """Store a new site id and `message` in the context, branch to the fixup; returns the site id.

        A constant message goes through one shared block per (fixup, message)
        whose phi receives the site id, which keeps handlers with many checks small.
        """
        sid = self.new_site(kind, tok) if catchable else self.mb.exctable.add(kind, tok, "abort")
        target = self.current_fixup() if catchable else self.error_exit
        if isinstance(message, bytes):
            block, phi = self._shared_raise(target, message)
            phi.add_incoming(c64(sid), self.b.block)
            self.b.branch(block)
            return sid
        self.set_error(sid, message)
        self.b.branch(target)
        return sid

    def _shared_raise(self, target: ir.Block, message: bytes):
        key = (id(target), message)
        got = self._raise_blocks.get(key)
        if got is None:
            block = self.new_block("raise")
            saved = self.b.block
            self.b.position_at_end(block)
            phi = self.b.phi(I64, name="site")
            self.set_error(phi, message)
            self.b.branch(target)
            self.b.position_at_end(saved)
            got = self._raise_blocks[key] = (block, phi)
        return got

    def set_error(self, sid, message: bytes | ir.Value | None) -> None:
        self.ctx_store("error_site", c64(sid) if isinstance(sid, int) else sid)
        self.ctx_store("error_depth", self.ctx_load("nesting"))
        if message is not None:
            src = self.str_const(message) if isinstance(message, bytes) else message
            self.str_copy(self.ctx_load("errmsg"), src)

    def check(self, failed: ir.Value, kind: str, tok, message: bytes, catchable: bool = True) -> None:
        """If i1 `failed`, raise; continue in a fresh block otherwise."""
        sid = self.new_site(kind, tok) if catchable else self.mb.exctable.add(kind, tok, "abort")
        target = self.current_fixup() if catchable else self.error_exit
        block, phi = self._shared_raise(target, message)
        ok = self.new_block(f"{kind}.ok")
        phi.add_incoming(c64(sid), self.b.block)
        self.b.cbranch(failed, block, ok)
        self.b.position_at_end(ok)
