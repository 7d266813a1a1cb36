"""Pass 1: read the user script(s), load the tapset macros, parse; tapsets on demand.

`parse_pass(options, stderr)` is what Session calls.  It returns `Parsed`
(user files, the tapset library, which $N arguments were used) or raises
`StapError` carrying the parse diagnostics in stap's order (warnings,
`parse error`s, then the `N parse errors.` summary line).

The tapset library (`Parsed.tapsets`) parses stapy/tapset/*.stp and every
-I directory lazily: `files()` parses all of them on first call; parsed
files are cached in memory by (path, mtime, size).
"""
from __future__ import annotations

import glob
import os
import re
import sys
from dataclasses import dataclass, field

from stapy.diagnostics import Diagnostic, SourceFile, StapError, parse_errors_suppressed
from stapy.parser import ast as A
from stapy.parser.parse import parse_source

TAPSET_DIR = os.path.dirname(os.path.abspath(__import__("stapy.tapset", fromlist=["x"]).__file__))

# (path, mtime_ns, size, options-key) -> FileResult, shared by all sessions in a process
_FILE_CACHE: dict = {}


def plain_line(text: str) -> Diagnostic:
    """A diagnostic printed as one bare line (`1 parse error.`, `Input file ... is empty.`)."""
    return Diagnostic("", text)


def _options_key(options) -> tuple:
    if options is None:
        return ()
    return (getattr(options, "kernel_release", None), getattr(options, "compatible", None),
            getattr(options, "unprivileged", False), getattr(options, "guru", False))


class Tapsets:
    """stapy's tapset library, found in stapy/tapset then each -I directory (all privileged)."""

    def __init__(self, options=None, macros=None):
        self.options = options
        self.dirs = [TAPSET_DIR] + [os.path.abspath(d) for d in getattr(options, "include_dirs", ())]
        self.macros = macros if macros is not None else {}
        self._files: list[A.StapFile] | None = None
        self.diagnostics: list[Diagnostic] = []

    def paths(self, ext: str = "stp") -> list[str]:
        out = []
        for d in self.dirs:
            out.extend(sorted(glob.glob(os.path.join(d, "**", f"*.{ext}"), recursive=True)))
        return out

    def files(self) -> list[A.StapFile]:
        """Every tapset file, parsed (once).  Files with parse errors are left out; their
        diagnostics are kept in `self.diagnostics` (stap prints them as warnings with -v).

        The parsed library is also kept on disk, keyed by the contents of every tapset and macro
        file, the options that change parsing and stapy's parser sources, so a fresh process
        loads it (a few ms) instead of parsing it again (tens of ms)."""
        if self._files is None:
            paths, argful = _split_argful(self.paths("stp"))
            self._files = self._library(paths) + self._argful(argful)
        return self._files

    def _library(self, paths) -> list[A.StapFile]:
        """The tapset files that do not depend on the script's arguments: parsed once, kept on disk."""
        disk_key = _library_key(paths, self.paths("stpm"), self.options, sorted(self.macros))
        cached = _LIBRARY_MEMO.get(disk_key) or _load_library(disk_key)
        if cached is not None:
            _LIBRARY_MEMO[disk_key] = cached
            self.diagnostics = list(cached[1])
            return list(cached[0])
        files = []
        for path in paths:
            res = _parse_cached(path, self.options, self.macros, macro_file=False)
            if res.file is not None:
                files.append(res.file)
            else:
                self.diagnostics.extend(res.diagnostics)
        _LIBRARY_MEMO[disk_key] = (files, list(self.diagnostics))
        _store_library(disk_key, (files, self.diagnostics))
        return list(files)

    def _argful(self, paths) -> list[A.StapFile]:
        """Tapset files that paste $#/@N (argv.stp): stap's lexer pastes the script's arguments into
        every file it reads, so these are parsed for this argument list (memoised per process)."""
        out = []
        args = tuple(getattr(self.options, "args", ()) or ())
        for path in paths:
            res = _parse_cached(path, self.options, self.macros, macro_file=False, args=args)
            if res.file is not None:
                out.append(res.file)
            else:
                self.diagnostics.extend(res.diagnostics)
        return out

    def find_function(self, name: str) -> list[A.Function]:
        return [f for tf in self.files() for f in tf.functions if f.name == name]

    def find_global(self, name: str) -> list[A.Global]:
        return [g for tf in self.files() for g in tf.globals if g.name == name]

    def find_alias(self, name: str) -> list[A.ProbeAlias]:
        out = []
        for tf in self.files():
            for a in tf.aliases:
                if any(".".join(c.functor for c in n.components) == name for n in a.names):
                    out.append(a)
        return out


