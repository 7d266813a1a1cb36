"""The `stapy` command line: stap's options, parsed with GNU getopt_long rules.

Only argument mapping lives here: the words become one `Options` value and
`Session.main()` does the work.  The parsing copies GNU getopt's behaviour
(permutation, combined short options `-vp1`, attached or separate arguments,
unambiguous long-option prefixes, `--`) and its error texts, since stap users
script against them.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass

from stapy import SYSTEMTAP_VERSION, __version__

PROG = "stapy"

# stap's STAP_SHORT_OPTIONS; letters after a ':' take an argument.
SHORT_OPTIONS = "hVvtp:I:e:E:o:R:r:a:m:kgPc:x:D:bs:uqiwl:d:L:FS:B:J:jWG:T:"
# long name -> 0 no argument, 1 required, 2 optional; in stap's table order (cmdline.cxx),
# which is the order GNU getopt lists ambiguous possibilities in.
LONG_OPTIONS = {
    "skip-badvars": 0, "vp": 1, "unprivileged": 0, "build-as": 2, "client-options": 0,
    "help": 0, "disable-cache": 0, "poison-cache": 0, "clean-cache": 0, "compatible": 1,
    "ldd": 0, "use-server": 2, "list-servers": 2, "trust-servers": 2, "use-server-on-error": 2,
    "use-http-server": 1, "all-modules": 0, "sign-module": 2, "remote": 1, "remote-prefix": 0,
    "check-version": 0, "version": 0, "tmpdir": 1, "download-debuginfo": 2, "dump-probe-types": 0,
    "dump-probe-aliases": 0, "dump-functions": 0, "privilege": 1, "suppress-handler-errors": 0, "modinfo": 1,
    "rlimit-as": 1, "rlimit-cpu": 1, "rlimit-nproc": 1, "rlimit-stack": 1, "rlimit-fsize": 1,
    "sysroot": 1, "sysenv": 1, "suppress-time-limits": 0, "runtime": 1, "dyninst": 0,
    "bpf": 0, "benchmark-sdt": 0, "benchmark-sdt-loops": 1, "benchmark-sdt-threads": 1, "color": 2,
    "colour": 2, "prologue-searching": 2, "save-uprobes": 0, "target-namespaces": 1, "monitor": 2,
    "interactive": 0, "example": 0, "no-global-var-display": 0, "language-server": 0,
}
# Options that only mean something for stap's kernel runtime or its compile servers.
KERNEL_ONLY = {
    "-r": "cross-compiles for a kernel build tree",
    "-m": "names a kernel module",
    "-B": "passes options to kbuild",
    "-k": "keeps the kernel module build directory",
    "-R": "selects the kernel runtime sources",
    "-a": "cross-compiles a kernel module",
    "-b": "selects bulk per-cpu kernel transport",
    "-F": "loads the kernel module as a flight recorder",
    "-q": "collects kernel tapset coverage",
    "-J": "is for kernel module signing",
    "-j": "is for kernel module signing",
    "--remote": "runs pass 5 on another host",
    "--remote-prefix": "runs pass 5 on another host",
    "--use-server": "uses a compile server",
    "--list-servers": "uses a compile server",
    "--trust-servers": "uses a compile server",
    "--use-server-on-error": "uses a compile server",
    "--use-http-server": "uses a compile server",
    "--client-options": "uses a compile server",
    "--all-modules": "adds kernel module unwind data",
    "--sign-module": "signs a kernel module",
    "--modinfo": "sets kernel module info",
    "--save-uprobes": "saves the kernel uprobes module",
    "--bpf": "selects the bpf runtime",
    "--download-debuginfo": "downloads kernel debuginfo",
    "--build-as": "builds a kernel module as another user",
    "--target-namespaces": "is for kernel namespaces",
    "--monitor": "needs the kernel runtime's monitor",
    "--language-server": "is not part of stapy",
    "--benchmark-sdt": "benchmarks kernel SDT probes",
    "--benchmark-sdt-loops": "benchmarks kernel SDT probes",
    "--benchmark-sdt-threads": "benchmarks kernel SDT probes",
    "--example": "is not part of stapy",
    "--sysroot": "is not supported by stapy",
    "--sysenv": "is not supported by stapy",
}


class UsageError(Exception):
    """A command-line problem: `lines` go to stderr, then stap's two usage hint lines."""

    def __init__(self, *lines: str, hint: bool = True):
        super().__init__(lines[0] if lines else "")
        self.lines = lines
        self.hint = hint


