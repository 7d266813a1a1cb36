"""Pass 5 with real target processes: -c and -x through the whole pipeline (parse, types,
native handlers, the ptrace engine), checked against what the programs print themselves."""
import os
import subprocess
import time

import pytest

from conftest import build_target, run_stapy


@pytest.fixture(scope="module")
def calls():
    return str(build_target("tgt_calls.c", flags=("-O0", "-g")))


@pytest.fixture(scope="module")
def loop():
    return str(build_target("tgt_loop.c", flags=("-O0", "-g")))


def test_c_counts_calls_exactly(calls):
    r = run_stapy("-e", f'global n; probe process("{calls}").function("add") {{ n++ }} '
                        'probe end { printf("n=%d\\n", n) }', "-c", calls)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-1] == "n=5"
    assert "sum=10" in r.stdout  # the command's own output is its own


def test_arguments_strings_and_return_values(calls):
    r = run_stapy("-e", f'probe process("{calls}").function("greet") {{ printf("%s(%s, %d)\\n", ppfunc(), '
                        'user_string($who), $n) } '
                        f'probe process("{calls}").function("greet").return {{ printf("ret %d\\n", $return) }}',
                  "-c", calls)
    assert r.returncode == 0, r.stderr
    ours = [l for l in r.stdout.splitlines() if l.startswith(("greet(", "ret "))]
    theirs = [l for l in r.stdout.splitlines() if l.startswith("hello ")]
    assert ours[0::2] == ["greet(stap, 0)", "greet(world, 1)", "greet(world, 2)"]
    # printf returns the number of bytes it wrote: the program's own lines say how many
    assert ours[1::2] == [f"ret {len(line) + 1}" for line in theirs]


def test_bare_process_means_the_command(calls):
    r = run_stapy("-e", 'global n; probe process.function("add") { n++ } probe end { println(n) }', "-c", calls)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-1] == "5"


def test_exit_in_a_handler_leaves_the_command_running(calls, tmp_path):
    flag = tmp_path / "flag"
    r = run_stapy("-e", f'probe process("{calls}").function("add") {{ exit() }} probe end {{ println("end") }}',
                  "-c", f"{calls} 300 {flag}")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("end\n") or "end\n" in r.stdout
    deadline = time.time() + 10
    while not flag.exists() and time.time() < deadline:
        time.sleep(0.05)
    assert flag.read_text() == "done\n"  # it finished on its own after stapy left


def test_child_exit_status_is_reported(calls):
    r = run_stapy("-e", "probe begin { }  probe end { println(\"bye\") }", "-c", f"{calls} 0 /dev/null 3")
    assert r.returncode == 1
    assert r.stderr.endswith("WARNING: Child process exited with status 3\n")
    assert "bye" in r.stdout


def test_process_begin_and_end_probes(calls):
    r = run_stapy("-e", f'probe process("{calls}").begin {{ printf("begin %d\\n", pid() == target()) }} '
                        f'probe process("{calls}").end {{ printf("end %d\\n", pid() == target()) }}', "-c", calls)
    assert r.returncode == 0, r.stderr
    lines = [l for l in r.stdout.splitlines() if l.startswith(("begin", "end"))]
    assert lines == ["begin 1", "end 1"]


def test_x_attach_then_detach_leaves_the_process_running(loop):
    proc = subprocess.Popen([loop, "400"], stdout=subprocess.PIPE, text=True)  # about 8 s
    try:
        time.sleep(0.2)
        r = run_stapy("-e", f'global n; probe process("{loop}").function("tick") {{ n++; if (n == 5) exit() }} '
                            f'probe end {{ printf("n=%d same=%d\\n", n, target() == {proc.pid}) }}',
                      "-x", str(proc.pid))
        assert r.returncode == 0, r.stderr
        assert r.stdout == "n=5 same=1\n"
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0 and out == f"sum={sum(2 * i for i in range(400))}\n"
    finally:
        if proc.poll() is None:
            proc.kill()


def test_timer_and_target_together(loop):
    r = run_stapy("-e", f'global ticks, calls; probe process("{loop}").function("tick") {{ calls++ }} '
                        'probe timer.ms(100) { ticks++ } '
                        'probe end { printf("%d %d\\n", calls, ticks > 0) }', "-c", f"{loop} 20")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-1] == "20 1"


def test_runtime_error_in_a_process_probe(calls):
    r = run_stapy("-e", f'probe process("{calls}").function("greet") {{ println(user_string(0)) }}', "-c", calls)
    assert r.returncode == 1
    assert "ERROR: user string copy fault -14 at 0x0 [man error::fault]" in r.stderr
    assert r.stderr.rstrip().endswith("Pass 5: run failed.  [man error::pass5]")


