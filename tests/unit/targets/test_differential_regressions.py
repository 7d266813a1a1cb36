"""Bugs bench/differential.py found by comparing stapy with bpftrace, each checked here against the
program's own printed truth through the stapy command line (no bpftrace needed)."""
from __future__ import annotations

import pytest

from conftest import build_target, run_stapy

LONGJMP = r"""
#include <setjmp.h>
#include <stdio.h>
jmp_buf jb;
volatile long sink;
__attribute__((noinline)) long deep(long n) { if (n == 0) longjmp(jb, 1); long r = deep(n - 1) + 1; sink += r; return r; }
__attribute__((noinline)) long after(long x) { sink += x; return x + 1; }
int main(void) {
    long r = 0, dn = 0;
    for (long i = 0; i < 300; i++) {
        if (!setjmp(jb)) deep(4);
        dn += 5;
        r += after(i);
    }
    printf("truth deep_n=%ld deep_rn=0 after_rn=300 after_r=%ld\n", dn, r);
    return 0;
}
"""


@pytest.mark.parametrize("opt", ["-O0", "-O2"])
def test_return_probes_after_longjmp_skipped_frames(opt):
    """longjmp leaves 5 hijacked deep() frames per round; they used to fill the 512-frame shadow
    stack under after()'s live one, so after ~102 rounds every after() return was missed."""
    prog = str(build_target(LONGJMP, flags=(opt, "-g"), name="diff_longjmp"))
    script = ('global dn, drn, arn, ar\n'
              f'probe process("{prog}").function("deep") {{ dn++ }}\n'
              f'probe process("{prog}").function("deep").return {{ drn++ }}\n'
              f'probe process("{prog}").function("after").return {{ arn++; ar += $return }}\n'
              'probe end { printf("stapy deep_n=%d deep_rn=%d after_rn=%d after_r=%d\\n", dn, drn, arn, ar) }')
    r = run_stapy("-e", script, "-c", prog)
    assert r.returncode == 0, r.stderr
    truth = next(l for l in r.stdout.splitlines() if l.startswith("truth "))
    got = next(l for l in r.stdout.splitlines() if l.startswith("stapy "))
    assert got.split()[1:] == truth.split()[1:]
