"""The functions stap synthesizes for target expressions, as its -p2 listing shows them.

stap turns each `$var` into a call of a generated function [tapsets.cxx dwarf_var_expanding_visitor]:
    __private_<file>_dwarf_tvar_get_<name>_<tick>:long ()          a $var / $var->f / $return read
    __private_<file>_dwarf_pretty_print_<tick>:string ()          a $var$ / $$parms$ entry
    __private_<file>_dwarf_pretty_print_deref_<tick>:long ()      one scalar read of a pretty print
    __private_<file>_dwarf_cast_get_cast_<tick>:long (pointer:long)   an @cast(...)->f read
each counter counting in expansion order over the whole session, and a function that reads through the
frame base has a local `_fb_<n>` (loc2stap's new_local counter).  Pass 2's duplicate-function
elimination then merges functions with equal bodies (the first in name order stays; a merged
pretty_print_deref can make two pretty prints equal in the next round), and unused ones go.

stapy does not generate these functions (codegen lowers the plans directly); resolution records them
on each plan (`plan.fns`, a list of SynthFn) and the -p2 listing prints them (listing_entries).
Covered: $var reads, pretty prints, $$vars/$$parms/$$locals, $return at a .return probe, @cast;
values captured at entry for .return probes are not listed.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class SynthFn:
    name: str  # unmangled: _dwarf_tvar_get_x_0
    ret: str = "long"
    params: tuple = ()
    locals: tuple = ()
    key: str = ""  # the body, as far as equality goes (children by their current names)
    children: list = field(default_factory=list)
    body: object = None  # stap's -p2 -v text of a read (render), or for a pretty print the sprintf pieces
    f32: bool = False  # a 32-bit float: the caller wraps the call in fp32_to_fp64


class Ticks:
    """stap's static counters, one per kind of synthesized name; `log` records the numbers taken."""

    def __init__(self):
        self.n = {"tvar": 0, "pretty": 0, "deref": 0, "local": 0, "cast": 0, "atvar": 0, "sdt": 0}
        self.log: list = []

    def take(self, kind: str) -> int:
        v = self.n[kind]
        self.n[kind] += 1
        self.log.append((kind, v))
        return v


class Replay:
    """Ticks that hand out numbers taken before: a .return probe's `$var` is named where stap expands
    it (in the .return probe's walk) but read, and so rendered, at the entry probe's pc."""

    def __init__(self, log: list, fallback: Ticks):
        self.left = list(log)
        self.fallback = fallback
        self.log: list = []

    def take(self, kind: str) -> int:
        for i, (k, v) in enumerate(self.left):
            if k == kind:
                del self.left[i]
                return v
        return self.fallback.take(kind)


def _uses_fb(acc) -> bool:
    return acc.base[0] == "loc" and getattr(acc.base[1], "fb", False)


def _read_key(acc) -> tuple:
    """What of the final read shows in stap's body text: the size, and the signedness only where a
    register value is narrowed (shifts vs. a mask); @uderef(N, ...) looks the same either way."""
    r = acc.read
    if r[0] == "f32":
        r = ("int", 4, False)
    if r[0] == "int":
        in_register = acc.base[0] == "loc" and acc.base[1].kind == "register" and not acc.steps
        if r[1] >= 8 or not in_register:
            return ("int", r[1])
    return r


def access_key(acc, local: str | None) -> str:
    base = acc.base
    if base[0] == "loc":
        b = ("loc", base[1].kind, base[1].ops, base[1].regno, base[1].data, base[1].pieces)
    elif base[0] == "expr":
        b = ("expr",)
    else:
        b = tuple(x for x in base if isinstance(x, (str, int)))
    steps = tuple(s if not (s[0] == "index" and not isinstance(s[2], int)) else ("index", s[1], "?")
                  for s in acc.steps)
    return repr((b, steps, _read_key(acc), local))


def _local(ticks: Ticks, acc) -> tuple:
    return (f"_fb_{ticks.take('local')}",) if _uses_fb(acc) else ()


