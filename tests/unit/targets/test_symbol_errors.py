"""umodname/ucallers fail as stap's do (tapset/linux/ucontext.stp sets last_error "module cannot be
found"; context.stpm's stack walk errors "reached end of stack before unwinding to level N"):
an ordinary, catchable runtime error at the call site."""
from conftest import build_target, run_stapy


def test_umodname_of_an_unmapped_address_is_an_error():
    prog = str(build_target("tgt_calls.c", flags=("-O0", "-g")))
    r = run_stapy("-e", f'probe process("{prog}").function("add") {{ println(umodname(uaddr())); '
                        'println(umodname(0)); exit() }', "-c", prog)
    assert r.returncode == 1
    assert r.stdout.splitlines()[0] == prog
    assert r.stderr.startswith("ERROR: module cannot be found near identifier 'umodname' at <input>:1:")


def test_ucallers_past_the_stack_end_is_an_error_and_catchable():
    prog = str(build_target("tgt_calls.c", flags=("-O0", "-g")))
    r = run_stapy("-e", f'probe process("{prog}").function("add") {{ try {{ println(ucallers(1000)) }} '
                        'catch (m) { println("caught: ", m) } exit() }', "-c", prog)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == "caught: reached end of stack before unwinding to level 1000"


def test_without_a_tracee_umodname_fails_and_ucallers_is_empty():
    r = run_stapy("-e", 'probe begin { try { println(umodname(0)) } catch (m) { println("caught: ", m) } '
                        'printf("[%s]\\n", ucallers(2)); exit() }')
    assert r.returncode == 0, r.stderr
    assert r.stdout == "caught: module cannot be found\n[]\n"
