"""Lowering of probe handlers and script functions into IR functions.

A handler is `i32 stapy_probe_N(ctx*)`.  A script function is
`i32 NAME(ctx*, args..., ptr ret)`: long arguments are i64, string arguments
point at the caller's text (the callee copies them into its own locals), and
the result is written through `ret` (an i64 or a MAXSTRINGLEN buffer).  Both
return a STATUS_* code; a function's STATUS_NEXT makes its caller try the next
overload, STATUS_ERROR goes to the caller's fixup, STATUS_ABORT ends the
handler at once.
"""
from __future__ import annotations

from llvmlite import ir

from stapy.codegen import abi
from stapy.codegen.builtins import BuiltinLowering
from stapy.codegen.irbuilder import HANDLER_TYPE, I32, I64, I8, PTR, FunctionBuilder, c32, c64
from stapy.codegen.lower_data import DataLowering
from stapy.codegen.lower_expr import ExprLowering, RegexLowering, translation_error
from stapy.codegen.lower_print import PrintLowering
from stapy.codegen.lower_stmt import StmtLowering
from stapy.semantic.program import STRING, LocalVar


def handler_name(probe) -> str:
    return f"stapy_probe_{probe.index}"


def ret_is_string(fdef) -> bool:
    return fdef.type == STRING


def function_type(fdef) -> ir.FunctionType:
    args = [PTR] + [PTR if p.type == STRING else I64 for p in fdef.params] + [PTR]
    return ir.FunctionType(I32, args)


class EmbeddedCalls:
    """Calls into the program's embedded C (stapy.codegen.embedded), compiled in pass 4."""

    def expr_EmbeddedExpr(self, e):
        fb = self.fb
        is_str = e.type == STRING
        sym = self.unit.embedded.expression(e.code, is_str)
        if is_str:
            dst = fb.temp_str()
            self.b.call(fb.mb.declare(sym, ir.VoidType(), [PTR, PTR]), [fb.ctx, dst])
            return dst
        return self.b.call(fb.mb.declare(sym, I64, [PTR]), [fb.ctx])


class Lowerer(EmbeddedCalls, ExprLowering, RegexLowering, StmtLowering, DataLowering, PrintLowering, BuiltinLowering):
    """Lowers one handler or one function body."""

    def __init__(self, unit, fb: FunctionBuilder, ret_slot=None, probe=None):
        self.unit = unit
        self.fb = fb
        self.b = fb.b
        self.globals = unit.globals
        self.options = unit.options
        self.limits = unit.limits
        self.functions = unit.functions
        self.locals: dict[int, ir.Value] = {}
        self.ret_slot = ret_slot
        self.probe = probe
        self.pending_actions = 0
        self.return_block = fb.new_block("return")
        self.next_block = fb.new_block("next")
        self.abort_block = fb.new_block("abort")

    def add_local(self, var: LocalVar) -> ir.Value:
        """Storage for a local, zeroed at the top of the body (locals are zeroed on every hit)."""
        is_str = var.type == STRING
        ptr = self.fb.alloca_str(var.name) if is_str else self.fb.alloca_long(var.name)
        ab = self.fb.entry_builder
        if is_str:
            ab.store(ir.Constant(I8, 0), ptr)
        else:
            ab.store(c64(0), ptr)
        self.locals[id(var)] = ptr
        return ptr

    # -- calls to script functions -------------------------------------------------
    def expr_FunctionCall(self, e):
        overloads = e.referent or []
        if not overloads:
            raise translation_error(f"unresolved function {e.name}", e.tok)
        first = overloads[0]
        if first.native or (first.embedded and first.from_tapset):
            return self.call_builtin(first, e)
        fb = self.fb
        b = self.b
        args = []
        for a, p in zip(e.args, first.params):
            v = self.expr(a)
            if v.type == PTR and len(e.args) > 1:
                tmp = fb.temp_str()
                fb.str_copy(tmp, v)
                v = tmp
            args.append(v)
        is_str = ret_is_string(first)
        ret = fb.temp_str() if is_str else fb.alloca_long("ret")
        if not is_str:
            b.store(c64(0), ret)
        self.flush_actions(e.tok)
        # the `(called from ...)` frame is recorded only when an error comes back through this call
        call_site = fb.new_site("call", e.tok)
        failed = fb.new_block("call.failed")
        done = fb.new_block("call.done")
        embed_failed = None
        for fdef in overloads:
            if fdef.embedded:  # embedded C (-g): its errors carry no site of their own
                sym = self.unit.embedded.function(fdef)
                fn = fb.mb.declare(sym, I32, [PTR] + [a.type for a in args] + [PTR])
                if embed_failed is None:
                    embed_failed = fb.new_block("embed.failed")
                fail_to = embed_failed
            else:
                fn = self.functions[id(fdef)]
                fail_to = failed
            status = b.call(fn, [fb.ctx, *args, ret])
            nxt = fb.new_block("call.next")
            sw = b.switch(status, fail_to)
            sw.add_case(c32(abi.STATUS_OK), done)
            sw.add_case(c32(abi.STATUS_NEXT), nxt)
            sw.add_case(c32(abi.STATUS_ABORT), self.abort_block)
            b.position_at_end(nxt)
        fb.raise_error("overload", e.tok, b"all functions exhausted")
        if embed_failed is not None:
            b.position_at_end(embed_failed)
            fb.set_error(fb.new_site("embedded", e.tok), None)
            b.branch(fb.current_fixup())
        b.position_at_end(failed)
        slot = b.gep(fb.ctx_load("call_sites"), [fb.ctx_load("nesting")], source_etype=I64)
        b.store(c64(call_site), slot)
        b.branch(fb.current_fixup())
        b.position_at_end(done)
        return ret if is_str else b.load(ret, typ=I64)


