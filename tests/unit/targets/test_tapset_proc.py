"""The process tapsets (proc_mem.stp, task_time.stp, task.stp, usymbols.stp, target_set.stp,
returnstr) in a probe of a real gcc-built process, each value checked against the truth that the
process itself reads from /proc (or from its own getpid()/dladdr()) just before the probe."""
from __future__ import annotations

import os
import re

import pytest
from conftest import build_target, run_stapy

TRUTH_SRC = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>

static char statm[256], status[4096], stat_[1024];

static void slurp(const char *path, char *buf, size_t n) {
  int fd = open(path, O_RDONLY);
  ssize_t got = fd < 0 ? 0 : read(fd, buf, n - 1);
  buf[got > 0 ? got : 0] = 0;
  if (fd >= 0) close(fd);
}

__attribute__((noinline)) int probe_here(int x) { return x + 1; }
__attribute__((noinline)) long ret_errno(void) { return -2; }
__attribute__((noinline)) long ret_value(void) { return 42; }

int main(int argc, char **argv) {
  FILE *out = fopen(argv[1], "w");
  volatile unsigned long spin = 0;
  for (unsigned long i = 0; i < 150000000UL; i++) spin += i;   /* some user time */
  Dl_info info;
  dladdr((void *)probe_here, &info);
  char path[64];
  snprintf(path, sizeof path, "/proc/self/task/%d/stat", gettid());
  fprintf(out, "pid %d\nppid %d\ntid %d\nrel %lu\n", getpid(), getppid(), gettid(),
          (unsigned long)probe_here - (unsigned long)info.dli_fbase);
  slurp("/proc/self/comm", status, sizeof status);
  fprintf(out, "comm %s", status);
  snprintf(path, sizeof path, "/proc/%d/comm", getppid());
  slurp(path, status, sizeof status);
  fprintf(out, "pcomm %s", status);
  snprintf(path, sizeof path, "/proc/%d/stat", getppid());
  slurp(path, status, sizeof status);
  fprintf(out, "gppid %ld\n", strtol(strchr(strrchr(status, ')') + 2, ' ') + 1, 0, 10));
  snprintf(path, sizeof path, "/proc/self/task/%d/stat", gettid());
  fflush(out);
  slurp(path, stat_, sizeof stat_);
  slurp("/proc/self/status", status, sizeof status);
  slurp("/proc/self/statm", statm, sizeof statm);
  probe_here(1);
  fprintf(out, "statm %s", statm);
  char *rss = strstr(status, "RssFile:");
  fprintf(out, "rssfile %ld\n", rss ? strtol(rss + 8, 0, 10) : -1L);
  fprintf(out, "stat %s", strrchr(stat_, ')') + 2);
  fprintf(out, "ret %ld %ld\n", ret_errno(), ret_value());
  fclose(out);
  return 0;
}
"""


def _truth(path) -> dict:
    t = {}
    for line in open(path):
        k, _, v = line.rstrip("\n").partition(" ")
        t[k] = v
    return t


@pytest.fixture(scope="module")
def traced(tmp_path_factory):
    """One run of the truth program under a script that prints every process tapset value."""
    prog = str(build_target(TRUTH_SRC, name="tapset_proc"))
    out = tmp_path_factory.mktemp("proc") / "truth"
    script = f"""
