"""Session: runs passes 1-5 for one script; the only object the faces touch.

Each pass is one call into its room and returns a new value:

    pass 1  stapy.parser.frontend.parse_pass(options)      -> Parsed
    pass 2  stapy.semantic.pipeline.analyze(parsed, opts)   -> Program
    pass 3  stapy.codegen.translate.translate(program, opts)-> Translated
    pass 4  stapy.codegen.jit.compile_program(tr, opts)     -> Compiled
    pass 5  stapy.runtime.run.run_program(compiled, opts)   -> exit status

A pass that fails raises `StapError` with its diagnostics; the session renders
them in stap's format, prints `Pass N: ... failed.  [man error::passN]` and
returns 1.  `-pN` stops after pass N and prints that pass's listing.
"""
from __future__ import annotations

import sys
from typing import TextIO

from stapy.diagnostics import StapError
from stapy.options import Options

PASS_NAMES = {1: "parse", 2: "analysis", 3: "translation", 4: "compilation", 5: "run"}


def pass_failed(n: int) -> str:
    return f"Pass {n}: {PASS_NAMES[n]} failed.  [man error::pass{n}]"


class Session:
    def __init__(self, options: Options, stdout: TextIO | None = None, stderr: TextIO | None = None):
        self.options = options
        self.stdout = stdout if stdout is not None else sys.stdout
        self.stderr = stderr if stderr is not None else sys.stderr
        self.parsed = None
        self.program = None
        self.translated = None
        self.compiled = None

    # -- the passes ---------------------------------------------------------
    def parse(self):
        from stapy.parser.frontend import parse_pass

        self.parsed = parse_pass(self.options, self.stderr)
        return self.parsed

    def analyze(self):
        from stapy.semantic.pipeline import analyze

        if self.parsed is None:
            self.parse()
        self.program = analyze(self.parsed, self.options, self.stderr)
        return self.program

    def translate(self):
        from stapy.codegen.translate import translate

        if self.program is None:
            self.analyze()
        self.translated = translate(self.program, self.options)
        return self.translated

    def compile(self):
        from stapy.codegen.jit import compile_program

        if self.translated is None:
            self.translate()
        self.compiled = compile_program(self.translated, self.options)
        return self.compiled

    def run(self) -> int:
        from stapy.runtime.run import run_program

        if self.compiled is None:
            self.compile()
        return run_program(self.compiled, self.options, self.stdout, self.stderr)

    # -- the whole pipeline, as `stap` runs it --------------------------------
    def main(self) -> int:
        """Run through options.last_pass, print what that pass prints; return the exit status."""
        last = self.options.last_pass
        if last >= 4 and self.compiled is None:
            # an unchanged script compiled before (with no pass-2 warnings): skip passes 1-4
            from stapy.codegen.jit import lookup_cached

            self.compiled = lookup_cached(self.options)
            if self.compiled is not None and last == 4:
                from stapy.codegen.listing import print_compiled

                print_compiled(self.compiled, self.options, self.stdout)
                return 0
            if self.compiled is not None:
                try:
                    return self.run()
                except StapError as e:
                    self.report(e.diagnostics, 5)
                    print(pass_failed(5), file=self.stderr)
                    return 1
        steps = [
            (1, self.parse, "stapy.parser.printer", "print_parsed"),
            (2, self.analyze, "stapy.semantic.listing", "print_program"),
            (3, self.translate, "stapy.codegen.listing", "print_translated"),
            (4, self.compile, "stapy.codegen.listing", "print_compiled"),
        ]
        for n, step, mod, fn in steps:
            try:
                value = step()
            except StapError as e:
                self.report(e.diagnostics, n)
                print(pass_failed(n), file=self.stderr)
                self.report_suppression(getattr(e, "suppressed", None))
                return 1
            if n == last:
                import importlib

                getattr(importlib.import_module(mod), fn)(value, self.options, self.stdout)
                self.report_suppression(getattr(self.program, "suppressed", None))
                return 0
        try:
            return self.run()
        except StapError as e:
            self.report(e.diagnostics, 5)
            print(pass_failed(5), file=self.stderr)
            return 1

    def report_suppression(self, counts) -> None:
        """stap's closing lines about hidden duplicate diagnostics; counts = (errors, warnings)."""
        if not counts:
            return
        errors, warnings = counts
        if errors:
            print(f"Number of similar error messages suppressed: {errors}.", file=self.stderr)
        if warnings:
            print(f"Number of similar warning messages suppressed: {warnings}.", file=self.stderr)
        if errors or warnings:
            print("Rerun with -v to see them.", file=self.stderr)

    def report(self, diagnostics, pass_no: int) -> None:
        from stapy.diagnostics import render_diagnostics

        render_diagnostics(diagnostics, pass_no, self.options, self.stderr)