def tvar_get(ticks: Ticks, name: str, acc) -> SynthFn:
    locals_ = _local(ticks, acc)
    local = locals_[0] if locals_ else None
    return SynthFn(f"_dwarf_tvar_get_{name}_{ticks.take('tvar')}", locals=locals_, key=access_key(acc, local),
                   body=render(acc, local), f32=acc.read[0] == "f32")


def cast_get(ticks: Ticks, acc) -> SynthFn:
    return SynthFn(f"_dwarf_cast_get_cast_{ticks.take('cast')}", params=("pointer",), key=access_key(acc, None),
                   body=render(acc, None), f32=acc.read[0] == "f32")


# ------------------------------------------------------------------------------------ stap's body text
def _reg(r: int) -> str:
    return f"@uregister({r})"


def _plus(x: str, n: int) -> str:
    return x if n == 0 else f"({x}) + ({n})"


def _ops_text(ops, first: str | None = None) -> str | None:
    st = [] if first is None else [first]
    for op in ops:
        k = op[0]
        if k == "breg":
            st.append(_plus(_reg(op[1]), op[2]))
        elif k == "offset" and st:
            st.append(_plus(st.pop(), op[1]))
        elif k == "deref" and st:
            st.append(f"@uderef({op[1]}, {st.pop()})")
        elif k == "const":
            st.append(str(op[1]))
        else:
            return None
    return st[0] if len(st) == 1 else None


def render(acc, local: str | None) -> str | None:
    """The body of stap's function for one read, as -p2 -v prints it between `{ ` and ` }`
    (loc2stap's @uregister/@uderef expressions; a frame-base read sets its `_fb_N` local first).
    None for the forms stapy does not spell out (link-time addresses, indexes, bit fields, pieces)."""
    pre = ""
    base = acc.base
    if base[0] == "loc":
        loc = base[1]
        if loc.kind == "register":
            where = ("val", _reg(loc.regno))
        elif loc.kind == "memory":
            ops = loc.ops
            if loc.fb:
                if local is None or len(ops) < 2 or ops[0][0] != "breg" or ops[1][0] != "offset":
                    return None
                pre = f"({local}) = ({_plus(_reg(ops[0][1]), ops[0][2])});\n"
                text = _ops_text(ops[2:], first=_plus(local, ops[1][1]))
            else:
                text = _ops_text(ops)
            if text is None:
                return None
            where = ("mem", text)
        else:
            return None
    elif base[0] == "expr":
        where = ("mem", "pointer")
    elif base[0] == "return":
        where = ("val", _reg(0))
    else:
        return None
    for step in acc.steps:
        if step[0] == "deref":
            where = ("mem", f"@uderef(8, {where[1]})" if where[0] == "mem" else where[1])
        elif step[0] == "offset" and where[0] == "mem":
            where = ("mem", _plus(where[1], step[1]))
        elif step[0] == "index" and isinstance(step[2], int) and where[0] == "mem":
            where = ("mem", _plus(where[1], step[1] * step[2]))  # a constant index folds into the offset
        else:
            return None
    r = acc.read
    if r[0] == "f32":
        r = ("int", 4, False)
    if r[0] == "quoted" and where[0] == "mem":
        val = where[1]
    elif r[0] != "int":
        return None
    elif where[0] == "mem":
        val = f"@uderef({r[1]}, {where[1]})"
    else:
        val = where[1]
        if r[1] < 8:
            bits = 64 - 8 * r[1]
            val = f"(({val}) << ({bits})) >> ({bits})" if r[2] else f"({val}) & ({(1 << (8 * r[1])) - 1})"
    if pre:
        return "{\n" + pre + f"return {val};\n}}"
    return f"return {val}"


def pretty(ticks: Ticks, items: list, params: tuple = ()) -> SynthFn:
    """One dwarf_pretty_print function over `items` (str or (fmt, Access)); a deref per scalar."""
    fn = SynthFn(f"_dwarf_pretty_print_{ticks.take('pretty')}", ret="string", params=params)
    parts = []
    for it in items:
        if isinstance(it, str):
            parts.append(it)
            continue
        fmt, acc = it
        locals_ = _local(ticks, acc)
        local = locals_[0] if locals_ else None
        child = SynthFn(f"_dwarf_pretty_print_deref_{ticks.take('deref')}", params=params, locals=locals_,
                        key=access_key(acc, local), body=render(acc, local))
        fn.children.append(child)
        parts.append((fmt, child))
    fn.key = parts  # resolved against the children's current names when merging
    fn.body = parts
    return fn


