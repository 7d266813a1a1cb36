"""workers: 4 threads calling the same probed function; per-thread state, aggregates, foreach sorting.

Expected values: the program's own counts and sums (`truth` lines).
"""
from __future__ import annotations

import pytest

from heldout_harness import OPTS, build, split, stap


def script(exe: str) -> str:
    return f'''
global jobs, sums, bytid, labels, lat
probe process("{exe}").function("process_job") {{
  jobs[$j->worker]++; bytid[tid()]++; labels[user_string($j->label)]++; lat[$j->worker] <<< $j->payload
}}
probe process("{exe}").function("process_job").return {{ sums[@entry($j->worker)] += $return }}
probe process("{exe}").thread.begin {{ printf("tb\\n") }}
probe process("{exe}").thread.end {{ printf("te %d\\n", tid() == pid()) }}
probe end {{
  foreach (w+ in jobs) printf("worker %d %d %d\\n", w, jobs[w], sums[w])
  foreach (w+ in lat) printf("lat %d %d %d %d %d\\n", w, @count(lat[w]), @min(lat[w]), @max(lat[w]), @avg(lat[w]))
  foreach (l+ in labels) printf("lab %s %d\\n", l, labels[l])
  foreach (t in bytid+) printf("pertid %d\\n", bytid[t])
  foreach (l in labels- limit 2) printf("top %s %d\\n", l, labels[l])
}}
'''


@pytest.fixture(scope="module", params=OPTS)
def run(request):
    exe = str(build("workers", request.param) / "workers")
    p = stap(script(exe), "-c", exe)
    truth, got = split(p.stdout)
    return p, truth, got


def test_runs_clean(run):
    p, truth, got = run
    assert p.returncode == 0 and p.stderr == "", p.stderr


@pytest.mark.parametrize("key", ["worker", "lat", "lab", "tb"])
def test_values(run, key):
    p, truth, got = run
    assert got[key] == truth[key]


def test_per_thread_counts(run):
    p, truth, got = run
    assert got["pertid"] == sorted((w.split()[1] for w in truth["worker"]), key=int)


def test_sort_by_value_descending(run):
    p, truth, got = run
    labs = [(int(c), n) for n, c in (t.split() for t in truth["lab"])]
    ranked = sorted(labs, key=lambda x: -x[0])
    assert ranked[0][0] > ranked[1][0] > ranked[2][0] or ranked[1][0] == ranked[2][0]
    assert got["top"][0] == f"{ranked[0][1]} {ranked[0][0]}"
    assert int(got["top"][1].split()[1]) == ranked[1][0]


def test_thread_end_only_for_threads(run):
    p, truth, got = run
    assert got["te"] == ["0"] * len(truth["tb"])
