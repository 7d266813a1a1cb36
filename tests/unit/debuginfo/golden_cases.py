"""The stap48 golden cases of tests/unit/debuginfo/goldens: reading them, building their targets."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from conftest import BUILD, build_target

HERE = Path(__file__).resolve().parent / "goldens"


@dataclass(frozen=True)
class Case:
    name: str
    target: str
    flags: tuple[str, ...]
    mode: str
    point: str

    @property
    def golden(self) -> Path:
        return HERE / f"{self.name}.out"

    def build(self) -> Path | None:
        """The built target; None for cases on installed files (target '-')."""
        return None if self.target == "-" else build_target(self.target, flags=self.flags)

    def source_of(self, binary: Path | None) -> Path | None:
        """build_target compiles a copy of the source named after the binary."""
        if binary is None:
            return None
        suffix = ".cc" if self.target.endswith((".cc", ".cpp")) else ".c"
        return binary.with_name(binary.name + suffix)


def cases() -> list[Case]:
    out = []
    for line in (HERE / "cases.txt").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, target, flags, mode, point = (f.strip() for f in line.split("|"))
        out.append(Case(name, target, tuple(flags.split()), mode, point))
    return out


def to_golden(text: str, binary: Path, source: Path) -> str:
    """Replace the build paths by @BIN@ / @SRC@ so goldens do not depend on where the repo lives."""
    if binary is None:
        return text
    return text.replace(str(source), "@SRC@").replace(str(binary), "@BIN@").replace(str(BUILD), "@BUILD@")


def p2_probe_lines(text: str) -> list[str]:
    """The `# probes` section of stap -p2, without the derivation comments, in stap's order."""
    lines, on = [], False
    for line in text.splitlines():
        if line.startswith("# "):
            on = line == "# probes"
            continue
        if on and not line.startswith(" "):
            lines.append(re.sub(r" /\* <- .* \*/$", "", line))
    return lines


def p2_caller_checks(text: str) -> list[str]:
    """From stap -p2 -v: each probe line (with its derivation) and the `_caller_match(...)` checks
    stap put in front of its body (.callee probes), one per line, indented."""
    lines, on = [], False
    for line in text.splitlines():
        if line.startswith("# "):
            on = line == "# probes"
            continue
        if not on:
            continue
        if line.startswith("process("):
            lines.append(line)
        m = re.search(r"(?:_caller_match|__global__caller_match__overload_\d+)(\(.*?\))", line)
        if m:
            lines.append("  _caller_match" + m.group(1))
    return lines


def p3_point_names(text: str) -> list[str]:
    """From stap -p3's probe table: `PP | PN` per probe (pp() and pn() of each), sorted."""
    out = []
    for m in re.finditer(r'STAP_PROBE_INIT\(\d+, &\w+, ("(?:[^"\\]|\\.)*"), ("(?:[^"\\]|\\.)*")', text):
        pp, pn = (g[1:-1].replace('\\"', '"').replace("\\\\", "\\") for g in m.groups())
        out.append(f"{pp} | {pn}")
    return sorted(out)
