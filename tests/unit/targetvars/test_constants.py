"""Folded constants read at run time, and the .return warning's text (stap 4.8's, recorded with stap48 -p2)."""
from __future__ import annotations

import struct
from pathlib import Path

from conftest import build_target, run_stapy

HERE = Path(__file__).resolve().parent


def test_const_values_are_the_programs():
    """DW_AT_const_value: an int as is, a double as its bits in a long (stap 4.5+), struct members from the block."""
    binary = build_target(str(HERE / "tv_const.c"), flags=("-O2", "-g"))
    script = ('probe process("@BIN@").function("bump") { printf("stap counter=%d %d ratio=%d origin.x=%d '
              'origin.y=%d %s %s live=%d\\n", $counter, @var("counter"), $ratio, @var("origin")->x, $origin->y,'
              ' $origin$, @var("origin")$$, @var("live@tv_const*")) }')
    r = run_stapy("-e", script.replace("@BIN@", str(binary)), "-c", str(binary))
    assert r.returncode == 0, r.stderr
    bits = struct.unpack("<q", struct.pack("<d", 2.5))[0]
    assert f"stap counter=42 42 ratio={bits} origin.x=1 origin.y=2 {{.x=1, .y=2}} {{.x=1, .y=2}} live=3\n" in r.stdout
    assert "bump counter=42 ratio=0x1.4p+1 origin.x=1 origin.y=2" in r.stdout


def test_return_probe_capture_warning_prints_the_whole_expression():
    """tapsets.cxx prints the target_symbol with its `&`, members, indexes and `->$` (stap48 -p2's texts)."""
    binary = build_target("tv_struct.c", flags=("-O0", "-g"))
    script = (f'probe process("{binary}").function("show").return {{ println($n$, &$n->in, $n->in$$, $c,'
              ' $n->vals[2], $n->in->a) }')
    r = run_stapy("-p2", "-e", script)
    assert r.returncode == 0, r.stderr
    shown = [line.split("@entry(", 1)[1].split(") in .return", 1)[0] for line in r.stderr.splitlines()
             if line.startswith("WARNING: confusing usage")]
    assert shown == ["$n->$", "&$n->in", "$n->in->$$", "$c", "$n->vals[2]", "$n->in->a"]


def test_members_of_struct_parameters_in_register_pieces():
    """tv_pieces.c passes t = {3, 4} in rdi:rsi and f = {5, 6, 7, 8} in rdx:rcx (DW_OP_piece): members at
    a piece's start are read from their register."""
    binary = build_target(str(HERE / "tv_pieces.c"), flags=("-O2", "-g"))
    script = 'probe process("@BIN@").function("sum2") { printf("stap %d %d %d %d %s\\n", $t->a, $t->b, $f->w, $f->y, $t$) }'
    r = run_stapy("-e", script.replace("@BIN@", str(binary)), "-c", str(binary))
    assert r.returncode == 0, r.stderr
    assert "stap 3 4 5 7 {.a=3, .b=4}\n" in r.stdout
    assert "3 4 6 8\n" in r.stdout  # the program's own line


def test_atvar_chain_prints_each_failure():
    """@var tried at the probe pc, then in the CU: both fail alike and stap 4.8 prints both (recorded)."""
    binary = build_target(str(HERE / "tv_const.c"), flags=("-O2", "-g"))
    r = run_stapy("-p2", "-e", f'probe process("{binary}").function("bump") {{ println(@var("greeting")) }}')
    assert r.returncode != 0
    cols = ":1:" + str(len(f'probe process("{binary}").function("bump") {{ println(') + 1)
    got = [line.replace(str(binary), "@BIN@") for line in r.stderr.splitlines() if line.startswith("semantic error:")]
    assert got == [
        f"semantic error: unable to find global 'greeting' in @BIN@: operator '@var' at <input>{cols}",
        f"semantic error: failed to retrieve location attribute for 'greeting' [man error::dwarf]: operator '@var' at {cols}",
        f"semantic error: failed to retrieve location attribute for 'greeting' [man error::dwarf]: operator '@var' at {cols}",
        f"semantic error: unresolved type : operator '@var' at {cols}"]
