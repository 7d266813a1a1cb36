"""A developer's loop: run a script, rebuild the program in place, run the same script again.
The second run must probe the new binary (stap's cache key covers what pass 2 resolved).
Expected values: the program's own `truth` lines."""
from __future__ import annotations

import subprocess

from heldout_harness import split, stap

V1 = r'''
#include <stdio.h>
__attribute__((noinline)) int f(int x) { return x + 1; }
int main(void) { printf("truth f %d\n", 41); return f(41) != 42; }
'''
V2 = r'''
#include <stdio.h>
__attribute__((noinline)) int pad1(int x) { return x * 7 + 3; }
__attribute__((noinline)) int pad2(int x) { return x * 9 + 3; }
__attribute__((noinline)) int f(int x) { return x + 2; }
int main(void) { printf("truth f %d\n", 41); return f(41) + pad1(1) + pad2(2) == 0; }
'''


def _build(tmp_path, text):
    (tmp_path / "prog.c").write_text(text)
    subprocess.run(["gcc", "-O0", "-g", "-o", str(tmp_path / "prog"), str(tmp_path / "prog.c")], check=True)


def test_rebuilt_binary_is_probed_afresh(tmp_path):
    script = f'probe process("{tmp_path}/prog").function("f") {{ printf("f %d\\n", $x) }}'
    _build(tmp_path, V1)
    truth, got = split(stap(script, "-c", str(tmp_path / "prog")).stdout)
    assert got["f"] == truth["f"]
    _build(tmp_path, V2)
    truth, got = split(stap(script, "-c", str(tmp_path / "prog")).stdout)
    assert got["f"] == truth["f"]