probe process("{prog}").function("probe_here") {{
  printf("pid %d %d %d %d\\n", pid(), tid(), ns_pid(), ns_tid())
  printf("ns %d %d %d %d %d %d %d\\n", ns_ppid() == ppid(), ns_pgrp() == pgrp(), ns_sid() == sid(),
         ns_uid() == uid(), ns_euid() == euid(), ns_gid() == gid(), ns_egid() == egid())
  printf("mem %d %d %d %d %d\\n", proc_mem_size(), proc_mem_rss(), proc_mem_shr(), proc_mem_txt(), proc_mem_data())
  printf("mempid %d %d %d %d %d\\n", proc_mem_size_pid(pid()), proc_mem_rss(pid()), proc_mem_shr_pid(pid()),
         proc_mem_txt(pid()), proc_mem_data_pid(pid()))
  printf("memstr %s\\n", proc_mem_string())
  printf("memstr2 size: %s, rss: %s, shr: %s, txt: %s, data: %s\\n", pages_to_string(proc_mem_size()),
         pages_to_string(proc_mem_rss()), pages_to_string(proc_mem_shr()), pages_to_string(proc_mem_txt()),
         pages_to_string(proc_mem_data()))
  printf("memnone %d %d %s\\n", proc_mem_size(0), proc_mem_rss(-1), proc_mem_string_pid(0))
  printf("times %d %d %d %d %d\\n", task_utime(), task_stime(), task_utime_tid(tid()), task_stime(tid()),
         task_start_time(tid()))
  printf("tstr %s|%s\\n", task_time_string(), task_time_string_tid(tid()))
  printf("tstr2 usr: %s, sys: %s\\n", cputime_to_string(task_utime()), cputime_to_string(task_stime()))
  printf("args %s|%s|%s|%s\\n", cmdline_args(1, -1, " "), cmdline_args(2, 3, ","), cmdline_args(3, 4, ","),
         cmdline_args(9, -1, ","))
  printf("comm %s|%s|%s\\n", pid2execname(pid()), pid2execname(0), execname())
  printf("anc %s\\n", task_ancestry(pid(), 0))
  printf("anct %s\\n", task_ancestry(pid(), 1))
  printf("start %s\\n", nsecs_to_string(task_start_time(pid())))
  printf("me %d %d %d\\n", stp_pid(), is_myproc(), registers_valid())
  printf("umod %d %s\\n", umodaddr(uaddr()), umodbuildid(uaddr()))
  try {{ umodaddr(8) }} catch (m) {{ printf("umoderr %s|\\n", m) }}
  printf("fl %s|%s|%s\\n", usymfileline(uaddr()), usymfile(uaddr()), usymline(uaddr()))
  printf("stack %s", sprint_ustack(ucallers(1)))
  printf("syms %s", sprint_usyms(sprintf("%p", uaddr())))
  print_ustack(sprintf("%p", uaddr()))
}}
probe process("{prog}").function("ret_errno").return {{ printf("rs %s %s\\n", returnstr(1), returnstr(2)) }}
probe process("{prog}").function("ret_value").return {{ printf("rv %s %s %s\\n", returnstr(1), returnstr(2), returnstr(3)) }}
"""
    r = run_stapy("-e", script, "-c", f"{prog} {out} a '' b c")
    assert r.returncode == 0, r.stderr
    got = {}
    for line in r.stdout.splitlines():
        k, _, v = line.partition(" ")
        got.setdefault(k, []).append(v)
    return {k: v[0] if len(v) == 1 else v for k, v in got.items()}, _truth(out), prog, r


def test_ids_and_namespaces_are_the_process_own(traced):
    got, truth, _, _ = traced
    assert got["pid"].split() == [truth["pid"], truth["tid"], truth["pid"], truth["tid"]]
    assert got["ns"] == "1 1 1 1 1 1 1"
    stp_pid, myproc, regs = got["me"].split()
    assert stp_pid in (truth["ppid"], truth["gppid"])  # -c: stapy forks the target (or the sh that runs it)
    assert (myproc, regs) == ("1" if os.getuid() == os.geteuid() else "0", "1")


def test_memory_counters_equal_statm_and_rssfile(traced):
    got, truth, _, _ = traced
    page = os.sysconf("SC_PAGE_SIZE")
    statm = [int(x) for x in truth["statm"].split()]
    want = [statm[0], statm[1], int(truth["rssfile"]) * 1024 // page, statm[3], statm[5]]
    assert [int(x) for x in got["mem"].split()] == want
    assert [int(x) for x in got["mempid"].split()] == want
    assert got["memstr"] == got["memstr2"]
    assert re.fullmatch(r"size: .{5}, rss: .{5}, shr: .{5}, txt: .{5}, data: .{5}", got["memstr"])
    assert got["memnone"] == "0 0 size:     0, rss:     0, shr:     0, txt:     0, data:     0"


def test_cpu_times_follow_the_thread_stat(traced):
    got, truth, _, _ = traced
    tick = 1_000_000_000 // os.sysconf("SC_CLK_TCK")
    fields = truth["stat"].split()  # from field 3 (state)
    utime, stime, start = (int(fields[k - 3]) * tick for k in (14, 15, 22))
    u, s, u2, s2, st = (int(x) for x in got["times"].split())
    assert u == u2 and s == s2 and st == start
    assert utime <= u <= utime + 2 * tick and stime <= s <= stime + 2 * tick
    assert utime > 0  # the program spun before the probe
    assert got["tstr"] == f"{got['tstr2']}|{got['tstr2']}"
    assert re.fullmatch(r"usr: \d+m\d+\.\d{3}s, sys: \d+m\d+\.\d{3}s", got["tstr2"])


def test_cmdline_args_quote_empty_arguments_after_the_first(traced):
    got, truth, prog, _ = traced
    first, two_three, three_four, none = got["args"].split("|")  # argv: prog TRUTH a '' b c
    assert first.split(" ")[1:] == ["a", '""', "b", "c"] and first.split(" ")[0].endswith("truth")
    assert (two_three, three_four, none) == ('a,""', ",b", "")


def test_execname_ancestry_and_start_time(traced):
    got, truth, _, _ = traced
    comm = truth["comm"]
    assert got["comm"] == f"{comm}||{comm}"
    parent = truth["pcomm"]
    assert got["anc"].startswith("swapper/0=>") and got["anc"].endswith(f"=>{parent}=>{comm}")
    assert got["anct"].startswith("swapper/0(0m0.000000000s)=>")
    assert got["anct"].endswith(f"=>{comm}({got['start']})")
    assert re.fullmatch(r"(?:[^()=]+\(\d+m\d+\.\d{9}s\)=>)+[^()=]+\(\d+m\d+\.\d{9}s\)", got["anct"])


def test_module_address_build_id_and_lines(traced):
    got, truth, prog, r = traced
    from elftools.elf.elffile import ELFFile

    with open(prog, "rb") as f:
        ids = [n["n_desc"] for s in ELFFile(f).iter_segments() if s.header.p_type == "PT_NOTE"
               for n in s.iter_notes() if n["n_type"] == "NT_GNU_BUILD_ID"]
    rel, bid = got["umod"].split(" ")
    # the probe sits after probe_here's prologue: a few bytes into the function
    assert 0 <= int(rel) - int(truth["rel"]) < 16
    assert bid == (ids[0] if ids else "")
    assert "\numoderr umodaddr 0x8 unknown\n |\n" in r.stdout  # stap's message ends in "\n "
    fileline, file, line = got["fl"].split("|")
    assert fileline == f"{file}:{line}" and file.endswith(".c") and line.isdigit()


def test_ustack_and_usyms_print_usymdata_lines(traced):
    got, _, prog, r = traced
    lines = r.stdout.splitlines()
    stack = lines[lines.index(next(x for x in lines if x.startswith("stack "))):][:2]
    assert re.fullmatch(r"stack  0x[0-9a-f]+ : probe_here\+0x[0-9a-f]+/0x[0-9a-f]+ \[.*\]", stack[0])
    assert re.fullmatch(r" 0x[0-9a-f]+ : main\+0x[0-9a-f]+/0x[0-9a-f]+ \[.*\]", stack[1])
    sym = next(x for x in lines if x.startswith("syms "))[len("syms "):]
    assert sym == stack[0][len("stack "):]
    assert lines[lines.index(next(x for x in lines if x.startswith("syms "))) + 1] == sym


def test_returnstr_formats_the_return_value(traced):
    got, truth, _, _ = traced
    assert truth["ret"] == "-2 42"
    assert got["rs"] == "-2 (ENOENT) -2 (ENOENT)"
    assert got["rv"] == "42 0x2a 052"


FORK_SRC = r"""
#include <stdio.h>
#include <unistd.h>
#include <sys/wait.h>
__attribute__((noinline)) void report(void) { __asm__ volatile(""); }
int main(int argc, char **argv) {
  FILE *out = fopen(argv[1], "a");
  pid_t a = fork();
  if (a == 0) {
    pid_t b = fork();
    if (b == 0) {
      fprintf(out, "%d begat %d\n", getppid(), getpid()); fclose(out);
      report();
      return 0;
    }
    waitpid(b, 0, 0);
    return 0;
  }
  fprintf(out, "%d begat %d\n%d begat %d\n", getppid(), getpid(), getpid(), a); fclose(out);
  waitpid(a, 0, 0);
  return 0;
}
"""


def test_target_set_follows_forks_of_the_target(tmp_path):
    prog = str(build_target(FORK_SRC, name="tapset_fork"))
    out = tmp_path / "truth"
    r = run_stapy("-e", f'probe process("{prog}").function("report") {{ target_set_report(); '
                        'printf("in %d %d\\n", target_set_pid(pid()), target_set_pid(stp_pid())) }',
                  "-c", f"{prog} {out}")
    assert r.returncode == 0, r.stderr
    truth = sorted(out.read_text().splitlines(), key=lambda x: int(x.split()[2]))
    assert r.stdout.splitlines() == ["target set:", *truth, "in 1 0"]


STRINGS_SRC = r"""
#include <stdint.h>
static const uint16_t u16[] = {'h', 0xe9, 'l', 0xd83d, 0xde00, 0};
static const uint32_t u32[] = {'h', 0xe9, 0x1f600, 0};
__attribute__((noinline)) void strings(const uint16_t *a, const uint32_t *b, const char *s, short *sh, long *l,
                                       unsigned short *ush) { __asm__ volatile("" :: "r"(a), "r"(b), "r"(s), "r"(sh), "r"(l), "r"(ush)); }
