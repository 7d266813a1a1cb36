"""Lowering of global data: scalars, arrays (maps), statistics and histograms.

Scalars are LLVM globals of the module.  Arrays and statistics live in
memory the program's init function allocates and hands to the native
runtime (`stp_map_init`, `stp_stat_init`); the module keeps one `ptr` global
per array or statistic.  Keys travel as 9 i64 slots (a string column holds
the string's address), as the native helper table says.
"""
from __future__ import annotations

from llvmlite import ir

from stapy.codegen import abi
from stapy.codegen.irbuilder import I32, I64, I8, PTR, VOID, c32, c64, decode_stap_string
from stapy.parser import ast
from stapy.runtime.native import helpers as H
from stapy.semantic.program import LONG, STATS, STRING, GlobalVar

_IR = {"void": VOID, "i32": I32, "i64": I64, "ptr": PTR}

STAT_OPS = {"count": H.STAT_COUNT, "sum": H.STAT_SUM, "min": H.STAT_MIN, "max": H.STAT_MAX,
            "avg": H.STAT_AVG, "variance": H.STAT_VARIANCE}


def variance_shift(g) -> int:
    """The stat's shift, or -1 when nothing asks for @variance (stap keeps the variance terms only then)."""
    return g.variance_shift if "variance" in getattr(g, "stat_ops", {"variance"}) else -1


def declare_helper(mb, name: str) -> ir.Function:
    ret, args, _ = abi.HELPERS[name]
    return mb.declare(name, _IR[ret], [_IR[a] for a in args])


def hist_shape(var: GlobalVar) -> tuple[int, int, int, int]:
    """(htype, start, stop, interval) of a statistic from the histogram used on it."""
    for h in var.histograms:
        if h[0] == "linear":
            return H.HIST_LINEAR, int(h[1]), int(h[2]), int(h[3])
        if h[0] == "log":
            return H.HIST_LOG, 0, 0, 0
    return H.HIST_NONE, 0, 0, 0


