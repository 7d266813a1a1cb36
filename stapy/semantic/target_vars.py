"""Pass 2: target expressions of process probes, resolved against the probed module's debuginfo.

stap's dwarf_var_expanding_visitor [tapsets.cxx], done as one walk over each derived probe's body:
`$var` (parameters, locals, CU globals at the probe pc), `$var->f[i]`, `&$var`, `$var$`/`$var$$`,
`$$vars`/`$$parms`/`$$locals`/`$$return` (with `$`/`$$`), `$return`, `@entry(e)`, `@cast(p, "T"[, "m"])`,
`@var("name[@cu]"[, "m"])`, `@defined(e)`, SDT `$argN`/`$$name`/`$$provider`/`$$parms` (other names fall
back to the DWARF locals at the marker, as stap does), plt `$$name`, and process.syscall's `$syscall`,
`$argN`, `$return`, `$$parms` [tapset-utrace.cxx].  Writes (`$x = e`, `$x++`) are pass-2 errors
without -g.

Each resolved node gets `node.tv` (a Plan, below) and its stap type (long, or string for pretty
printing); stapy.codegen.lower_target lowers the plan.  A node that cannot be resolved keeps no type
and gets `node.tv_error = (message, token)`: infer_types reports it only if the node survives
elision, as stap reports a saved_conversion_error only for the expressions that are still there.
`@defined(e)` gets `node.defined` = 1/0 here (and its operand is replaced by a literal when 1, so
elide's constant folding sees the answer).

@entry and target variables in .return probes: stapy.semantic.entry_values captures them at entry
as stap does (a synthetic `.call` probe stores them in tid/depth-indexed globals).  Should that
probe not resolve, the lowering evaluates them against the registers saved at entry
(ctx->entry_regs) at the entry pc, reading memory at return time.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from stapy.parser import ast
from stapy.semantic.draft import Draft, walk
from stapy.semantic import tv_functions
from stapy.semantic.program import LONG, STRING

_DWARF_KINDS = ("function", "inline", "statement", "label")


class TvError(Exception):
    def __init__(self, message: str, tok=None):
        super().__init__(message)
        self.message = message
        self.tok = tok


# ----------------------------------------------------------------------------- plans
@dataclass
class Access:
    """How to reach one scalar (or address) in the tracee.

    base  ('loc', Location)          a DWARF location (already CFA-expanded) at the probe pc
          ('sdt', SdtArg)            an SDT marker operand
          ('return',)                rax in a .return probe
          ('expr', ast.Expr)         a script value used as an address (@cast, deref of a pointer)
          ('const', int)             a constant value
    steps ('deref',)                 the current value is a pointer: continue at the address it holds
          ('offset', N)              address += N (member offset)
          ('index', SIZE, expr|int)  address += index * SIZE
    read  ('int', size, signed)      read/convert a scalar of that size
          ('bits', bit_off, bit_size, signed)  a bit field inside the bytes at the address
          ('addr',)                  the address itself (&$x, arrays, @cast of an aggregate)
          ('quoted',)                user_string_quoted of the address (char arrays/pointers in pretty prints)
    entry  registers come from ctx->entry_regs (.return probes, @entry)
    bias   the link-time address of the probe site, to turn link-time addresses into run-time ones
    """

    base: tuple
    steps: list = field(default_factory=list)
    read: tuple = ("int", 8, True)
    entry: bool = False
    site_address: int | None = None
    module: str | None = None  # @var/@cast in another module than the probe's (not lowered yet)


@dataclass
class Plan:
    """kind 'long': `access`; 'string': `text` (a constant); 'pretty': `items` of str or (fmt, Access)."""

    kind: str
    access: Access | None = None
    text: str = ""
    items: list = field(default_factory=list)
    fns: list = field(default_factory=list)  # stap's synthesized functions for the -p2 listing (tv_functions)
    calls: list = field(default_factory=list)  # tapset functions stap's expansion calls (-p2 listing)
    layout: list | None = None  # $$vars: stap's sprintf pieces, str or a SynthFn argument (tv_functions)


# ----------------------------------------------------------------------------- constants
def constant_base(attr) -> tuple:
    """loc2stap's translate_constant: DW_FORM_data* is a computed value (`('const', v)`), a block or
    string a constant block (`('const_bytes', b)`), folded once the components are applied."""
    v = attr.value
    if isinstance(v, int):
        return ("const", v)
    if isinstance(v, str):
        v = v.encode() + b"\0"
    elif isinstance(v, bytes) and attr.form in ("DW_FORM_string", "DW_FORM_strp", "DW_FORM_line_strp"):
        v = v + b"\0"
    return ("const_bytes", bytes(v))


def symbol_or_no_location(module, die, name: str, tok):
    from stapy.debuginfo.elf import open_elf

    if "DW_AT_external" in die.attributes and module:
        try:
            syms = [s for s in open_elf(module).lookup(name, ("object", "tls", "notype")) if s.address]
        except (OSError, ValueError):
            syms = []
        if syms:
            from stapy.debuginfo.locations import Location

            return ("loc", Location("memory", ops=(("addr", syms[0].address),)))
    raise TvError(f"failed to retrieve location attribute for '{name}' [man error::dwarf]", tok)


def fold_constants(plan, tok) -> None:
    """Reads out of a constant block become constants, member offsets into DW_OP_piece objects pick
    their piece (in place: -p2 functions hold the Accesses).  A pretty print shows a member it
    cannot read as "?", as stap's per-member try does."""
    if plan is None:
        return
    if plan.access is not None:
        _fold_access(plan.access, tok)
    items = []
    for x in plan.items:
        if not isinstance(x, str):
            try:
                _fold_access(x[1], tok)
            except TvError:
                x = "?"
        items.append(x)
    if plan.kind == "pretty":
        plan.items = _merge(items)


def _fold_access(acc, tok) -> None:
    if acc is None:
        return
    if acc.base[0] == "loc" and acc.base[1].kind in ("pieces", "register"):
        select_piece(acc, tok)
    if acc.base[0] == "const_bytes":
        _fold(acc, tok)


def select_piece(acc, tok) -> None:
    """loc2stap translate_offset: the leading constant member offsets of a DW_OP_piece object
    choose the piece that holds them; an offset into a register is stap's error."""
    loc, off, n = acc.base[1], 0, 0
    while n < len(acc.steps) and acc.steps[n][0] == "offset":
        off += acc.steps[n][1]
        n += 1
    rest = acc.steps[n:]
    while loc.kind == "pieces":
        for size, piece in loc.pieces:
            if off < size:
                loc = piece
                break
            off -= size
        else:
            raise TvError("offset outside available pieces", tok)
    if loc.kind == "memory":
        acc.base, acc.steps = ("loc", loc), ([("offset", off)] if off else []) + rest
        return
    if loc.kind == "unavailable":
        acc.base, acc.steps = ("unavailable",), rest
        raise TvError("not accessible at this address [man error::dwarf]", tok)
    if off:
        raise TvError("cannot handle offset into register" if loc.kind == "register"
                      else "cannot handle offset into computed value", tok)
    acc.base, acc.steps = ("loc", loc), rest


