"""The tapset library as pass 2 sees it: functions, globals and aliases by name.

stap pulls a tapset function or global into the program only when the user's
code (transitively) refers to it.  The parser room hands over the tapset files
(lazily parsed); this index answers "which declarations are called NAME"
without caring how the files were loaded.
"""
from __future__ import annotations

from stapy.parser import ast


class Library:
    def __init__(self, files=(), loader=None):
        """`files`: parsed tapset StapFiles; `loader`: optional object of the
        parser room with `functions(name)`, `globals(name)`, `aliases()`, `function_names()`."""
        self._files = list(files)
        self._loader = loader
        self._functions: dict[str, list] = {}
        self._globals: dict[str, list] = {}
        self._aliases: list = []
        self._embeds: dict[int, list] = {}
        for f in self._files:
            self._index(f)

    def _index(self, f: ast.StapFile) -> None:
        for item in f.items:
            if isinstance(item, ast.Function):
                if item.file is None:
                    item.file = f.source
                self._functions.setdefault(item.name, []).append((item, f))
            elif isinstance(item, ast.Global):
                self._globals.setdefault(item.name, []).append((item, f))
            elif isinstance(item, ast.ProbeAlias):
                self._aliases.append((item, f))

    def functions(self, name: str) -> list:
        """[(ast.Function, StapFile)] declared in tapsets under `name`, in load order."""
        return list(self._functions.get(name, ()))

    def globals(self, name: str) -> list:
        return list(self._globals.get(name, ()))

    def aliases(self) -> list:
        """[(ast.ProbeAlias, StapFile)] of the whole library."""
        return list(self._aliases)

    def function_names(self) -> set:
        return set(self._functions)

    @property
    def files(self) -> list:
        return list(self._files)
