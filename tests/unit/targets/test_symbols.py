"""Context and symbol functions in target probes (ucontext*.stp formats from stap's sym.c/stack.c),
checked against what the program says about itself (%p, glibc backtrace()/backtrace_symbols via dladdr)
and against nm/addr2line run here."""
import os
import re
import subprocess

import pytest

from conftest import build_target, run_stapy

SCRIPT = r'''
global n
probe process("@P@").function("cmp") {
  if (!n++) {
    printf("pf=%s|ppf=%s|ua=%x|mod=%s|sd=%s|fl=%s\n", probefunc(), ppfunc(), uaddr(), umodname(uaddr()),
           usymdata(uaddr()), usymfileline(uaddr()))
    printf("ub=%s|\n", ubacktrace())
    try { e = sprint(ustack(99)) } catch (m) { e = m }
    printf("uc=%s|us1=%x|us99=%s\n", ucallers(2), ustack(1), e)
    printf("--full\n"); print_ubacktrace()
    printf("--simple\n"); print(sprint_ubacktrace())
    printf("--brief\n"); print_ubacktrace_brief()
    printf("--usyms\n"); print_usyms(ucallers(1))
    printf("--fileline\n"); print_ubacktrace_fileline()
    printf("--end\n")
  }
}
probe process("@P@").function("mid").return { printf("--ret\n"); print_ubacktrace(); printf("--retend\n") }
probe process("@P@").function("leaf") {
  try { m = umodname(0) } catch (e) { m = e }  # stap: last_error "module cannot be found"
  printf("um0=%s|%s|%s\n", m, usymname(0x10), usymdata(0x10))
}
'''


@pytest.fixture(scope="module", params=[("-O0", "-g"), ("-O2", "-g", "-fomit-frame-pointer")], ids=["O0", "O2-nofp"])
def run(request):
    prog = str(build_target("tgt_stack.c", flags=(*request.param, "-rdynamic")))
    r = run_stapy("-e", SCRIPT.replace("@P@", prog), "-c", prog)
    assert r.returncode == 0, r.stderr
    return prog, r.stdout


def _section(out, name, end):
    return out.split(f"--{name}\n", 1)[1].split(f"--{end}\n", 1)[0]


def _program_facts(out):
    addrs = {}
    for line in out.splitlines():
        if line.startswith("cmp=0x"):
            addrs = {k: int(v, 16) for k, v in re.findall(r"(\w+)=0x([0-9a-f]+)", line)}
    bt = next(l for l in out.splitlines() if l.startswith("bt "))
    pcs = [int(x, 16) for x in bt.split()[1:]]
    syms = re.findall(r"^(\S+)\(([^)]*)\)\s*\[0x([0-9a-f]+)\]$", out, re.M)  # backtrace_symbols_fd lines
    return addrs, pcs, syms


def _nm(prog):
    out = subprocess.run(["nm", "-S", prog], capture_output=True, text=True, check=True).stdout
    table = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4:
            table[parts[3]] = (int(parts[0], 16), int(parts[1], 16))
    return table


def test_context_and_symbol_of_the_probed_address(run):
    prog, out = run
    addrs, _, _ = _program_facts(out)
    line = next(l for l in out.splitlines() if l.startswith("pf="))
    fields = dict(f.split("=", 1) for f in line.split("|"))
    assert fields["pf"] == "cmp" and fields["ppf"] == "cmp"
    ua = int(fields["ua"], 16)
    link_cmp, size = _nm(prog)["cmp"]
    bias = addrs["cmp"] - link_cmp
    assert addrs["cmp"] <= ua < addrs["cmp"] + size  # the probe sits after cmp's prologue
    assert fields["mod"] == os.path.realpath(prog)
    assert fields["sd"] == f"cmp+{ua - addrs['cmp']:#x}/{size:#x} [{os.path.realpath(prog)}]"
    a2l = subprocess.run(["addr2line", "-e", prog, f"{ua - bias:#x}"], capture_output=True, text=True).stdout.strip()
    assert fields["fl"] == a2l