def _fold(acc, tok) -> None:
    import struct

    data, off = acc.base[1], 0
    steps = list(acc.steps)
    while steps:
        st = steps.pop(0)
        if st[0] == "offset":
            off += st[1]
        elif st[0] == "index" and isinstance(st[2], int):
            off += st[1] * st[2]
        elif st[0] == "deref":  # a pointer held in the block: continue in memory at its value
            acc.base = ("const", int.from_bytes(data[off:off + 8].ljust(8, b"\0"), "little"))
            acc.steps = [st] + steps
            return
        else:
            raise TvError("cannot index into computed value", tok)
    r = acc.read
    if r[0] == "int":
        v = int.from_bytes(data[off:off + r[1]].ljust(r[1], b"\0"), "little", signed=r[2])
    elif r[0] == "f32":
        v = struct.unpack("<q", struct.pack("<d", struct.unpack("<f", data[off:off + 4].ljust(4, b"\0"))[0]))[0]
    elif r[0] == "bits":
        _, bit_off, bit_size, signed = r
        raw = int.from_bytes(data[off:off + 8].ljust(8, b"\0"), "little")
        v = (raw >> bit_off) & ((1 << bit_size) - 1)
        if signed and v >> (bit_size - 1):
            v -= 1 << bit_size
    else:
        raise TvError("cannot take address of constant value", tok)
    acc.base, acc.steps, acc.read = ("const", v), [], ("int", 8, True)


# ----------------------------------------------------------------------------- the context of one probe
class ProbeScope:
    """What a probe's target expressions can see: its site, the DWARF function and pc, SDT args."""

    def __init__(self, probe):
        r = probe.resolved
        self.family = r.family
        self.params = r.params
        self.site = r.params.get("site")
        self.is_return = bool(r.params.get("is_return"))
        self.mod = None
        self.func = None
        self.pc = None
        self.sdt = None
        s = self.site
        if s is None:
            return
        self.pc = s.address
        if s.kind == "mark":
            self.sdt = s.sdt
        if s.kind in _DWARF_KINDS + ("mark",):
            from stapy.debuginfo.dwarf import dwarf_for
            from stapy.debuginfo.elf import open_elf

            try:
                self.mod = dwarf_for(open_elf(s.module))
            except (OSError, ValueError):
                self.mod = None
            self.func = s.dwarf_function
            if self.func is None and self.mod is not None and s.kind == "mark":
                self.func = self.mod.function_at(s.address)  # stap falls back to DWARF at the marker

    @property
    def dwarf(self) -> bool:
        return self.mod is not None and self.func is not None

    # -- variables ---------------------------------------------------------------------
    def scope_dies(self):
        return self.mod.scopes_at(self.func, self.pc)

    def cu_die(self):
        return self.mod.die(self.func.die_offset).cu.get_top_DIE()

    def find_variable(self, name: str):
        """The DIE of the innermost variable/parameter called name visible at pc (CU globals last)."""
        from stapy.debuginfo.dwarf import die_name

        for sc in self.scope_dies():
            for d in sc.iter_children():
                if d.tag in ("DW_TAG_variable", "DW_TAG_formal_parameter") and die_name(d) == name:
                    return d
        for d in self.cu_die().iter_children():
            if d.tag == "DW_TAG_variable" and die_name(d) == name:
                return d
        return None

    def local_names(self) -> list[str]:
        from stapy.debuginfo.dwarf import die_name

        out = []
        for sc in self.scope_dies():
            for d in sc.iter_children():
                if d.tag in ("DW_TAG_variable", "DW_TAG_formal_parameter"):
                    n = die_name(d)
                    if n and n not in out:
                        out.append(n)
        return out

    def context_vars(self, which: str) -> list:
        """($$parms/$$locals/$$vars) the DIEs in stap's order: innermost scope first, file scope excluded."""
        from stapy.debuginfo.dwarf import die_name

        out = []
        for sc in self.scope_dies():
            for d in sc.iter_children():
                if d.tag == "DW_TAG_variable" and which == "$$parms":
                    continue
                if d.tag == "DW_TAG_formal_parameter" and which == "$$locals":
                    continue
                if d.tag not in ("DW_TAG_variable", "DW_TAG_formal_parameter"):
                    continue
                if die_name(d):
                    out.append(d)
        return out

    def location_of(self, die, name: str, tok):
        """(Location with CFA expanded, or ('const', value)) for a variable DIE at pc."""
        from stapy.debuginfo.dwarf import attr_integrate
        from stapy.debuginfo.locations import Location, location_at

        const, _ = attr_integrate(die, "DW_AT_const_value")
        if const is not None:
            return constant_base(const)
        la, holder = attr_integrate(die, "DW_AT_location")
        if la is None:
            return self.symbol_or_no_location(die, name, tok)
        fb = None
        if die.get_parent() is not None and die.get_parent().tag != "DW_TAG_compile_unit":
            fb = self.mod.frame_base(self.func, self.pc) or Location.unavailable()
        loc = location_at(self.mod, la, holder, self.pc, fb)
        if loc is None or loc.kind == "unavailable":
            raise TvError(f"not accessible at this address (pc: {self.pc:#x}) [man error::dwarf]", tok)
        if loc.kind == "unsupported":
            raise TvError(f"not accessible at this address (pc: {self.pc:#x}) [man error::dwarf]", tok)
        loc = self.expand_cfa(loc, tok)
        if not _registers_ok(loc):
            raise TvError(f"not accessible at this address (pc: {self.pc:#x}) [man error::dwarf]", tok)
        return ("loc", loc)

    def symbol_or_no_location(self, die, name: str, tok):
        """A variable without location or constant: an external one is found in the symbol table
        (PR10622), anything else is stap's "failed to retrieve location attribute" [dwflpp.cxx]."""
        return symbol_or_no_location(self.site.module, die, name, tok)

    def expand_cfa(self, loc, tok):
        """Replace ('cfa',) by ('breg', reg, off) from the CFI row at pc; check entry values."""
        from stapy.debuginfo.locations import Location

        def fix_ops(ops):
            out = []
            for op in ops:
                if op[0] == "cfa":
                    out.append(self.cfa_op(tok))
                elif op[0] == "entry_value":
                    sub = op[1]
                    if not (self.is_return or self.pc == self.func.entry_pc) or sub.kind != "register":
                        # stap 4.8's loc2stap has no DW_OP_entry_value case: its default's text.  The
                        # last number is where libdw mapped the operand block (a pointer, never the
                        # same twice); stapy shows 0 there.
                        index, at, atom, length = op[2] if len(op) > 2 else (0, 0, 0xa3, 0)
                        raise TvError(f"unhandled DW_OP operation in DWARF expression [{index}] at {at} "
                                      f"({atom}: {length}, 0)", tok)
                    out.append(("entry_reg", sub.regno))
                else:
                    out.append(op)
            return tuple(out)

        if loc.kind in ("memory", "value"):
            return Location(loc.kind, ops=fix_ops(loc.ops), fb=loc.fb)
        if loc.kind == "pieces":
            return Location("pieces", pieces=tuple((n, self.expand_cfa(p, tok) if p.kind != "unavailable" else p)
                                                   for n, p in loc.pieces), fb=loc.fb)
        return loc

    def cfa_op(self, tok):
        from stapy.debuginfo.cfi import frames_for
        from stapy.debuginfo.elf import open_elf

        rule = frames_for(open_elf(self.site.module)).rule_at(self.pc)
        if rule is None or rule.cfa_reg is None:
            raise TvError(f"not accessible at this address (pc: {self.pc:#x}) [man error::dwarf]", tok)
        return ("breg", rule.cfa_reg, rule.cfa_offset)

    def type_of_die(self, die):
        from stapy.debuginfo.dwarf import attr_integrate
        from stapy.debuginfo.types import type_of

        ta, holder = attr_integrate(die, "DW_AT_type")
        if ta is None:
            return None
        return type_of(holder.get_DIE_from_attribute("DW_AT_type"))

    def cu_text(self) -> str:
        cu_name = self.cu_die().attributes.get("DW_AT_name")
        return cu_name.value.decode() if cu_name is not None else "?"

    def unknown_local(self, name: str, tok) -> TvError:
        cu_text = self.cu_text()
        alts = ", ".join("$" + n for n in _by_length(self.local_names()))
        msg = (f"unable to find local '{name}', [man error::dwarf] dieoffset {self.func.die_offset:#x} in "
               f"{self.site.module}, near pc {self.pc:#x} in {self.func.name} {cu_text}"
               + (f" (alternatives: {alts}))" if alts else ")"))
        return TvError(msg, tok)


