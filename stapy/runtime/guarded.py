"""Guarded access to tracee memory: a fault is a value, never a crash.

Every read goes through process_vm_readv on ctx->pid: NULL, unmapped,
PROT_NONE, non-canonical and kernel-half addresses all come back as a short
read or EFAULT, which the accessors turn into -EFAULT (-14).  Strings are read
page by page, so a string that ends before an unmapped page reads fine and one
that runs into it faults.

Native side (what compiled handlers call), built in IR by `add_functions` and
declared in abi.USER_HELPERS:
    i64 stp_read_user(ctx*, i64 addr, ptr buf, i64 len)          len, or -14 on any fault
    i64 stp_read_user_string(ctx*, i64 addr, ptr buf, i64 size)  strlen (< size, NUL written), or -14
The engine also stores both addresses in ctx->read_user / ctx->read_user_string
(`install`), for handlers that call through the context.  Python side: `read_bytes`,
`read_string`, `read_int` for the driver and tests.
"""
from __future__ import annotations

import ctypes

from llvmlite import ir

from stapy.codegen import abi
from stapy.runtime import ptrace as pt

EFAULT = 14
PAGE = 4096

I8, I32, I64 = ir.IntType(8), ir.IntType(32), ir.IntType(64)
PTR = ir.PointerType()
_PID_OFFSET = abi.Context.pid.offset


def add_functions(module: ir.Module) -> tuple[ir.Function, ir.Function]:
    """Define stp_read_user and stp_read_user_string in `module` (libc's process_vm_readv is external)."""
    try:
        vm = module.get_global("process_vm_readv")
    except KeyError:
        vm = ir.Function(module, ir.FunctionType(I64, [I32, PTR, I64, PTR, I64, I64]), "process_vm_readv")

    ru = ir.Function(module, ir.FunctionType(I64, [PTR, I64, PTR, I64]), "stp_read_user")
    ctx, addr, buf, n = ru.args
    b = ir.IRBuilder(ru.append_basic_block("entry"))
    local = b.alloca(I64, size=2)   # struct iovec {base, len}
    remote = b.alloca(I64, size=2)
    pid = b.load(b.gep(ctx, [ir.Constant(I64, _PID_OFFSET)], source_etype=I8), typ=I64)
    bad = b.append_basic_block("fault")
    go = b.append_basic_block("read")
    b.cbranch(b.icmp_signed("<=", pid, ir.Constant(I64, 0)), bad, go)
    b.position_at_end(bad)
    b.ret(ir.Constant(I64, -EFAULT))
    b.position_at_end(go)
    b.store(b.ptrtoint(buf, I64), local)
    b.store(n, b.gep(local, [ir.Constant(I32, 1)]))
    b.store(addr, remote)
    b.store(n, b.gep(remote, [ir.Constant(I32, 1)]))
    r = b.call(vm, [b.trunc(pid, I32), local, ir.Constant(I64, 1), remote, ir.Constant(I64, 1), ir.Constant(I64, 0)])
    b.ret(b.select(b.icmp_signed("==", r, n), n, ir.Constant(I64, -EFAULT)))

    rs = ir.Function(module, ir.FunctionType(I64, [PTR, I64, PTR, I64]), "stp_read_user_string")
    ctx, addr, buf, size = rs.args
    entry = rs.append_basic_block("entry")
    b = ir.IRBuilder(entry)
    done_len = b.alloca(I64)
    limit = b.sub(size, ir.Constant(I64, 1))
    loop = rs.append_basic_block("chunk")
    body = rs.append_basic_block("read")
    scan = rs.append_basic_block("scan")
    scan_body = rs.append_basic_block("scan_body")
    found = rs.append_basic_block("found")
    next_chunk = rs.append_basic_block("next")
    full = rs.append_basic_block("full")
    fault = rs.append_basic_block("fault")
    b.store(ir.Constant(I64, 0), done_len)
    b.branch(loop)
    b.position_at_end(loop)
    got = b.load(done_len)
    b.cbranch(b.icmp_signed("<", got, limit), body, full)
    b.position_at_end(body)
    cur = b.add(addr, got)
    to_page = b.sub(ir.Constant(I64, PAGE), b.and_(cur, ir.Constant(I64, PAGE - 1)))
    want = b.sub(limit, got)
    chunk = b.select(b.icmp_unsigned("<", want, to_page), want, to_page)
    dst = b.gep(buf, [got], source_etype=I8)
    r = b.call(ru, [ctx, cur, dst, chunk])
    b.cbranch(b.icmp_signed("<", r, ir.Constant(I64, 0)), fault, scan)
    b.position_at_end(scan)
    i = b.phi(I64)
    i.add_incoming(got, body)
    end = b.add(got, chunk)
    b.cbranch(b.icmp_signed("<", i, end), scan_body, next_chunk)
    b.position_at_end(scan_body)
    ch = b.load(b.gep(buf, [i], source_etype=I8), typ=I8)
    i2 = b.add(i, ir.Constant(I64, 1))
    i.add_incoming(i2, scan_body)
    b.cbranch(b.icmp_unsigned("==", ch, ir.Constant(I8, 0)), found, scan)
    b.position_at_end(found)
    b.ret(i)
    b.position_at_end(next_chunk)
    b.store(end, done_len)
    b.branch(loop)
    b.position_at_end(full)
    b.store(ir.Constant(I8, 0), b.gep(buf, [limit], source_etype=I8))
    b.ret(limit)
    b.position_at_end(fault)
    b.store(ir.Constant(I8, 0), buf)
    b.ret(ir.Constant(I64, -EFAULT))
    return ru, rs


_compiled = None
READ_FN = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_void_p, ctypes.c_int64)


def native():
    """The compiled guarded accessors (compiled once per process)."""
    global _compiled
    if _compiled is None:
        from stapy.runtime.nativecode import compile_module

        m = ir.Module(name="stapy_guarded")
        m.triple = ""
        add_functions(m)
        _compiled = compile_module(m)
    return _compiled


def install(ctx) -> None:
    """Store the accessors' addresses in the context (fields appended to abi.CONTEXT_FIELDS)."""
    c = native()
    if hasattr(ctx, "read_user"):
        ctx.read_user = c.address("stp_read_user")
        ctx.read_user_string = c.address("stp_read_user_string")


# -- Python side ---------------------------------------------------------------
def read_bytes(pid: int, addr: int, length: int) -> bytes | None:
    if pid <= 0 or length < 0:
        return None
    buf = ctypes.create_string_buffer(max(length, 1))
    return buf.raw[:length] if pt.vm_read(pid, addr, buf, length) == length else None


def read_string(pid: int, addr: int, size: int = abi.MAXSTRINGLEN_DEFAULT) -> bytes | None:
    """At most size-1 bytes up to a NUL, page by page; None on a fault before the NUL."""
    out = b""
    limit = size - 1
    while len(out) < limit:
        cur = addr + len(out)
        chunk = min(limit - len(out), PAGE - (cur & (PAGE - 1)))
        data = read_bytes(pid, cur, chunk)
        if data is None:
            return None
        nul = data.find(b"\0")
        if nul >= 0:
            return out + data[:nul]
        out += data
    return out


def read_int(pid: int, addr: int, width: int, signed: bool = True) -> int | None:
    data = read_bytes(pid, addr, width)
    return None if data is None else int.from_bytes(data, "little", signed=signed)