class Globals:
    """The module's globals: one LLVM global per script global, plus the init function."""

    def __init__(self, mb, program, options):
        self.mb = mb
        self.program = program
        self.options = options
        self._vars: dict[int, ir.GlobalVariable] = {}
        self.out = ir.GlobalVariable(mb.module, ir.ArrayType(I8, H.OUT_BYTES), name="stapy_out")
        self.out.initializer = ir.Constant(ir.ArrayType(I8, H.OUT_BYTES), None)
        self.printf_buf = ir.GlobalVariable(mb.module, ir.ArrayType(I8, H.PRINTF_MAX), name="stapy_printf_buf")
        self.printf_buf.initializer = ir.Constant(ir.ArrayType(I8, H.PRINTF_MAX), None)
        for g in program.globals:
            self.define(g)

    def define(self, g: GlobalVar) -> ir.GlobalVariable:
        gv = self._vars.get(id(g))
        if gv is not None:
            return gv
        m = self.mb.module
        if g.is_array or g.type == STATS:
            gv = ir.GlobalVariable(m, PTR, name=g.mangled)
            gv.initializer = ir.Constant(PTR, None)
        elif g.type == STRING:
            gv = ir.GlobalVariable(m, self.mb.strtype, name=g.mangled)
            init = g.initial_value
            data = decode_stap_string(init) if isinstance(init, str) else b""
            data = data[: self.mb.maxstringlen - 1]
            gv.initializer = ir.Constant(self.mb.strtype, bytearray(data + b"\0" * (self.mb.maxstringlen - len(data))))
        else:
            gv = ir.GlobalVariable(m, I64, name=g.mangled)
            init = g.initial_value
            gv.initializer = c64(init if isinstance(init, int) else 0)
        self._vars[id(g)] = gv
        return gv

    def scalar(self, g: GlobalVar) -> ir.Value:
        return self.define(g).bitcast(PTR)

    def handle(self, b: ir.IRBuilder, g: GlobalVar) -> ir.Value:
        """The runtime object (map or stat) of an array or statistic global."""
        return b.load(self.define(g).bitcast(PTR), typ=PTR)

    # -- init: allocate maps and stats -------------------------------------------
    def build_init(self) -> ir.Function:
        """`i32 stapy_init(i64 out_fd)`: set up the output buffer, the maps and the statistics."""
        mb = self.mb
        fn = ir.Function(mb.module, ir.FunctionType(I32, [I64]), name="stapy_init")
        b = ir.IRBuilder(fn.append_basic_block("entry"))
        calloc = mb.declare("calloc", PTR, [I64, I64])
        # randint(): a different sequence on every run
        now = b.call(mb.declare("time", I64, [PTR]), [ir.Constant(PTR, None)])
        pid = b.zext(b.call(mb.declare("getpid", I32, []), []), I64)
        b.call(mb.declare("srandom", VOID, [I32]), [b.trunc(b.xor(now, b.shl(pid, c64(16))), I32)])
        out_cap = 1 << 16
        data = b.call(calloc, [c64(1), c64(out_cap)])
        b.call(declare_helper(mb, "stp_out_init"), [self.out, data, c64(out_cap), fn.args[0]])
        bad = self.bad_histogram()
        if bad:  # stat-common.c refuses the shape: the session does not start
            b.ret(c32(bad))
            return fn
        for g in self.program.globals:
            if not (g.is_array or g.type == STATS):
                continue
            htype, start, stop, step = hist_shape(g)
            if g.is_array:
                keymask = sum(1 << i for i, t in enumerate(g.index_types) if t == STRING)
                valtype = {LONG: H.MAP_LONG, STRING: H.MAP_STRING, STATS: H.MAP_STAT}.get(g.type, H.MAP_LONG)
                size = g.size or 0
                nbytes = b.call(declare_helper(mb, "stp_map_bytes"),
                                [c32(g.arity), c32(keymask), c32(valtype), c64(size), c32(htype),
                                 c64(start), c64(stop), c64(step)])
                mem = b.call(calloc, [c64(1), nbytes])
                b.call(declare_helper(mb, "stp_map_init"),
                       [mem, c32(g.arity), c32(keymask), c32(valtype), c64(size), c32(1 if g.wrap else 0),
                        c32(htype), c64(start), c64(stop), c64(step), c64(variance_shift(g))])
            else:
                nbytes = b.call(declare_helper(mb, "stp_stat_bytes"), [c32(htype), c64(start), c64(stop), c64(step)])
                mem = b.call(calloc, [c64(1), nbytes])
                b.call(declare_helper(mb, "stp_stat_init"),
                       [mem, c32(htype), c64(start), c64(stop), c64(step), c64(variance_shift(g))])
            b.store(mem, self.define(g))
        b.ret(c32(0))
        return fn

    INIT_HIST_INTERVAL_ZERO = 1
    INIT_HIST_BUCKETS = 2

    def bad_histogram(self) -> int:
        """stapy_init's failure code for a linear histogram stap's _stp_stat_calc_buckets refuses, or 0."""
        for g in self.program.globals:
            htype, start, stop, step = hist_shape(g)
            if htype != H.HIST_LINEAR:
                continue
            if step == 0:
                return self.INIT_HIST_INTERVAL_ZERO
            buckets = int((stop - start) / step) + 3  # C division truncates toward zero
            if buckets > 128 or buckets < 3:
                return self.INIT_HIST_BUCKETS
        return 0

    def build_flush(self) -> ir.Function:
        """`i64 stapy_flush()`: write out what the output buffer holds."""
        fn = ir.Function(self.mb.module, ir.FunctionType(I64, []), name="stapy_flush")
        b = ir.IRBuilder(fn.append_basic_block("entry"))
        b.ret(b.call(declare_helper(self.mb, "stp_out_flush"), [self.out]))
        return fn


