"""Record pass-2 goldens from real stap 4.8: python3 tests/semantic/record.py [--update-goldens] [NAME...].

Without --update-goldens it only reports which goldens differ from stap 4.8's
current output (a diff someone reads); with it, it rewrites them.
"""
from __future__ import annotations

import difflib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from goldens import cases, run_stap48, verbose_case  # noqa: E402


def expected_files(kind, stp, rc, out, err):
    if kind == "ok":
        if rc != 0:
            print(f"SKIPPED {stp.name}: stap48 failed (rc={rc}) on an ok case:\n{err}")
            return {}
        files = {stp.with_suffix(".p2"): out}
        if err and not verbose_case(stp):
            files[stp.with_suffix(".err")] = err
        return files
    if rc == 0:
        print(f"SKIPPED {stp.name}: stap48 succeeded on a ko case")
        return {}
    return {stp.with_suffix(".err"): err}


def main(argv):
    update = "--update-goldens" in argv
    names = [a for a in argv if not a.startswith("--")]
    changed = 0
    for kind in ("ok", "ko"):
        for stp in cases(kind):
            if names and stp.stem not in names:
                continue
            rc, out, err = run_stap48(stp)
            for path, text in expected_files(kind, stp, rc, out, err).items():
                old = path.read_text() if path.exists() else None
                if old == text:
                    continue
                changed += 1
                print(f"--- {path.relative_to(path.parents[2])}")
                sys.stdout.writelines(difflib.unified_diff((old or "").splitlines(True), text.splitlines(True)))
                if update:
                    path.write_text(text)
            if kind == "ok" and not err and stp.with_suffix(".err").exists() and update:
                stp.with_suffix(".err").unlink()
    print(f"{changed} golden file(s) {'updated' if update else 'differ'}")


if __name__ == "__main__":
    main(sys.argv[1:])
