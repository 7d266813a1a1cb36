"""A small domain layer over llvmlite.ir so the runtime library reads like C.

`Lib` owns the module (constant strings, libc externals, intrinsics, the
functions defined so far); `Fn` is one function being built: named locals,
structured loops with break/continue, early returns, and byte/word memory
access at byte offsets.  Every runtime source file builds its functions
through these two classes only.
"""
from __future__ import annotations

from contextlib import contextmanager

from llvmlite import ir

I1 = ir.IntType(1)
I8 = ir.IntType(8)
I16 = ir.IntType(16)
I32 = ir.IntType(32)
I64 = ir.IntType(64)
PTR = ir.PointerType()
VOID = ir.VoidType()
BYTEPTR = I8.as_pointer()

TYPES = {"void": VOID, "i32": I32, "i64": I64, "ptr": PTR, "i8": I8}


def c64(n: int) -> ir.Constant:
    return ir.Constant(I64, n)


def c32(n: int) -> ir.Constant:
    return ir.Constant(I32, n)


def c8(n: int) -> ir.Constant:
    return ir.Constant(I8, n)


class Lib:
    """The module under construction, with its shared constants and externals."""

    def __init__(self, module: ir.Module, limits):
        self.module = module
        self.limits = limits
        self._strings: dict[bytes, ir.GlobalVariable] = {}
        self._externals: dict[str, ir.Function] = {}

    def function(self, name: str) -> ir.Function:
        """A function of this module by name (defined earlier, or declared by another file)."""
        return self.module.get_global(name)

    def cstr(self, text: str | bytes) -> ir.GlobalVariable:
        """A private NUL-terminated constant; its address is the string."""
        data = text.encode() if isinstance(text, str) else text
        if data not in self._strings:
            raw = bytearray(data + b"\0")
            ty = ir.ArrayType(I8, len(raw))
            gv = ir.GlobalVariable(self.module, ty, name=f".str.{len(self._strings)}")
            gv.global_constant = True
            gv.linkage = "private"
            gv.initializer = ir.Constant(ty, raw)
            self._strings[data] = gv
        return self._strings[data]

    def table(self, name: str, data: bytes) -> ir.GlobalVariable:
        ty = ir.ArrayType(I8, len(data))
        gv = ir.GlobalVariable(self.module, ty, name=name)
        gv.global_constant = True
        gv.linkage = "private"
        gv.initializer = ir.Constant(ty, bytearray(data))
        return gv

    def external(self, name: str, ret, args) -> ir.Function:
        """A declared external (libc or an LLVM intrinsic)."""
        if name not in self._externals:
            try:
                self._externals[name] = self.module.get_global(name)
            except KeyError:
                self._externals[name] = ir.Function(self.module, ir.FunctionType(ret, args), name)
        return self._externals[name]

    def memcpy(self):
        return self.external("llvm.memcpy.p0.p0.i64", VOID, [PTR, PTR, I64, I1])

    def memmove(self):
        return self.external("llvm.memmove.p0.p0.i64", VOID, [PTR, PTR, I64, I1])

    def memset(self):
        return self.external("llvm.memset.p0.i64", VOID, [PTR, I8, I64, I1])


