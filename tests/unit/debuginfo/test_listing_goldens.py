"""-l / -L / -p2 probe listings against stap 4.8 goldens (goldens/cases.txt; re-record with record_goldens.py)."""
from __future__ import annotations

import pytest

from golden_cases import cases, to_golden
from stapy.debuginfo import elf
from stapy.debuginfo.listing import list_probes
from stapy.debuginfo.resolve import resolve_process_probe
from stapy.debuginfo.listing import split_probe_point

CASES = cases()


def ours(case) -> str:
    binary = case.build()
    point = case.point.replace("BIN", str(binary)) if binary is not None else case.point
    if case.mode == "-p2":
        comps = split_probe_point(point)
        sites = resolve_process_probe(comps[0][1], comps[1:])
        lines = [f"{s.p2_text} /* pc={s.pc_text} */" for s in sites]     # stap's order, not sorted
    elif case.mode == "-p2c":
        comps = split_probe_point(point)
        lines = []
        for s in resolve_process_probe(comps[0][1], comps[1:]):
            lines.append(f"{s.p2_text} /* pc={s.pc_text} */ /* <- {s.derivation or s.pp} */")
            lines += [f'  _caller_match(1, {level}, "{s.module}", "{s.caller_section}", {addr:#x})'
                      for level, addr in s.caller_checks]
    elif case.mode == "-pn":          # pp() and pn(): the -p2 text and the -l text of each site
        comps = split_probe_point(point)
        lines = sorted(f"{s.p2_text} | {s.pp}" for s in resolve_process_probe(comps[0][1], comps[1:]))
    elif case.mode == "-vL":
        lines = list_probes(point, verbose_vars=True, show_pc=True)
    else:
        lines = list_probes(point, verbose_vars=case.mode == "-L")
    return to_golden("\n".join(lines), binary, case.source_of(binary)) + "\n"


SYSTEM_FILES = ("/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2",
                "/usr/lib/x86_64-linux-gnu/libstdc++.so.6")


def system_files_as_recorded(case) -> bool:
    """Goldens that name installed libraries hold for the image they were recorded on (with
    libc6-dbg's separate debuginfo)."""
    text = case.point + case.golden.read_text()
    for path in SYSTEM_FILES:
        name = path.rsplit("/", 1)[1].split(".so")[0]
        if name in text and "@" in text and elf.open_elf(path).dwarf_file() is None:
            return False
    return True


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_matches_stap48(case):
    if not system_files_as_recorded(case):
        pytest.skip("recorded with separate debuginfo for the system libraries (libc6-dbg)")
    assert ours(case) == case.golden.read_text()