_PARSER_HASH: list = []


def _parser_sources_hash() -> str:
    """What the parsed form depends on besides the tapsets: stapy's parser code and grammar."""
    if not _PARSER_HASH:
        import hashlib

        h = hashlib.sha1(sys.version.encode())
        here = os.path.dirname(os.path.abspath(__file__))
        for name in sorted(os.listdir(here)):
            if name.endswith((".py", ".lark", ".tsv")):
                with open(os.path.join(here, name), "rb") as f:
                    h.update(name.encode() + b"\0" + f.read())
        _PARSER_HASH.append(h.hexdigest())
    return _PARSER_HASH[0]


_LIBRARY_MEMO: dict = {}  # disk key -> (files, diagnostics): one parsed library per process


def _library_key(stp_paths, stpm_paths, options, macro_names=()) -> str | None:
    import hashlib

    h = hashlib.sha1(_parser_sources_hash().encode() + repr(_options_key(options)).encode()
                     + repr(list(macro_names)).encode())
    try:
        for path in list(stp_paths) + ["--"] + list(stpm_paths):
            h.update(path.encode() + b"\0")
            if path != "--":
                with open(path, "rb") as f:
                    h.update(f.read() + b"\0")
    except OSError:
        return None
    return h.hexdigest()


def _library_cache_path(key: str) -> str | None:
    from stapy.parser.parse import cache_dir

    d = cache_dir()
    return os.path.join(d, f"tapsets-{key}.pickle") if d else None


def _load_library(key):
    import pickle

    path = _library_cache_path(key) if key else None
    if not path:
        return None
    try:
        with open(path, "rb") as f:
            return pickle.load(f)
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError, TypeError, ValueError):
        return None


def _store_library(key, value) -> None:
    import pickle

    path = _library_cache_path(key) if key else None
    if not path:
        return
    try:
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError, RecursionError):
        return
    from stapy.cache import store

    store(path, data)


_ARGFUL_RE = re.compile(rb"(?<![A-Za-z0-9_$@])[$@](?:#|[1-9])")
_ARGFUL_SEEN: dict = {}  # (path, mtime_ns, size) -> bool


def _split_argful(paths) -> tuple[list, list]:
    """(plain, argful): argful files mention $#, @#, $N or @N and so depend on the script's arguments."""
    plain, argful = [], []
    for path in paths:
        try:
            st = os.stat(path)
            k = (path, st.st_mtime_ns, st.st_size)
            if k not in _ARGFUL_SEEN:
                with open(path, "rb") as f:
                    _ARGFUL_SEEN[k] = _ARGFUL_RE.search(f.read()) is not None
            (argful if _ARGFUL_SEEN[k] else plain).append(path)
        except OSError:
            plain.append(path)
    return plain, argful


def _parse_cached(path: str, options, macros, macro_file: bool, args=None):
    """One tapset or macro file, parsed once per process.  `args`: the script's arguments, given for
    files that paste $#/@N, whose parse depends on them."""
    try:
        st = os.stat(path)
        # the library macros in force change the parse (a tapset using @MAXSTRINGLEN fails without them)
        key = (path, st.st_mtime_ns, st.st_size, macro_file, _options_key(options), tuple(sorted(macros or ())),
               args)
    except OSError:
        key = None
    if key is not None and key in _FILE_CACHE and not macro_file:
        return _FILE_CACHE[key]
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        text = f.read()
    src = SourceFile(path, text, privileged=True, is_tapset=True)
    res = parse_source(src, options, library_macros=macros, user_file=False, privileged=True,
                       macro_file=macro_file)
    if res.file is not None:
        res.file.privileged = True
    if key is not None and not macro_file:
        _FILE_CACHE[key] = res
    return res