def _short_table(spec: str) -> dict[str, bool]:
    table, i = {}, 0
    while i < len(spec):
        takes = i + 1 < len(spec) and spec[i + 1] == ":"
        table[spec[i]] = takes
        i += 2 if takes else 1
    return table


SHORT = _short_table(SHORT_OPTIONS)


def getopt_long(argv: list[str]):
    """GNU getopt_long with argument permutation, as a generator.

    Yields ("-x", arg) or ("--name", arg) for options in order, then
    (None, word) for each operand.  Errors raise UsageError with GNU's exact
    wording (naming the program `stapy`) at the point getopt would, so an
    earlier option's own error wins, as in stap.
    """
    operands: list[str] = []
    i = 0
    while i < len(argv):
        word = argv[i]
        i += 1
        if word == "--":
            operands.extend(argv[i:])
            break
        if word.startswith("--"):
            name, eq, value = word[2:].partition("=")
            if name in LONG_OPTIONS:
                full = name
            else:
                matches = [n for n in LONG_OPTIONS if n.startswith(name)]
                if not matches:
                    raise UsageError(f"{PROG}: unrecognized option '--{name}'")
                if len(matches) > 1 and set(matches) != {"color", "colour"}:
                    alts = " ".join("'--" + m + "'" for m in matches)
                    raise UsageError(f"{PROG}: option '--{name}' is ambiguous; possibilities: {alts}")
                full = matches[0]
            kind = LONG_OPTIONS[full]
            if kind == 0:
                if eq:
                    raise UsageError(f"{PROG}: option '--{full}' doesn't allow an argument")
                yield ("--" + full, None)
            elif kind == 1:
                if not eq:
                    if i >= len(argv):
                        raise UsageError(f"{PROG}: option '--{full}' requires an argument")
                    value = argv[i]
                    i += 1
                yield ("--" + full, value)
            else:
                yield ("--" + full, value if eq else None)
            continue
        if word.startswith("-") and word != "-":
            j = 1
            while j < len(word):
                ch = word[j]
                j += 1
                if ch not in SHORT:
                    raise UsageError(f"{PROG}: invalid option -- '{ch}'")
                if SHORT[ch]:
                    if j < len(word):
                        value = word[j:]
                    elif i < len(argv):
                        value = argv[i]
                        i += 1
                    else:
                        raise UsageError(f"{PROG}: option requires an argument -- '{ch}'")
                    yield ("-" + ch, value)
                    break
                yield ("-" + ch, None)
            continue
        operands.append(word)
    for word in operands:
        yield (None, word)


def version_text() -> str:
    try:
        import llvmlite

        llvm = f"llvmlite {llvmlite.__version__}"
    except Exception:  # pragma: no cover - llvmlite is a dependency
        llvm = "llvmlite ?"
    return (
        f"Systemtap translator/driver (version {SYSTEMTAP_VERSION}/{PROG} {__version__}, {llvm})\n"
        f"Copyright (C) 2026 the {PROG} authors; the SystemTap language is (C) 2005-2026 Red Hat, Inc. and others\n"
        "This is free software; see the source for copying conditions.\n"
        "tested kernel versions: none needed (user space only, no kernel module)\n"
        "enabled features: LLVM PTRACE DWARF SDT\n"
    )