class _Rows:
    """The rows of a multi-dimensional array type (`int m[2][3]` indexed once is an `int[3]`): the
    little of the CType interface that component walks and pretty printing use."""

    kind = "array"
    is_declaration = False
    encoding = None
    name = None

    def __init__(self, array, dims):
        self.target = array.target
        self.dims = list(dims)
        n = 1
        for d in self.dims:
            n = None if d is None or n is None else n * d
        es = self.target.size if self.target is not None else None
        self.size = n * es if n is not None and es is not None else None

    def strip(self):
        return self

    def stap_name(self):
        base = self.target.stap_name() if self.target is not None else "void"
        return f"{base}[]"


def _registers_ok(loc) -> bool:
    """The general registers of user_regs_struct are in ctx->regs; xmm0-15 are fetched on demand
    (lower_target: PTRACE_GETFPREGS), their low 64 bits as stap's pt_dwarf_register_17..32."""
    from stapy.codegen.abi import REG_INDEX
    from stapy.debuginfo.locations import DWARF_REGS_X86_64

    def ok(regno):
        return regno < len(DWARF_REGS_X86_64) and (DWARF_REGS_X86_64[regno] in REG_INDEX
                                                  or DWARF_REGS_X86_64[regno].startswith("xmm"))

    if loc.kind == "register":
        return ok(loc.regno)
    if loc.kind == "pieces":
        return all(p.kind == "unavailable" or _registers_ok(p) for _, p in loc.pieces)
    for op in loc.ops:
        if op[0] in ("breg", "entry_reg") and not ok(op[1]):
            return False
    return True


def _return_access(rtype, scope) -> Access:
    """$return: rax, or xmm0 for a float/double (SysV x86-64, locations.return_value_location)."""
    from stapy.debuginfo.locations import return_value_location

    loc = return_value_location(rtype)
    if loc.kind == "register" and loc.regno != 0:
        return Access(("loc", loc), site_address=scope.pc)
    return Access(("return",), site_address=scope.pc)


def _by_length(names):
    return sorted(names, key=lambda n: (len(n), n))


# ----------------------------------------------------------------------------- types and components
def _aggregate_name(t) -> str:
    s = t.strip()
    kw = {"struct": "struct", "union": "union", "class": "class"}[s.kind]
    return f"{kw} {s.name}" if s.name else f"{kw} {{...}}"


def _decl_text(t) -> str:
    """` (FILE:LINE)` of a type's declaration, as stap's bad-aggregate message shows it."""
    from stapy.debuginfo import dwarf

    die = t.strip()._die
    line = die.attributes.get("DW_AT_decl_line")
    mod = next((m for m in dwarf._MODULES.values() if m is not None and m.di is die.dwarfinfo), None)
    path = mod.decl_file(die) if mod is not None else None
    if line is None or not path:
        return ""
    return f" ({path}:{line.value})"


def _is_char(t) -> bool:
    s = t.strip() if t is not None else None
    return s is not None and s.kind == "base" and s.encoding in ("signed_char", "unsigned_char", "utf") and s.size == 1


def _scalar_read(t, tok) -> tuple:
    """The read of a value of C type t used as a long."""
    s = t.strip() if t is not None else None
    if s is None:
        return ("int", 8, False)
    if s.kind in ("base", "enum"):
        size = s.size or 8
        if size > 8:
            raise TvError("cannot process >64-bit values", tok)
        if s.kind == "base" and s.encoding == "float":
            # stap reads a double's bit pattern; a float is widened by fp32_to_fp64 [tapsets.cxx]
            return ("f32",) if size == 4 else ("int", size, False)
        signed = s.encoding in ("signed", "signed_char") if s.kind == "base" else _enum_signed(s)
        return ("int", size, signed)
    if s.kind in ("pointer", "function"):
        return ("int", 8, False)
    if s.kind == "array":
        return ("addr",)
    if s.kind in ("struct", "union", "class"):
        first = min((m.name for m in s.members if m.name), default=None)  # std::set order [dwflpp.cxx]
        such = f" instead of a member such as '->{first}'" if first else ""
        raise TvError(f"'{_aggregate_name(s)}'{_decl_text(s)} is being accessed{such}", tok)
    return ("int", s.size or 8, True)


def _enum_signed(s) -> bool:
    return any(v < 0 for _, v in s.enumerators)


def _members_text(s) -> str:
    names = [m.name for m in s.members if m.name]
    return ", ".join(_by_length(names))


