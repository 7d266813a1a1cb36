"""name_index's scan of .debug_info against pyelftools: per CU, the names it records are exactly the
names (and linkage names) of the CU's subprogram definitions, and its file list is the line program's,
for DWARF 4 and 5, C and C++."""
import pytest

from conftest import build_target
from stapy.debuginfo import elf, name_index
from stapy.debuginfo.dwarf import DwarfModule


def _definitions(mod, cu):
    names = set()
    for die in cu.iter_DIEs():
        if die.tag != "DW_TAG_subprogram" or "DW_AT_declaration" in die.attributes:
            continue
        for at in ("DW_AT_name", "DW_AT_linkage_name", "DW_AT_MIPS_linkage_name"):
            a = die.attributes.get(at)
            if a is not None:
                names.add(a.value.decode())
    return names


@pytest.mark.parametrize("target,flags", [("dbg_cpp.cc", ("-O2", "-g")), ("dbg_cpp.cc", ("-O0", "-gdwarf-4")),
                                          ("dbg_inline.c", ("-O2", "-g")), ("dbg_callee.c", ("-O2", "-gdwarf-4"))])
def test_index_names_the_cus_defining_each_function(target, flags, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    mod = DwarfModule(elf.open_elf(str(build_target(target, flags=flags))))
    name_index._INDEX.pop(mod.elf.path, None)
    index = name_index.name_index(mod)
    assert index is not None
    for cu in mod.cus():
        want = _definitions(mod, cu)
        have = {n for n, offs in index["names"].items() if cu.cu_offset in offs}
        assert have == want
        ft = mod.file_table(cu)
        first = 0 if ft.version >= 5 else 1
        files = []
        while ft.path(first + len(files)) is not None:
            files.append(ft.path(first + len(files)))
        assert index["files"][str(cu.cu_offset)] == files
    # cached per build-id, and the cached copy answers the same
    name_index._INDEX.pop(mod.elf.path, None)
    assert list(tmp_path.glob("stapy/names/*.json")) and name_index.name_index(mod) == index
    assert name_index.cus_defining(mod, "ma?n") == set(index["names"]["main"])
    assert name_index.cus_with_file(mod, lambda f: f.endswith(".c") or f.endswith(".cc")) == {
        cu.cu_offset for cu in mod.cus()}