HELP = """\
Usage: {p} [options] FILE                    Run script in file.
   or: {p} [options] -                       Run script on stdin.
   or: {p} [options] -e SCRIPT               Run given script.
   or: {p} [options] -l PROBE                List matching probes.
   or: {p} [options] -L PROBE                List matching probes and local variables.
   or: {p} [options] --dump-probe-types      List available probe types.
   or: {p} [options] --dump-probe-aliases    List available probe aliases.
   or: {p} [options] --dump-functions        List available functions.

Options (on command line):
   --         end of translator options, script options follow
   -h --help  show help
   -V --version
              show version
   -p NUM     stop after pass NUM 1-5, instead of 5
              (parse, elaborate, translate, compile, run)
   -v         add verbosity to all passes
   --vp {{N}}+  add per-pass verbosity [00000]
   -u         unoptimized translation 
   -w         suppress warnings 
   -W         turn warnings into errors 
   -g         guru mode 
   -P         prologue-searching for function probes 
   -s NUM     buffer size in megabytes, instead of 0
   -I DIR     look in DIR for additional .stp script files, in addition to
              {tapset}
   -D NM=VAL  override a runtime limit (MAXACTION, MAXMAPENTRIES, ...)
   -G VAR=VAL set global variable to value
   -o FILE    send script output to file, instead of stdout. This supports
              strftime(3) formats for FILE
   -E SCRIPT  run the SCRIPT in addition to the main script specified
              through -e or a script file
   -c CMD     start the probes, run CMD, and exit when it finishes
   -x PID     sets target() to PID
   -S size[,n] set maximum of the size and the number of files.
   -d OBJECT  add unwind/symbol data for OBJECT file
   --ldd      add unwind/symbol data for referenced user-space objects.
   -t         collect probe timing information
   -T TIME    terminate the script after TIME seconds
   -i --interactive
              interactive mode (a {p}> prompt, like stap -i)
   --runtime=MODE
              set the pass-5 runtime mode: dyninst (user space, the default)
   --prologue-searching[=WHEN]
              prologue-searching for function probes
   --privilege=PRIVILEGE_LEVEL
              check the script for constructs not allowed at the given privilege level
   --unprivileged
              equivalent to --privilege=stapusr
   --compatible=VERSION
              suppress incompatible language/tapset changes beyond VERSION,
              instead of {v}
   --check-version
              displays warnings where a syntax element may be 
              version dependent
   --skip-badvars
              substitute zero for bad context $variables
   --suppress-handler-errors
              catch all runtime errors, quietly skip probe handlers
   --dump-probe-types
              show a list of available probe types.
   --dump-probe-aliases
              show a list of available probe aliases.
   --dump-functions
              show a list of available functions.
   --suppress-time-limits
              disable -DSTP_OVERLOAD, -DMAXACTION, and -DMAXTRYACTION limits
   --no-global-var-display
              do not print the values of unread globals at the end

{p} traces user-space programs only: kernel probes and the options of stap's
kernel runtime (-r -m -B -k -R -a -b -F, --runtime=kernel, compile servers)
are refused.
"""


def help_text() -> str:
    tapset = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tapset")
    return version_text() + "\n" + HELP.format(p=PROG, tapset=tapset, v=SYSTEMTAP_VERSION)


