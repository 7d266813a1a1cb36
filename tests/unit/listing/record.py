"""Re-record the listing goldens from real stap 4.8 (../shared/tools/stap48).

    python3 tests/unit/listing/record.py
writes listing_cases.json (-l/-L of non-process points), stap48_functions.txt
(--dump-functions) and stap48_probe_types.txt (--dump-probe-types).
"""
import json
import subprocess
from pathlib import Path

HERE = Path(__file__).parent
STAP48 = str(HERE.parents[2].parent / "shared" / "tools" / "stap48")
CASES = [
    ["-l", "begin"], ["-l", "end"], ["-l", "error"], ["-l", "never"], ["-l", "begin(5)"],
    ["-l", "timer.ms(100)"], ["-l", "timer.s(2).randomize(1)"], ["-l", "timer.hz(10)"],
    ["-l", "timer.jiffies(3)"], ["-l", "oneshot"], ["-l", "end,begin"], ["-l", "timer.ms(100)?"],
    ["-l", "begin if (1)"], ["-l", "nosuch"], ["-l", "timer.nosuch(1)"], ["-L", "end"], ["-L", "timer.s(1)"],
    ["-l", "process.begin"], ["-L", "process.end"], ["-l", "process.thread.begin"],
    ["-l", "begin {"], ["-l", "timer.ms(\"x\")"],
    ["-l", "timer.*(100)"], ["-l", "timer.m*(5)"], ["-l", "timer.*(1).randomize(1)"], ["-l", "timer.z*(1)"],
]


def run(args):
    r = subprocess.run([STAP48, *args], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    return {"args": args, "stdout": r.stdout, "stderr": r.stderr, "status": r.returncode}


def main():
    (HERE / "listing_cases.json").write_text(json.dumps([run(c) for c in CASES], indent=1) + "\n")
    (HERE / "stap48_functions.txt").write_text(run(["--dump-functions"])["stdout"])
    (HERE / "stap48_probe_types.txt").write_text(run(["--dump-probe-types"])["stdout"])


if __name__ == "__main__":
    main()
