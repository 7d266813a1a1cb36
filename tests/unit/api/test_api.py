"""The Python face and the pytest fixture, on a real target."""
import pytest

import stapy as stapy_pkg
from conftest import build_target


@pytest.fixture(scope="module")
def calls():
    return str(build_target("tgt_calls.c", flags=("-O0", "-g")))


def test_run_returns_output_and_status(calls):
    r = stapy_pkg.run(f'global n; probe process("{calls}").function("add") {{ n++ }} '
                      'probe end { printf("n=%d\\n", n) }', cmd=calls)
    assert r.ok and r.status == 0, r.errors
    assert r.output == "n=5\n"


def test_run_reports_errors_as_text():
    r = stapy_pkg.run("probe begin { x = 1; y = x / 0 ; println(y) }")
    assert r.status == 1
    assert "ERROR: division by 0 near operator '/' at <input>:1:28" in r.errors
    assert r.errors.rstrip().endswith("Pass 5: run failed.  [man error::pass5]")


def test_run_through_earlier_passes():
    r = stapy_pkg.run("probe begin { println(1 + 2) }", last_pass=1)
    assert r.ok and r.output == "# parse tree dump\n# file <input>\nprobe begin{\nprintln((1) + (2));\n}\n\n"


def test_defines_and_arguments():
    r = stapy_pkg.run("probe begin { printf(\"%s %d\\n\", @1, $2); exit() }", args=("word", 7))
    assert r.output == "word 7\n", r.errors


def test_fixture_runs_and_checks(stapy, calls):
    r = stapy.check(f'probe process("{calls}").function("greet") {{ printf("%s\\n", user_string($who)) }}',
                    cmd=calls)
    assert r.output == "stap\nworld\nworld\n"


def test_fixture_check_fails_the_test_on_errors(stapy):
    with pytest.raises(pytest.fail.Exception) as e:
        stapy.check("probe begin { error(\"boom\") }")
    assert "boom" in str(e.value)


def test_process_group_and_session_are_the_callers():
    # begin probes run in stapy's own process: pgrp()/sid() name its group and session. In a pid
    # namespace whose session leader lies outside, getsid() is 0, so compare, never assume > 0.
    import os
    r = stapy_pkg.run('probe begin { printf("%d %d\\n", pgrp(), sid()); exit() }')
    assert r.output == f"{os.getpgrp()} {os.getsid(0)}\n", r.errors
