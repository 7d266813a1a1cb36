"""Shared test fixtures: building C/C++ targets with gcc at test time, running stapy."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "tests" / ".build"
TARGETS = ROOT / "tests" / "targets"


def build_target(source: str | Path, *, flags: tuple[str, ...] = ("-O0", "-g"), lang: str | None = None,
                 name: str | None = None) -> Path:
    """Compile a C/C++ file (a path under tests/targets, or source text) and return the binary.

    Binaries are cached under tests/.build by a hash of source and flags, so a
    test run compiles each target once.
    """
    if isinstance(source, Path) or (isinstance(source, str) and "\n" not in source and source.endswith((".c", ".cc", ".cpp"))):
        path = Path(source)
        if not path.is_absolute():
            path = TARGETS / path
        text = path.read_text()
        lang = lang or ("c++" if path.suffix in (".cc", ".cpp") else "c")
        stem = name or path.stem
    else:
        text = source
        lang = lang or "c"
        stem = name or "prog"
    key = hashlib.sha1((text + "\0" + " ".join(flags) + lang).encode()).hexdigest()[:12]
    BUILD.mkdir(parents=True, exist_ok=True)
    out = BUILD / f"{stem}-{key}"
    if not out.exists():
        src = BUILD / f"{stem}-{key}.{'cc' if lang == 'c++' else 'c'}"
        src.write_text(text)
        compiler = "g++" if lang == "c++" else "gcc"
        tmp = out.with_suffix(".tmp")
        subprocess.run([compiler, *flags, "-o", str(tmp), str(src), "-lpthread", "-ldl"], check=True)
        os.replace(tmp, out)
    return out


def pytest_configure(config):
    """The `stapy` fixture comes from the installed package's pytest11 entry point; register the
    same plugin when the tests run from a source tree that is not installed."""
    if not config.pluginmanager.has_plugin("stapy"):
        import stapy.pytest_plugin

        config.pluginmanager.register(stapy.pytest_plugin, "stapy")


@pytest.fixture
def cbuild():
    return build_target


def run_stapy(*args: str, input: str | None = None, timeout: float = 60, cwd=None, env=None):
    """Run the stapy command line in a subprocess; returns CompletedProcess (text)."""
    e = dict(os.environ)
    e["PYTHONPATH"] = str(ROOT) + os.pathsep + e.get("PYTHONPATH", "")
    if env:
        e.update(env)
    return subprocess.run([sys.executable, "-m", "stapy", *args], input=input, capture_output=True,
                          text=True, timeout=timeout, cwd=cwd, env=e)


@pytest.fixture
def stapy_cmd():
    return run_stapy
