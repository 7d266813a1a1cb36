"""SDT semaphores: raised while a .mark probe is armed, so guarded markers fire; lowered again on
detach, so a -x process goes back to its untraced path.  The program prints the value it sees."""
import subprocess
import time

from conftest import build_target, run_stapy


def test_semaphore_enables_the_marker_under_c():
    prog = str(build_target("tgt_sdt_sem.c", flags=("-O0", "-g")))
    r = run_stapy("-e", f'probe process("{prog}").mark("tick") {{ printf("tick %d\\n", $arg1) }}', "-c", prog)
    assert r.returncode == 0, r.stderr
    assert [l for l in r.stdout.splitlines() if l.startswith("semaphore")] == ["semaphore=1"] * 3
    assert [l for l in r.stdout.splitlines() if l.startswith("tick")] == ["tick 0", "tick 1", "tick 2"]


def test_semaphore_is_restored_after_detach_from_x():
    prog = str(build_target("tgt_sdt_sem.c", flags=("-O0", "-g")))
    proc = subprocess.Popen([prog, "400", "20"], stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(0.3)
        r = run_stapy("-e", f'global n; probe process("{prog}").mark("tick") {{ n++; if (n == 3) exit() }} '
                            'probe end { printf("n=%d\\n", n) }', "-x", str(proc.pid))
        assert r.returncode == 0, r.stderr
        assert r.stdout == "n=3\n"
        out, _ = proc.communicate(timeout=30)
        values = [int(l.split("=")[1]) for l in out.splitlines()]
        assert values[0] == 0 and values[-1] == 0  # untraced before and after
        assert 1 in values  # raised while armed
    finally:
        if proc.poll() is None:
            proc.kill()
