"""The interactive face (`stapy -i`): stap's `stap> ` command loop on prompt_toolkit.

Commands and texts follow stap's interactive.cxx: a script is built line by
line with `add`, shown with `list`, edited with `delete`, `load`, `save`, and
run with `run`, which hands the whole script to a Session exactly as the
command line would.  Options are changed with `set` and shown with `show`.
"""
from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass, field
from typing import Callable

from stapy.options import Options

EXAMPLES = "Example commands: 'sample', 'add', 'run', 'help'"


@dataclass
class Command:
    name: str
    usage: str
    help: str
    run: Callable
    aliases: tuple[str, ...] = ()


@dataclass
class Setting:
    name: str
    help: str
    field: str
    kind: type = int


SETTINGS = [
    Setting("last_pass", "Stop after pass NUM 1-5.", "last_pass"),
    Setting("verbose", "Add verbosity to all passes.", "verbose"),
    Setting("guru_mode", "Guru mode.", "guru", bool),
    Setting("suppress_warnings", "Suppress warnings.", "suppress_warnings", bool),
    Setting("panic_warnings", "Turn warnings into errors.", "warnings_as_errors", bool),
    Setting("timing", "Collect probe timing information.", "timing", bool),
    Setting("unoptimized", "Unoptimized translation.", "unoptimized", bool),
    Setting("target_pid", "Sets target() to PID.", "target_pid"),
    Setting("cmd", "Start the probes, run CMD, and exit when it finishes.", "target_cmd", str),
]

SAMPLES = [
    'probe begin { printf("hello world\\n"); exit() }',
    "global ticks\nprobe timer.ms(100) { ticks++; if (ticks == 5) exit() }\nprobe end { printf(\"%d ticks\\n\", ticks) }",
]


