"""-l / -L / --dump-* against outputs recorded from stap 4.8 (record.py)."""
import io
import json
from pathlib import Path

import pytest

from stapy import cli
from stapy.listing import function_signatures, probe_types
from stapy.options import Options

HERE = Path(__file__).parent
CASES = json.loads((HERE / "listing_cases.json").read_text())


# Known gaps, each strict: the test fails as soon as the gap closes, so the mark gets removed.
KNOWN = {
}


def _case_param(c):
    name = " ".join(c["args"])
    marks = [pytest.mark.xfail(reason=KNOWN[name], strict=True)] if name in KNOWN else []
    return pytest.param(c, id=name, marks=marks)


@pytest.mark.parametrize("case", [_case_param(c) for c in CASES])
def test_listing_matches_stap(case, capsys):
    status = cli.main(case["args"])
    cap = capsys.readouterr()
    assert (cap.out, cap.err, status) == (case["stdout"], case["stderr"], case["status"])


def _shared_lines(strip_tags: bool):
    cut = (lambda line: line.split(" /* ")[0]) if strip_tags else (lambda line: line)
    stap = {}
    for line in (HERE / "stap48_functions.txt").read_text().splitlines():
        stap.setdefault(line.split(":", 1)[0], set()).add(cut(line))
    ours = [cut(line) for line in function_signatures(Options())]
    shared = [line for line in ours if line.split(":", 1)[0] in stap]
    return shared, [line for line in shared if line not in stap[line.split(":", 1)[0]]]


def test_dump_functions_signatures_are_stap_s():
    """Every tapset function stapy shares with stap 4.8 has the same name, types and parameters."""
    shared, wrong = _shared_lines(strip_tags=True)
    assert len(shared) > 100
    assert wrong == []


def test_dump_functions_tags_are_stap_s():
    """Tags come from embedded code anywhere in the body, @MAXSTRINGLEN's @const included."""
    shared, wrong = _shared_lines(strip_tags=False)
    assert wrong == []


def test_dump_probe_types_are_stap_s_user_space_lines():
    stap = set((HERE / "stap48_probe_types.txt").read_text().splitlines())
    ours = probe_types()
    assert set(ours) <= stap
    assert "process(\"/bin/ls\")" not in ours and "process(string).function(string).return" in ours
    # stap's depth-first order
    order = [line for line in (HERE / "stap48_probe_types.txt").read_text().splitlines() if line in set(ours)]
    assert ours == order


def test_listing_is_refused_with_a_script(capsys):
    assert cli.main(["-l", "begin", "-e", "probe begin {}"]) == 1
