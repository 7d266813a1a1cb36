"""process.syscall and .syscall.return through the stapy command line: $syscall, $argN, $return,
threads, and -x attach/detach leaving the process as found (it goes on making syscalls)."""
import os
import re
import subprocess
import time

import pytest

from conftest import build_target, run_stapy


@pytest.fixture(scope="module")
def exe():
    return str(build_target("engine_syscalls.c", flags=("-O0", "-g")))


def test_counts_arguments_and_returns(exe):
    script = ('global ent, ret, w, last\n'
              f'probe process("{exe}").syscall {{ ent[$syscall]++; if ($syscall == 1) w[$arg1, $arg3]++ }}\n'
              'probe process.syscall.return { ret[$syscall]++; last[$syscall] = $return }\n'
              'probe end { printf("write %d/%d getpid %d/%d=%d openat=%d unknown %d/%d=%d exit_group %d/%d\\n", '
              'ent[1], ret[1], ent[39], ret[39], last[39], last[257], ent[1000], ret[1000], last[1000], '
              'ent[231], ret[231]); foreach ([fd, n] in w) printf("fd %d len %d x%d\\n", fd, n, w[fd, n]) }')
    r = run_stapy("-e", script, "-c", f"{exe} calls 40")
    assert r.returncode == 0, r.stderr
    fd, wrote, pid, enoent, enosys = map(int, re.search(
        r"fd=(\d+) wrote=(\d+) pid=(\d+) open=-1/(\d+) unknown=-1/(\d+)", r.stdout).groups())
    mine = r.stdout.splitlines()[1:]
    assert mine[0] == f"write 41/41 getpid 3/3={pid} openat=-{enoent} unknown 1/1=-{enosys} exit_group 1/0"
    own = len(r.stdout.splitlines()[0]) + 1  # the program's own printf
    assert sorted(mine[1:]) == sorted([f"fd {fd} len 1 x{wrote}", f"fd 1 len {own} x1"])


def test_threads_exact(exe):
    # every thread's getppid returns the same parent: one distinct $return, 5600 times
    script = ('global n, r\n'
              'probe process.syscall { if ($syscall == 110) n++ }\n'
              'probe process.syscall.return { if ($syscall == 110) r[$return]++ }\n'
              'probe end { printf("%d", n); foreach (v in r) printf(" %d", r[v]); println("") }')
    r = run_stapy("-e", script, "-c", f"{exe} threads 8 700")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "getppid calls 5600"
    assert lines[1] == "5600 5600"


def test_x_attach_counts_then_detaches_cleanly(exe, tmp_path):
    stop = tmp_path / "stop"
    proc = subprocess.Popen([exe, "wait", str(stop)], stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(0.2)
        maps = open(f"/proc/{proc.pid}/maps").read()
        r = run_stapy("-e", 'global n, bad; probe process.syscall.return { if ($syscall == 110) '
                            f'{{ if ($return != {os.getpid()}) bad++; if (++n == 50) exit() }} }} '
                            'probe end { printf("n=%d bad=%d\\n", n, bad) }', "-x", str(proc.pid))
        assert r.returncode == 0, r.stderr
        assert r.stdout == "n=50 bad=0\n"
        # nothing of ours is left: no tracer, and the program goes on making syscalls untraced
        status = open(f"/proc/{proc.pid}/status").read()
        assert re.search(r"TracerPid:\s+0\n", status)
        assert open(f"/proc/{proc.pid}/maps").read() == maps  # no XOL area left behind
        time.sleep(0.1)
        stop.write_text("")
        out, _ = proc.communicate(timeout=10)
        assert proc.returncode == 0
        n = int(re.match(r"done (\d+) ok\n$", out).group(1))
        assert n > 50
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_syscall_name_and_num(exe):
    """stap's syscall_table.stp functions (x86-64 table of stap 4.8: up to 334; unknown: "" and -1)."""
    script = ('global seen\n'
              'probe process.syscall { if ($syscall == 1 || $syscall == 39 || $syscall == 257 || $syscall == 1000) '
              'seen[$syscall] = syscall_name($syscall) }\n'
              'probe end { foreach (n+ in seen) printf("%d=%s|", n, seen[n]); '
              'printf("\\n%d %d %d %s|%s\\n", syscall_num("getppid"), syscall_num("read"), syscall_num("nope"), '
              'syscall_name(334), syscall_name(435)) }')
    r = run_stapy("-e", script, "-c", f"{exe} calls 1")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[1:] == ["1=write|39=getpid|257=openat|1000=|", "110 0 -1 rseq|"]