def apply_components(acc: Access, ctype, components, tok, addressof: bool, pretty: bool = False):
    """Walk `->f` and `[i]` over C type ctype; returns (Access, final CType) with acc.read set for a long.
    Raises TvError with stap's texts."""
    t = ctype
    bit = None
    for c in components:
        if c.kind == "pretty":
            break
        s = t.strip() if t is not None else None
        if c.kind == "field":
            if s is not None and s.kind in ("pointer", "reference", "rvalue_reference"):
                inner = s.target.strip() if s.target is not None else None
                if inner is None or inner.kind not in ("struct", "union", "class"):
                    raise TvError(f"invalid access '->{c.name}' vs. {s.stap_name()}", c.tok or tok)
                acc.steps.append(("deref",))
                s = inner
            if s is None or s.kind not in ("struct", "union", "class"):
                name = s.stap_name() if s is not None else "void"
                raise TvError(f"invalid access '->{c.name}' vs. {name}", c.tok or tok)
            m = s.member(c.name)
            if m is None:
                raise TvError(f"unable to find member '{c.name}' for {_aggregate_name(s)} "
                              f"(alternatives: {_members_text(s)})", c.tok or tok)
            if m.offset:
                acc.steps.append(("offset", m.offset))
            bit = m if m.bit_size else None
            t = m.type
        elif c.kind == "index":
            idx = c.index
            if isinstance(idx, ast.NumberLit):
                idx_v = idx.value
            else:
                idx_v = idx
            shown = f"[{idx.value}]" if isinstance(idx, ast.NumberLit) else "[...]"
            if s is not None and s.kind == "array":
                elem = s.target
                esize = elem.size if elem is not None else None
                if esize is None:
                    raise TvError(f"invalid access '{shown}' vs. {s.stap_name()}", c.tok or tok)
                if len(s.dims) > 1:  # int m[2][3]: m[i] is a row of 3
                    row = _Rows(s, s.dims[1:])
                    if row.size is None:
                        raise TvError(f"invalid access '{shown}' vs. {s.stap_name()}", c.tok or tok)
                    acc.steps.append(("index", row.size, idx_v))
                    t = row
                    bit = None
                    continue
                acc.steps.append(("index", esize, idx_v))
                t = elem
            elif s is not None and s.kind == "pointer" and s.target is not None and s.target.strip().kind != "void":
                esize = s.target.size
                if esize is None:
                    raise TvError(f"invalid access '{shown}' vs. {s.stap_name()}", c.tok or tok)
                acc.steps.append(("deref",))
                acc.steps.append(("index", esize, idx_v))
                t = s.target
            else:
                name = s.stap_name() if s is not None else "void"
                raise TvError(f"invalid access '{shown}' vs. {name}", c.tok or tok)
            bit = None
    if pretty and bit is None:
        return acc, t
    if addressof:
        if bit is not None:
            raise TvError("cannot take the address of a bit field", tok)
        acc.read = ("addr",)
        return acc, t
    if bit is not None:
        s = bit.type.strip()
        signed = s.kind == "base" and s.encoding in ("signed", "signed_char") or (s.kind == "enum" and _enum_signed(s))
        acc.read = ("bits", bit.bit_offset, bit.bit_size, signed)
        return acc, t
    last = [c for c in components if c.kind != "pretty"]
    while t is not None and t.strip().kind in ("reference", "rvalue_reference"):  # C++ references read through
        acc.steps.append(("deref",))
        t = t.strip().target
    acc.read = _scalar_read(t, (last[-1].tok if last and last[-1].tok else tok))
    return acc, t


def _copy(acc: Access) -> Access:
    return Access(acc.base, list(acc.steps), acc.read, acc.entry, acc.site_address, acc.module)


# ----------------------------------------------------------------------------- pretty printing
def pretty_items(acc: Access, t, full: bool, top: bool = True) -> list:
    """stap's dwarf_pretty_print: a list of literal strings and (format, Access) pairs."""
    out: list = []
    s = t.strip() if t is not None else None
    if s is None or s.kind == "void":
        a = _copy(acc)
        a.read = ("int", 8, False)
        return [("%p", a)]
    k = s.kind
    if k in ("base", "enum"):
        a = _copy(acc)
        try:
            a.read = _scalar_read(s, None)
        except TvError:
            return ["?"]
        if k == "base" and s.encoding == "float":
            return ["?"]
        if k == "base" and s.encoding in ("signed_char", "unsigned_char", "utf"):
            return [("'%#c'", a)]
        # stap looks at DW_AT_encoding only: DW_ATE_unsigned is %u, anything else (enums, bool) %i
        return [("%u" if s.encoding == "unsigned" else "%i", a)]
    if k == "array":
        if not top and not full:
            return ["[...]"]
        if _is_char(s.target):
            a = _copy(acc)
            a.read = ("quoted",)
            return [("%s", a)]
        a = _copy(acc)
        esize = s.target.size if s.target is not None else None
        if esize is None:
            return ["?"]
        a.steps.append(("index", esize, 0))
        return ["["] + pretty_items(a, s.target, full, False) + [", ...]"]
    if k in ("pointer", "reference", "rvalue_reference"):
        pointee = s.target.strip() if s.target is not None else None
        if pointee is not None and pointee.kind != "void":
            if _is_char(pointee):
                a = _copy(acc)
                a.read = ("int", 8, False)
                a.steps.append(("deref",))
                a.read = ("quoted",)
                return [("%s", a)]
            if top:
                a = _copy(acc)
                a.steps.append(("deref",))
                return pretty_items(a, pointee, full, top)
        a = _copy(acc)
        a.read = ("int", 8, False)
        return [("%p", a)]
    if k == "function":
        a = _copy(acc)
        a.read = ("addr",)
        return ["<function>:", ("%p", a)]
    if k in ("struct", "union", "class"):
        if s.is_declaration:
            return ["{...}"]
        if not (top or full):
            return ["{...}"]
        out.append("{")
        count = 0
        seen = set()
        for m in _flat_members(s):
            if m.name and m.name.startswith("_vptr."):
                continue
            if m.name and m.name in seen:
                continue
            if m.name:
                seen.add(m.name)
            count += 1
            if count > 1:
                out.append(", ")
            if sum(1 for x in out if isinstance(x, tuple)) >= 32:
                out.append("...")
                break
            mt = m.type.strip()
            if m.name:
                out.append("." + m.name)
            elif mt.kind == "union":
                out.append("<union>")
            elif mt.kind == "struct":
                out.append("<class>")
            elif mt.kind == "class":
                out.append("<struct>")
            out.append("=")
            a = _copy(acc)
            if m.offset:
                a.steps.append(("offset", m.offset))
            if m.bit_size:
                if mt.kind not in ("base", "enum") or mt.encoding == "float":
                    out.append("?")
                    continue
                signed = mt.encoding in ("signed", "signed_char") if mt.kind == "base" else _enum_signed(mt)
                a.read = ("bits", m.bit_offset, m.bit_size, signed)
                out.append(("%u" if mt.encoding in ("unsigned", "unsigned_char") else "%i", a))
            else:
                out.extend(pretty_items(a, m.type, full, False))
        out.append("}")
        return out
    return ["?"]


