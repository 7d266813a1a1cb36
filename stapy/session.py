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


def _clock():
    import os
    import time

    return os.times(), time.monotonic()


def _timesprint(started) -> str:
    """main.cxx's TIMESPRINT: `in Uusr/Ssys/Rreal ms.` (children included, as times(2) gives)."""
    import os
    import time

    t0, m0 = started
    t1 = os.times()
    usr = int((t1.user + t1.children_user - t0.user - t0.children_user) * 1000)
    sys_ = int((t1.system + t1.children_system - t0.system - t0.children_system) * 1000)
    real = int((time.monotonic() - m0) * 1000)
    return f"in {usr}usr/{sys_}sys/{real}real ms."


def _memusage() -> str:
    """staputil.cxx getmemusage(): `using Vvirt/Rres/Sshr/Ddata kb, ` from /proc/self/statm."""
    import os

    try:
        with open("/proc/self/statm") as f:
            size, res, shr, _text, _lib, data = (int(x) for x in f.read().split()[:6])
        kb = os.sysconf("SC_PAGE_SIZE") // 1024
    except (OSError, ValueError):
        size = res = shr = data = kb = 0
    return f"using {size * kb}virt/{res * kb}res/{shr * kb}shr/{data * kb}data kb, "

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
            if self.compiled is not None and any(self.verbosity(n) for n in (1, 2, 3, 4)):
                return self.main_verbose_cached()
            if self.compiled is not None and last == 4:
                from stapy.codegen.listing import print_compiled

                print_compiled(self.compiled, self.options, self.stdout)
                return 0
            if self.compiled is not None:
                return self.run_pass5()
        steps = [
            (1, self.parse, "stapy.parser.printer", "print_parsed"),
            (2, self.analyze, "stapy.semantic.listing", "print_program"),
            (3, self.translate, "stapy.codegen.listing", "print_translated"),
            (4, self.compile, "stapy.codegen.listing", "print_compiled"),
        ]
        for n, step, mod, fn in steps:
            started = _clock()
            try:
                value = step()
            except StapError as e:
                self.report(e.diagnostics, n)
                self.pass_done_line(n, started)
                print(pass_failed(n), file=self.stderr)
                self.report_suppression(getattr(e, "suppressed", None))
                return 1
            if n == last:  # stap prints the pass's listing, then its -v line
                import importlib

                getattr(importlib.import_module(mod), fn)(value, self.options, self.stdout)
                self.stdout.flush()
            self.pass_done_line(n, started)
            if n == last:
                self.report_suppression(getattr(self.program, "suppressed", None))
                return 0
        return self.run_pass5()

    def run_pass5(self) -> int:
        """Pass 5 with stap's -v bracket lines (main.cxx pass_5_2) around it."""
        started = _clock()
        if self.verbosity(5):
            print("Pass 5: starting run.", file=self.stderr)
        try:
            status = self.run()
        except StapError as e:
            self.report(e.diagnostics, 5)
            status = None
        if self.verbosity(5):
            print(f"Pass 5: run completed {_timesprint(started)}", file=self.stderr, flush=True)
        if status is None:
            print(pass_failed(5), file=self.stderr)
            return 1
        return status

    # -- -v: stap's per-pass summary lines (main.cxx; numbers are this process's own) ----------
    def verbosity(self, n: int) -> int:
        """stap's perpass_verbose[n-1]: -v raises every pass, --vp each one (cli.py keeps vp in step)."""
        vp = tuple(getattr(self.options, "vp", ()) or ())
        if any(vp):
            return vp[n - 1] if n <= len(vp) else 0
        return self.options.verbose

    def pass_done_line(self, n: int, started) -> None:
        """The -v line after pass n, printed whether the pass worked or not (pass 2's comes from semantic)."""
        if n == 2 or not self.verbosity(n):
            return
        if n == 1:
            count = len(self._library_paths())
            files = f"{count} library script" + ("" if count == 1 else "s")
            text = f"Pass 1: parsed user script and {files} {_memusage()}{_timesprint(started)}"
        elif n == 3:
            text = f'Pass 3: translated to C into "{self._translated_path()}" {_memusage()}{_timesprint(started)}'
        else:
            path = self.compiled.object_path if self.compiled is not None else self._cache_path(".o")  # what -p4 prints
            text = f'Pass 4: compiled C into "{path}" {_timesprint(started)}'
        print(text, file=self.stderr, flush=True)

    def main_verbose_cached(self) -> int:
        """A cache hit under -v: passes 1-2 still run and speak, then stap's cache.cxx lines."""
        compiled = self.compiled
        for n, step in ((1, self.parse), (2, self.analyze)):
            started = _clock()
            try:
                step()
            except StapError as e:
                self.report(e.diagnostics, n)
                self.pass_done_line(n, started)
                print(pass_failed(n), file=self.stderr)
                return 1
            self.pass_done_line(n, started)
        if self.verbosity(3):
            print(f"Pass 3: using cached {self._translated_path()}", file=self.stderr)
        if self.verbosity(4):
            print(f"Pass 4: using cached {compiled.object_path}", file=self.stderr)
        self.compiled = compiled
        if self.options.last_pass == 4:
            from stapy.codegen.listing import print_compiled

            print_compiled(compiled, self.options, self.stdout)
            return 0
        return self.run_pass5()

    def _library_paths(self) -> list:
        tapsets = getattr(self.parsed, "tapsets", None)
        if tapsets is None:
            from stapy.parser.frontend import Tapsets

            tapsets = Tapsets(self.options)
        return tapsets.paths("stp")

    def _cache_path(self, suffix: str) -> str:
        from stapy.codegen.jit import cache_dir, script_key

        return str(cache_dir() / f"{script_key(self.options) or 'stdin'}{suffix}")

    def _translated_path(self) -> str:
        """Where -v says pass 3 put its output: the module's IR, written next to the cached object."""
        path = self._cache_path(".ll")
        if self.translated is not None:
            try:
                with open(path, "w") as f:
                    f.write(self.translated.ir_text)
            except OSError:
                pass
        return path

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
