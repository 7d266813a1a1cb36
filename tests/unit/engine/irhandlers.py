"""Small compiled handlers for the engine tests: real llvmlite IR, real machine code.

Each handler follows abi's contract `i32 handler(ctx*)` and records into
globals the test reads back through ctypes:
  count      counts[probe_index] += 1
  args       last_rdi[probe_index] = regs[rdi]; counts += 1
  ret        sum of rax over hits in rets[probe_index]; last entry rdi (ctx->entry_regs) in last_rdi
  string     strs[probe_index] = user_string(rdi) via ctx->read_user_string; status[probe_index] = result
  error      returns STATUS_ERROR
  exit       sets ctx->exit_requested and returns STATUS_OK, as exit() does (the session stops)
"""
from __future__ import annotations

import ctypes

from llvmlite import ir

from stapy.codegen import abi
from stapy.runtime.nativecode import compile_module

I8, I32, I64 = ir.IntType(8), ir.IntType(32), ir.IntType(64)
PTR = ir.PointerType()
N = 64
SLEN = 64


def _field(b, ctx, name):
    off = getattr(abi.Context, name).offset
    return b.load(b.gep(ctx, [ir.Constant(I64, off)], source_etype=I8), typ=I64)


def _reg(b, regs, name):
    return b.load(b.gep(regs, [ir.Constant(I64, abi.REG_INDEX[name] * 8)], source_etype=I8), typ=I64)


class Handlers:
    def __init__(self):
        m = ir.Module(name="engine_test_handlers")
        arr = ir.ArrayType(I64, N)
        self._globals = {}
        for g in ("counts", "last_rdi", "rets", "status", "entry_rdi"):
            gv = ir.GlobalVariable(m, arr, g)
            gv.initializer = ir.Constant(arr, None)
        sarr = ir.ArrayType(I8, N * SLEN)
        gv = ir.GlobalVariable(m, sarr, "strs")
        gv.initializer = ir.Constant(sarr, None)

        def slot(b, name, idx):
            return b.gep(m.get_global(name), [ir.Constant(I64, 0), idx])

        def bump(b, idx):
            p = slot(b, "counts", idx)
            b.atomic_rmw("add", p, ir.Constant(I64, 1), "monotonic")

        def fn(name):
            f = ir.Function(m, ir.FunctionType(I32, [PTR]), name)
            b = ir.IRBuilder(f.append_basic_block("e"))
            return f, b, f.args[0]

        f, b, ctx = fn("count")
        bump(b, _field(b, ctx, "probe_index"))
        b.ret(ir.Constant(I32, abi.STATUS_OK))

        f, b, ctx = fn("args")
        idx = _field(b, ctx, "probe_index")
        regs = b.inttoptr(_field(b, ctx, "regs"), PTR)
        b.store(_reg(b, regs, "rdi"), slot(b, "last_rdi", idx))
        bump(b, idx)
        b.ret(ir.Constant(I32, abi.STATUS_OK))

        f, b, ctx = fn("ret")
        idx = _field(b, ctx, "probe_index")
        regs = b.inttoptr(_field(b, ctx, "regs"), PTR)
        p = slot(b, "rets", idx)
        b.atomic_rmw("add", p, _reg(b, regs, "rax"), "monotonic")
        eregs = b.inttoptr(_field(b, ctx, "entry_regs"), PTR)
        b.store(_reg(b, eregs, "rdi"), slot(b, "entry_rdi", idx))
        bump(b, idx)
        b.ret(ir.Constant(I32, abi.STATUS_OK))

        f, b, ctx = fn("string")
        idx = _field(b, ctx, "probe_index")
        regs = b.inttoptr(_field(b, ctx, "regs"), PTR)
        dst = b.gep(m.get_global("strs"), [b.mul(idx, ir.Constant(I64, SLEN))], source_etype=I8)
        fty = ir.FunctionType(I64, [PTR, I64, PTR, I64])
        fnptr = b.inttoptr(_field(b, ctx, "read_user_string"), fty.as_pointer())
        r = b.call(fnptr, [ctx, _reg(b, regs, "rdi"), dst, ir.Constant(I64, SLEN)])
        b.store(r, slot(b, "status", idx))
        bump(b, idx)
        b.ret(ir.Constant(I32, abi.STATUS_OK))

        f, b, ctx = fn("error")  # a runtime error on every hit
        bump(b, _field(b, ctx, "probe_index"))
        b.ret(ir.Constant(I32, abi.STATUS_ERROR))

        f, b, ctx = fn("exit")  # as codegen lowers exit(): set ctx->exit_requested, finish normally
        bump(b, _field(b, ctx, "probe_index"))
        b.store(ir.Constant(I64, 1), b.inttoptr(b.add(b.ptrtoint(ctx, I64),
                                                      ir.Constant(I64, abi.Context.exit_requested.offset)),
                                                I64.as_pointer()))
        b.ret(ir.Constant(I32, abi.STATUS_OK))

        self.compiled = compile_module(m)
        self.counts = self._array("counts")
        self.last_rdi = self._array("last_rdi")
        self.rets = self._array("rets")
        self.status = self._array("status")
        self.entry_rdi = self._array("entry_rdi")

    def _array(self, name):
        addr = self.compiled.engine.get_global_value_address(name)
        return (ctypes.c_int64 * N).from_address(addr)

    def string(self, idx: int) -> bytes:
        addr = self.compiled.engine.get_global_value_address("strs") + idx * SLEN
        return ctypes.string_at(addr, SLEN).split(b"\0")[0]

    def __getitem__(self, name: str) -> int:
        return self.compiled.address(name)

    def reset(self):
        for a in (self.counts, self.last_rdi, self.rets, self.status, self.entry_rdi):
            ctypes.memset(ctypes.addressof(a), 0, ctypes.sizeof(a))