@dataclass
class Repl:
    options: Options
    write: Callable[[str], None]
    read: Callable[[str], str | None]  # prompt -> line, or None at end of input
    lines: list[str] = field(default_factory=list)
    commands: list[Command] = field(default_factory=list)

    def __post_init__(self):
        c = Command
        self.commands = [
            c("help", "help", "Print command list or description of a specific command.", self.cmd_help, ("h", "?")),
            c("list", "list", "Display the current script.", self.cmd_list, ("l",)),
            c("set", "set OPTION VALUE", "Set option value. Supported options are:", self.cmd_set),
            c("show", "show OPTION", "Show option value.", self.cmd_show),
            c("quit", "quit", "Quit systemtap.", lambda args, line: True, ("q",)),
            c("add", "add", "Add a global, probe, or function.", self.cmd_add, ("a",)),
            c("delete", "delete LINE_NUM_RANGE",
              'Delete script line(s) by line numbers. To delete a single line, specify LINE_NUM_RANGE as "10". '
              'To delete a range of lines, specify LINE_NUM_RANGE as "12-20". To delete the entire script, '
              "give no argument.", self.cmd_delete, ("d",)),
            c("load", "load FILE", "Load a script from a file into the current session.", self.cmd_load),
            c("save", "save FILE", "Save a script to a file from the current session.", self.cmd_save),
            c("run", "run", "Run the current script.", self.cmd_run, ("r",)),
            c("sample", "sample STATEMENT", "Add a sample script: 'sample 1' or 'sample 2'.", self.cmd_sample),
        ]

    # -- the loop -------------------------------------------------------------
    def loop(self) -> int:
        self.write(EXAMPLES + "\n")
        while True:
            line = self.read("stap> ")
            if line is None:
                self.write("\n")
                return 0
            if not line.strip():
                self.write(EXAMPLES + "\n")
                continue
            if self.execute(line):
                return 0

    def execute(self, line: str) -> bool:
        """Run one command line; True means quit."""
        words = line.split()
        cmd = self.find(words[0])
        if cmd is None:
            self.write(f'Undefined command: "{words[0]}". Try "help" or "?".\n')
            return False
        return bool(cmd.run(words[1:], line))

    def find(self, word: str) -> Command | None:
        for cmd in self.commands:
            if word == cmd.name or word in cmd.aliases:
                return cmd
        return None

    # -- commands -----------------------------------------------------------
    def cmd_help(self, args, line):
        if not args:
            self.write("List of commands:\n\n")
            width = max(len(c.usage) for c in self.commands)
            for c in self.commands:
                self.write(f"{c.usage:<{width}} -- {c.help}\n")
            return False
        cmd = self.find(args[0])
        if cmd is None:
            self.write(f'Undefined command "{args[0]}". Try "help" or "?" for a full list of commands.\n')
        else:
            self.write(f"{cmd.usage}: {cmd.help}\n")
        return False

    def cmd_list(self, args, line):
        width = len(str(len(self.lines)))
        for i, text in enumerate(self.lines, 1):
            self.write(f"{i:>{width}}: {text}\n")
        return False

    def _setting(self, name):
        return next((s for s in SETTINGS if s.name == name), None)

    def cmd_set(self, args, line):
        if len(args) < 2:
            self.write("Invalid command\nset OPTION VALUE: Set option value.\n")
            return False
        s = self._setting(args[0])
        if s is None:
            self.write('Invalid option name\nUse "help set" for a list of options.\n')
            return False
        raw = line.split(None, 2)[2] if s.kind is str else args[1]
        try:
            value = raw if s.kind is str else (raw not in ("0", "false", "no") if s.kind is bool else int(raw))
        except ValueError:
            self.write(f"Invalid value for {s.name}.\n")
            return False
        if s.name == "last_pass" and not 1 <= value <= 5:
            self.write("Invalid pass number (should be 1-5).\n")
            return False
        if s.name == "target_pid" and self.options.target_cmd:
            self.write("You can't specify a target pid and a cmd together.\n")
            return False
        if s.name == "cmd" and self.options.target_pid:
            self.write("You can't specify a target pid and a cmd together.\n")
            return False
        self.options = self.options.with_(**{s.field: value})
        return False

    def cmd_show(self, args, line):
        chosen = SETTINGS if not args else [self._setting(args[0])]
        if None in chosen:
            self.write('Invalid option name\nUse "help set" for a list of options.\n')
            return False
        for s in chosen:
            value = getattr(self.options, s.field)
            if s.kind is bool:
                value = int(bool(value))
            self.write(f"{s.name}: {'' if value is None else value}\n")
        return False

    def cmd_add(self, args, line):
        if not args:
            self.write("add: Add a global, probe, or function.\n")
            return False
        pending = [line.split(None, 1)[1]]
        while not self._parses("\n".join(pending)):
            more = self.read("stap>>> ")
            if more is None:
                self.write("\n")
                break
            pending.append(more)
        self.lines.extend(pending)
        return False

    def _parses(self, text: str) -> bool:
        from stapy.diagnostics import StapError
        from stapy.parser.frontend import parse_text

        try:
            parse_text(text, "<input>", options=self.options)
        except StapError:
            return False
        return True

    def cmd_delete(self, args, line):
        if not args:
            answer = self.read("Delete entire script? (y or n) ")
            if answer is not None and answer.strip().lower().startswith("y"):
                self.lines.clear()
            return False
        lo, _, hi = args[0].partition("-")
        try:
            a = int(lo)
            b = int(hi) if hi else a
        except ValueError:
            self.write("Invalid script line range value.\n")
            return False
        if not (1 <= a <= len(self.lines)):
            self.write("Invalid starting script line range value.\n")
            return False
        if not (1 <= b <= len(self.lines)):
            self.write("Invalid ending script line range value.\n")
            return False
        if a > b:
            self.write("Invalid script line range value - starting line is greater than ending line.\n")
            return False
        del self.lines[a - 1:b]
        return False

    def cmd_load(self, args, line):
        if len(args) != 1:
            self.write("load FILE: Load a script from a file into the current session.\n")
            return False
        try:
            with open(shlex.split(args[0])[0]) as f:
                self.lines = f.read().splitlines()
        except OSError as e:
            self.write(f"Couldn't open file '{args[0]}' for reading: {e.strerror}\n")
        return False

    def cmd_save(self, args, line):
        if len(args) != 1:
            self.write("save FILE: Save a script to a file from the current session.\n")
            return False
        try:
            with open(args[0], "w") as f:
                f.write("".join(t + "\n" for t in self.lines))
        except OSError as e:
            self.write(f"Couldn't open file '{args[0]}' for writing: {e.strerror}\n")
        return False

    def cmd_sample(self, args, line):
        try:
            text = SAMPLES[int(args[0]) - 1] if args else SAMPLES[0]
        except (ValueError, IndexError):
            self.write("sample STATEMENT: Add a sample script: 'sample 1' or 'sample 2'.\n")
            return False
        self.lines.extend(text.split("\n"))
        return False

    def cmd_run(self, args, line):
        from stapy.session import Session

        if not self.lines:
            self.write("No script specified.\n")
            return False
        opts = self.options.with_(script_text="\n".join(self.lines), script_file=None, interactive=False)
        Session(opts).main()
        return False


def main(options: Options) -> int:
    """Run the REPL on the terminal (prompt_toolkit with history and completion)."""
    if not sys.stdin.isatty():
        repl = Repl(options, write=_stdout_write, read=_plain_read)
        return repl.loop()
    from prompt_toolkit import PromptSession
    from prompt_toolkit.completion import WordCompleter

    words = [c.name for c in Repl(options, _stdout_write, _plain_read).commands] + [s.name for s in SETTINGS]
    words += ["probe", "global", "function", "begin", "end", "timer.ms", "process", "printf", "println", "exit"]
    session: PromptSession = PromptSession(completer=WordCompleter(words, sentence=True))

    def read(prompt: str) -> str | None:
        try:
            return session.prompt(prompt)
        except (EOFError, KeyboardInterrupt):
            return None

    return Repl(options, write=_stdout_write, read=read).loop()


def _stdout_write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def _plain_read(prompt: str) -> str | None:
    sys.stdout.write(prompt)
    sys.stdout.flush()
    line = sys.stdin.readline()
    if not line:
        return None
    return line.rstrip("\n")
