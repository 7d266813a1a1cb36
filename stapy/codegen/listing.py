"""What -p3 and -p4 print: the IR then the exception table; the object's path."""
from __future__ import annotations


def print_translated(translated, options, out) -> None:
    out.write(translated.ir_text)
    if not translated.ir_text.endswith("\n"):
        out.write("\n")
    out.write("; exception table: id FILE:LINE:COL kind fixup\n")
    for row in translated.exctable.rows():
        out.write(row + "\n")


def print_compiled(compiled, options, out) -> None:
    out.write(compiled.object_path + "\n")
