"""Compatibility sweep (dev tool, not a pytest module): runs SystemTap's own testsuite scripts that need no
kernel and no target process through `python3 -m stapy` and compares with the output their .exp expects.

Understood .exp idioms (anything else is skipped, never guessed):
  set result_string {..} / "..."  +  stap_run2 FILE [args]  |  stap_run3 NAME FILE [args]
      stdout then stderr, one trailing newline dropped, compared line by line (lib/stap_run2.exp)
  stap_run FILE no_load $all_pass_string|$output_string [args]
      the run is interrupted (SIGINT) after "systemtap starting probe"; what follows must match
      the Tcl regexp "^systemtap ending probe\\r\\n" + OUTPUT (lib/stap_run.exp)
Scripts qualify when every probe point is begin/end/error/never/timer.* and embedded C comes with -g.

usage: python3 tests/compat/harvest.py [--src /work/systemtap-src] [-v] [-k substring] [dirs...]
"""
from __future__ import annotations

import argparse
import difflib
import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

DIRS = ["systemtap.base", "systemtap.printf", "systemtap.maps", "systemtap.string", "systemtap.stress",
        "systemtap.examples", "systemtap.pass1-4"]
REPO = Path(__file__).resolve().parents[2]
OK_POINT = re.compile(r"^(begin|end|error|never)(\(-?\d+\))?$|^timer\.")
ALL_PASS = "systemtap test success\r\n"


class Braced(str):
    """A {braced} Tcl word: no substitution."""


def tcl_word(text: str, i: int) -> tuple[str | None, int]:
    """Reads one Tcl word at text[i:] (braced, quoted or bare); None if it uses substitution we do not model."""
    while i < len(text) and text[i] in " \t":
        i += 1
    if i >= len(text):
        return None, i
    c = text[i]
    if c == "{":
        depth, j = 1, i + 1
        while j < len(text) and depth:
            if text[j] == "\\":
                j += 2
                continue
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        return Braced(text[i + 1:j - 1]), j
    if c == '"':
        out, j = [], i + 1
        esc = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "[": "[", "]": "]", "$": "$",
               "{": "{", "}": "}", "0": "\0", " ": " ", ".": "\\.", "*": "\\*", "(": "\\(", ")": "\\)",
               "+": "\\+", "?": "\\?", "|": "\\|", "^": "\\^"}
        while j < len(text) and text[j] != '"':
            ch = text[j]
            if ch == "\\":
                nx = text[j + 1]
                if nx == "\n":
                    out.append(" ")
                    j += 2
                    while j < len(text) and text[j] in " \t":
                        j += 1
                    continue
                if nx not in esc:
                    return None, j
                out.append(esc[nx])
                j += 2
                continue
            if ch == "[":
                end = text.find('"', j)
                return None, (end + 1 if end > 0 else len(text))
            out.append(ch)
            j += 1
        return "".join(out), j + 1
    m = re.match(r"[^\s;]+", text[i:])
    return m.group(0), i + m.end()


def command_words(text: str, i: int) -> tuple[list[str | None], int]:
    words = []
    while True:
        while i < len(text) and text[i] in " \t":
            i += 1
        if i >= len(text) or text[i] in "\n;":
            return words, i
        if text[i] == "\\" and text[i + 1:i + 2] == "\n":
            i += 2
            continue
        w, i = tcl_word(text, i)
        words.append(w)


def harvest(src: Path, dirs: list[str]):
    """Yields (id, stp path, args, kind, expected) for each understood invocation."""
    for d in dirs:
        for exp in sorted((src / "testsuite" / d).glob("*.exp")):
            text = exp.read_text(errors="replace")
            seen = set()
            var = {"srcdir": str(src / "testsuite"), "subdir": d, "all_pass_string": ALL_PASS}
            for m in re.finditer(r"^[ \t]*(set|stap_run2|stap_run3|stap_run)[ \t]+", text, re.M):
                words, _ = command_words(text, m.end())
                if m.group(1) == "set":
                    if len(words) == 2 and words[0]:
                        name = words[0].lstrip(":")
                        var[name] = sub(words[1], var)
                        if var[name] is None:
                            var.pop(name)
                    continue
                if m.group(1) in ("stap_run3", "stap_run"):
                    words = words[1:]       # the test's name
                subst = [sub(w, var) for w in words]
                if any(w is None for w in subst):
                    continue
                if m.group(1) == "stap_run":
                    if len(subst) < 2 or subst[0] != "no_load":
                        continue
                    kind, want, subst = "regex", subst[1], subst[2:]
                else:
                    if "result_string" not in var:
                        continue
                    kind, want = "exact", var["result_string"]
                stps = [a for a in subst if a.endswith(".stp")]
                if len(stps) != 1 or any(a.startswith("--remote") for a in subst) or "-c" in subst or "-x" in subst or "-e" in subst:
                    continue
                stp = stps[0]
                args = [a for a in subst if not a.startswith("--runtime")]   # stap's order: options may follow
                tid = f"{d}/{Path(stp).name} " + " ".join(a for a in args if a != stp)
                if tid in seen:
                    continue
                seen.add(tid)
                yield tid, Path(stp), args, kind, want


