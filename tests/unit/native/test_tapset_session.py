"""Tapsets that depend on the session rather than a tracee: switch_file() with -o and -S (staprun's
SIGUSR2 handling in relay.c), tz_ctime()/tz_gmtoff()/tz_name() (staprun sends -tm_gmtoff and
tm_zone of localtime at startup), and the begin-probe answers of the process tapsets (stapy
itself is the current task)."""
from __future__ import annotations

import os

from conftest import run_stapy

# the switch is asked for once begin's line has been written (the runner drains output every
# 0.2 s), and the next line comes well after it
SWITCHING = ('probe begin { println("one") } probe timer.ms(700) { switch_file() } '
             'probe timer.ms(1300) { println("two"); exit() }')


def test_switch_file_with_o_moves_from_file_to_file_1(tmp_path):
    r = run_stapy("-o", str(tmp_path / "out"), "-e", SWITCHING)
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir(tmp_path)) == ["out", "out.1"]
    assert (tmp_path / "out").read_text() == "one\n"
    assert (tmp_path / "out.1").read_text() == "two\n"


def test_switch_file_with_S_numbers_every_file(tmp_path):
    r = run_stapy("-S", "1", "-o", str(tmp_path / "out"), "-e", SWITCHING)
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir(tmp_path)) == ["out.0", "out.1"]
    assert (tmp_path / "out.0").read_text() == "one\n"
    assert (tmp_path / "out.1").read_text() == "two\n"


def test_switch_file_without_o_is_ignored(tmp_path):
    r = run_stapy("-e", SWITCHING, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "one\ntwo\n"
    assert os.listdir(tmp_path) == []


def test_tz_ctime_uses_the_local_zone():
    # a POSIX TZ string needs no zone database: ABC is 3 hours east of UTC
    r = run_stapy("-e", 'probe begin { println(tz_ctime(0)); println(tz_gmtoff(), " ", tz_name()); exit() }',
                  env={"TZ": "ABC-3"})
    assert r.returncode == 0, r.stderr
    assert r.stdout == "Thu Jan  1 03:00:00 1970 ABC\n-10800 ABC\n"


def test_process_tapsets_in_begin_answer_for_stapy_itself():
    r = run_stapy("-e", 'probe begin { printf("%d %d %d %d\\n", stp_pid() == pid(), is_myproc(), '
                        'registers_valid(), proc_mem_size() > 0); '
                        'println(pid2execname(pid()) == execname(), task_start_time(tid()) > 0); '
                        'println(task_ancestry(pid(), 0)); exit() }')
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[:2] == ["1 1 0 1", "11"]
    me = open(f"/proc/{os.getpid()}/comm").read().strip()  # stapy's parent is this test's process
    assert lines[2].startswith("swapper/0=>") and f"=>{me}=>" in lines[2]
