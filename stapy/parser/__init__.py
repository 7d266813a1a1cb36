"""Pass 1: stap source text -> located AST (ast.py), and the -p1 listing.

    lexer.py         stap's context-sensitive lexer, $N/@N argument pasting
    preprocess.py    @define macros and %( %? %: %) conditionals, run lazily
    tokens.py        preprocessed tokens -> terminals chosen by parser state, fed to lalr.py
    grammar.lark     the language, LALR(1)
    lalr.py          grammar.lark's tables (computed by Lark, cached flat) and the driver
    build.py         callbacks building ast.py nodes on reduction (and stap's in-parser checks)
    syntax_errors.py LALR errors reworded as stap 4.8 words them (syntax_examples.tsv)
    parse.py         one file: recovery at top-level keywords, error counting
    frontend.py      parse_pass (Session's pass 1), parse_text, Tapsets, library macros
    printer.py       print_parsed: -p1 output, byte-identical to stap 4.8
"""