def _flat_members(s) -> list:
    """Members as stap's pretty printer walks them: the class's own first, then its base classes'
    (breadth first), offsets relative to the outer object."""
    from stapy.debuginfo.types import Member

    out, queue = [], [(s, 0)]
    while queue:
        t, base = queue.pop(0)
        kids = [c for c in t._die.iter_children()
                if c.tag in ("DW_TAG_member", "DW_TAG_inheritance") and "DW_AT_type" in c.attributes
                and "DW_AT_external" not in c.attributes and "DW_AT_declaration" not in c.attributes]
        for die, m in zip(kids, t.members):
            if die.tag == "DW_TAG_inheritance":
                queue.append((m.type.strip(), base + m.offset))
            else:
                out.append(Member(m.name, base + m.offset, m.type, m.bit_size, m.bit_offset))
    return out


def _not_addressable(acc) -> str:
    """dwflpp.cxx literal_stmt_for_*: `&` of an object not in memory, by its location kind."""
    kind = (acc.base[1].kind if acc.base[0] == "loc" else "register" if acc.base[0] in ("return", "reg")
            else "value" if acc.base[0] == "const" else None)
    return {"register": "cannot take address of object in register",
            "pieces": "cannot take address of noncontiguous object",
            "value": "cannot take address of computed value",
            "implicit": "cannot take address of constant value"}.get(kind, "cannot take address of constant value")


def _unreadable_as_unknown(items) -> list:
    """Items over an unlocatable variable (base 'unavailable') print "?" in their place."""
    return [x if isinstance(x, str) or x[1].base[0] != "unavailable" else "?" for x in items]


def _merge(items) -> list:
    out = []
    for x in items:
        if isinstance(x, str):
            if not x:
                continue
            if out and isinstance(out[-1], str):
                out[-1] += x
                continue
        out.append(x)
    return out


# ----------------------------------------------------------------------------- the pass
_TARGET_NODES = (ast.TargetSymbol, ast.CastOp, ast.AtVar, ast.EntryOp, ast.DefinedOp)


def _own_copy(body):
    """A copy of a probe body that keeps the symbol resolution (draft.clone drops it)."""
    from stapy.semantic.draft import clone

    new = clone(body)
    for a, b in zip(walk(body), walk(new)):
        if getattr(a, "referent", None) is not None:
            b.referent = a.referent
        if isinstance(a, ast.Expr) and getattr(a, "type", None) is not None and getattr(b, "type", None) is None:
            b.type = a.type
    return new


