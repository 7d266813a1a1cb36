"""Which files a probe point names: stap's PATH rule for process("P"), #! scripts, library("L").

resolve_process_path(arg, cwd=None, env_path=None) -> str    absolute; cwd-relative with '/'; else $PATH;
    a `#!` script means its interpreter; the result is canonical (symlinks resolved). ResolveError if not.
resolve_process_paths(pattern, ...) -> [str]                   the same, a glob may name several files
resolve_library_path(lib, exe, env=None) -> [str]              an absolute path or glob, else the
    executable's DT_NEEDED closure (RUNPATH/RPATH, LD_LIBRARY_PATH, the usual dirs) matched by name
"""
from __future__ import annotations

import fnmatch
import glob
import os

from . import elf as elfmod


class ResolveError(Exception):
    pass


def _shebang_interpreter(path: str) -> str | None:
    try:
        with open(path, "rb") as f:
            head = f.read(256)
    except OSError:
        return None
    if not head.startswith(b"#!"):
        return None
    line = head[2:].split(b"\n", 1)[0].strip()
    return line.split()[0].decode() if line else None


def resolve_process_path(arg: str, cwd: str | None = None, env_path: str | None = None) -> str:
    cwd = cwd or os.getcwd()
    if arg.startswith("/"):
        cand = arg
    elif "/" in arg:
        cand = os.path.join(cwd, arg)
    else:
        cand = None
        for d in (env_path if env_path is not None else os.environ.get("PATH", "")).split(":"):
            p = os.path.join(d or ".", arg)
            if os.path.isfile(p) and os.access(p, os.X_OK):
                cand = p
                break
        if cand is None:
            raise ResolveError(f"cannot find executable '{arg}'")
    if not os.path.exists(cand):
        raise ResolveError(f"cannot find executable '{arg}'")
    real = os.path.realpath(cand)
    if not elfmod.is_elf(real):
        interp = _shebang_interpreter(real)
        if interp is None:
            raise ResolveError(f"'{arg}' is not an ELF file")
        return resolve_process_path(interp, cwd, env_path)
    return real


def resolve_process_paths(pattern: str, cwd: str | None = None, env_path: str | None = None) -> list[str]:
    """Like resolve_process_path, but a glob pattern may name several executables."""
    if any(c in pattern for c in "*?["):
        base = pattern if pattern.startswith("/") else os.path.join(cwd or os.getcwd(), pattern)
        out = []
        for p in sorted(glob.glob(base)):
            if os.path.isfile(p) and elfmod.is_elf(p):
                out.append(os.path.realpath(p))
        return sorted(set(out))
    return [resolve_process_path(pattern, cwd, env_path)]


_LIB_DIRS = ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib",
             "/usr/local/lib")


def _needed_libraries(exe: str, env: dict | None) -> list[str]:
    """DT_NEEDED of exe (recursively), found through RUNPATH/RPATH, LD_LIBRARY_PATH and the usual dirs."""
    env = os.environ if env is None else env
    seen: dict[str, str] = {}
    todo = [exe]
    while todo:
        cur = todo.pop(0)
        try:
            ef = elfmod.open_elf(cur)
            dyn = ef.section(".dynamic")
        except (OSError, ValueError):
            continue
        if dyn is None:
            continue
        needed, paths = [], []
        for tag in dyn.iter_tags():
            if tag.entry.d_tag == "DT_NEEDED":
                needed.append(tag.needed)
            elif tag.entry.d_tag in ("DT_RUNPATH", "DT_RPATH"):
                rp = tag.runpath if tag.entry.d_tag == "DT_RUNPATH" else tag.rpath
                paths += [p.replace("$ORIGIN", os.path.dirname(cur)) for p in rp.split(":")]
        dirs = [d for d in env.get("LD_LIBRARY_PATH", "").split(":") if d] + paths + list(_LIB_DIRS)
        for n in needed:
            if n in seen:
                continue
            for d in dirs:
                p = os.path.join(d, n)
                if os.path.isfile(p):
                    seen[n] = os.path.realpath(p)
                    todo.append(p)
                    break
    interp = None
    try:
        interp = elfmod.open_elf(exe).interp
    except (OSError, ValueError):
        pass
    out = list(dict.fromkeys(seen.values()))
    if interp and os.path.exists(interp):
        out.append(os.path.realpath(interp))
    return list(dict.fromkeys(out))


def resolve_library_path(lib: str, exe: str, env: dict | None = None) -> list[str]:
    if lib.startswith("/"):
        return sorted({os.path.realpath(p) for p in glob.glob(lib)}) if any(c in lib for c in "*?[") else (
            [os.path.realpath(lib)] if os.path.exists(lib) else [])
    libs = _needed_libraries(exe, env)
    hits = [p for p in libs if fnmatch.fnmatchcase(os.path.basename(p), lib) or fnmatch.fnmatchcase(p, lib)
            or fnmatch.fnmatchcase(os.path.basename(p), lib + "*")]
    if hits or any(c in lib for c in "*?["):
        return hits
    for d in _LIB_DIRS:
        p = os.path.join(d, lib)
        if os.path.exists(p):
            return [os.path.realpath(p)]
    return []
