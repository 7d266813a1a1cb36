"""Re-record tests/unit/cli/usage_cases.json from real stap 4.8 (../shared/tools/stap48).

Each case is a command line; the expected stderr is stap's, with the program
name `stap:` in getopt messages turned into `stapy:`.  Run from the repo root:
    python3 tests/unit/cli/record_usage.py
"""
import json
import shlex
import subprocess
from pathlib import Path

HERE = Path(__file__).parent
STAP48 = HERE.parents[2].parent / "shared" / "tools" / "stap48"
CASES = [
    "--bogus", "-z", "-p", "--vp", "--help=3", "--vers=1", "--d", "", "-p9 -e x", "-p0 -e x",
    "-c ls -x 1 -e x", "-T 0 -e x", "-T abc -e x", "-x abc -e x", "-s 0 -e x", "-s 5000 -e x",
    "-e x -e y", "-l begin -e x", "-l begin -p2", "--vp=123456 -e x", "--vp=1a -e x", "-c '' -e x",
    "--prologue-searching=foo -e x", "--privilege=foo -e x", "--compatible", "-D 'X=Y Z' -e x",
    "-G x -e x", "-l begin -L end", "-d '' -e x", "-vp", "--color=red -e x", "-pv1 -e x",
    "--dump-functions -l begin", "--no-such -e x",
]


def main():
    out = []
    for case in CASES:
        r = subprocess.run(f"{STAP48} {case} </dev/null", shell=True, capture_output=True, text=True)
        err = r.stderr.replace("stap: ", "stapy: ")
        out.append({"args": shlex.split(case), "stderr": err, "status": r.returncode})
    (HERE / "usage_cases.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
