"""The runtime library as a module: it verifies, and it matches the helper table and abi.HELPERS."""
import llvmlite.binding as llvm

from native_jit import native
from stapy.codegen import abi
from stapy.runtime.native import HELPERS, RuntimeLimits, build_runtime_module


def test_module_passes_llvm_verify():
    native()  # initialises LLVM
    for limits in (RuntimeLimits(), RuntimeLimits(maxstringlen=128, maxmapentries=16, weak_hash=True, hist_elision=-1)):
        mod = llvm.parse_assembly(str(build_runtime_module(limits)))
        mod.verify()


def test_every_helper_defined_with_its_table_signature():
    mod = build_runtime_module(RuntimeLimits())
    for h in HELPERS:
        fn = mod.get_global(h.name)
        assert not fn.is_declaration, h.name
        assert str(fn.function_type.return_type) in (h.ret, "i8*" if h.ret == "ptr" else h.ret), h.name
        got = ["ptr" if str(t).endswith("*") else str(t) for t in fn.function_type.args]
        assert tuple(got) == h.args, h.name


def test_abi_mirror_matches_table():
    assert abi.HELPERS == {h.name: (h.ret, h.args, h.can_fail) for h in HELPERS}


def test_only_table_helpers_are_exported():
    mod = build_runtime_module(RuntimeLimits())
    names = {h.name for h in HELPERS}
    for fn in mod.functions:
        if fn.is_declaration:
            assert fn.name.startswith("llvm.") or fn.name in ("strlen", "strncmp", "strtol", "write", "__errno_location"), fn.name
        elif fn.linkage != "internal":
            assert fn.name in names, fn.name


def test_limits_from_dash_d():
    from stapy.options import Options

    opts = Options(defines=(("MAXSTRINGLEN", "128"), ("MAXMAPENTRIES", "10"), ("HIST_WIDTH", "20"),
                            ("HIST_ELISION", "-1")))
    assert RuntimeLimits.from_options(opts) == RuntimeLimits(maxstringlen=128, maxmapentries=10, hist_width=20,
                                                            hist_elision=-1)
    assert RuntimeLimits.from_options(Options()) == RuntimeLimits()
