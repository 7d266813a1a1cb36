"""Return probes across longjmp: frames a longjmp skipped must not pile up on the shadow stack.

Found by bench/differential.py against bpftrace: `deep` is entered 5 times per round and left by
longjmp, `after` returns normally; the stale `deep` instances sat under `after`'s live one and
filled the shadow stack (then 512 frames, now 64 as the kernel's), so later `after` returns were missed;
the outermost deep() frame shares its slot with `after`'s and is dropped when a new call reuses it.
The program prints its own truth (sum of after()'s return values)."""
from __future__ import annotations

import pytest

from conftest import build_target
from enginefix import H, watchdog  # noqa: F401  (fixtures)
from stapy.runtime.engine import Engine

SRC = r"""
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
jmp_buf jb;
volatile long sink;
__attribute__((noinline)) long deep(long n) { if (n == 0) longjmp(jb, 1); long r = deep(n - 1) + 1; sink += r; return r; }
__attribute__((noinline)) long after(long x) { sink += x; return x + 1; }
int main(int argc, char **argv) {
    long rounds = atol(argv[1]), r = 0;
    for (long i = 0; i < rounds; i++) {
        if (!setjmp(jb)) deep(4);
        r += after(i);
    }
    printf("after_r %ld\n", r);
    return 0;
}
"""


@pytest.mark.parametrize("flags", [("-O0", "-g"), ("-O2", "-g")], ids=["O0", "O2"])
@pytest.mark.parametrize("hot", [False, True], ids=["py", "hot"])
def test_longjmp_skipped_frames_do_not_exhaust_the_shadow_stack(H, watchdog, flags, hot, capfd):
    exe = str(build_target(SRC, flags=flags, name="longjmp_returns"))
    rounds = 400   # 5 skipped deep() frames per round: 2000 stale instances, far over 64
    e = watchdog.watch(Engine(hotloop=hot))
    pd = e.add_probe(exe, "deep", H["count"], "return", 0)
    pa = e.add_probe(exe, "after", H["ret"], "return", 1)
    e.launch([exe, str(rounds)])
    assert e.run() == "exited"
    assert e.target_status == 0
    out = capfd.readouterr().out
    truth = int(out.split("after_r ")[1].split()[0])
    assert H.counts[1] == rounds and H.rets[1] == truth
    assert e.hits(pa) == rounds and e.misses(pa) == 0
    assert e.hits(pd) == 0 and e.misses(pd) == 0   # deep() never returns, and no hijack was refused
    assert e.procs == {} or all(p.returns_active <= 1 for p in e.procs.values())
