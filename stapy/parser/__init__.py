"""Pass 1: stap source text -> located AST (ast.py), and the -p1 listing.

    lexer.py         stap's context-sensitive lexer, $N/@N argument pasting
    preprocess.py    @define macros and %( %? %: %) conditionals, run lazily
    tokens.py        preprocessed tokens -> Lark terminals chosen by parser state
    grammar.lark     the language, LALR(1)
    build.py         Lark callbacks building ast.py nodes (and stap's in-parser checks)
    syntax_errors.py LALR errors reworded as stap 4.8 words them (syntax_examples.tsv)
    parse.py         one file: recovery at top-level keywords, error counting
    frontend.py      parse_pass (Session's pass 1), parse_text, Tapsets, library macros
    printer.py       print_parsed: -p1 output, byte-identical to stap 4.8
"""
