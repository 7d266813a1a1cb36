"""target_vars.py: $name lookup through scopes and CU globals, $$parms/$$locals, $return, $argN."""
from __future__ import annotations

import subprocess

from conftest import build_target
from stapy.debuginfo.resolve import resolve_process_probe
from stapy.debuginfo.target_vars import (find_target_variable, locals_at, parms_at, return_value, sdt_args,
                                         vars_at)


def nm_address(exe, name):
    for line in subprocess.run(["nm", str(exe)], capture_output=True, text=True, check=True).stdout.splitlines():
        f = line.split()
        if len(f) == 3 and f[2] == name:
            return int(f[0], 16)
    raise AssertionError(name)


def test_function_site_variables():
    exe = build_target("dbg_basic.c", flags=("-O0", "-g"))
    site = resolve_process_probe(str(exe), [("function", "mix")])[0]
    assert [v.name for v in parms_at(site)] == ["col", "n", "f", "arr", "d"]
    assert [v.name for v in locals_at(site)] == ["r"]
    assert [v.name for v in vars_at(site)] == ["col", "n", "f", "arr", "d", "r"]
    assert find_target_variable(site, "f").type_name == "struct flags*"
    g = find_target_variable(site, "counter")           # a CU global
    assert g.location.ops == (("addr", nm_address(exe, "counter")),)
    assert find_target_variable(site, "nosuch") is None


def test_return_site_reads_at_entry():
    exe = build_target("dbg_basic.c", flags=("-O2", "-g"))
    entry = resolve_process_probe(str(exe), [("function", "add")])[0]
    ret = resolve_process_probe(str(exe), [("function", "add"), ("return", None)])[0]
    assert find_target_variable(ret, "a").location == find_target_variable(entry, "a").location
    t, loc = return_value(ret)
    assert t.stap_name() == "int" and loc.register_name() == "rax"


def test_statement_site_sees_block_locals():
    exe = build_target("dbg_inline.c", flags=("-O0", "-g"))
    sites = resolve_process_probe(str(exe), [("statement", "accumulate@*:12")])
    assert sites
    names = [v.name for v in vars_at(sites[0])]
    assert "sq" in names and "i" in names and "n" in names     # innermost blocks first, then the function


def test_mark_arguments():
    exe = build_target("dbg_sdt.c", flags=("-O2", "-g"))
    site = resolve_process_probe(str(exe), [("mark", "mixed")])[0]
    assert [a.text for a in sdt_args(site)] == site.sdt.arg_text.split()
