"""The interactive face: stap -i's commands, driven with scripted input."""
import sys

from conftest import run_stapy
from stapy.options import Options
from stapy.repl import Repl


def drive(lines, options=None):
    feed = iter(lines)
    out = []
    repl = Repl(options or Options(), write=out.append, read=lambda prompt: (out.append(prompt), next(feed, None))[1])
    status = repl.loop()
    return repl, "".join(out), status


def test_add_list_delete():
    repl, out, status = drive(["add global n", "add probe begin {", "n = 1", "}", "list", "delete 1", "list", "quit"])
    assert status == 0
    assert "stap>>> " in out  # the probe spanned lines until it parsed
    assert "1: global n\n2: probe begin {\n3: n = 1\n4: }\n" in out
    assert repl.lines == ["probe begin {", "n = 1", "}"]


def test_unknown_command_and_help():
    _, out, _ = drive(["frob", "help add", "help", "q"])
    assert 'Undefined command: "frob". Try "help" or "?".' in out
    assert "add: Add a global, probe, or function." in out
    assert "delete LINE_NUM_RANGE -- Delete script line(s)" in out


def test_set_and_show_options():
    repl, out, _ = drive(["set last_pass 2", "show last_pass", "set last_pass 9", "set nosuch 1", "q"])
    assert repl.options.last_pass == 2
    assert "last_pass: 2" in out
    assert "Invalid pass number (should be 1-5)." in out
    assert "Invalid option name" in out


def test_delete_range_errors():
    _, out, _ = drive(["add global a", "delete 3", "delete 1-5", "q"])
    assert "Invalid starting script line range value." in out
    assert "Invalid ending script line range value." in out


def test_save_and_load(tmp_path):
    path = tmp_path / "s.stp"
    repl, _, _ = drive(["add global a", f"save {path}", "q"])
    assert path.read_text() == "global a\n"
    repl, _, _ = drive([f"load {path}", "q"])
    assert repl.lines == ["global a"]


def test_run_through_the_command_line_face():
    """`stapy -i` with piped input: build a script and run it for real."""
    script = "\n".join(['add probe begin { printf("hi %d\\n", 6*7); exit() }', "run", "quit"]) + "\n"
    r = run_stapy("-i", input=script, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "hi 42\n" in r.stdout
    assert r.stdout.startswith("Example commands: 'sample', 'add', 'run', 'help'\nstap> ")