int main(void) {
  short sh = -12345; long l = -1234567890123L; unsigned short ush = 65000;
  strings(u16, u32, "abc\tdef", &sh, &l, &ush);
  return 0;
}
"""


def test_uconversion_variants_read_the_process_memory():
    prog = str(build_target(STRINGS_SRC, name="tapset_strings"))
    r = run_stapy("-e", f'probe process("{prog}").function("strings") {{ '
                        'a = pointer_arg(1); b = pointer_arg(2); s = pointer_arg(3) '
                        'println(user_string_quoted_utf16(a) == string_quoted(user_string_utf16(a)), '
                        'user_string_quoted_utf32(b) == string_quoted(user_string_utf32(b)), '
                        'user_string2_utf16(a, "x") == user_string_utf16(a), user_string2_utf32(b, "x") == user_string_utf32(b)) '
                        'println(user_string2_utf16(8, "bad16"), " ", user_string2_utf32(8, "bad32"), " ", '
                        'user_string_quoted_utf16(8), " ", user_string_quoted_utf32(16)) '
                        'println(user_string2_warn(s, "w"), "|", user_string2_n_warn(s, 3, "w"), "|", '
                        'user_string_n2_quoted(s, 5, 20), "|", user_buffer_quoted_error(s, 5, 20)) '
                        'println(user_short_warn(pointer_arg(4)), " ", user_long_warn(pointer_arg(5)), " ", '
                        'user_ushort_warn(pointer_arg(6)), " ", user_ulong_warn(pointer_arg(5)), " ", '
                        'user_uint64_error(pointer_arg(5))) '
                        'println(user_long_warn(24)) '
                        'try { user_buffer_quoted_error(8, 4, 20) } catch (m) { println(m) } exit() }', "-c", prog)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "1111",
        "bad16 bad32 0x8 0x10",
        'abc\tdef||"abc\\td"|"abc\\td"',
        "-12345 -1234567890123 65000 -1234567890123 -1234567890123",
        "0",
        "Unable to access user space data at 0x8",
    ]
    assert "WARNING: user long copy fault 0x18 [man error::fault]" in r.stderr
    utf8 = "h\u00e9l\U0001f600"  # what the UTF-16 units encode (the UTF-32 ones: "h\u00e9\U0001f600")
    r2 = run_stapy("-e", f'probe process("{prog}").function("strings") {{ '
                         'println(user_string_utf16(pointer_arg(1))) println(user_string_utf32(pointer_arg(2))) exit() }',
                   "-c", prog)
    assert r2.stdout.splitlines() == [utf8, "h\u00e9\U0001f600"]
