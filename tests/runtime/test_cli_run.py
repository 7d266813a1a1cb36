"""Pass 5 through the command line: signals, -o FILE, -T, exit statuses, the compile cache."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def stapy(*args, **kw):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.update(kw.pop("env", {}))
    return subprocess.Popen([sys.executable, "-m", "stapy", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, **kw)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_ends_the_session_cleanly(sig):
    # end probes run, output is flushed, exit status 0 (LANGUAGE.md 12)
    p = stapy("-e", 'global n; probe timer.ms(5) { n++ } probe begin { println("started") } '
                    'probe end { println("end ", n > 0) }')
    assert p.stdout.readline() == "started\n"
    time.sleep(0.3)
    p.send_signal(sig)
    out, err = p.communicate(timeout=30)
    assert (out, err, p.returncode) == ("end 1\n", "", 0)


def test_output_file(tmp_path):
    target = tmp_path / "out.txt"
    p = stapy("-o", str(target), "-e", 'probe begin { printf("to %s\\n", "file"); exit() }')
    out, err = p.communicate(timeout=60)
    assert (out, err, p.returncode) == ("", "", 0)
    assert target.read_text() == "to file\n"


def test_timeout_option():
    p = stapy("-T", "0.5", "-e", 'probe timer.ms(10) { } probe end { println("bye") }')
    out, err = p.communicate(timeout=60)
    assert (out, p.returncode) == ("bye\n", 0)


def test_second_run_uses_the_cache(tmp_path):
    from stapy.codegen.jit import _sources_stamp

    for attempt in range(3):  # other work on the tree changes the cache key: try again then
        before = _sources_stamp()
        try:
            return check_cache_reuse(tmp_path / str(attempt))
        except AssertionError:
            if _sources_stamp() == before:
                raise


def check_cache_reuse(tmp_path):
    env = {"XDG_CACHE_HOME": str(tmp_path)}
    script = 'probe begin { println("cached?"); exit() }'
    stamps = []
    for _ in range(2):
        p = stapy("-e", script, env=env)
        out, err = p.communicate(timeout=60)
        assert (out, err, p.returncode) == ("cached?\n", "", 0)
        libs = [x for x in (tmp_path / "stapy").iterdir() if x.suffix == ".so" and not x.name.startswith("runtime")]
        assert len(libs) == 1  # one program library
        stamps.append(libs[0].stat().st_mtime_ns)
    assert stamps[0] == stamps[1]  # built once, reused
