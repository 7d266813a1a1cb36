"""Where stapy keeps what it can rebuild (compiled scripts, grammar tables, the parsed tapset library,
name indexes, header types): $XDG_CACHE_HOME/stapy, by default ~/.cache/stapy."""
from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """The cache directory's path (not created here: each user makes the part it writes)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "stapy"
