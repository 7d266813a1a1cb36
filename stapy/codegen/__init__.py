"""Passes 3 and 4: the typed Program -> LLVM IR (llvmlite.ir) -> one loadable shared object.

    translate.py    pass 3: Program -> Translated (IR module + exception table); -p3 via listing.py
    jit.py          pass 4: IR -> object file, linked with the native runtime (and embedded C) into a
                    cached shared object keyed by script, options and sources; -p4 via listing.py
    abi.py          THE contract with the runtime: context layout, statuses, helper and callback tables
    irbuilder.py    domain helpers over llvmlite.ir (context fields, string buffers, error sites)
    exctable.py     run-time failure sites: id -> (kind, location, token, fixup)
    lower_probe.py  handlers and script functions (calls, overloads, MAXNESTING)
    lower_stmt.py   statements, foreach, try/catch, MAXACTION counting
    lower_expr.py   operators, assignment, =~
    lower_data.py   globals, arrays, statistics, histograms
    lower_print.py  the print family (formats split at compile time)
    lower_target.py target variables ($var, @cast, @var, @entry) from pass 2's plans
    builtins.py     native bodies of tapset functions, by name (+ builtins_context.py, builtins_user.py)
    compiled.py     what pass 4 hands to pass 5 (ProbeInfo, Compiled), free of llvmlite
    embedded.py     embedded C under -g
"""