class Resolver:
    def __init__(self, d: Draft):
        self.d = d
        self.guru = bool(getattr(d.options, "guru", False))
        self.ticks = tv_functions.Ticks()
        # @entry operands in a .return probe: stap names their functions when it expands the entry probe
        self.synth_skip: set = set()
        # entry-probe copies of a .return probe's `$var`/`$$parms`: the numbers they took there (entry_values)
        self.replay: dict = {}
        self.entry_tick = 0  # stap's counter in gen_mapped_saved_return names

    def run(self):
        seen: set = set()
        probes = list(self.d.probes)  # save_at_entry inserts synthetic .call probes
        for p in probes:  # the sites of one wildcard share a body; plans are per site (copy before any change)
            if id(p.body) in seen and any(isinstance(n, _TARGET_NODES) for n in walk(p.body)):
                p.body = _own_copy(p.body)
            seen.add(id(p.body))
        for p in probes:
            self.probe(p)

    def probe(self, p):
        nodes = [n for n in walk(p.body) if isinstance(n, (ast.TargetSymbol, ast.CastOp, ast.AtVar, ast.EntryOp,
                                                            ast.DefinedOp, ast.Assignment, ast.IncDec))]
        if not any(isinstance(n, _TARGET_NODES) for n in nodes):
            return
        scope = ProbeScope(p)
        if scope.site is None and not scope.family.startswith("process.") and \
                not any(isinstance(n, (ast.DefinedOp, ast.CastOp)) for n in nodes):
            return
        # writes need -g
        for n in nodes:
            target = n.left if isinstance(n, ast.Assignment) else n.operand if isinstance(n, ast.IncDec) else None
            if target is not None and isinstance(target, (ast.TargetSymbol, ast.CastOp, ast.AtVar)) \
                    and not self.guru:
                self.d.reporter.error("write to target variable not permitted; need stap -g", target.tok,
                                      key="tv write")
        # @defined first: its operand is resolved in a trial, errors swallowed
        for n in nodes:
            if isinstance(n, ast.DefinedOp):
                ok = self.trial(n.operand, scope)
                n.defined = 1 if ok else 0
                if ok:
                    n.operand = ast.NumberLit(1, tok=n.tok)
                n.type = LONG
        inside_entry = set()
        for n in nodes:
            if isinstance(n, ast.EntryOp):
                for m in walk(n.operand):
                    inside_entry.add(id(m))
        if scope.is_return:
            self.synth_skip |= inside_entry
        for n in walk(p.body):
            if isinstance(n, ast.EntryOp) and getattr(n, "tv", None) is None:
                self.entry(n, scope)
            elif isinstance(n, (ast.TargetSymbol, ast.CastOp, ast.AtVar)) and getattr(n, "tv", None) is None:
                self.resolve_node(n, scope, entry=id(n) in inside_entry or scope.is_return)
        for n in nodes:  # tapsets.cxx: a float target is read through fp32_to_fp64, never written
            target = n.left if isinstance(n, ast.Assignment) else n.operand if isinstance(n, ast.IncDec) else None
            plan = getattr(target, "tv", None)
            if plan is not None and plan.kind == "long" and plan.access.read[0] == "f32" and self.guru:
                target.tv, target.type = None, None
                target.tv_error = ("cannot assign yet to 32-bit float", target.tok)
        if scope.is_return and scope.dwarf:
            from stapy.semantic.entry_values import save_at_entry

            save_at_entry(self, p, scope)

    def trial(self, e, scope) -> bool:
        for n in walk(e):
            if isinstance(n, (ast.TargetSymbol, ast.CastOp, ast.AtVar)):
                if not self.resolve_node(n, scope, entry=scope.is_return, quiet=True):
                    return False
        return True

    def entry(self, n, scope):
        if not scope.is_return:
            n.tv_error = ("internal error: @entry is only valid in .return probes", n.tok)
            return
        for m in walk(n.operand):
            if isinstance(m, (ast.TargetSymbol, ast.CastOp, ast.AtVar)) and getattr(m, "tv", None) is None:
                self.resolve_node(m, scope, entry=True)
        n.tv = Plan("entry")

    def resolve_node(self, n, scope, entry: bool, quiet: bool = False) -> bool:
        saved = self.ticks
        replay = self.replay.pop(id(n), None)
        if replay is not None:
            self.ticks = tv_functions.Replay(replay, saved)
        self.ticks.log = []
        try:
            plan, typ = self.plan_for(n, scope, entry)
            fold_constants(plan, n.tok)
            n.tv = plan
            n.type = typ
            self.synth_node(n, plan)
        except TvError as ex:
            if not quiet:
                n.tv_error = (ex.message, ex.tok or n.tok)
                n.tv_more = list(getattr(ex, "more", ()))
            return False
        finally:
            n.tv_ticks = self.ticks.log
            self.ticks = saved
        return True

    # -- one node --------------------------------------------------------------------------
    def plan_for(self, n, scope, entry):
        comps = list(n.components)
        pretty = comps[-1].name if comps and comps[-1].kind == "pretty" else None
        if isinstance(n, ast.CastOp):
            return self.cast(n, scope, comps, pretty)
        if isinstance(n, ast.AtVar):
            return self.atvar(n, scope, comps, pretty, entry)
        name = n.name
        if scope.site is None and scope.family.startswith("process."):
            return self.utrace(n, scope, comps, pretty)
        if scope.site is None:
            raise TvError("unresolved target-symbol expression", n.tok)
        if scope.sdt is not None or scope.site.kind in ("mark", "plt"):
            got = self.sdt(n, scope, comps, pretty)
            if got is not None:
                return got
            if scope.site.kind == "plt":
                ex = TvError(f"debuginfo scope not found for module '{scope.site.module}', cannot resolve "
                             "context variable [man error::dwarf]", n.tok)
                ex.more = [(f"unable to find plt variable '{n.name}' (alternatives: $$name)", n.tok)]
                raise ex
            try:
                return self.dwarf_var(n, scope, comps, pretty, entry)
            except TvError as ex:
                ex.more = [("target-symbol requires debuginfo", n.tok)]
                raise
        return self.dwarf_var(n, scope, comps, pretty, entry)

    def dwarf_var(self, n, scope, comps, pretty, entry):
        name = n.name
        if name in ("$$vars", "$$parms", "$$locals", "$$return"):
            return self.context(n, scope, name, pretty, entry)
        if not scope.dwarf:
            raise TvError("unresolved target-symbol expression", n.tok)
        if name == "$return":
            if not scope.is_return:
                raise scope.unknown_local("return", n.tok)
            rtype = scope.mod.return_type(scope.func)
            if rtype is None:
                raise TvError(f"function {scope.func.name} ({scope.cu_text()}) has no return value", n.tok)
            return self.finish(_return_access(rtype, scope), rtype, comps, pretty, n)
        var = name[1:]
        die = scope.find_variable(var)
        if die is None:
            raise scope.unknown_local(var, n.tok)
        try:
            base = scope.location_of(die, var, n.tok)
        except TvError:
            if not pretty:
                raise
            # stap's pretty printer reads each scalar in a try of its own: one it cannot locate is "?"
            return self.finish(Access(("unavailable",)), scope.type_of_die(die), comps, pretty, n)
        acc = Access(base, entry=entry and scope.is_return, site_address=scope.pc)
        return self.finish(acc, scope.type_of_die(die), comps, pretty, n)

    def finish(self, acc, ctype, comps, pretty, n):
        plain = [c for c in comps if c.kind != "pretty"]
        if pretty:
            a2, t = apply_components(acc, ctype, plain, n.tok, False, pretty=True) if plain else (acc, ctype)
            if plain and a2.read[0] == "bits":
                enc = t.strip().encoding if t is not None else None
                items = [("%u" if enc in ("unsigned", "unsigned_char") else "%i", a2)]
                return Plan("pretty", items=_unreadable_as_unknown(items)), STRING
            items = _merge(_unreadable_as_unknown(pretty_items(a2, t, pretty == "$$")))
            return Plan("pretty", items=items), STRING
        acc, t = apply_components(acc, ctype, plain, n.tok, getattr(n, "addressof", False))
        if acc.base[0] == "loc" and acc.base[1].kind == "pieces":
            select_piece(acc, n.tok)
        if getattr(n, "addressof", False) and not any(st[0] == "deref" for st in acc.steps) and (
                acc.base[0] != "expr" and not (acc.base[0] == "loc" and acc.base[1].kind == "memory")):
            raise TvError(_not_addressable(acc), n.tok)
        return Plan("long", access=acc), LONG

    # -- $$vars and friends ----------------------------------------------------------------
    def context(self, n, scope, name, pretty, entry):
        if not scope.dwarf:
            return Plan("string", text=""), STRING
        items: list = []
        fns: list = []
        layout: list = []
        if name == "$$return" and scope.is_return:
            rtype = scope.mod.return_type(scope.func)
            if rtype is not None:
                try:  # stap leaves out a $return it cannot read [visit_target_symbol_context]
                    more = self.one_var_items(_return_access(rtype, scope), rtype, pretty)
                    items.append("return=")
                    items.extend(more)
                    fns.append(self.synth_var("return", more, pretty))
                    layout += ["return=%s" if pretty else "return=%#x", fns[-1]]
                except TvError as ex:
                    if ex.message == "cannot process >64-bit values":
                        self.ticks.take("tvar")
            return Plan("pretty", items=_merge(items), fns=fns, layout=layout), STRING
        if name == "$$return":  # not a .return probe: stap looks for a local called `$return`
            ex = scope.unknown_local("$return", n.tok)
            ex.more = [(ex.message, n.tok)]
            raise ex
        first = True
        for die in scope.context_vars(name):
            from stapy.debuginfo.dwarf import die_name

            vname = die_name(die)
            if not first:
                items.append(" ")
                layout.append(" ")
            first = False
            items.append(vname)
            layout.append(vname)
            t = scope.type_of_die(die)
            s = t.strip() if t is not None else None
            if not pretty and s is not None and s.kind in ("struct", "union", "class"):
                items.append("={...}")
                layout.append("={...}")
                continue
            if not pretty and s is not None and s.kind == "array":
                items.append("=[...]")
                layout.append("=[...]")
                continue
            try:
                try:
                    base = scope.location_of(die, vname, n.tok)
                except TvError:
                    if not pretty:
                        raise
                    base = ("unavailable",)  # as in dwarf_var: each scalar of the pretty print is "?"
                acc = Access(base, entry=entry and scope.is_return, site_address=scope.pc)
                more = self.one_var_items(acc, t, pretty)
                items.append("=")
                items.extend(more)
                fns.append(self.synth_var(vname, more, pretty))
                layout += ["=%s" if pretty else "=%#x", fns[-1]]
            except TvError as ex:
                items.append("=?")
                layout.append("=?")
                if ex.message == "cannot process >64-bit values":  # stap had named the function already
                    if base[0] == "loc" and base[1].fb:
                        self.ticks.take("local")
                    self.ticks.take("tvar")
        return Plan("pretty", items=_merge(items), fns=fns, layout=layout), STRING

    def synth_var(self, name, items, pretty):
        """stap's function for one variable of $$vars (a tvar_get) or $$vars$ (a pretty print)."""
        if pretty:
            return tv_functions.pretty(self.ticks, items)
        return tv_functions.tvar_get(self.ticks, name, items[0][1])

    def synth_node(self, n, plan):
        """stap's functions for a resolved $var / $var$ / @cast / @var node (context ones are made
        by `context`)."""
        if plan.fns or plan.kind not in ("long", "pretty") or id(n) in self.synth_skip:
            return
        sdt = [plan.access] if plan.kind == "long" else [x[1] for x in plan.items if not isinstance(x, str)]
        if any(a is not None and a.base[0] == "sdt" for a in sdt):
            for a in sdt:
                fns, calls = tv_functions.sdt_operand(self.ticks, a.base[1])
                plan.fns += fns
                plan.calls += [c for c in calls if c not in plan.calls]
            return
        if isinstance(n, ast.TargetSymbol):
            if n.name.startswith("$$") or (plan.kind == "long" and plan.access.base[0] in ("sdt", "reg")):
                return
            name = n.name[1:]
            if plan.kind == "long":
                plan.fns = [tv_functions.tvar_get(self.ticks, name, plan.access)]
            else:
                plan.fns = [tv_functions.pretty(self.ticks, plan.items)]
        elif isinstance(n, ast.CastOp):
            if plan.kind == "long":
                plan.fns = [tv_functions.cast_get(self.ticks, plan.access)]
            else:
                plan.fns = [tv_functions.pretty(self.ticks, plan.items, params=("pointer",))]
        elif isinstance(n, ast.AtVar) and plan.kind == "long":
            fn = tv_functions.tvar_get(self.ticks, n.name.partition("@")[0], plan.access)
            plan.fns = [fn]

    def one_var_items(self, acc, t, pretty):
        if pretty:
            plan = Plan("pretty", items=_merge(_unreadable_as_unknown(pretty_items(acc, t, pretty == "$$"))))
            fold_constants(plan, None)  # before the deref functions are named: "?" members get none
            return plan.items
        a, _ = apply_components(acc, t, [], None, False)
        _fold_access(a, None)
        return [("%#x", a)]

    # -- process.syscall (stap's utrace probes; PTRACE_SYSCALL stops here) [tapset-utrace.cxx] -----
    _SYSCALL_ARGS = ("rdi", "rsi", "rdx", "r10", "r8", "r9")

    def utrace(self, n, scope, comps, pretty):
        fam = scope.family
        if fam not in ("process.syscall", "process.syscall.return"):
            raise TvError('only "process(PATH_OR_PID).syscall" and "process(PATH_OR_PID).syscall.return" '
                          "probes support target symbols", n.tok)
        if n.addressof:
            raise TvError("cannot take address of utrace variable", n.tok)
        name = n.name
        plain = [c for c in comps if c.kind != "pretty"]
        if name.startswith("$arg") or name == "$$parms":
            if fam != "process.syscall":
                raise TvError('only "process(PATH_OR_PID).syscall" support $argN or $$parms.', n.tok)
            if name == "$$parms":
                items: list = []
                for i, reg in enumerate(self._SYSCALL_ARGS, start=1):
                    items += [(" " if i > 1 else "") + f"$arg{i}=",
                              ("%#x", Access(("reg", reg), read=("int", 8, True)))]
                return Plan("pretty", items=_merge(items), calls=["_utrace_syscall_arg"]), STRING
            num = name[4:]
            if not num.isdigit() or not 1 <= int(num) <= 6:
                raise TvError("invalid syscall argument number (1-6)", n.tok)
            self._no_components(n, plain)
            return Plan("long", access=Access(("reg", self._SYSCALL_ARGS[int(num) - 1]), read=("int", 8, True)),
                        calls=["_utrace_syscall_arg"]), LONG
        if name in ("$syscall", "$return"):
            self._no_components(n, plain)
            if name == "$return":
                if fam != "process.syscall.return":
                    raise TvError('only "process(PATH_OR_PID).syscall.return" support $return.', n.tok)
                return Plan("long", access=Access(("reg", "rax"), read=("int", 8, True)),
                            calls=["_utrace_syscall_return"]), LONG
            return Plan("long", access=Access(("reg", "orig_rax"), read=("int", 8, True)),
                        calls=["_utrace_syscall_nr"]), LONG
        raise TvError("invalid target symbol for utrace probe, $syscall, $return, $argN or $$parms expected", n.tok)

    @staticmethod
    def _no_components(n, plain):
        if plain:
            raise TvError(f"utrace variable '{n.name}' may not be used as a structure", plain[0].tok or n.tok)

    # -- SDT ----------------------------------------------------------------------------------
    def sdt(self, n, scope, comps, pretty):
        name = n.name
        probe = scope.sdt
        if scope.site.kind == "plt":
            if name == "$$name":
                return Plan("string", text=scope.site.plt_name or scope.site.function), STRING
            return None
        if name == "$$name":
            return Plan("string", text=probe.name), STRING
        if name == "$$provider":
            return Plan("string", text=probe.provider), STRING
        if name in ("$$parms", "$$vars"):
            items: list = []
            for i, a in enumerate(probe.args, start=1):
                if i > 1:
                    items.append(" ")
                items.append(f"$arg{i}=")
                items.append(("%#x", Access(("sdt", a), site_address=scope.pc, read=("int", 8, True))))
            return Plan("pretty", items=_merge(items)), STRING
        if name.startswith("$arg") and name[4:].isdigit():
            i = int(name[4:])
            if i < 1 or i > len(probe.args):
                return None
            if [c for c in comps if c.kind != "pretty"] or pretty:
                raise TvError(f"type definition '{probe.name}_arg{i}' not found in '{scope.site.module}'", n.tok)
            acc = Access(("sdt", probe.args[i - 1]), site_address=scope.pc, read=("int", 8, True))
            if n.addressof:  # stap chains the sdt error and falls back to DWARF, which has no scope here
                ex = TvError(f"debuginfo scope not found for module '{scope.site.module}', cannot resolve "
                             "context variable [man error::dwarf]", n.tok)
                ex.more = [("cannot take address of sdt variable", n.tok)]
                raise ex
            return Plan("long", access=acc), LONG
        return None

    # -- @cast and @var -------------------------------------------------------------------------
    def module_for(self, module: str, scope):
        from stapy.debuginfo.dwarf import dwarf_for
        from stapy.debuginfo.elf import open_elf

        path = module or (scope.site.module if scope.site is not None else None)
        if not path:
            return None, None
        if module and not module.startswith("/"):
            # stap: a name without '/' is a kernel module, one with '/' a user module taken as is
            # (find_executable does not make it absolute): neither is found [is_user_module]
            return None, module
        try:
            return dwarf_for(open_elf(path)), path
        except (OSError, ValueError):
            return None, path

    def find_type(self, mod, tname: str):
        """(CType, 0) of @cast's type name in mod [types.find_named_type]; (None, 0) when it is not
        there.  A pointer type ('struct foo *') is never found, as in stap."""
        from stapy.debuginfo.types import find_named_type

        if tname.rstrip().endswith("*"):
            return None, 0
        return find_named_type(mod.di, tname), 0

    def cast_module(self, module: str, scope):
        """(DwarfModule, path) of one @cast module: a binary, or "<a.h><b.h>" compiled by headers.py."""
        from stapy.debuginfo import headers

        if headers.is_header_module(module):
            from stapy.debuginfo.dwarf import dwarf_for
            from stapy.debuginfo.elf import open_elf

            path = headers.typequery_module(module, warn=lambda text: self.d.reporter.warning(text))
            if path is None:
                return None, module
            try:
                return dwarf_for(open_elf(path)), path
            except (OSError, ValueError):
                return None, module
        return self.module_for(module, scope)

    def cast(self, n, scope, comps, pretty):
        # "m1:m2:..." are tried in order, the first that defines the type wins [visit_cast_op]
        t, ptr, path = None, 0, None
        for module in (n.module.split(":") if n.module else [n.module]):
            mod, path = self.cast_module(module, scope)
            t, ptr = (self.find_type(mod, n.type_name) if mod is not None else (None, 0))
            if t is not None and not ptr:
                break
        where = n.module if n.module and (":" in n.module or n.module.startswith("<")) else path or ""
        if t is None or ptr:
            raise TvError(f"type definition '{n.type_name}' not found in '{where}'", n.tok)
        # @cast(p, "T") is the object of type T at address p
        acc = Access(("expr", n.operand), site_address=scope.pc if scope.site is not None else None)
        return self.finish(acc, t, comps, pretty, n)

    def atvar(self, n, scope, comps, pretty, entry):
        """stap's @var: in a DWARF probe of the same module and without "@cu", first as a variable
        seen at the probe pc [dwarf_var_expanding_visitor::visit_atvar_op]; then each CU in turn at
        pc 0 [dwarf_atvar_query].  Each failure is chained; stap prints the chain newest first
        after its "unable to find global"."""
        import fnmatch

        from stapy.debuginfo.dwarf import die_name
        from stapy.semantic.suggest import suggest

        name, _, cu_pat = n.name.partition("@")
        chain: list = []
        same = not n.module or (scope.site is not None and n.module == scope.site.module)
        if same and not cu_pat and scope.dwarf and scope.site.kind in _DWARF_KINDS:
            try:
                return self.atvar_found(n, scope, comps, pretty, entry, scope.find_variable(name), name,
                                        scope.site.module, scope, None)
            except TvError as ex:
                chain.append((ex.message, ex.tok or n.tok))
        mod, path = self.module_for(n.module, scope)
        where = f", in {cu_pat}" if cu_pat else ""
        if mod is not None:
            for cu in mod.cus():
                top = cu.get_top_DIE()
                cu_name = top.attributes.get("DW_AT_name")
                cu_text = cu_name.value.decode() if cu_name is not None else ""
                if cu_pat and not (cu_text == cu_pat or fnmatch.fnmatchcase(cu_text, "*/" + cu_pat)):
                    continue
                kids = [d for d in top.iter_children() if d.tag in ("DW_TAG_variable", "DW_TAG_formal_parameter")]
                found = next((d for d in kids if die_name(d) == name), None)
                try:
                    if found is None:
                        alts = suggest(name, ["$" + die_name(d) for d in kids if die_name(d)], 5)
                        raise TvError(f"unable to find global '{name}', [man error::dwarf] dieoffset {top.offset:#x} "
                                      f"in {path}, in {cu_text or '<unknown>'} {cu_text} "
                                      + (f"(alternatives: {alts}))" if alts else "(<no alternatives>)"), n.tok)
                    return self.atvar_found(n, scope, comps, pretty, entry, found, name, path, None, mod)
                except TvError as ex:
                    chain.append((ex.message, ex.tok or n.tok))
        if mod is None and n.module and not n.module.startswith("/"):  # stap skipped it: nothing chained
            raise TvError("unresolved @var() expression", n.tok)
        ex = TvError(f"unable to find global '{name}' in {path}{where}", n.tok)
        ex.more = list(reversed(chain))
        raise ex

    def atvar_found(self, n, scope, comps, pretty, entry, die, name, path, local_scope, mod):
        """One candidate DIE of @var: at the probe pc (local_scope) or as a CU global (pc 0)."""
        from stapy.debuginfo.dwarf import attr_integrate
        from stapy.debuginfo.locations import location_at
        from stapy.debuginfo.types import type_of

        site_address = scope.pc if scope.site is not None else None
        if local_scope is not None:
            if die is None:
                raise local_scope.unknown_local(name, n.tok)
            base = local_scope.location_of(die, name, n.tok)
        else:
            const, _ = attr_integrate(die, "DW_AT_const_value")
            la, holder = attr_integrate(die, "DW_AT_location")
            if const is not None:
                base = constant_base(const)
            elif la is None:
                base = symbol_or_no_location(path, die, name, n.tok)
            else:
                loc = location_at(mod, la, holder, 0, None)
                if loc is None or loc.kind != "memory":
                    raise TvError("not accessible at this address [man error::dwarf]", n.tok)
                base = ("loc", loc)
        acc = Access(base, site_address=site_address)
        if base[0] == "loc" and (scope.site is None or os.path.realpath(path) != os.path.realpath(scope.site.module)):
            acc.module = os.path.realpath(path)  # its load bias comes from the runner at run time
        ta, holder = attr_integrate(die, "DW_AT_type")
        t = type_of(holder.get_DIE_from_attribute("DW_AT_type")) if ta is not None else None
        return self.finish(acc, t, comps, pretty, n)