def test_backtraces_match_the_programs_own(run):
    prog, out = run
    addrs, pcs, syms = _program_facts(out)
    ub = next(l for l in out.splitlines() if l.startswith("ub="))[3:]
    assert ub.endswith(" |")  # each frame is "0x.. ", the trailing space kept
    ours = [int(x, 16) for x in ub[:-1].split()]
    ua = int(re.search(r"ua=([0-9a-f]+)", out).group(1), 16)
    # frame 0 is the probed address; the callers are exactly glibc's (through libc's qsort)
    assert ours[0] == ua
    assert ours[1:] == pcs[1:]
    uc = re.search(r"uc=([^|]*)\|us1=([0-9a-f]+)\|us99=(.*)", out)
    assert uc.group(1) == " ".join(f"{pc:#x}" for pc in ours[:3])
    assert int(uc.group(2), 16) == ours[1]
    assert uc.group(3) == "reached end of stack before unwinding to level 99"  # context.stpm's text

    full = _section(out, "full", "simple").splitlines()
    simple = _section(out, "simple", "brief").splitlines()
    brief = _section(out, "brief", "usyms").splitlines()
    assert len(full) == len(simple) == len(brief) == len(ours)
    for i, pc in enumerate(ours):
        m = re.fullmatch(r" (0x[0-9a-f]+) : (\S+)\+(0x[0-9a-f]+)/(0x[0-9a-f]+) \[(/\S+)\]", full[i])
        assert m and int(m.group(1), 16) == pc, full[i]
        sym, off, path = m.group(2), m.group(3), m.group(5)
        assert simple[i] == f"{sym}+{off} [{os.path.basename(path)}]"
        assert brief[i] == f"{sym}+{off}"
        if i == 0:
            continue
        file_, where, at = syms[i]
        assert int(at, 16) == pc
        assert os.path.realpath(file_) == path  # the same module glibc's dladdr names
        if where and not where.startswith("+"):  # dladdr knows the (dynamic) symbol: the same name+offset
            assert f"{sym}+{off}" == where
    usyms = _section(out, "usyms", "fileline").splitlines()
    fileline = _section(out, "fileline", "end").splitlines()
    bias = addrs["cmp"] - _nm(prog)["cmp"][0]
    a2l = subprocess.run(["addr2line", "-e", prog, f"{ours[0] - bias:#x}"], capture_output=True, text=True).stdout
    sym, rest = full[0].split(" [", 1)
    assert fileline[0] == f"{sym} at {a2l.strip()} [{rest}"  # sym.c's _STP_SYM_FULLER
    assert usyms == [f" {pc:#x} : {full[i].split(' : ', 1)[1]}" for i, pc in enumerate(ours[:2])]


def test_return_probe_backtrace(run):
    prog, out = run
    addrs, _, _ = _program_facts(out)
    nm = _nm(prog)
    ret = _section(out, "ret", "retend").splitlines()
    assert ret[0] == f"Returning from:  {addrs['mid']:#x} : mid+0x0/{nm['mid'][1]:#x} [{os.path.realpath(prog)}]"
    m = re.fullmatch(r"Returning to  :  (0x[0-9a-f]+) : top\+(0x[0-9a-f]+)/(0x[0-9a-f]+) \[(\S+)\]", ret[1])
    assert m, ret[1]
    # the return address is the instruction after top's call to mid (the engine's trampoline never shows)
    assert int(m.group(1), 16) - addrs["top"] == int(m.group(2), 16)
    assert ret[2].split(" : ")[1].startswith("main+")


def test_unknown_addresses(run):
    _, out = run
    assert "um0=module cannot be found|0x10|0x10" in out


def test_pp_of_plt_and_mark_probes(tmp_path):
    """stap derives .plt and .mark probes to process("P").statement(0xADDR) [tapsets.cxx query_one_plt,
    sdt_query::convert_location]: pp() shows that.  Addresses from objdump and readelf -n."""
    prog = str(build_target("dbg_sdt.c", flags=("-O0", "-g")))
    plt = re.search(r"^0*([0-9a-f]+) <printf@plt>:", subprocess.run(["objdump", "-d", prog], capture_output=True,
                                                                    text=True).stdout, re.M)
    notes = subprocess.run(["readelf", "-n", prog], capture_output=True, text=True).stdout
    mark = re.search(r"Name: start\s+Location: 0x0*([0-9a-f]+)", notes)
    r = run_stapy("-e", f'probe process("{prog}").plt("printf") {{ printf("plt %s\\n", pp()) }} '
                        f'probe process("{prog}").mark("start") {{ printf("mark %s %s\\n", pp(), probefunc()) }}',
                  "-c", prog)
    assert r.returncode == 0, r.stderr
    lines = [l for l in r.stdout.splitlines() if l.startswith(("plt ", "mark "))]
    assert f'plt process("{prog}").statement(0x{plt.group(1)})' in lines
    assert f'mark process("{prog}").statement(0x{mark.group(1)}) work' in lines


def test_maxbacktrace_limits_the_frames():
    prog = str(build_target("tgt_stack.c", flags=("-O0", "-g", "-rdynamic")))
    r = run_stapy("-D", "MAXBACKTRACE=3", "-e", f'probe process("{prog}").function("cmp") {{ if (!n++) '
                  '{ printf("[%s]\\n", ubacktrace()); print_ubacktrace_brief() } } global n', "-c", prog)
    assert r.returncode == 0, r.stderr
    pcs = _program_facts(r.stdout)[1]
    ub = re.search(r"^\[(.*)\]$", r.stdout, re.M).group(1)
    assert len(ub.split()) == 3 and ub.split()[1:] == [f"{pc:#x}" for pc in pcs[1:3]]
    brief = [line for line in r.stdout.split(f"[{ub}]\n", 1)[1].splitlines()
             if re.fullmatch(r"[\w.]+\+0x[0-9a-f]+", line)]
    assert len(brief) == 3 and brief[0].startswith("cmp+")
