"""Pass 4: compile the translated module to a native object file, with a cache.

Objects live under $XDG_CACHE_HOME/stapy (default ~/.cache/stapy), named by a
hash of the script text, the options that change code, and stapy's own
sources.  Next to each object a JSON file keeps what pass 5 needs (probes,
exception table, limits), so a cached run can skip passes 2 and 3
(`lookup_cached`).  The native runtime library is compiled and cached the
same way, keyed by its limits.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path

from stapy.cache import cache_root
from stapy.codegen.compiled import Compiled, ProbeInfo
from stapy.codegen.exctable import ExceptionTable, Site

FORMAT_VERSION = 1
_PKG = Path(__file__).resolve().parent.parent


def cache_dir() -> Path:
    d = cache_root()
    d.mkdir(parents=True, exist_ok=True)
    return d


def _sources_stamp(top: Path = _PKG) -> str:
    """Changes whenever any stapy source or tapset file under `top` changes (mtime and size)."""
    h = hashlib.sha1()
    if top.is_file():
        st = top.stat()
        h.update(f"{top}:{st.st_mtime_ns}:{st.st_size};".encode())
    for root, dirs, files in os.walk(top):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for f in sorted(files):
            if f.endswith((".py", ".stp", ".stpm", ".lark", ".h")):
                st = os.stat(os.path.join(root, f))
                h.update(f"{root}/{f}:{st.st_mtime_ns}:{st.st_size};".encode())
    return h.hexdigest()


def script_key(options) -> str | None:
    """The cache key of a script run with these options, or None when the script cannot be read."""
    h = hashlib.sha256()
    h.update(f"stapy-cache-{FORMAT_VERSION}".encode())
    try:
        import stapy

        h.update(str(getattr(stapy, "__version__", "0")).encode())
    except Exception:
        pass
    text = options.script_text
    if text is None:
        if not options.script_file or options.script_file == "-":
            return None
        try:
            text = Path(options.script_file).read_text(errors="surrogateescape")
        except OSError:
            return None
        h.update(os.path.abspath(options.script_file).encode())
    h.update(text.encode("utf-8", "surrogateescape"))
    relevant = dataclasses.replace(options, last_pass=5, verbose=0, vp=(0, 0, 0, 0, 0), extra={}, output_file=None,
                                   timing=False)
    h.update(repr(relevant).encode())
    h.update(_sources_stamp().encode())
    return h.hexdigest()[:32]


_tms: dict = {}


def target_machine(opt: int = 2):
    """The host's target machine at this code-generation level (one per level and process).

    Level 0 (script modules) selects instructions with FastISel, a fifth of
    SelectionDAG's time; `-optimize-regalloc` keeps the greedy register
    allocator there, without which every value live across blocks goes
    through the stack.  The option only changes level-0 machines, and stapy
    makes none other.
    """
    from llvmlite import binding as llvm

    tm = _tms.get(opt)
    if tm is None:
        from stapy.codegen.translate import init_llvm

        init_llvm()
        if opt == 0:
            llvm.set_option("stapy", "-optimize-regalloc")
        target = llvm.Target.from_default_triple()
        tm = _tms[opt] = target.create_target_machine(opt=opt, reloc="pic", codemodel="default")
    return tm


def emit_object(ir_text: str, path: Path, full_pipeline: bool = False, parsed=None) -> None:
    """Optimise and emit one module.

    Script modules get SROA only (the entry-block allocas of locals and
    temporaries become registers) and level-0 code generation with the
    greedy register allocator: most of -O2's benefit for straight-line
    handler code at a fifth of its compile time.  instcombine and simplifycfg
    cost more compile time than they won back in handler speed
    (bench/compile.py, bench/handlers.py).  The runtime library, built once
    and cached, gets the full -O2 pipeline and code generator.
    """
    from llvmlite import binding as llvm

    if parsed is not None:  # pass 3 already parsed and verified it
        mod = parsed
    else:
        mod = llvm.parse_assembly(ir_text)
        mod.verify()
    mod.triple = llvm.get_process_triple()
    tm = target_machine(2 if full_pipeline else 0)
    mod.data_layout = str(tm.target_data)
    pto = llvm.create_pipeline_tuning_options(speed_level=2)
    pb = llvm.create_pass_builder(tm, pto)
    if full_pipeline:
        pb.getModulePassManager().run(mod, pb)
    else:
        fpm = llvm.create_new_function_pass_manager()
        fpm.add_sroa_pass()
        for fn in mod.functions:
            if not fn.is_declaration:
                fpm.run(fn, pb)
    data = tm.emit_object(mod)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def runtime_object(limits) -> Path:
    """The native runtime library compiled for these limits (cached)."""
    from stapy.runtime.native import RuntimeLimits, build_runtime_module

    rl = RuntimeLimits(maxstringlen=limits.MAXSTRINGLEN, maxmapentries=limits.MAXMAPENTRIES,
                       hist_width=limits.HIST_WIDTH, hist_elision=limits.HIST_ELISION)
    stamp = _sources_stamp(_PKG / "runtime" / "native") + _sources_stamp(_PKG / "codegen" / "abi.py")
    key = hashlib.sha256(f"runtime-{FORMAT_VERSION}-{rl}-{stamp}".encode()).hexdigest()[:32]
    path = cache_dir() / f"runtime-{key}.o"
    if not path.exists():
        from stapy.runtime.native.module import build_runtime_module as build

        try:
            module = build(rl, allow_missing=True)  # helpers still being written stay declarations
        except TypeError:
            module = build_runtime_module(rl)
        emit_object(str(module), path, full_pipeline=True)
    return path


def _meta_path(obj: Path) -> Path:
    return obj.with_suffix(".json")


_INPUT_PARAMS = ("path", "exe", "library", "module")  # probe parameters naming a file pass 2 read


def _file_identity(path: str):
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_mtime_ns, st.st_size, st.st_ino]


def _inputs(probes) -> list:
    """[path, mtime_ns, size, inode] of each binary the probes were resolved against: the script's
    text does not change when its target is rebuilt, but the probe addresses do (stap's cache
    key covers what pass 2 resolved)."""
    out, seen = [], set()
    for p in probes:
        params = p.params if isinstance(p.params, dict) else {}
        for k in _INPUT_PARAMS:
            v = params.get(k)
            if isinstance(v, str) and v.startswith("/") and v not in seen:
                seen.add(v)
                ident = _file_identity(v)
                if ident is not None:
                    out.append([v, *ident])
    return out


def _save_meta(obj: Path, translated, runtime_path: Path) -> None:
    limits = dataclasses.asdict(translated.limits)
    meta = {
        "inputs": _inputs(translated.probes),
        "probes": [dataclasses.asdict(p) for p in translated.probes],
        "sites": [vars(s) for s in translated.exctable.sites],  # flat: asdict's deep copy is not needed
        "limits": limits,
        "maxnesting": translated.maxnesting,
        "warnings": translated.warnings,
        "runtime": str(runtime_path),
    }
    tmp = _meta_path(obj).with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(meta))
    os.replace(tmp, _meta_path(obj))


def link_library(objects: list, path: Path) -> None:
    """Link the objects into one shared object (ld, or the gcc driver when ld is missing)."""
    import shutil
    import subprocess

    tmp = path.with_suffix(f".tmp{os.getpid()}.so")
    ld = shutil.which("ld")
    cmd = [ld, "-shared", "-o", str(tmp)] if ld else ["gcc", "-shared", "-o", str(tmp)]
    subprocess.run(cmd + [str(o) for o in objects], check=True, capture_output=True)
    os.replace(tmp, path)


def compile_embedded_c(source: str, out: Path, maxstringlen: int) -> Path:
    """cc -c -fPIC the program's embedded C against stapy_embed.h; a failure is a pass-4 error."""
    import subprocess
    import tempfile

    from stapy.codegen.embedded import header
    from stapy.diagnostics import Diagnostic, StapError

    with tempfile.TemporaryDirectory(prefix="stapy-embed-") as tmp:
        Path(tmp, "stapy_embed.h").write_text(header(maxstringlen))
        src = Path(tmp, "embedded.c")
        src.write_text(source)
        tmp_out = out.with_suffix(f".tmp{os.getpid()}.o")
        r = subprocess.run(["cc", "-c", "-fPIC", "-O2", "-w", "-Werror=implicit-function-declaration", "-I", tmp, "-o", str(tmp_out), str(src)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            text = r.stderr.replace(str(src), "embedded.c").rstrip()
            raise StapError([Diagnostic("error", "embedded C did not compile\n" + text)])
        os.replace(tmp_out, out)
    return out


def _load_meta(obj: Path) -> Compiled | None:
    from types import SimpleNamespace

    try:
        meta = json.loads(_meta_path(obj).read_text())
    except (OSError, ValueError):
        return None
    lib = obj.with_suffix(".so")
    if not Path(meta["runtime"]).exists() or not lib.exists():
        return None
    if any(_file_identity(path) != ident for path, *ident in meta.get("inputs", [])):
        return None  # a target binary was rebuilt or replaced since: pass 2 must resolve it again
    table = ExceptionTable([Site(**s) for s in meta["sites"]])
    return Compiled(str(obj), meta["runtime"], str(lib), [ProbeInfo(**p) for p in meta["probes"]], table,
                    SimpleNamespace(**meta["limits"]), meta["maxnesting"], cached=True), meta


def lookup_cached(options) -> Compiled | None:
    """A compiled program for this script and options from the cache, if pass 2 would print nothing."""
    key = script_key(options)
    if key is None:
        return None
    obj = cache_dir() / f"{key}.o"
    if not obj.exists():
        return None
    got = _load_meta(obj)
    if got is None:
        return None
    compiled, meta = got
    if meta.get("warnings"):
        return None
    return compiled


def compile_program(translated, options) -> Compiled:
    key = script_key(options) or hashlib.sha256(translated.ir_text.encode()).hexdigest()[:32]
    obj = cache_dir() / f"{key}.o"
    runtime_path = runtime_object(translated.limits)
    if obj.exists():
        got = _load_meta(obj)
        if got is not None:
            return got[0]
    emit_object(translated.ir_text, obj, parsed=translated.extra.pop("module_ref", None))
    objects = [obj, runtime_path]
    c_source = translated.extra.get("embedded_c")
    if c_source:
        objects.append(compile_embedded_c(c_source, obj.with_suffix(".embed.o"), translated.limits.MAXSTRINGLEN))
    lib = obj.with_suffix(".so")
    link_library(objects, lib)
    _save_meta(obj, translated, runtime_path)
    return Compiled(str(obj), str(runtime_path), str(lib), translated.probes, translated.exctable,
                    translated.limits, translated.maxnesting)