# ------------------------------------------------------------------------------------ SDT operands
_PRECISION = {1: "user_int8", -1: "user_int8", 2: "user_uint16", -2: "user_int16", 4: "user_uint32",
              -4: "user_int32", 8: "user_int64", -8: "user_int64"}


def sdt_operand(ticks: Ticks, arg) -> tuple[list, list]:
    """(SynthFns, tapset functions called) of one SDT operand as stap expands it [tapsets.cxx
    sdt_uprobe_var_expanding_visitor]: a memory operand is read by user_int<N>() (precision_to_function),
    a symbol's address comes from a `_sdt_arg_get_addr_N` function."""
    if arg.kind != "mem":
        return [], []
    fn = _PRECISION.get(arg.size * (-1 if arg.signed else 1), "user_long")
    fns = []
    if arg.symbol and arg.address is not None:
        fns.append(SynthFn(f"_sdt_arg_get_addr_{ticks.take('sdt')}", key=repr(("sdt_addr", arg.address))))
    return fns, [fn]


# ------------------------------------------------------------------------------------ the listing
def _all(fns):
    for f in fns:
        yield f
        yield from _all(f.children)


def _plans_of(program):
    from stapy.semantic.draft import walk

    for p in program.probes:
        for n in walk(p.body):
            plan = getattr(n, "tv", None)
            if plan is not None and getattr(plan, "fns", None):
                yield p, plan


def listing_entries(program, verbose: bool = False) -> list[tuple[str, list[str]]]:
    """(mangled name, -p2 lines) of the synthesized functions still called, after stap's merging;
    with `verbose` their bodies too.  `program._tv_names` maps each SynthFn (by id) to the name its
    calls print (the function it was merged into)."""
    from stapy.semantic.resolve_symbols import detox_path

    fns: dict[int, tuple[str, SynthFn]] = {}
    floats = False
    entry_tid = False
    from stapy.semantic.draft import walk

    for p in program.probes:  # values captured at entry are kept per tid() [gen_mapped_saved_return]
        entry_tid = entry_tid or any(getattr(getattr(n, "tv", None), "kind", None) == "tid" for n in walk(p.body))
    for p, plan in _plans_of(program):
        tok = getattr(p, "tok", None)
        fname = getattr(tok, "file", None) or "<input>"
        fname = getattr(fname, "name", fname)
        prefix = f"__private_{detox_path(str(fname))}"
        for f in _all(plan.fns):
            fns[id(f)] = (prefix + f.name, f)
        if plan.kind == "long" and plan.access is not None and plan.access.read[0] == "f32":
            floats = True
    names = {i: m for i, (m, _) in fns.items()}
    alive = dict(fns)
    while True:  # semantic_pass_opt6, repeated while it merges
        seen: dict = {}
        merged = False
        for i, (m, f) in sorted(alive.items(), key=lambda kv: kv[1][0]):
            key = _body(f, names)
            if key in seen:
                for j in names:
                    if names[j] == m:
                        names[j] = seen[key]
                del alive[i]
                merged = True
            else:
                seen[key] = m
        if not merged:
            break
    try:
        program._tv_names = names
    except AttributeError:
        pass
    out = []
    for m, f in sorted(alive.values(), key=lambda x: x[0]):
        params = ", ".join(f"{q}:long" for q in f.params)
        lines = [f"{m}:{f.ret} ({params})"]
        if f.locals:
            lines.append("  # locals")
            lines += [f"  {v}:long" for v in f.locals]
        if verbose and f.body is not None:
            lines.append("{ " + _body_text(f, names) + " }")
        out.append((m, lines))
    calls = []
    for p in program.probes:  # tapset functions stap's expansions call (SDT memory operands)
        for n in walk(p.body):
            for c in getattr(getattr(n, "tv", None), "calls", ()) or ():
                if c not in calls:
                    calls.append(c)
    have = {f.name for f in program.functions}
    for c in calls:
        if c in _UTRACE_SIGNATURES:
            if c not in have:
                out.append((f"__global_{c}__overload_0", [_UTRACE_SIGNATURES[c]]))
            continue
        for name in (c, c + "_error"):  # uconversions.stp: user_int64() is a try around user_int64_error()
            sig = _tapset_signature(name, 1) if name not in have else None
            if sig is not None:
                out.append((f"__global_{name}__overload_0", [sig]))
    quotes = any(_quotes(f) for _, f in alive.values())
    try:
        program._tv_uconversions = any(c not in _UTRACE_SIGNATURES for c in calls)
        program._tv_utrace = any(c in _UTRACE_SIGNATURES for c in calls)
    except AttributeError:
        pass
    try:
        program._tv_quotes = quotes  # extra_embeds: uconversions.stp's block
    except AttributeError:
        pass
    if quotes:
        have = {f.name for f in program.functions}
        for name, arity in _QUOTED_CLOSURE:
            if name not in have:
                sig = _tapset_signature(name, arity)
                if sig is not None:
                    out.append((f"__global_{name}__overload_0", [sig]))
    if floats and not any(f.name == "fp32_to_fp64" for f in program.functions):
        out.append(("__global_fp32_to_fp64__overload_0", ["fp32_to_fp64:long (input:long)"]))
    if entry_tid and not any(f.name == "tid" for f in program.functions):
        out.append(("__global_tid__overload_0", ["tid:long ()"]))
    return out


