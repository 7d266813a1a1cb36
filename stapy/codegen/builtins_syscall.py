"""syscall_name() and syscall_num() as natives over one constant table (stapy/codegen/syscall_names.py).

stap fills two global arrays in an init probe (tapset/linux/x86_64/syscall_num.stp); a table compiled
into the module answers the same questions without a per-run init cost or a large tapset AST that every
session would load whether it asks about syscalls or not.
"""
from __future__ import annotations

from llvmlite import ir

from stapy.codegen.builtins import builtin
from stapy.codegen.irbuilder import I32, I64, PTR, c32, c64
from stapy.codegen.syscall_names import SYSCALL_NAMES


def _table(low):
    mb = low.fb.mb
    g = mb.module.globals.get("stapy_syscall_names")
    if g is None:
        ty = ir.ArrayType(PTR, len(SYSCALL_NAMES))
        g = ir.GlobalVariable(mb.module, ty, name="stapy_syscall_names")
        g.global_constant = True
        g.linkage = "internal"
        g.initializer = ir.Constant(ty, [mb.const_bytes(n.encode()) for n in SYSCALL_NAMES])
    return g


def _entry(low, idx):
    g = _table(low)
    return low.b.load(low.b.gep(g, [c32(0), idx], source_etype=g.value_type), typ=PTR)


@builtin("_stapy_syscall_name")
def _syscall_name(low, e):
    """The name of syscall `num`; "" outside the table (stap's read of a missing array element)."""
    b = low.b
    num = low.expr(e.args[0])
    ok = b.and_(b.icmp_signed(">=", num, c64(0)), b.icmp_signed("<", num, c64(len(SYSCALL_NAMES))))
    name = _entry(low, b.select(ok, num, c64(0)))
    return b.select(ok, name, low.fb.str_const(b""))


@builtin("_stapy_syscall_num")
def _syscall_num(low, e):
    """The number of syscall `name`, -1 when there is none (stap's @return_sanitized)."""
    fb, b = low.fb, low.b
    name = low.expr(e.args[0])
    strcmp = low.extern("strcmp", I32, [PTR, PTR])
    i = fb.alloca_long("sysno")
    out = fb.alloca_long("sysret")
    b.store(c64(0), i)
    b.store(c64(-1), out)
    head, body, found, step, done = (fb.new_block(n) for n in ("scn.head", "scn.body", "scn.found", "scn.step",
                                                               "scn.done"))
    b.branch(head)
    b.position_at_end(head)
    iv = b.load(i, typ=I64)
    b.cbranch(b.icmp_signed("<", iv, c64(len(SYSCALL_NAMES))), body, done)
    b.position_at_end(body)
    same = b.icmp_signed("==", b.call(strcmp, [name, _entry(low, iv)]), ir.Constant(I32, 0))
    b.cbranch(same, found, step)
    b.position_at_end(found)
    b.store(iv, out)
    b.branch(done)
    b.position_at_end(step)
    b.store(b.add(iv, c64(1)), i)
    b.branch(head)
    b.position_at_end(done)
    return b.load(out, typ=I64)