def run(d: Draft) -> Draft:
    Resolver(d).run()
    return d


def report_unresolved(inf, e) -> None:
    """infer_types found a target expression that pass 2 could not resolve and that survived elision."""
    inf.rep.error(e.tv_error[0], e.tv_error[1], key="tv " + e.tv_error[0])
    more = list(getattr(e, "tv_more", ()))
    for i, (msg, tok) in enumerate(more):
        # stap dedupes by the throw sites of an error and of what is chained below it: the same text
        # at another depth of the chain is printed again
        below = len(more) - i - 1
        inf.rep.error(msg, tok, key=f"tv more {msg}" + (f"#{below}" if below else ""))


def infer_hook(inf, e, t) -> None:
    """infer_types' view of a resolved target expression: index expressions are longs, the node's
    own type is fixed, and a use that wants the other type is stap's mismatch."""
    for c in getattr(e, "components", ()) or ():
        if c.index is not None:
            inf.t = LONG
            inf.expr(c.index)
    if isinstance(e, ast.CastOp):
        inf.t = LONG
        inf.expr(e.operand)
    if isinstance(e, ast.EntryOp):
        inf.t = t
        inf.expr(e.operand)
        if e.type is None and e.operand.type is not None:
            inf.set_type(e, e.operand.type)
        return
    if t is not None and e.type is not None and t != e.type:
        inf.mismatch(e.tok, t, e.type)
