"""Where stapy keeps what it can rebuild (compiled scripts, grammar tables, the parsed tapset library,
name indexes, header types): $XDG_CACHE_HOME/stapy, by default ~/.cache/stapy."""
from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """The cache directory's path (not created here: each user makes the part it writes)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "stapy"


def store(path, data: bytes) -> bool:
    """Write `data` to `path` as one step (a temporary file renamed over it), so a concurrent reader
    sees the old file or the new one, never half of one.  A cache that cannot be written is no error."""
    path = str(path)
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
        return True
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        return False