def build_options(argv: list[str]):
    """Map stap's command-line words onto one Options value (or raise UsageError / _Exit)."""
    from stapy.options import Options

    operands: list[str] = []
    o: dict = {}
    defines: list = []
    inits: list = []
    includes: list = []
    extra_scripts: list = []
    debuginfo: list = []
    verbose = 0
    vp = [0, 0, 0, 0, 0]
    script_text = None
    for flag, arg in getopt_long(argv):
        if flag is None:
            operands.append(arg)
            continue
        if flag in KERNEL_ONLY:
            raise UsageError(f"{PROG}: option '{flag}' {KERNEL_ONLY[flag]}; {PROG} traces user space only",
                             hint=False)
        if flag in ("-h", "--help"):
            raise _Exit(0, out=help_text())
        if flag in ("-V", "--version"):
            raise _Exit(0, out=version_text())
        if flag == "-v":
            verbose += 1
            vp = [x + 1 for x in vp]
        elif flag == "--vp":
            if not (1 <= len(arg) <= 5) or not arg.isdigit():
                raise UsageError("Invalid --vp argument: it takes 1 to 5 digits.", hint=False)
            for k, ch in enumerate(arg):
                vp[k] += int(ch)
        elif flag == "-p":
            if not arg.isdigit() or not 1 <= int(arg) <= 5:
                raise UsageError("Invalid pass number (should be 1-5).", hint=False)
            o["last_pass"] = int(arg)
        elif flag == "-e":
            if script_text is not None:
                raise UsageError("Only one script can be given on the command line.", hint=False)
            script_text = arg
        elif flag == "-E":
            extra_scripts.append(arg)
        elif flag == "-I":
            includes.append(arg)
        elif flag == "-D":
            name, eq, val = arg.partition("=")
            if not _match_define(arg):
                raise UsageError(f"ERROR: Safety pattern mismatch for -D parameter ('{arg}' vs. '^[a-z_][a-z_0-9]*(=-?[a-z_0-9]+)?$') rc=1",
                                 hint=False)
            defines.append((name, val if eq else None))
        elif flag == "-G":
            name, eq, val = arg.partition("=")
            if not _match_global(arg):
                raise UsageError(f"ERROR: Safety pattern mismatch for -G parameter ('{arg}' vs. '^[a-z_][a-z0-9_]*=[a-z0-9_.-]+$') rc=1",
                                 hint=False)
            inits.append((name, val))
        elif flag == "-o":
            o["output_file"] = arg
        elif flag == "-S":
            o["output_size"] = arg
        elif flag == "-c":
            if arg == "":
                raise UsageError("Empty CMD string invalid.", hint=False)
            o["target_cmd"] = arg
        elif flag == "-x":
            if not arg.isdigit():
                raise UsageError("Invalid target process ID number.", hint=False)
            o["target_pid"] = int(arg)
        elif flag == "-s":
            if not arg.isdigit() or not 1 <= int(arg) <= 4095:
                raise UsageError("Invalid buffer size (should be 1-4095).", hint=False)
            o["buffer_size"] = int(arg)
        elif flag == "-T":
            try:
                secs = float(arg)
            except ValueError:
                secs = 0.0
            if int(1000 * secs) < 1:
                raise UsageError("Invalid timeout interval.", hint=False)
            o["timeout"] = secs
        elif flag in ("-l", "-L"):
            if "listing" in o or "dump" in o:
                raise UsageError("ERROR: only one of the -l/-L/--dump-* switches may be specified", hint=False)
            o["listing"] = flag[1]
            o["listing_pattern"] = arg
            o["suppress_warnings"] = True
            if flag == "-L":
                o["unoptimized"] = True
        elif flag in ("--dump-functions", "--dump-probe-types", "--dump-probe-aliases"):
            if "listing" in o or "dump" in o:
                raise UsageError("ERROR: only one of the -l/-L/--dump-* switches may be specified", hint=False)
            o["dump"] = flag[len("--dump-"):]
        elif flag == "-d":
            if arg == "":
                raise UsageError("Data object (-d) cannot be empty.", hint=False)
            debuginfo.append(arg)
        elif flag == "-t":
            o["timing"] = True
        elif flag == "-w":
            o["suppress_warnings"] = True
        elif flag == "-W":
            o["warnings_as_errors"] = True
        elif flag == "-g":
            o["guru"] = True
        elif flag == "-u":
            o["unoptimized"] = True
        elif flag == "-P":
            o["prologue_searching"] = "always"
        elif flag == "--prologue-searching":
            if arg not in (None, "always", "auto", "never"):
                raise UsageError(f"Invalid argument '{arg}' for --prologue-searching.", hint=False)
            o["prologue_searching"] = arg or "always"
        elif flag in ("-i", "--interactive"):
            o["interactive"] = True
        elif flag == "--compatible":
            o["compatible"] = arg
        elif flag == "--skip-badvars":
            o["skip_badvars"] = True
        elif flag == "--suppress-handler-errors":
            o["suppress_handler_errors"] = True
        elif flag == "--suppress-time-limits":
            o["suppress_time_limits"] = True
        elif flag == "--unprivileged":
            o["unprivileged"] = True
        elif flag == "--privilege":
            if arg not in ("stapdev", "stapsys", "stapusr"):
                raise UsageError(f"Invalid argument '{arg}' for --privilege.", hint=False)
            o["unprivileged"] = arg == "stapusr"
        elif flag == "--no-global-var-display":
            o["global_var_display"] = False
        elif flag == "--ldd":
            o["ldd"] = True
        elif flag == "--runtime":
            if arg != "dyninst":
                raise UsageError(f"{PROG}: --runtime={arg} is not available; {PROG} has one runtime, "
                                 "for user space (--runtime=dyninst)", hint=False)
        elif flag == "--dyninst":
            pass
        elif flag in ("--color", "--colour"):
            if arg not in (None, "always", "auto", "never"):
                raise UsageError(f"Invalid argument '{arg}' for --color.", hint=False)
        # --check-version, --disable-cache, --poison-cache, --clean-cache, --tmpdir: accepted, no effect.

    if script_text is None and "listing" not in o and "dump" not in o and operands:
        o["script_file"] = operands.pop(0)
    o["args"] = tuple(operands)
    if script_text is not None:
        o["script_text"] = script_text
    dump_mode = "listing" in o or "dump" in o
    if not dump_mode and not o.get("interactive") and script_text is None and "script_file" not in o:
        raise UsageError("A script must be specified.", "Try '-i' for building a script interactively.")
    if dump_mode and script_text is not None:
        raise UsageError("Cannot specify a script with -l/-L/--dump-* switches.")
    if dump_mode and "last_pass" in o:
        raise UsageError("Cannot specify -p with -l/-L/--dump-* switches.")
    if dump_mode and o.get("interactive"):
        raise UsageError("Cannot specify -i with -l/-L/--dump-* switches.")
    if "target_cmd" in o and "target_pid" in o:
        raise UsageError("You can't specify -c and -x together.")
    if o.get("suppress_time_limits") and not o.get("guru"):
        raise UsageError("ERROR --suppress-time-limits requires guru mode (-g)", hint=False)
    return Options(verbose=verbose, vp=tuple(vp), defines=tuple(defines), global_inits=tuple(inits),
                   include_dirs=tuple(includes), extra_scripts=tuple(extra_scripts),
                   debuginfo_paths=tuple(debuginfo), **o)


