"""syscall_name()/syscall_num() against the kernel's own <asm/unistd_64.h> (linux-libc-dev, which gcc's
libc6-dev brings): every number stap 4.8's table holds (0..334) names its syscall both ways; beyond it, as
in stap's table, "" and -1."""
import re
from pathlib import Path

import pytest

import stapy

HEADER = Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h")
LAST = 334  # stap 4.8's generated table stops here


@pytest.mark.skipif(not HEADER.exists(), reason="no <asm/unistd_64.h>")
def test_names_and_numbers_follow_the_kernel_header():
    nr = {int(n): name for name, n in re.findall(r"#define __NR_(\w+) (\d+)", HEADER.read_text())}
    want = [nr.get(i, "") if i <= LAST else "" for i in range(LAST + 6)]
    script = ('probe begin { for (i = 0; i < %d; i++) printf("%%d %%s|%%d\\n", i, syscall_name(i), '
              'syscall_num(syscall_name(i))); println(syscall_num("no_such_call"), syscall_name(-1)); exit() }'
              % len(want))
    r = stapy.run(script)
    assert r.ok, r.errors
    lines = r.output.splitlines()
    got = [ln.split(" ", 1)[1] for ln in lines[:-1]]
    expect = [f"{n}|{i if n else -1}" for i, n in enumerate(want)]
    assert got == expect
    assert lines[-1] == "-1"
