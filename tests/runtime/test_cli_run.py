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


# main.cxx's -v lines: TIMESPRINT "in Uusr/Ssys/Rreal ms.", getmemusage() "using Vvirt/Rres/Sshr/Ddata kb, "
MEM = r"using \d+virt/\d+res/\d+shr/\d+data kb, "
TIMES = r"in \d+usr/\d+sys/\d+real ms\."
VERBOSE_LINES = [
    rf"Pass 1: parsed user script and \d+ library scripts {MEM}{TIMES}",
    rf"Pass 2: analyzed script: 1 probe, 3 functions, 0 embeds, 1 global {MEM}{TIMES}",  # stap48 -v -p2 (exit() counts)
    rf'Pass 3: translated to C into "[^"]+" {MEM}{TIMES}',
    rf'Pass 4: compiled C into "[^"]+" {TIMES}',
    r"Pass 5: starting run\.",
    rf"Pass 5: run completed {TIMES}",
]
VERBOSE_SCRIPT = 'global g; function f(x) { return x + 1 } function h() { return 2 } probe begin { g = f(h()); println(g); exit() }'


def test_verbose_pass_lines(tmp_path):
    import re

    env = {"XDG_CACHE_HOME": str(tmp_path)}
    p = stapy("-v", "-e", VERBOSE_SCRIPT, env=env)
    out, err = p.communicate(timeout=60)
    assert (out, p.returncode) == ("3\n", 0), err
    lines = err.splitlines()
    assert len(lines) == 6, err
    for line, rx in zip(lines, VERBOSE_LINES):
        assert re.fullmatch(rx, line), (line, rx)
    # -p2 stops after pass 2's line; --vp 00001 speaks in pass 5 only
    p = stapy("-v", "-p2", "-e", VERBOSE_SCRIPT, env=env)
    _, err = p.communicate(timeout=60)
    assert [ln[:7] for ln in err.splitlines() if ln.startswith("Pass")] == ["Pass 1:", "Pass 2:"]
    # -p4: the module's path on stdout is the one the Pass 4 line names (main.cxx prints both)
    p = stapy("-v", "-p4", "-e", VERBOSE_SCRIPT, env={"XDG_CACHE_HOME": str(tmp_path / "p4")})
    out, err = p.communicate(timeout=60)
    assert f'Pass 4: compiled C into "{out.strip()}" ' in err
    p = stapy("--vp", "00001", "-e", VERBOSE_SCRIPT, env=env)
    _, err = p.communicate(timeout=60)
    lines = err.splitlines()
    assert len(lines) == 2 and re.fullmatch(VERBOSE_LINES[4], lines[0]) and re.fullmatch(VERBOSE_LINES[5], lines[1]), err

def test_verbose_cached_run_says_using_cached(tmp_path):
    import re

    from stapy.codegen.jit import _sources_stamp

    for attempt in range(3):  # other work on the tree changes the cache key: try again then
        before = _sources_stamp()
        env = {"XDG_CACHE_HOME": str(tmp_path / str(attempt))}
        stapy("-e", VERBOSE_SCRIPT, env=env).communicate(timeout=60)
        p = stapy("-v", "-e", VERBOSE_SCRIPT, env=env)
        out, err = p.communicate(timeout=60)
        lines = err.splitlines()
        if _sources_stamp() != before:
            continue
        # cache.cxx: "Pass 3: using cached <src>", "Pass 4: using cached <module>"; passes 1-2 still speak
        assert re.fullmatch(VERBOSE_LINES[0], lines[0]) and re.fullmatch(VERBOSE_LINES[1], lines[1]), err
        assert re.fullmatch(r"Pass 3: using cached \S+\.ll", lines[2]), err
        assert re.fullmatch(r"Pass 4: using cached \S+\.o", lines[3]), err
        assert lines[4:5] == ["Pass 5: starting run."] and out == "3\n"
        return
    pytest.skip("the source tree kept changing")


def test_verbose_parse_failure_line_comes_before_failed():
    p = stapy("-v", "-e", "probe begin { x = }")
    _, err = p.communicate(timeout=60)
    lines = err.splitlines()
    assert lines[-1] == "Pass 1: parse failed.  [man error::pass1]"
    assert lines[-2].startswith("Pass 1: parsed user script and ")
    assert lines[-3] == "1 parse error."


# staprun -S size[,N] (common.c parse_args: size MiB; relay.c: FILE.0, FILE.1 ..., a file never passes
# size, opening file k removes file k-N)
ROTATE_SCRIPT = 'global n; probe begin { while (n++ < 300) printf("%8191d\\n", n); exit() }'
ROTATE_TEXT = "".join(f"{n:8191d}\n" for n in range(1, 301))  # 300 * 8192 bytes: more than 2 MiB


def test_size_rotation(tmp_path):
    out = tmp_path / "out"
    p = stapy("-D", "MAXACTION=100000", "-S", "1", "-o", str(out), "-e", ROTATE_SCRIPT)
    _, err = p.communicate(timeout=60)
    assert (err, p.returncode) == ("", 0)
    files = sorted(tmp_path.iterdir(), key=lambda f: int(f.suffix[1:]))
    assert [f.name for f in files] == ["out.0", "out.1", "out.2"]
    assert all(f.stat().st_size <= 1 << 20 for f in files)
    assert "".join(f.read_text() for f in files) == ROTATE_TEXT


def test_size_rotation_keeps_n_files(tmp_path):
    out = tmp_path / "out"
    p = stapy("-D", "MAXACTION=100000", "-S", "1,2", "-o", str(out), "-e", ROTATE_SCRIPT)
    _, err = p.communicate(timeout=60)
    assert (err, p.returncode) == ("", 0)
    names = sorted(f.name for f in tmp_path.iterdir())
    assert names == ["out.1", "out.2"]
    kept = (tmp_path / "out.1").read_text() + (tmp_path / "out.2").read_text()
    assert ROTATE_TEXT.endswith(kept) and len(kept) > 1 << 20


def test_size_rotation_small_output_is_file_0(tmp_path):
    out = tmp_path / "log"
    p = stapy("-S", "1", "-o", str(out), "-e", 'probe begin { println("small"); exit() }')
    _, err = p.communicate(timeout=60)
    assert (err, p.returncode) == ("", 0)
    assert [f.name for f in tmp_path.iterdir()] == ["log.0"] and (tmp_path / "log.0").read_text() == "small\n"


def test_size_without_output_file():
    p = stapy("-S", "1", "-e", 'probe begin { exit() }')
    _, err = p.communicate(timeout=60)
    assert err.splitlines()[0] == "ERROR: You have to specify output FILE with '-S' option."
    assert p.returncode == 1
