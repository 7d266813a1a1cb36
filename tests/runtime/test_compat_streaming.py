"""Output reaches stdout while the session runs, also in a script with no timers or targets.

SystemTap's own harness (testsuite/lib/stap_run.exp) waits for "systemtap starting probe" from a begin
probe and only then sends SIGINT; staprun drains the transport while the module runs, so that line
appears without the session ending.
"""
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_begin_output_is_flushed_before_the_session_ends():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    script = 'probe begin { println("systemtap starting probe") } probe end { println("systemtap ending probe") }'
    p = subprocess.Popen([sys.executable, "-m", "stapy", "-e", script], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env)
    try:
        out, deadline = b"", time.time() + 30
        while b"starting probe\n" not in out and time.time() < deadline:
            if select.select([p.stdout], [], [], 0.1)[0]:
                chunk = os.read(p.stdout.fileno(), 4096)
                if not chunk:
                    break
                out += chunk
        assert p.poll() is None, "the session ended on its own"
        assert out == b"systemtap starting probe\n"
        p.send_signal(signal.SIGINT)
        rest, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
    assert rest == b"systemtap ending probe\n"
    assert p.returncode == 0, err
