"""The command line: getopt conventions and usage errors, against texts recorded from stap 4.8."""
import json
from pathlib import Path

import pytest

from stapy import cli

CASES = json.loads((Path(__file__).parent / "usage_cases.json").read_text())


@pytest.mark.parametrize("case", CASES, ids=[" ".join(c["args"]) or "<none>" for c in CASES])
def test_usage_errors_match_stap(case, capsys):
    status = cli.main(case["args"])
    err = capsys.readouterr().err
    assert (status, err) == (case["status"], case["stderr"])


def opts(*argv):
    return cli.build_options(list(argv))


def test_combined_short_options_and_attached_arguments():
    o = opts("-vvp1", "-e", "probe begin {}")
    assert (o.verbose, o.last_pass, o.script_text) == (2, 1, "probe begin {}")
    o = opts("-p", "2", "-DMAXACTION=5", "-D", "FOO", "-I/tmp", "-e", "x")
    assert o.last_pass == 2 and o.defines == (("MAXACTION", "5"), ("FOO", None)) and o.include_dirs == ("/tmp",)


def test_script_file_then_arguments_with_permutation():
    o = opts("script.stp", "a1", "-v", "a2", "-c", "ls -l")
    assert (o.script_file, o.args, o.verbose, o.target_cmd) == ("script.stp", ("a1", "a2"), 1, "ls -l")


def test_double_dash_ends_options():
    o = opts("-e", "x", "--", "-v", "b")
    assert o.args == ("-v", "b") and o.verbose == 0


def test_e_script_makes_words_arguments():
    o = opts("-e", "x", "f.stp")
    assert o.script_file is None and o.args == ("f.stp",)


def test_stdin_script_and_long_options():
    o = opts("-", "--vp", "00200", "--compatible=4.8", "--skip-badvars", "-G", "x=3", "-T", "1.5", "-x", "42")
    assert o.script_file == "-" and o.vp == (0, 0, 2, 0, 0) and o.compatible == "4.8"
    assert o.skip_badvars and o.global_inits == (("x", "3"),) and o.timeout == 1.5 and o.target_pid == 42


def test_long_option_unique_prefix():
    assert opts("--skip", "-e", "x").skip_badvars
    assert opts("--col", "-e", "x").script_text == "x"  # color/colour are one option


def test_listing_options():
    o = opts("-L", 'process("/bin/ls").function("main")')
    assert o.listing == "L" and o.listing_pattern.startswith("process") and o.unoptimized


@pytest.mark.parametrize("flag", ["-r", "-m", "-B", "-k", "-R", "-a", "-b", "--bpf", "--remote", "--use-server"])
def test_kernel_only_options_are_refused_in_one_line(flag, capsys):
    args = [flag] if flag in ("-k", "-b", "--bpf", "--use-server") else [flag, "v"]
    status = cli.main(args + ["-e", "probe begin {}"])
    err = capsys.readouterr().err
    assert status == 1 and err.count("\n") == 1 and "user space only" in err and "Traceback" not in err


def test_runtime_kernel_refused_dyninst_accepted(capsys):
    assert cli.main(["--runtime=kernel", "-e", "x"]) == 1
    assert "--runtime=kernel" in capsys.readouterr().err
    assert opts("--runtime=dyninst", "-e", "x").script_text == "x"


def test_version_and_help_name_stapy(capsys):
    assert cli.main(["-V"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Systemtap translator/driver (version ") and "stapy" in out.splitlines()[0]
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "Usage: stapy [options] FILE                    Run script in file." in out
    assert "   -p NUM     stop after pass NUM 1-5, instead of 5" in out


def test_internal_error_is_one_line_not_a_traceback(capsys, monkeypatch):
    def boom(options):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(cli, "run", boom)
    assert cli.main(["-e", "probe begin {}"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ERROR: internal error in stapy") and "kaboom" in err and "Traceback" not in err
