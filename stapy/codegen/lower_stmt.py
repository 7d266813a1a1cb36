"""Lowering of statements: control flow, foreach, try/catch, next/return, and MAXACTION counting.

Actions are counted as stap does, about one per statement: a straight-line
run accumulates a compile-time count that is flushed (subtracted from
ctx->actions and checked) at each loop iteration, before a call, and at the
end of the body.  MAXACTION is not catchable.
"""
from __future__ import annotations

from stapy.codegen.irbuilder import I64, PTR, c32, c64
from stapy.codegen.lower_data import STAT_OPS, declare_helper
from stapy.codegen.lower_expr import translation_error
from stapy.parser import ast
from stapy.runtime.native import helpers as H
from stapy.semantic.program import STATS, STRING


class StmtLowering:
    """Mixin of the per-function lowerer."""

    pending_actions = 0

    # -- MAXACTION ---------------------------------------------------------------
    def count_action(self, tok, n: int = 1) -> None:
        self.pending_actions += n
        self.last_action_tok = tok
        if self.pending_actions >= 10:
            self.flush_actions(tok)

    def flush_actions(self, tok=None) -> None:
        n = self.pending_actions
        self.pending_actions = 0
        if n == 0 or self.options.suppress_time_limits or self.fb.terminated():
            return
        tok = tok if tok is not None else getattr(self, "last_action_tok", None)
        left = self.b.sub(self.fb.ctx_load("actions"), c64(n))
        self.fb.ctx_store("actions", left)
        self.fb.check(self.b.icmp_signed("<=", left, c64(0)), "maxaction", tok, b"MAXACTION exceeded",
                      catchable=False)

    # -- statements ----------------------------------------------------------------
    def stmt(self, s) -> None:
        if self.fb.terminated():
            # unreachable code after return/next/break: give it a block so lowering stays simple
            self.b.position_at_end(self.fb.new_block("dead"))
        method = getattr(self, "stmt_" + type(s).__name__, None)
        if method is None:
            raise translation_error(f"unsupported statement {type(s).__name__}", s.tok)
        method(s)

    def stmt_Block(self, s):
        for st in s.statements:
            self.stmt(st)

    def stmt_NullStmt(self, s):
        pass

    def stmt_ExprStmt(self, s):
        self.count_action(s.tok)
        self.expr(s.expr)

    def stmt_If(self, s):
        self.count_action(s.tok)
        fb = self.fb
        then_bb, else_bb, end_bb = fb.new_block("if.then"), fb.new_block("if.else"), fb.new_block("if.end")
        self.b.cbranch(self.cond(s.cond), then_bb, else_bb)
        saved = self.pending_actions
        self.pending_actions = 0
        self.b.position_at_end(then_bb)
        self.stmt(s.then)
        self.flush_actions()
        fb.branch_if_open(end_bb)
        self.b.position_at_end(else_bb)
        self.pending_actions = 0
        if s.else_ is not None:
            self.stmt(s.else_)
            self.flush_actions()
        fb.branch_if_open(end_bb)
        self.b.position_at_end(end_bb)
        self.pending_actions = saved

    def loop(self, tok, cond_fn, body_fn, incr_fn=None) -> None:
        """while/for shape: head (cond) -> body -> incr -> head."""
        fb = self.fb
        self.flush_actions(tok)
        head, body, incr, end = fb.new_block("loop.head"), fb.new_block("loop.body"), fb.new_block("loop.incr"), fb.new_block("loop.end")
        self.b.branch(head)
        self.b.position_at_end(head)
        c = cond_fn()
        if c is None:
            self.b.branch(body)
        else:
            self.b.cbranch(c, body, end)
        self.b.position_at_end(body)
        fb.loops.append((incr, end))
        self.count_action(tok)
        body_fn()
        fb.loops.pop()
        self.flush_actions(tok)
        fb.branch_if_open(incr)
        self.b.position_at_end(incr)
        if incr_fn is not None:
            incr_fn()
            self.flush_actions(tok)
        self.b.branch(head)
        self.b.position_at_end(end)

    def stmt_For(self, s):
        if s.init is not None:
            self.stmt(s.init)
        self.loop(s.tok, (lambda: self.cond(s.cond)) if s.cond is not None else (lambda: None),
                  lambda: self.stmt(s.body), (lambda: self.stmt(s.incr)) if s.incr is not None else None)

    def stmt_Break(self, s):
        if not self.fb.loops:
            raise translation_error("cannot 'break' outside loop", s.tok)
        self.flush_actions()
        self.b.branch(self.fb.loops[-1][1])

    def stmt_Continue(self, s):
        if not self.fb.loops:
            raise translation_error("cannot 'continue' outside loop", s.tok)
        self.flush_actions()
        self.b.branch(self.fb.loops[-1][0])

    def stmt_Return(self, s):
        self.count_action(s.tok)
        if self.ret_slot is None:
            raise translation_error("found 'return' not in function context", s.tok)
        if s.value is not None:
            v = self.expr(s.value)
            if v.type == PTR:
                self.fb.str_copy(self.ret_slot, v)
            else:
                self.b.store(v, self.ret_slot)
        self.flush_actions()
        self.b.branch(self.return_block)

    def stmt_Next(self, s):
        self.flush_actions()
        self.b.branch(self.next_block)

    def stmt_Delete(self, s):
        self.count_action(s.tok)
        self.delete(s.target, s.tok)

    def stmt_TryCatch(self, s):
        fb = self.fb
        catch_bb, end_bb = fb.new_block("catch"), fb.new_block("try.end")
        self.flush_actions()
        fb.fixups.append(catch_bb)
        self.stmt(s.try_block)
        self.flush_actions()
        fb.fixups.pop()
        fb.branch_if_open(end_bb)
        self.b.position_at_end(catch_bb)
        # MAXACTION used up: not catchable (stap checks actionremaining first)
        if not self.options.suppress_time_limits:
            out_bb, go_bb = fb.new_block("catch.maxaction"), fb.new_block("catch.go")
            self.b.cbranch(self.b.icmp_signed("<=", fb.ctx_load("actions"), c64(0)), out_bb, go_bb)
            self.b.position_at_end(out_bb)
            self.b.branch(fb.error_exit)
            self.b.position_at_end(go_bb)
        if s.var is not None:
            self.store_to(s.var.referent, fb.ctx_load("errmsg"), s.var.tok)
        fb.ctx_store("error_site", c64(0))
        self.count_action(s.tok)
        self.stmt(s.catch_block)
        self.flush_actions()
        fb.branch_if_open(end_bb)
        self.b.position_at_end(end_bb)

    # -- foreach ---------------------------------------------------------------------
    def stmt_Foreach(self, s):
        if isinstance(s.array, ast.HistOp):
            return self.foreach_hist(s)
        fb = self.fb
        var = s.array.referent
        m = self.globals.handle(self.b, var)
        self.flush_actions(s.tok)
        limit = self.long_expr(s.limit) if s.limit is not None else None
        if s.sort_dir:
            column = 0 if s.sort_column == -1 else s.sort_column
            statop = STAT_OPS.get(s.sort_aggregate or "count", H.STAT_COUNT)
            lim = limit if limit is not None else c64(0)
            lim = self.b.select(self.b.icmp_signed("<", lim, c64(0)), c64(0), lim)
            self.helper("stp_map_sort", [m, c32(column), c32(s.sort_dir), c32(statop), lim])
        keys, wild = (None, 0)
        if s.slice is not None:
            keys, wild = self.keys(s.slice)
            wild = wild | sum(1 << i for i, ix in enumerate(s.slice) if ix is None)
        else:
            wild = (1 << var.arity) - 1
        count = fb.alloca_long("limit.n")
        self.b.store(c64(0), count)
        end = fb.new_block("foreach.end")
        step_holder = {}

        def body(slot):
            if limit is not None:
                n = self.b.load(count, typ=I64)
                stop = self.b.and_(self.b.icmp_signed(">", limit, c64(0)), self.b.icmp_signed(">=", n, limit))
                go = fb.new_block("foreach.go")
                self.b.cbranch(stop, end, go)
                self.b.position_at_end(go)
                self.b.store(self.b.add(n, c64(1)), count)
            for i, k in enumerate(s.keys):
                if k is None:
                    continue
                if var.index_types[i] == STRING:
                    v = self.helper("stp_map_key_str", [m, slot, c32(i + 1)])
                else:
                    v = self.helper("stp_map_key_long", [m, slot, c32(i + 1)])
                self.store_to(k.referent, v, k.tok)
            if s.value is not None:
                if var.type == STRING:
                    v = self.helper("stp_map_slot_str", [m, slot])
                elif var.type == STATS:
                    raise translation_error("foreach value of a statistics array", s.value.tok)
                else:
                    v = self.helper("stp_map_slot_long", [m, slot])
                self.store_to(s.value.referent, v, s.value.tok)
            step = fb.new_block("foreach.continue")
            fb.loops.append((step, end))
            self.count_action(s.tok)
            self.stmt(s.body)
            self.flush_actions(s.tok)
            fb.loops.pop()
            fb.branch_if_open(step)
            self.b.position_at_end(step)

        if keys is None:
            keys = fb.alloca_slots(9, "keys")
        self.walk_slots(var, m, keys, wild, body, exit_block=end)

    def foreach_hist(self, s):
        fb = self.fb
        stat = self.stat_object(s.array.stat)
        g = s.array.stat.base.referent if isinstance(s.array.stat, ast.ArrayIndex) else s.array.stat.referent
        from stapy.codegen.lower_data import hist_shape

        htype, start, stop, step = hist_shape(g)
        if s.array.kind == "linear":
            htype, start, stop, step = H.HIST_LINEAR, *(p.value for p in s.array.params)
        nb = declare_helper(fb.mb, "stp_hist_buckets")
        buckets = self.b.call(nb, [c32(htype if htype else H.HIST_LOG), c64(start), c64(stop), c64(step)])
        limit = self.long_expr(s.limit) if s.limit is not None else None
        key = s.keys[0]
        i_p = fb.alloca_long("bucket.i")
        self.b.store(c64(0), i_p)

        def cond():
            i = self.b.load(i_p, typ=I64)
            c = self.b.icmp_signed("<", i, buckets)
            if limit is not None:
                c = self.b.and_(c, self.b.or_(self.b.icmp_signed("<=", limit, c64(0)), self.b.icmp_signed("<", i, limit)))
            return c

        def body():
            i = self.b.load(i_p, typ=I64)
            self.store_to(key.referent, i, key.tok)
            if s.value is not None:
                out = fb.alloca_long("bucket.v")
                self.checked("stp_stat_hist_bucket", [fb.ctx, stat, i, out], "histogram", s.tok)
                self.store_to(s.value.referent, self.b.load(out, typ=I64), s.value.tok)
            self.stmt(s.body)

        def incr():
            self.b.store(self.b.add(self.b.load(i_p, typ=I64), c64(1)), i_p)

        self.loop(s.tok, cond, body, incr)