# stap's pretty printer quotes a char array or pointer with user_string_quoted(); -p2 then lists it and
# what it calls (string_quoted, user_string, user_string_n), as stap 4.8 does
_QUOTED_CLOSURE = (("string_quoted", 1), ("user_string", 1), ("user_string_n", 2), ("user_string_quoted", 1))


def _quotes(f: SynthFn) -> bool:
    return isinstance(f.body, list) and any(not isinstance(x, str) and x[0] == "%s" for x in f.body)


def _tapset_signature(name: str, arity: int) -> str | None:
    """`name:type (p:type, ...)` of the tapset function of that arity, from stapy's tapset text."""
    import re
    from pathlib import Path

    rx = re.compile(r"^function\s+" + re.escape(name) + r"\s*:\s*(\w+)\s*\(([^)]*)\)", re.M)
    for path in sorted((Path(__file__).resolve().parent.parent / "tapset").glob("*.stp")):
        for m in rx.finditer(path.read_text()):
            params = [q.strip() for q in m.group(2).split(",") if q.strip()]
            if len(params) == arity:
                return f"{name}:{m.group(1)} ({', '.join(params)})"
    return None


# process.syscall variables read through linux/utrace.stp's functions (stap 4.8 -p2's signatures; stapy's
# tapset has none: codegen reads the registers), whose file opens with `%{ #include "syscall.h" %}`
_UTRACE_SIGNATURES = {"_utrace_syscall_arg": "_utrace_syscall_arg:long (n:long)",
                      "_utrace_syscall_nr": "_utrace_syscall_nr:long ()",
                      "_utrace_syscall_return": "_utrace_syscall_return:long ()"}
_UTRACE_EMBED = '%{\n#include "syscall.h"\n%}'

# uconversions.stp's embedded code block as stap 4.8 -p2 lists it once its pretty printer calls
# user_string_quoted (stapy's copy of the tapset is native and has no such block)
_UCONVERSIONS_EMBED = ("%{\n#define STP_GET_USER(t)\t\t\t\t\t\t\t\\\n\tdo {\t\t\t\t\t\t\t\t\\\n"
                       "\t\tt *_ptr = (t*) (uintptr_t) STAP_ARG_addr;\t\t\\\n"
                       "\t\tSTAP_RETVALUE = uread (_ptr);\t\t\t\t\\\n\t} while (0)\n%}")


