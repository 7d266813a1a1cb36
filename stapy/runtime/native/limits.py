"""The -D limits the native runtime library is built for (one module per set of limits)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RuntimeLimits:
    maxstringlen: int = 512  # MAXSTRINGLEN: string buffers hold at most this - 1 characters
    maxmapentries: int = 2048  # MAXMAPENTRIES: capacity of an array without a declared size
    hist_width: int = 50  # HIST_WIDTH
    hist_elision: int = 2  # HIST_ELISION (< 0: no elision)
    weak_hash: bool = False  # tests only: every key hashes alike, so every lookup walks one collision chain

    @classmethod
    def from_options(cls, options) -> "RuntimeLimits":
        """Read MAXSTRINGLEN, MAXMAPENTRIES, HIST_WIDTH and HIST_ELISION from -D."""
        d = cls()
        return cls(
            maxstringlen=options.define("MAXSTRINGLEN", d.maxstringlen),
            maxmapentries=options.define("MAXMAPENTRIES", d.maxmapentries),
            hist_width=options.define("HIST_WIDTH", d.hist_width),
            hist_elision=options.define("HIST_ELISION", d.hist_elision),
        )