class DataLowering:
    """Mixin of the per-function lowerer: array, statistic and histogram operations."""

    def helper(self, name: str, args: list) -> ir.Value:
        return self.b.call(declare_helper(self.fb.mb, name), args)

    def checked(self, name: str, args: list, kind: str, tok) -> ir.Value:
        """Call a can-fail helper; on a non-zero status, record a site and branch to the fixup."""
        status = self.helper(name, args)
        zero = ir.Constant(status.type, 0)
        failed = self.b.icmp_signed("!=", status, zero) if status.type == I32 else self.b.icmp_signed("<", status, zero)
        fb = self.fb
        bad, ok = fb.new_block(f"{kind}.fail"), fb.new_block(f"{kind}.ok")
        self.b.cbranch(failed, bad, ok)
        self.b.position_at_end(bad)
        sid = fb.new_site(kind, tok)
        fb.set_error(sid, None)
        self.b.branch(fb.current_fixup())
        self.b.position_at_end(ok)
        return status

    # -- keys ----------------------------------------------------------------------
    def keys(self, indexes: list) -> tuple[ir.Value, int]:
        """Evaluate the index expressions into 9 i64 slots; returns (slots, wildmask)."""
        slots = self.fb.alloca_slots(9, "keys")
        wild = 0
        values = []
        for i, ix in enumerate(indexes):
            if ix is None:
                wild |= 1 << i
                values.append(c64(0))
                continue
            v = self.expr(ix)
            if v.type == PTR:
                if i + 1 < len(indexes) and not isinstance(ix, (ast.StringLit, ast.Symbol)):
                    # keep a computed string key stable while later keys are evaluated
                    tmp = self.fb.temp_str()
                    self.fb.str_copy(tmp, v)
                    v = tmp
                v = self.b.ptrtoint(v, I64)
            values.append(v)
        for i, v in enumerate(values):
            self.b.store(v, self.b.gep(slots, [c64(i)], source_etype=I64))
        return slots, wild

    def global_of(self, sym) -> GlobalVar:
        var = sym.referent
        if var is None:  # e.g. the statistic of a print(@hist_*(s)) that pass 2 left unresolved
            var = self.unit.program.global_(sym.name)
        return var

    def map_of(self, base) -> tuple[GlobalVar, ir.Value]:
        var = self.global_of(base)
        return var, self.globals.handle(self.b, var)

    # -- reads -----------------------------------------------------------------------
    def expr_ArrayIndex(self, e):
        from stapy.parser import ast

        if isinstance(e.base, ast.HistOp):
            stat = self.stat_object(e.base.stat)
            idx = self.long_expr(e.indexes[0])
            out = self.fb.alloca_long("bucket")
            self.checked("stp_stat_hist_bucket", [self.fb.ctx, stat, idx, out], "histogram", e.tok)
            return self.b.load(out, typ=I64)
        var, m = self.map_of(e.base)
        keys, _ = self.keys(e.indexes)
        if var.type == STRING:
            dst = self.fb.temp_str()
            self.helper("stp_map_get_str", [m, keys, dst])
            return dst
        return self.helper("stp_map_get_long", [m, keys])

    def expr_ArrayIn(self, e):
        from stapy.parser import ast

        ix = e.index
        if isinstance(ix.base, ast.HistOp):
            return self.b.zext(self.b.icmp_signed("!=", self.expr_ArrayIndex(ix), c64(0)), I64)
        var, m = self.map_of(ix.base)
        keys, wild = self.keys(ix.indexes)
        if not wild:
            return self.helper("stp_map_exists", [m, keys])
        res = self.fb.alloca_long("in")
        self.b.store(c64(0), res)
        done = self.fb.new_block("in.done")

        def body(slot):
            self.b.store(c64(1), res)
            self.b.branch(done)

        self.walk_slots(var, m, keys, wild, body, exit_block=done)
        return self.b.load(res, typ=I64)

    def walk_slots(self, var, m, keys, wild: int, body, exit_block) -> None:
        """Loop over the map's slots in order, calling body(slot) for those matching the non-wild keys.

        `body` may branch away; the loop ends in `exit_block`.
        """
        fb = self.fb
        slot_p = fb.alloca_long("slot")
        self.b.store(self.helper("stp_map_first", [m]), slot_p)
        head, step, match = fb.new_block("walk.head"), fb.new_block("walk.step"), fb.new_block("walk.match")
        self.b.branch(head)
        self.b.position_at_end(head)
        slot = self.b.load(slot_p, typ=I64)
        self.b.cbranch(self.b.icmp_signed("==", slot, c64(-1)), exit_block, match)
        self.b.position_at_end(match)
        for i, t in enumerate(var.index_types):
            if wild & (1 << i):
                continue
            want = self.b.load(self.b.gep(keys, [c64(i)], source_etype=I64), typ=I64)
            if t == STRING:
                have = self.helper("stp_map_key_str", [m, slot, c32(i + 1)])
                eq = self.b.icmp_signed("==", self.fb.str_cmp(have, self.b.inttoptr(want, PTR)), ir.Constant(I32, 0))
            else:
                have = self.helper("stp_map_key_long", [m, slot, c32(i + 1)])
                eq = self.b.icmp_signed("==", have, want)
            nxt = fb.new_block("walk.cmp")
            self.b.cbranch(eq, nxt, step)
            self.b.position_at_end(nxt)
        body(slot)
        fb.branch_if_open(step)
        self.b.position_at_end(step)
        self.b.store(self.helper("stp_map_next", [m, self.b.load(slot_p, typ=I64)]), slot_p)
        self.b.branch(head)
        self.b.position_at_end(exit_block)

    # -- writes ----------------------------------------------------------------------
    def array_assign(self, target, op: str, right_expr, tok):
        var, m = self.map_of(target.base)
        keys, _ = self.keys(target.indexes)
        ctx = self.fb.ctx
        if var.type == STRING:
            right = self.expr(right_expr)
            if op == ".=":
                cur = self.fb.temp_str()
                self.helper("stp_map_get_str", [m, keys, cur])
                self.fb.str_cat(cur, right)
                right = cur
            self.checked("stp_map_set_str", [ctx, m, keys, right], "array", tok)
            return right
        right = self.long_expr(right_expr)
        if op in ("+=", "-="):
            delta = right if op == "+=" else self.b.sub(c64(0), right)
            out = self.fb.alloca_long("new")
            self.checked("stp_map_add_long", [ctx, m, keys, delta, out], "array", tok)
            return self.b.load(out, typ=I64)
        if op != "=":
            cur = self.helper("stp_map_get_long", [m, keys])
            right = self.arith(op[:-1], cur, right, tok)
        self.checked("stp_map_set_long", [ctx, m, keys, right], "array", tok)
        return right

    def array_incdec(self, target, delta, prefix: bool, tok):
        var, m = self.map_of(target.base)
        keys, _ = self.keys(target.indexes)
        out = self.fb.alloca_long("new")
        self.checked("stp_map_add_long", [self.fb.ctx, m, keys, delta, out], "array", tok)
        new = self.b.load(out, typ=I64)
        return new if prefix else self.b.sub(new, delta)

    def stat_add(self, target, value, tok):
        from stapy.parser import ast

        if isinstance(target, ast.ArrayIndex):
            var, m = self.map_of(target.base)
            keys, _ = self.keys(target.indexes)
            self.checked("stp_map_stat_add", [self.fb.ctx, m, keys, value], "array", tok)
        else:
            self.helper("stp_stat_add", [self.globals.handle(self.b, self.global_of(target)), value])
        return value

    def stat_object(self, stat_expr) -> ir.Value:
        """The stat object named by `s` or `s[k...]`."""
        from stapy.parser import ast

        if isinstance(stat_expr, ast.ArrayIndex):
            var, m = self.map_of(stat_expr.base)
            keys, _ = self.keys(stat_expr.indexes)
            return self.helper("stp_map_stat_ref", [m, keys])
        return self.globals.handle(self.b, self.global_of(stat_expr))

    def expr_StatOp(self, e):
        stat = self.stat_object(e.stat)
        out = self.fb.alloca_long("agg")
        op = STAT_OPS[e.op]
        if op == H.STAT_VARIANCE and isinstance(e.stat, ast.ArrayIndex):
            op = H.STAT_VARIANCE_ELEMENT
        self.checked("stp_stat_get", [self.fb.ctx, stat, c32(op), out], "aggregate", e.tok)
        return self.b.load(out, typ=I64)

    def delete(self, target, tok) -> None:
        from stapy.parser import ast

        if isinstance(target, ast.ArrayIndex):
            var, m = self.map_of(target.base)
            keys, wild = self.keys(target.indexes)
            if wild:
                self.helper("stp_map_delete_slice", [m, keys, c32(wild)])
            else:
                self.helper("stp_map_delete", [m, keys])
            return
        var = target.referent
        if isinstance(var, GlobalVar) and var.is_array:
            self.helper("stp_map_clear", [self.globals.handle(self.b, var)])
        elif isinstance(var, GlobalVar) and var.type == STATS:
            self.helper("stp_stat_clear", [self.globals.handle(self.b, var)])
        elif self.var_type(var) == STRING:
            self.fb.str_empty(self.var_ptr(var, tok))
        else:
            self.b.store(c64(0), self.var_ptr(var, tok))
