"""Decoding a waitpid status into the stop kinds ptrace(2) names.

`classify(status)` -> (kind, sig, event).  Kinds:
  EXITED (sig = exit code), KILLED (sig = terminating signal),
  SIGTRAP_STOP (a SIGTRAP signal-delivery-stop: our int3, a finished step, or the program's own SIGTRAP),
  SIGNAL_STOP (signal-delivery-stop of another signal), EVENT_STOP (PTRACE_EVENT_*; event set),
  GROUP_STOP (PTRACE_EVENT_STOP for a stopping signal under PTRACE_SEIZE: answer with PTRACE_LISTEN),
  SYSCALL_STOP (a syscall-entry or -exit-stop: SIGTRAP|0x80 under PTRACE_O_TRACESYSGOOD).
"""
from __future__ import annotations

import signal

from stapy.runtime import ptrace as pt

EXITED, KILLED, SIGTRAP_STOP, SIGNAL_STOP, EVENT_STOP, GROUP_STOP, SYSCALL_STOP = range(7)
STOP_SIGNALS = (signal.SIGSTOP, signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU)
SYNC_FAULTS = (signal.SIGSEGV, signal.SIGBUS, signal.SIGFPE, signal.SIGILL, signal.SIGTRAP)

# the status word of the common case, a plain SIGTRAP signal-delivery-stop
SIGTRAP_STATUS = (signal.SIGTRAP << 8) | 0x7F
# a syscall-stop's status word (PTRACE_O_TRACESYSGOOD sets bit 7 of the signal)
SYSCALL_STATUS = ((signal.SIGTRAP | 0x80) << 8) | 0x7F


def classify(status: int) -> tuple[int, int, int]:
    if status & 0x7F == 0:
        return EXITED, (status >> 8) & 0xFF, 0
    if status & 0xFF != 0x7F:
        return KILLED, status & 0x7F, 0
    sig = (status >> 8) & 0xFF
    event = status >> 16
    if event == pt.EVENT_STOP:
        if sig in STOP_SIGNALS:
            return GROUP_STOP, sig, event
        return EVENT_STOP, sig, event
    if event:
        return EVENT_STOP, sig, event
    if sig == signal.SIGTRAP:
        return SIGTRAP_STOP, sig, 0
    if sig == signal.SIGTRAP | 0x80:
        return SYSCALL_STOP, signal.SIGTRAP, 0
    return SIGNAL_STOP, sig, 0


def signal_name(sig: int) -> str:
    """strsignal(3) text, as stap's `Child process exited with signal N (Name)` prints it."""
    return signal.strsignal(sig) or f"Unknown signal {sig}"