def test_child_killed_by_a_signal_is_reported(calls):
    import signal as sig

    prog = build_target('#include <signal.h>\n#include <stdio.h>\nint main(void) { puts("about to die"); '
                        'fflush(stdout); raise(SIGSEGV); return 0; }\n', name="tgt_segv")
    r = run_stapy("-e", 'probe end { println("bye") }', "-c", str(prog))
    assert r.returncode == 1
    assert r.stdout == "about to die\nbye\n"  # the command's output, then the end probe's
    assert r.stderr == f"WARNING: Child process exited with signal 11 ({sig.strsignal(11)})\n"


def test_command_that_cannot_be_executed(tmp_path):
    missing = tmp_path / "no-such-program"
    r = run_stapy("-e", 'probe end { println("bye") }', "-c", f"{missing} arg")
    assert r.returncode == 1
    assert r.stdout == "bye\n"
    # staprun's perror(target_cmd) in the child, which exits 1
    assert r.stderr == f"{missing} arg: No such file or directory\nWARNING: Child process exited with status 1\n"


def test_target_is_set_in_begin_and_quoted_command_runs_without_sh():
    # stap's -c: the command is forked before the begin probes (target() is its pid there) and
    # wordexp()ed, so quotes do not bring in a `sh -c`: the shell printing $$ is the target itself.
    r = run_stapy("-e", 'probe begin { printf("t=%d\\n", target()) }', "-c", "sh -c 'echo \"$$\"'")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.split()
    begin = [l[2:] for l in lines if l.startswith("t=")]
    assert begin and begin[0] != "0"
    assert [l for l in lines if not l.startswith("t=")] == begin


def test_shell_metacharacters_go_to_sh(tmp_path):
    out = tmp_path / "o"
    r = run_stapy("-e", 'probe end { println("end") }', "-c", f"echo 'a;b' x > {out}")
    assert r.returncode == 0, r.stderr
    assert out.read_text() == "a;b x\n"


def test_exit_in_begin_still_runs_the_command(tmp_path):
    # staprun resumes the command on STP_START (module init returned 0) even when a begin probe exit()ed
    flag = tmp_path / "flag"
    r = run_stapy("-e", 'probe begin { exit() } probe end { println("end") }', "-c", f"touch {flag}")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "end\n"
    deadline = time.time() + 10
    while not flag.exists() and time.time() < deadline:
        time.sleep(0.05)
    assert flag.exists()


CREDS = r"""
#define _GNU_SOURCE
#include <stdio.h>
#include <unistd.h>
void probe_here(void) {}
int main(void) {
    if (setresgid(100, 200, 300) || setresuid(1000, 2000, 3000)) return 2;
    probe_here();
    printf("truth %d %d %d %d %d\n", getppid(), getuid(), geteuid(), getgid(), getegid());
    return 0;
}
"""


def test_parent_and_credentials_are_the_tracees():
    # stap's ppid()/uid()/euid()/gid()/egid() describe the probed task (its own getppid() etc.),
    # not the tracer; in begin they are stapy's own
    exe = str(build_target(CREDS, flags=("-O0", "-g"), name="creds"))
    r = run_stapy("-e", f'probe process("{exe}").function("probe_here") {{ '
                        'printf("got %d %d %d %d %d\\n", ppid(), uid(), euid(), gid(), egid()) } '
                        'probe begin { printf("own %d %d\\n", ppid(), uid()) }', "-c", exe)
    assert r.returncode == 0, r.stderr
    lines = dict(l.split(" ", 1) for l in r.stdout.splitlines())
    assert lines["got"] == lines["truth"]
    assert lines["own"] == f"{os.getpid()} {os.getuid()}"  # run_stapy's child: our pid is its parent


def test_probe_in_linked_library_sees_its_constructor(tmp_path):
    # ld.so runs a DT_NEEDED library's constructors before the program's entry point: the library's
    # probes are armed at ld.so's first RT_CONSISTENT _dl_debug_state call, before _dl_init
    (tmp_path / "lib.c").write_text("long lf(long x) { return x * 3; }\n"
                                    "__attribute__((constructor)) static void c(void) { lf(1000); }\n")
    (tmp_path / "main.c").write_text("long lf(long); int main(void) { return lf(1) != 3; }\n")
    lib, exe = tmp_path / "libdt.so", tmp_path / "main"
    subprocess.run(["gcc", "-shared", "-fPIC", "-g", "-o", lib, tmp_path / "lib.c"], check=True)
    subprocess.run(["gcc", "-g", "-o", exe, tmp_path / "main.c", lib, f"-Wl,-rpath,{tmp_path}"], check=True)
    r = run_stapy("-e", f'probe process("{lib}").function("lf") {{ printf("%d\\n", $x) }}', "-c", str(exe))
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["1000", "1"]