class Fn:
    """One function: `with lib_fn(...) as f:` then f.b is the IRBuilder."""

    def __init__(self, lib: Lib, name: str, ret, args, names, internal: bool = False):
        self.lib = lib
        if isinstance(ret, str):
            ret = TYPES[ret]
        args = [TYPES[a] if isinstance(a, str) else a for a in args]
        try:
            fn = lib.module.get_global(name)
        except KeyError:
            fn = ir.Function(lib.module, ir.FunctionType(ret, args), name)
        self.fn = fn
        if internal:
            fn.linkage = "internal"
        self.entry = fn.append_basic_block("entry")
        self.b = ir.IRBuilder(self.entry)
        self.ret_type = ret
        self.a = {}
        for arg, n in zip(fn.args, names):
            arg.name = n
            self.a[n] = arg
        self._loops: list[tuple[ir.Block, ir.Block]] = []

    def __getitem__(self, name):
        return self.a[name]

    # ---- locals
    def var(self, ty, init=None, name=""):
        """A stack slot in the entry block (so it is allocated once per call)."""
        with self.b.goto_block(self.entry):
            if self.entry.instructions:
                self.b.position_before(self.entry.instructions[0])
            slot = self.b.alloca(ty, name=name)
        if init is not None:
            self.set(slot, init)
        return slot

    def buffer(self, nbytes: int, name=""):
        """A stack byte array of nbytes (entry block)."""
        with self.b.goto_block(self.entry):
            if self.entry.instructions:
                self.b.position_before(self.entry.instructions[0])
            slot = self.b.alloca(I8, size=c64(nbytes), name=name)
        return slot

    def get(self, slot):
        return self.b.load(slot)

    def set(self, slot, value):
        if not isinstance(value, ir.Value):
            value = ir.Constant(slot.allocated_type, value)
        elif isinstance(value.type, ir.PointerType):
            value = self.opaque(value)
        self.b.store(value, slot)

    def inc(self, slot, by=1):
        v = self.b.load(slot)
        self.b.store(self.b.add(v, ir.Constant(v.type, by) if isinstance(by, int) else by), slot)

    # ---- memory at byte offsets
    def at(self, p, off):
        """p + off bytes."""
        p = self.opaque(p)
        if isinstance(off, int):
            if off == 0:
                return p
            off = c64(off)
        return self.b.gep(p, [off], source_etype=I8)

    def opaque(self, p):
        """p as a byte pointer (llvmlite's IR layer still types allocas and globals)."""
        if isinstance(p.type, ir.PointerType) and not p.type.is_opaque and p.type.pointee != I8:
            return self.b.bitcast(p, BYTEPTR)
        return p

    def ld(self, ty, p, off=0):
        return self.b.load(self._typed(ty, self.at(p, off)), typ=ty)

    def st(self, ty, p, off, value):
        if not isinstance(value, ir.Value):
            value = ir.Constant(ty, value)
        self.b.store(value, self._typed(ty, self.at(p, off)))

    def _typed(self, ty, addr):
        if ty == I8:
            return addr
        return self.b.bitcast(addr, ty.as_pointer())

    def ld64(self, p, word=0):
        """The i64 at word index `word` (an int or an i64 value) of p."""
        return self.b.load(self._typed(I64, self._word(p, word)), typ=I64)

    def st64(self, p, word, value):
        if not isinstance(value, ir.Value):
            value = c64(value)
        self.b.store(value, self._typed(I64, self._word(p, word)))

    def _word(self, p, word):
        if isinstance(word, int):
            return self.at(p, word * 8)
        return self.at(p, self.b.mul(word, c64(8)))

    def ld8(self, p, off=0):
        return self.b.load(self.at(p, off), typ=I8)

    def st8(self, p, off, value):
        if isinstance(value, int):
            value = c8(value)
        elif value.type != I8:
            value = self.b.trunc(value, I8)
        self.b.store(value, self.at(p, off))

    def byte(self, p, off=0):
        """The unsigned byte at p+off as an i64."""
        return self.b.zext(self.ld8(p, off), I64)

    def memcpy(self, dst, src, n):
        self.b.call(self.lib.memcpy(), [self.opaque(dst), self.opaque(src), n, ir.Constant(I1, 0)])

    def memmove(self, dst, src, n):
        self.b.call(self.lib.memmove(), [self.opaque(dst), self.opaque(src), n, ir.Constant(I1, 0)])

    def memset(self, dst, byte, n):
        self.b.call(self.lib.memset(), [self.opaque(dst), c8(byte) if isinstance(byte, int) else byte, n, ir.Constant(I1, 0)])

    def call(self, name, *args):
        fn = self.lib.function(name)
        conv = []
        for a, t in zip(args, fn.function_type.args):
            if isinstance(a, ir.Value) and isinstance(a.type, ir.PointerType):
                a = self.opaque(a)
            if isinstance(a, int):
                a = ir.Constant(t, a)
            elif a.type != t and isinstance(t, ir.IntType) and isinstance(a.type, ir.IntType):
                a = self.b.sext(a, t) if a.type.width < t.width else self.b.trunc(a, t)
            conv.append(a)
        return self.b.call(fn, conv)

    def cstr(self, text):
        return self.opaque(self.lib.cstr(text))

    # ---- arithmetic shorthands
    def i64(self, v):
        if isinstance(v, int):
            return c64(v)
        if v.type == I64:
            return v
        return self.b.sext(v, I64)

    def select(self, cond, a, b):
        return self.b.select(cond, a, b)

    def min(self, a, b, signed=True):
        return self.b.select(self.b.icmp_signed("<", a, b) if signed else self.b.icmp_unsigned("<", a, b), a, b)

    def max(self, a, b):
        return self.b.select(self.b.icmp_signed(">", a, b), a, b)

    def lt(self, a, b):
        return self.b.icmp_signed("<", a, self._c(b, a))

    def le(self, a, b):
        return self.b.icmp_signed("<=", a, self._c(b, a))

    def gt(self, a, b):
        return self.b.icmp_signed(">", a, self._c(b, a))

    def ge(self, a, b):
        return self.b.icmp_signed(">=", a, self._c(b, a))

    def eq(self, a, b):
        return self.b.icmp_signed("==", a, self._c(b, a))

    def ne(self, a, b):
        return self.b.icmp_signed("!=", a, self._c(b, a))

    @staticmethod
    def _c(v, like):
        return ir.Constant(like.type, v) if isinstance(v, int) else v

    # ---- control flow
    def _block(self, name):
        return self.fn.append_basic_block(name)

    @contextmanager
    def while_(self, cond_fn=None):
        """while (cond_fn()) { body } -- cond_fn None loops until break."""
        head, body, exit_ = self._block("while.head"), self._block("while.body"), self._block("while.end")
        self.b.branch(head)
        self.b.position_at_end(head)
        if cond_fn is None:
            self.b.branch(body)
        else:
            self.b.cbranch(cond_fn(), body, exit_)
        self.b.position_at_end(body)
        self._loops.append((head, exit_))
        yield
        self._loops.pop()
        if not self.b.block.is_terminated:
            self.b.branch(head)
        self.b.position_at_end(exit_)

    def break_if(self, cond):
        cont = self._block("cont")
        self.b.cbranch(cond, self._loops[-1][1], cont)
        self.b.position_at_end(cont)

    def continue_if(self, cond):
        cont = self._block("cont")
        self.b.cbranch(cond, self._loops[-1][0], cont)
        self.b.position_at_end(cont)

    def brk(self):
        self.b.branch(self._loops[-1][1])
        self.b.position_at_end(self._block("dead"))

    def cont(self):
        self.b.branch(self._loops[-1][0])
        self.b.position_at_end(self._block("dead"))

    def return_if(self, cond, value=None):
        then, cont = self._block("ret"), self._block("cont")
        self.b.cbranch(cond, then, cont)
        self.b.position_at_end(then)
        self._ret(value)
        self.b.position_at_end(cont)

    def ret(self, value=None):
        self._ret(value)
        self.b.position_at_end(self._block("dead"))

    def _ret(self, value):
        if value is None:
            self.b.ret_void()
        else:
            if isinstance(value, int):
                value = ir.Constant(self.ret_type, value)
            self.b.ret(value)

    def if_(self, cond):
        return self.b.if_then(cond)

    def if_else(self, cond):
        return self.b.if_else(cond)

    def finish(self, value=None):
        """Close the function: the fall-through path returns `value`; dead blocks get unreachable."""
        if not self.b.block.is_terminated:
            self._ret(value)
        for blk in self.fn.blocks:
            if not blk.is_terminated:
                self.b.position_at_end(blk)
                self.b.unreachable()


def ctx_field_offset(name: str) -> int:
    """Byte offset of a Context field (stapy.codegen.abi, the one layout)."""
    from stapy.codegen.abi import Context

    return getattr(Context, name).offset
