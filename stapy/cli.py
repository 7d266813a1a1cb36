"""The `stapy` command line: stap's options mapped onto Options, then Session.main()."""
from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from stapy.options import Options
    from stapy.session import Session

    argv = sys.argv[1:] if argv is None else argv
    opts = Options()
    # Placeholder until the full getopt-compatible front end lands.
    if argv[:1] == ["-e"]:
        opts = opts.with_(script_text=argv[1], last_pass=1)
    return Session(opts).main()
