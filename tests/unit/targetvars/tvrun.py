"""Run a script's process probes by driving stapy.runtime.engine.Engine from pass 5's Runner.

Used by the target-variable tests until pass 5 arms process probes itself:
    python3 tests/unit/targetvars/tvrun.py [-g] SCRIPT_TEXT CMD...
Prints the script's output on stdout (the command's own output goes there too) and errors on stderr;
exits with the Runner's status.
"""
from __future__ import annotations

import os
import shlex
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", ".."))

from stapy.codegen import abi  # noqa: E402
from stapy.options import Options  # noqa: E402
from stapy.runtime import run as runmod  # noqa: E402
from stapy.session import Session  # noqa: E402


class EngineRunner(runmod.Runner):
    argv: list = []

    def arm_targets(self) -> None:
        from stapy.runtime.engine import Engine

        self.by_index = {p.index: p for p in self.compiled.probes}
        self.eng = Engine(context=self.ctx, hooks=self)
        for p in self.compiled.probes:
            if p.family.startswith("process.") and p.params.get("address") is not None:
                kind = "return" if p.params.get("is_return") else "entry"
                self.eng.add_probe(p.params["path"], p.params["address"], self.handler(p.index), kind, p.index)
        self.eng.launch(self.argv)
        self.event_sources.append(self)

    def poll(self, timeout):
        r = self.eng.poll(timeout)
        if r is not None and self.state == runmod.RUNNING:
            self.state = runmod.STOPPING

    def handler_status(self, probe, status, ctx) -> bool:
        info = self.by_index[probe.index]
        if status == abi.STATUS_ERROR:
            self.handler_error(info)
        if ctx.exit_requested and self.state == runmod.RUNNING:
            self.state = runmod.STOPPING
        return self.state != runmod.RUNNING

    def disarm_targets(self) -> None:
        eng = getattr(self, "eng", None)
        if eng is not None:
            eng.detach_all()


def main(argv) -> int:
    guru = argv[1] == "-g"
    if guru:
        argv = argv[1:]
    script, cmd = argv[1], argv[2:]
    opts = Options(script_text=script, target_cmd=" ".join(shlex.quote(a) for a in cmd), guru=guru)
    s = Session(opts)
    s.translate()
    s.compile()
    EngineRunner.argv = cmd
    r = EngineRunner(s.compiled, opts, sys.stdout, sys.stderr)
    return r.run()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