def sub(word, var):
    if word is None or isinstance(word, Braced):
        return word
    def rep(m):
        return var.get(m.group(1) or m.group(2), "\0MISSING")
    out = re.sub(r"\$\{(\w+)\}|\$(\w+)", rep, word)
    return None if "\0MISSING" in out or "[" in out else out


def qualifies(stp: Path, args: list[str]) -> bool:
    try:
        s = stp.read_text(errors="replace")
    except OSError:
        return False
    if "%{" in s and "-g" not in args:
        return False
    body = re.sub(r"#[^\n]*|//[^\n]*|/\*.*?\*/", "", s, flags=re.S)
    body = re.sub(r'"(\\.|[^"\\])*"', '""', body)
    heads = re.findall(r"\bprobe\s+([^{]*?)\s*\{", body)
    if not heads or re.search(r"\$(?!\d|#)[A-Za-z_]", body.replace("$$", "")):
        return False   # target variables need a kernel or process context; $1.. and $# are script arguments
    for h in heads:
        if "=" in h:   # an alias definition: check what it expands to
            h = h.split("=", 1)[1].lstrip("+ ")
        for p in re.split(r",\s*", h):
            p = p.strip().rstrip("?!")
            p = re.sub(r"\s+if\s*\(.*", "", p)
            if not OK_POINT.match(p) and not re.match(r"^\w+$", p):
                return False
    return True


def run(stp: Path, args: list[str], kind: str, timeout: float) -> str:
    cmd = [sys.executable, "-m", "stapy", *args]   # args hold the script in its place
    env = dict(os.environ, PYTHONPATH=str(REPO))
    if kind == "exact":
        try:
            p = subprocess.run(cmd, cwd=stp.parent, env=env, capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            return (e.stdout or b"").decode(errors="replace") + "<TIMEOUT>"
        res = (p.stdout + p.stderr).decode(errors="replace")
        return res[:-1] if res.endswith("\n") else res
    p = subprocess.Popen(cmd, cwd=stp.parent, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out, fd, sent = b"", p.stdout.fileno(), False
    deadline = time.time() + timeout
    while time.time() < deadline:
        if select.select([fd], [], [], 0.1)[0]:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            out += chunk
        if not sent and b"systemtap starting probe\n" in out:
            time.sleep(0.2)
            p.send_signal(signal.SIGINT)
            sent = True
    if p.poll() is None:
        p.kill()
    p.wait()
    return out.decode(errors="replace")


def matches(kind: str, want: str, got: str) -> bool:
    if kind == "exact":
        return got.split("\n") == want.split("\n")
    i = got.find("systemtap starting probe\n")
    if i < 0:
        return False
    rest = got[i + len("systemtap starting probe\n"):].replace("\n", "\r\n")
    try:
        return re.match("systemtap ending probe\r\n" + tcl_re(want), rest) is not None
    except re.error:
        return False


def tcl_re(s: str) -> str:
    return s


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", default="/work/systemtap-src")
    ap.add_argument("-v", action="store_true", help="show a diff for each mismatch")
    ap.add_argument("-k", default="", help="only tests whose id contains this")
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("dirs", nargs="*")
    o = ap.parse_args()
    ok, bad, skipped = [], [], 0
    for tid, stp, args, kind, want in harvest(Path(o.src), o.dirs or DIRS):
        if o.k not in tid:
            continue
        if not qualifies(stp, args):
            skipped += 1
            continue
        got = run(stp, args, kind, o.timeout)
        if matches(kind, want, got):
            ok.append(tid)
            print("MATCH   ", tid, flush=True)
        else:
            bad.append(tid)
            print("MISMATCH", tid, flush=True)
            if o.v:
                w = want.replace("\r\n", "\n")
                print("".join(list(difflib.unified_diff(w.splitlines(True), got.splitlines(True),
                                                         "expected", "stapy"))[:40]))
    print(f"matched {len(ok)} of {len(ok) + len(bad)} (not qualifying: {skipped})")
    return 0 if not bad else 1


if __name__ == "__main__":
    sys.exit(main())
