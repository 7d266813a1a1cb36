"""What pass 4 hands to pass 5: a loadable shared object plus the tables the runner needs.

Kept free of llvmlite and of the lowering modules so that a cached run can
load it quickly.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProbeInfo:
    """What pass 5 needs to know about one probe, without the AST."""

    index: int
    family: str
    params: dict
    location: str  # pp()
    point_name: str  # pn()
    handler: str  # symbol of the compiled handler
    token: str  # stap's description of the probe's token
    source_location: str = ""  # FILE:LINE:COL of the probe's token (-t)
    derivation: str = ""  # stap's derived_locations(): ' from: PP' per step (-t)


@dataclass
class Compiled:
    """`library_path` is the linked shared object (the script's object + the native runtime)."""

    object_path: str
    runtime_object_path: str
    library_path: str
    probes: list  # list[ProbeInfo]
    exctable: object  # codegen.exctable.ExceptionTable
    limits: object  # semantic.program.Limits
    maxnesting: int
    cached: bool = False