_MACRO_CACHE: dict = {}


def load_library_macros(options=None, diags=None) -> dict:
    """The global macros of every `.stpm` file (stapy/tapset then -I dirs), as stap loads them."""
    t = Tapsets(options)
    paths = t.paths("stpm")
    key = tuple((p, os.stat(p).st_mtime_ns) for p in paths) + (_options_key(options),)
    if key in _MACRO_CACHE:
        return _MACRO_CACHE[key]
    macros: dict = {}
    for p in paths:
        res = _parse_cached(p, options, macros, macro_file=True)
        if res.errors:
            if diags is not None:
                diags.extend(res.diagnostics)
            continue
        dup = [n for n in res.macros if n in macros]
        if dup:
            if diags is not None:
                n = dup[0]
                d = Diagnostic("parse error", f"duplicate definition of library macro '@{n}'",
                               res.macros[n].tok)
                d.chain = [Diagnostic("parse error", f"macro '@{n}' first defined here", macros[n].tok)]
                diags.append(d)
            continue
        for n, m in res.macros.items():
            m.library = True
            macros[n] = m
    _MACRO_CACHE[key] = macros
    return macros


@dataclass
class Parsed:
    """Pass 1's result."""

    user_files: list[A.StapFile]
    tapsets: Tapsets
    used_args: set = field(default_factory=set)
    macros: dict = field(default_factory=dict)

    @property
    def files(self) -> list[A.StapFile]:
        return self.user_files


def _read_script(options):
    """(name, text) of the main script, or raise StapError for a missing file."""
    if options.script_text is not None:
        return "<input>", options.script_text
    path = options.script_file
    if path is None or path == "-":
        return "<input>", sys.stdin.read()
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            return path, f.read()
    except OSError:
        raise StapError([plain_line(f"Input file '{path}' is missing.")])


def parse_pass(options, stderr=None) -> Parsed:
    """Parse the user script and any -E scripts; raise StapError on failure."""
    diags: list[Diagnostic] = []
    macros = load_library_macros(options, diags)
    name, text = _read_script(options)
    scripts = [(name, text)] + [(f"<input{i}>", s) for i, s in enumerate(options.extra_scripts, 1)]
    used: set = set()
    files = []
    failed = False
    for n, t in scripts:
        src = SourceFile(n, t, privileged=False)
        res = parse_source(src, options, library_macros=macros, user_file=True, used_args=used)
        diags.extend(res.diagnostics)
        if res.empty:
            what = "is empty after preprocessing." if res.saw_tokens else "is empty."
            diags.append(plain_line(f"Input file '{n}' {what}"))
            failed = True
        elif res.errors:
            s = "" if res.errors == 1 else "s"
            diags.append(plain_line(f"{res.errors} parse error{s}."))
            failed = True
        else:
            files.append(res.file)
    if getattr(options, "suppress_warnings", False):  # -w
        diags = [d for d in diags if d.prefix != "WARNING"]
    if failed:
        err = StapError(diags)
        err.suppressed = (sum(parse_errors_suppressed(diags, options)), 0)
        raise err
    if diags and stderr is not None:
        from stapy.diagnostics import render_diagnostics

        render_diagnostics(diags, 1, options, stderr)
    return Parsed(files, Tapsets(options, macros), used, macros)


def parse_text(text: str, name: str = "<input>", options=None) -> A.StapFile:
    """Parse one script text (tests, REPL); raise StapError with diagnostics on failure."""
    macros = load_library_macros(options)
    res = parse_source(SourceFile(name, text), options, library_macros=macros, user_file=True)
    if res.file is None:
        diags = list(res.diagnostics)
        if res.empty:
            diags.append(plain_line(f"Input file '{name}' is empty."))
        else:
            s = "" if res.errors == 1 else "s"
            diags.append(plain_line(f"{res.errors} parse error{s}."))
        raise StapError(diags)
    return res.file