def _body(f: SynthFn, names: dict) -> str:
    if isinstance(f.key, list):
        parts = [x if isinstance(x, (str, tuple)) and not (isinstance(x, tuple) and isinstance(x[1], SynthFn))
                 else (x[0], names[id(x[1])]) for x in f.key]
        return repr((f.ret, f.params, parts))
    return repr((f.ret, f.params, f.key))


def extra_embeds(program, synthetic) -> list[str]:
    """stap's floatingpoint.stp opens with `%{ #include "softfloat.c" %}`: -p2 shows it once any of its
    functions is in the program (fp32_to_fp64 for a float target variable included).  stapy's copy of
    the tapset has native bodies and no such block, so the listing adds it."""
    def from_fp_tapset(f):
        src = getattr(f, "file", None)
        return str(getattr(src, "name", src) or "").endswith("floatingpoint.stp")

    out = []
    if any(m == "__global_fp32_to_fp64__overload_0" for m, _ in synthetic) or \
            any(from_fp_tapset(f) for f in program.functions):
        out.append('%{\n#include "softfloat.c"\n%}')
    # only when stap's own pretty printer pulled it in: a script's direct calls of uconversions.stp keep
    # the rule of LANGUAGE.md 10.4 (tapset embedded C is not reproduced; the goldens strip it)
    if getattr(program, "_tv_quotes", False) or getattr(program, "_tv_uconversions", False):
        out.append(_UCONVERSIONS_EMBED)
    if getattr(program, "_tv_utrace", False):
        out.append(_UTRACE_EMBED)
    return out


def _body_text(f: SynthFn, names: dict) -> str:
    if not isinstance(f.body, list):
        return f.body
    from stapy.parser.printer import quote_arg

    fmt, args = "", []
    for x in f.body:
        if isinstance(x, str):
            fmt += x.replace("%", "%%")
            continue
        conv, child = x
        call = f"{names[id(child)]}({', '.join(child.params)})"
        if conv == "%s":  # a char array or pointer: stap quotes what the deref addresses
            call = f"user_string_quoted({call})"
        fmt += conv
        args.append(call)
    inner = ", ".join([quote_arg(fmt)] + args)
    return "try {\nreturn sprintf(" + inner + ")\n} catch {\nreturn \"ERROR\"\n}\n"


def rewrite_for_listing(body, copy, names: dict):
    """The -p2 -v text of a probe body calls stap's functions where the script has target expressions:
    replace, in `copy` (a clone of `body`, walked in step), each resolved node by that call."""
    from stapy.parser import ast
    from stapy.semantic.draft import replace_exprs, walk

    def call(fn, args):
        c = ast.FunctionCall(names.get(id(fn), fn.name), list(args))
        return ast.FunctionCall("fp32_to_fp64", [c]) if fn.f32 else c

    make = {}
    for a, b in zip(walk(body), walk(copy)):
        plan = getattr(a, "tv", None)
        if plan is not None and plan.kind == "tid":  # entry_values' tid of the capture globals
            make[id(b)] = lambda e, name=plan.text or "tid": ast.FunctionCall(name, [])
            continue
        fns = getattr(plan, "fns", None)
        if not fns:
            continue
        if getattr(plan, "calls", None):
            if plan.kind == "long" and len(plan.calls) == 1:  # an SDT symbol operand: user_intN(get_addr())
                make[id(b)] = lambda e, fn=fns[0], c=plan.calls[0]: ast.FunctionCall(c, [call(fn, ())])
            continue
        if plan.layout is not None:
            def sprintf(e, plan=plan):
                fmt = "".join(x for x in plan.layout if isinstance(x, str))
                args = [call(x, ()) for x in plan.layout if not isinstance(x, str)]
                return ast.PrintFormat("sprintf", format=fmt, args=args)
            make[id(b)] = sprintf
        elif isinstance(a, ast.CastOp):
            make[id(b)] = lambda e, fn=fns[0]: call(fn, [e.operand])
        else:
            make[id(b)] = lambda e, fn=fns[0]: call(fn, ())
    if not make:
        return copy
    return replace_exprs(copy, lambda e: make[id(e)](e) if id(e) in make else e)
