"""One frozen Options value, built by a face (cli, repl, api) and passed down.

No pass reads the environment or module globals for configuration: what a
pass needs comes from here.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class Options:
    # the script
    script_file: str | None = None  # path, or "-" for stdin
    script_text: str | None = None  # -e SCRIPT (wins over script_file)
    extra_scripts: tuple[str, ...] = ()  # -E SCRIPT
    args: tuple[str, ...] = ()  # $1.. / @1..
    # passes and verbosity
    last_pass: int = 5
    verbose: int = 0
    vp: tuple[int, ...] = (0, 0, 0, 0, 0)  # --vp ABCDE per-pass verbosity
    suppress_warnings: bool = False  # -w
    warnings_as_errors: bool = False  # -W
    guru: bool = False  # -g
    unoptimized: bool = False  # -u
    prologue_searching: str = "auto"  # -P / --prologue-searching[=WHEN]
    defines: tuple[tuple[str, str | None], ...] = ()  # -D NAME[=VAL]
    global_inits: tuple[tuple[str, str], ...] = ()  # -G VAR=VAL
    include_dirs: tuple[str, ...] = ()  # -I DIR
    output_file: str | None = None  # -o FILE
    output_size: str | None = None  # -S size[,N]
    target_cmd: str | None = None  # -c CMD
    target_pid: int | None = None  # -x PID
    buffer_size: int | None = None  # -s N (accepted; stapy buffers in user space)
    timeout: float | None = None  # -T SECS
    timing: bool = False  # -t
    listing: str | None = None  # "l" or "L" for -l / -L
    listing_pattern: str | None = None
    dump: str | None = None  # "functions" | "probe-types" | "probe-aliases"
    interactive: bool = False  # -i
    compatible: str = "5.6"  # --compatible=V
    skip_badvars: bool = False
    suppress_handler_errors: bool = False
    suppress_time_limits: bool = False
    unprivileged: bool = False
    global_var_display: bool = True  # --no-global-var-display turns it off
    kernel_release: str | None = None  # uname -r unless given
    debuginfo_paths: tuple[str, ...] = ()  # -d OBJ
    ldd: bool = False
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def with_(self, **changes) -> "Options":
        return replace(self, **changes)

    def define(self, name: str, default: int) -> int:
        """The value of a -D limit such as MAXACTION, or `default`."""
        for n, v in reversed(self.defines):
            if n == name:
                try:
                    return int(v, 0) if v is not None else 1
                except ValueError:
                    return default
        return default
