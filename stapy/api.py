"""The Python face: run a stap script from Python code and get its output back.

    import stapy
    r = stapy.run('probe process("./prog").function("work") { n++ } probe end { println(n) }',
                  cmd="./prog")
    assert r.status == 0 and r.output == "3\\n"

It builds the same Options the command line builds and runs one Session, so a
script behaves here exactly as under `stapy`.  Script output is captured
through a file (handlers write to a file descriptor natively); diagnostics and
runtime errors are captured as text.
"""
from __future__ import annotations

import io
import os
import tempfile
from dataclasses import dataclass

from stapy.options import Options


@dataclass(frozen=True)
class Result:
    output: str  # what the script printed (stdout, or -o FILE)
    errors: str  # stapy's diagnostics and runtime errors (stderr)
    status: int  # the exit status `stapy` would have returned

    @property
    def ok(self) -> bool:
        return self.status == 0


def options_for(script: str, *, cmd: str | None = None, pid: int | None = None, args=(), last_pass: int = 5,
                defines: dict | None = None, globals: dict | None = None, guru: bool = False,
                timeout: float | None = None, **more) -> Options:
    """The Options a `stapy -e SCRIPT ...` command line would build."""
    return Options(
        script_text=script, target_cmd=cmd, target_pid=pid, args=tuple(str(a) for a in args), last_pass=last_pass,
        defines=tuple((k, None if v is None else str(v)) for k, v in (defines or {}).items()),
        global_inits=tuple((k, str(v)) for k, v in (globals or {}).items()), guru=guru, timeout=timeout, **more)


def run(script: str, **kw) -> Result:
    """Run `script` through the passes it asks for (all five by default) and capture what it prints."""
    from stapy.session import Session

    opts = options_for(script, **kw)
    err = io.StringIO()
    with tempfile.TemporaryDirectory(prefix="stapy-api-") as tmp:
        out_path = os.path.join(tmp, "out")
        if opts.last_pass == 5 and opts.output_file is None:
            opts = opts.with_(output_file=out_path)
        text = io.StringIO()
        status = Session(opts, stdout=text, stderr=err).main()
        output = text.getvalue()
        if os.path.exists(out_path):
            with open(out_path, errors="replace") as f:
                output += f.read()
    return Result(output=output, errors=err.getvalue(), status=status)
