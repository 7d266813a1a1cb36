"""Target variables of a probe site, for semantic checks and codegen: $name, $$vars, $$parms,
$$locals, $return, and SDT $argN.

find_target_variable(site, name) -> Variable | None
    stap's lookup [dwflpp.cxx find_variable_and_frame_base]: the scopes around the site's pc from the
    innermost lexical block out to the function, then the CU's globals; for .return sites the
    lookup is at the function entry (parameters read there are the entry values, LANGUAGE.md 13.6).
vars_at(site) / parms_at(site) / locals_at(site) -> [Variable]
    what $$vars / $$parms / $$locals expand to: the -L set at the site, split by kind.
return_value(site) -> (CType, Location) | None     $return at a .return site
sdt_args(site) -> [sdt.SdtArg]                     $arg1..N of a mark
Variable.location is a locations.Location; evaluate.py shows what it means.
"""
from __future__ import annotations

from . import elf as elfmod
from .dwarf import Variable, attr_integrate, die_name, dwarf_for
from .locations import location_at, return_value_location
from .resolve import ProbeSite
from .types import type_of


def _pc(site: ProbeSite) -> int:
    return site.entry_pc if site.is_return else site.address


def vars_at(site: ProbeSite) -> list[Variable]:
    f = site.dwarf_function
    mod = dwarf_for(elfmod.open_elf(site.module)) if f is not None else None
    if mod is None:
        return []
    return mod.variables(f, _pc(site), nested=site.kind in ("statement", "label"))


def parms_at(site: ProbeSite) -> list[Variable]:
    return [v for v in vars_at(site) if v.is_parameter]


def locals_at(site: ProbeSite) -> list[Variable]:
    return [v for v in vars_at(site) if not v.is_parameter]


def find_target_variable(site: ProbeSite, name: str) -> Variable | None:
    f = site.dwarf_function
    if f is None:
        return None
    mod = dwarf_for(elfmod.open_elf(site.module))
    if mod is None:
        return None
    pc = _pc(site)
    for v in mod.variables(f, pc, nested=True):
        if v.name == name:
            return v
    # CU-level variables (stap lets $counter name a global of the probed CU)
    cu = mod.cu_at_offset(f.cu_offset)
    for d in cu.get_top_DIE().iter_children():
        if d.tag != "DW_TAG_variable" or die_name(d) != name:
            continue
        la, holder = attr_integrate(d, "DW_AT_location")
        ta, tholder = attr_integrate(d, "DW_AT_type")
        if la is None or ta is None:
            continue
        t = type_of(tholder.get_DIE_from_attribute("DW_AT_type"))
        return Variable(name, False, t, t.stap_name(), location_at(mod, la, holder, pc, None), None, d.offset)
    return None


def return_value(site: ProbeSite):
    f = site.dwarf_function
    if f is None:
        return None
    mod = dwarf_for(elfmod.open_elf(site.module))
    t = mod.return_type(f) if mod is not None else None
    if t is None:
        return None
    return t, return_value_location(t)


def sdt_args(site: ProbeSite) -> list:
    return list(site.sdt.args) if site.sdt is not None else []