def _match_define(arg: str) -> bool:
    import re

    return re.fullmatch(r"[a-z_][a-z_0-9]*(=-?[a-z_0-9]+)?", arg, re.IGNORECASE) is not None


def _match_global(arg: str) -> bool:
    import re

    return re.fullmatch(r"[a-z_][a-z0-9_]*=[a-z0-9_.-]+", arg, re.IGNORECASE) is not None


class _Exit(Exception):
    def __init__(self, status: int, out: str = ""):
        super().__init__(status)
        self.status = status
        self.out = out


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `stapy` command; returns the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        try:
            options = build_options(argv)
        except _Exit as e:
            sys.stdout.write(e.out)
            sys.stdout.flush()
            return e.status
        except UsageError as e:
            for line in e.lines:
                print(line, file=sys.stderr)
            if e.hint:
                print("Try '--help' for more information. [man stap]", file=sys.stderr)
                print("A message like [man foo] means for more info, run % man foo", file=sys.stderr)
            return 1
        return run(options)
    except KeyboardInterrupt:
        return 1
    except BrokenPipeError:
        return 0
    except SystemExit:
        raise
    except BaseException as e:  # the top-level guard: never a Python traceback
        from stapy.diagnostics import internal_error_line

        sys.stdout.flush()
        print(internal_error_line(e), file=sys.stderr)
        if os.environ.get("STAPY_DEBUG"):
            import traceback

            traceback.print_exc()
        return 1


def run(options) -> int:
    from stapy.session import Session

    if options.interactive:
        from stapy.repl import main as repl_main

        return repl_main(options)
    if options.listing or options.dump:
        from stapy.listing import run_listing

        return run_listing(options, sys.stdout, sys.stderr)
    session = Session(options)
    try:
        return session.main()
    finally:
        try:
            sys.stdout.flush()
        except Exception:
            pass
