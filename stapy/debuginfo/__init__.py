"""The debuginfo room: what stapy knows about the traced binaries. One concept per file:

elf.py         ELF files (mmapped, lazy): symbols, address -> symbol, PLT, build-id/debuglink, load bias
symbolize.py   runtime addresses of a live process -> module, symbol (usymname/usymdata), file:line
dwarf.py       compile units, functions, inline instances, variables at a pc (what -L lists)
lines.py       line tables as libdw presents them (prologue search, statement probes, file:line)
types.py       C types: stap's names ('struct pt*', 'char const*') and layouts (members, bitfields)
locations.py   DWARF location expressions -> a small op list codegen lowers; $return's register
evaluate.py    a reference interpreter of those ops against registers and memory of a stopped process
cfi.py         .eh_frame/.debug_frame rules and the unwinder behind ubacktrace (frame-pointer fallback)
sdt.py         .note.stapsdt markers and their operands
lookup.py      types and globals by name (@cast, @var)
target_vars.py $name / $$vars / $$parms / $$locals / $return / $argN of a probe site
paths.py       process("P") / library("L") -> files (stap's PATH rule, #! scripts, DT_NEEDED)
function_spec.py  "[scope::]func[@file[:lines]]" parsing and matching
prologue.py    the address a function probe plants at (stap's prologue search)
resolve.py     process(...) probe points -> ProbeSite (address, pp text, -p2 text), stap's rules
stap_order.py  the order stap 4.8 visits a CU's functions (for -p2 order)
listing.py     -l / -L lines
"""