class Unit:
    """What every lowerer of one program shares: the module builder, globals, functions, options."""

    def __init__(self, mb, globals_, program, options):
        self.mb = mb
        self.globals = globals_
        self.program = program
        self.options = options
        self.limits = program.limits
        self.functions: dict[int, ir.Function] = {}
        from stapy.codegen.embedded import EmbeddedC

        self.embedded = EmbeddedC(program, program.limits.MAXSTRINGLEN)

    def declare_functions(self) -> None:
        for fdef in self.program.functions:
            if fdef.native or fdef.embedded:
                continue  # builtins.py or embedded C (stapy.codegen.embedded)
            fn = ir.Function(self.mb.module, function_type(fdef), name=fdef.mangled)
            fn.linkage = "internal"
            self.functions[id(fdef)] = fn

    # -- script functions --------------------------------------------------------------
    def lower_function(self, fdef) -> None:
        fn = self.functions[id(fdef)]
        ctx = fn.args[0]
        ret = fn.args[-1]
        fb = FunctionBuilder(self.mb, fn, ctx)
        low = Lowerer(self, fb, ret_slot=ret)
        b = fb.b
        # MAXNESTING, checked at entry as stap does (the caller's call site is the frame below)
        depth = fb.ctx_load("nesting")
        too_deep = b.icmp_signed(">", b.add(depth, c64(1)), c64(self.limits.MAXNESTING))
        bad, ok = fb.new_block("nesting.fail"), fb.new_block("nesting.ok")
        b.cbranch(too_deep, bad, ok)
        b.position_at_end(bad)
        sid = self.mb.exctable.add("maxnesting", fdef.tok, "abort")
        fb.ctx_store("error_site", c64(sid))
        fb.ctx_store("error_depth", b.add(depth, c64(1)))
        fb.str_copy(fb.ctx_load("errmsg"), fb.str_const(b"MAXNESTING exceeded"))
        b.ret(c32(abi.STATUS_ERROR))
        b.position_at_end(ok)
        fb.ctx_store("nesting", b.add(depth, c64(1)))
        if ret_is_string(fdef):
            fb.str_empty(ret)
        else:
            b.store(c64(0), ret)
        for p, arg in zip(fdef.params, fn.args[1:-1]):
            low.store_to(p, arg, p.tok)
        for v in fdef.locals:
            low.add_local(v)
        low.count_action(fdef.tok)
        low.stmt(fdef.body)
        low.flush_actions()
        fb.branch_if_open(low.return_block)
        for block, status, unnest in ((low.return_block, abi.STATUS_OK, True), (low.next_block, abi.STATUS_NEXT, True),
                                      (fb.error_exit, abi.STATUS_ERROR, True), (low.abort_block, abi.STATUS_ABORT, False)):
            b.position_at_end(block)
            if unnest:
                fb.ctx_store("nesting", b.sub(fb.ctx_load("nesting"), c64(1)))
            b.ret(c32(status))
        fb.finish_entry()

    # -- probe handlers ------------------------------------------------------------------
    def lower_probe(self, probe) -> ir.Function:
        fn = ir.Function(self.mb.module, HANDLER_TYPE, name=handler_name(probe))
        ctx = fn.args[0]
        fb = FunctionBuilder(self.mb, fn, ctx)
        low = Lowerer(self, fb, probe=probe)
        b = fb.b
        for v in probe.locals:
            low.add_local(v)
        if probe.condition is not None:
            go = fb.new_block("cond.go")
            b.cbranch(low.cond(probe.condition), go, low.return_block)
            b.position_at_end(go)
        if probe.body is not None:
            low.stmt(probe.body)
        low.flush_actions()
        fb.branch_if_open(low.return_block)
        for block, status in ((low.return_block, abi.STATUS_OK), (low.next_block, abi.STATUS_NEXT),
                              (fb.error_exit, abi.STATUS_ERROR), (low.abort_block, abi.STATUS_ABORT)):
            b.position_at_end(block)
            b.ret(c32(status))
        fb.finish_entry()
        return fn
