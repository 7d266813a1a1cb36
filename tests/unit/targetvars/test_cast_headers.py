"""@cast(p, "T", "<header.h>"): the type's DWARF comes from gcc -g on the header (stap's typequery module),
compiled once and cached.  Values are checked against what the target prints itself; the error texts
and pass-2 verdicts were recorded from stap 4.8 (stap48 -p2)."""
from __future__ import annotations

import re

from conftest import build_target, run_stapy

O0 = ("-O0", "-g")


def test_cast_to_libc_header_types_reads_the_programs_values(tmp_path):
    binary = build_target("tv_cast.c", flags=O0)
    script = (f'probe process("{binary}").function("take") {{'
              ' printf("cast family=%d port=%d addr=%u nlink=%d ino=%d sec=%d usec=%d\\n",'
              ' @cast($sa, "sockaddr_in", "<netinet/in.h>")->sin_family,'
              ' @cast($sa, "struct sockaddr_in", "<netinet/in.h>")->sin_port,'
              ' @cast($sa, "struct sockaddr_in", "<sys/stat.h><netinet/in.h>")->sin_addr->s_addr,'
              ' @cast($st, "struct stat", "<sys/stat.h>")->st_nlink,'
              ' @cast($st, "struct stat", "<nosuch/header.h>:<sys/stat.h>")->st_ino,'
              ' @cast($tv, "struct timeval", "<sys/time.h>")->tv_sec, @cast($tv, "struct timeval", "<sys/time.h>")->tv_usec)'
              ' println("P ", @cast($tv, "struct timeval", "<sys/time.h>")$) }')
    env = {"XDG_CACHE_HOME": str(tmp_path)}
    r = run_stapy("-e", script, "-c", str(binary), env=env)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    mine = [x for x in lines if x.startswith("cast ")]
    assert len(mine) == 2 and mine[0] == mine[1], r.stdout
    usec = re.search(r"usec=(\d+)", mine[0]).group(1)
    sec = re.search(r" sec=(\d+)", mine[0]).group(1)
    assert f"P {{.tv_sec={sec}, .tv_usec={usec}}}" in lines
    # gcc's complaint reaches stderr, then stap's warning; the next module of the list is used
    assert "WARNING: gcc exited with status: 1" in r.stderr
    built = sorted(p.name for p in (tmp_path / "stapy" / "typequery").iterdir())
    assert len(built) == 4 and all(re.fullmatch(r"typequery_[0-9a-f]{16}\.so", n) for n in built), built
    # a second run finds every header module in the cache (gcc is not run for them again)
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "stapy" / "typequery").iterdir()}
    r = run_stapy("-p2", "-e", script, env=env)
    assert r.returncode == 0, r.stderr
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "stapy" / "typequery").iterdir()} == before


def test_header_type_offsets_without_a_process():
    """A type the probed program does not have: the member offset comes from the header alone
    (struct timeval's tv_usec is at 8, so reading through a NULL pointer faults at 0x8)."""
    r = run_stapy("-e", 'probe begin { try { println(@cast(0, "struct timeval", "<sys/time.h>")->tv_usec) }'
                        ' catch (e) { println(e) } exit() }')
    assert r.returncode == 0, r.stderr
    assert r.stdout == "read fault [man error::fault] at 0x8\n"


def test_header_cast_errors_as_stap():
    binary = build_target("tv_cast.c", flags=O0)
    cases = [
        ('@cast($sa, "struct nosuch", "<netinet/in.h>")->sin_port',
         "type definition 'struct nosuch' not found in '<netinet/in.h>': operator '@cast' at <input>:1:{col}"),
        ('@cast($sa, "struct nosuch", "<netinet/in.h>:@BIN@")->x',
         "type definition 'struct nosuch' not found in '<netinet/in.h>:@BIN@': operator '@cast' at <input>:1:{col}"),
        ('@cast($sa, "struct sockaddr_in", "<netinet/in.h>")->nosuch',
         "unable to find member 'nosuch' for struct sockaddr_in (alternatives: sin_addr, sin_port, sin_zero, "
         "sin_family): operator '->' at <input>:1:{col2}"),
    ]
    for expr, want in cases:
        expr = expr.replace("@BIN@", str(binary))
        script = f'probe process("{binary}").function("take") {{ println({expr}) }}'
        r = run_stapy("-p2", "-e", script)
        assert r.returncode == 1
        col = script.index("@cast") + 1
        col2 = script.index("->") + 1
        assert r.stderr.splitlines()[0] == "semantic error: " + want.format(col=col, col2=col2).replace("@BIN@", str(binary))
