"""Types from C headers: the "<sys/socket.h>" modules of @cast(p, "T", "<a.h><b.h>").

stap builds a "typequery" object for such a module [buildrun.cxx make_typequery_umod]:
    gcc -shared -g -fno-eliminate-unused-debug-types -xc /dev/null -o OUT -include a.h -include b.h
and looks the type up in its DWARF like in any other module.  stapy does the same, once per header
list and compiler: the object is kept under ~/.cache/stapy/typequery/ (named by a hash of the headers
and of the gcc binary's path, size and mtime), as stap keeps its typequery_<hash>.so in its cache.

typequery_module(spec, warn) -> path of the object, or None
    spec   the module text: one or more "<header>" (kernel<...> modules do not exist in user space)
    warn   warn(text): stap's warnings (a malformed header name is skipped; gcc failing is
           "gcc exited with status: N", after gcc's own messages on stderr, as stap lets them through)
A failure is remembered for the session, as stap memoizes it, so the compiler runs once per spec.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

from stapy.cache import cache_root

_HEADER_NAME = re.compile(r"^[a-zA-Z0-9/_.+-]+$")
_MEMO: dict[str, str | None] = {}


def is_header_module(spec: str) -> bool:
    return spec.startswith("<") and spec.endswith(">")


def header_names(spec: str) -> list[str] | None:
    """The headers of "<a.h><b.h>", or None when the text is not a list of <...> [make_typequery]."""
    out, i = [], 0
    while i < len(spec):
        if spec[i] != "<":
            return None
        end = spec.find(">", i + 1)
        if end < 0:
            return None
        out.append(spec[i + 1:end])
        i = end + 1
    return out


def cache_dir() -> Path:
    return cache_root() / "typequery"


def _compiler_identity(gcc: str) -> str:
    st = os.stat(gcc)
    return f"{os.path.realpath(gcc)}:{st.st_size}:{st.st_mtime_ns}"


def typequery_module(spec: str, warn=lambda text: None) -> str | None:
    if spec in _MEMO:
        return _MEMO[spec]
    result = None
    names = header_names(spec)
    headers = []
    for h in names or ():
        if _HEADER_NAME.match(h):
            headers.append(h)
        else:
            warn(f'skipping malformed @cast header "{h}"')
    gcc = shutil.which("gcc")
    if headers and gcc:
        # -include finds a header in the working directory first: then the directory is part of the key
        local = os.getcwd() if any(os.path.exists(h) for h in headers) else ""
        key = hashlib.sha1(("\0".join(headers) + "\0" + _compiler_identity(gcc) + "\0" + local)
                           .encode()).hexdigest()[:16]
        out = cache_dir() / f"typequery_{key}.so"
        if out.exists():
            result = str(out)
        else:
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp = out.with_name(f"{out.stem}.tmp{os.getpid()}.so")
            cmd = [gcc, "-shared", "-g", "-fno-eliminate-unused-debug-types", "-xc", "/dev/null", "-o", str(tmp)]
            for h in headers:
                cmd += ["-include", h]
            rc = subprocess.run(cmd, stdout=subprocess.DEVNULL).returncode  # gcc's complaints reach stderr
            if rc == 0:
                os.replace(tmp, out)
                result = str(out)
            else:
                try:
                    tmp.unlink()
                except OSError:
                    pass
                warn(f"gcc exited with status: {rc}")
    _MEMO[spec] = result
    return result
