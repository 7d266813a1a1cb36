"""The -p2 listing (main.cxx printscript): globals, functions, probes and their locals."""
from __future__ import annotations

from stapy.semantic.program import Program, type_name


def global_sig(g) -> str:
    s = g.name
    if g.wrap:
        s += "%"
    if g.size:
        s += f"[{g.size}]"
    s += ":" + type_name(g.type)
    if g.index_types:
        s += " [" + ", ".join(type_name(t) for t in g.index_types) + "]"
    return s


def function_sig(f) -> str:
    params = ", ".join(f"{p.name}:{type_name(p.type)}" for p in f.params)
    return f"{f.name}:{type_name(f.type)} ({params})"


def _literal(v) -> str:
    if isinstance(v, str):
        return '"' + v + '"'
    return str(v)


def body_text(body, options_unoptimized: bool = False, tv_names: dict | None = None) -> str:
    """`{ ... }` as stap -p2 -v prints a body: the -p1 printer on a copy where globals and
    functions carry their mangled names."""
    from stapy.parser import ast
    from stapy.parser.printer import stmt
    from stapy.semantic.draft import clone, walk
    from stapy.semantic.program import GlobalVar

    copy = clone(body)
    for a, b in zip(walk(body), walk(copy)):
        if isinstance(a, ast.Symbol) and isinstance(a.referent, GlobalVar):
            b.name = a.referent.mangled
        elif isinstance(a, ast.FunctionCall) and a.referent:
            b.name = a.referent[0].mangled
    if tv_names is not None:  # target expressions print as calls of stap's synthesized functions
        from stapy.semantic.tv_functions import rewrite_for_listing

        copy = rewrite_for_listing(body, copy, tv_names)
    if not options_unoptimized:
        for n in walk(copy):
            for attr in ("then", "else_", "body", "try_block", "catch_block"):
                sub = getattr(n, attr, None)
                if isinstance(sub, ast.Block) and len(sub.statements) == 1 and n is not copy:
                    setattr(n, attr, sub.statements[0])
    if isinstance(copy, ast.Block) and len(copy.statements) == 1 and not isinstance(copy.statements[0], ast.Block):
        copy = copy.statements[0]  # stap unwraps singleton blocks while eliding
    elif isinstance(copy, ast.Block) and not copy.statements:
        copy = ast.NullStmt()
    return "{ " + stmt(copy) + " }"


def program_lines(program: Program, options) -> list[str]:
    from stapy.semantic.tv_functions import extra_embeds, listing_entries

    out: list[str] = []
    synthetic = listing_entries(program, bool(options.verbose))  # stap's generated target-variable functions
    tv_names = getattr(program, "_tv_names", None)
    embeds = ["%{" + e.code + "%}" for e in program.embeds] + extra_embeds(program, synthetic)
    if embeds:
        out.append("# global embedded code")
        out += embeds
    if program.globals:
        out.append("# globals")
        for g in program.globals:
            line = global_sig(g)
            if options.verbose and g.init is not None:
                line += " = " + _literal(g.init)
            out.append(line)
    if program.functions or synthetic:
        out.append("# functions")
        rows = [(f.mangled, f) for f in program.functions] + synthetic
        for _, f in sorted(rows, key=lambda r: r[0]):
            if isinstance(f, list):
                out += f
                continue
            out.append(function_sig(f))
            if f.locals:
                out.append("  # locals")
                out += [f"  {v.name}:{type_name(v.type)}" for v in f.locals]
            if options.verbose:
                out.append(body_text(f.body, options.unoptimized))
    if program.probes:
        out.append("# probes")
        for p in program.probes:
            out.append(f"{p.location}{p.comment} /* <- {p.derivation} */")
            if p.locals:
                out.append("  # locals")
                out += [f"  {v.name}:{type_name(v.type)}" for v in p.locals]
            if options.verbose:
                out.append(body_text(p.body, options.unoptimized, tv_names))
    return out


def print_program(program: Program, options, out) -> None:
    for line in program_lines(program, options):
        out.write(line + "\n")
