"""Run passes 1-2 on a script text, in-process."""
from __future__ import annotations

import io

from stapy.options import Options
from stapy.parser.frontend import parse_pass
from stapy.semantic.pipeline import analyze


def analyze_text(text: str, **opts):
    options = Options(script_text=text, last_pass=2, **opts)
    err = io.StringIO()
    program = analyze(parse_pass(options, err), options, err)
    return program, err.getvalue()
