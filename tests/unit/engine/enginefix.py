"""Fixtures for the engine tests: compiled IR handlers and a watchdog.

Every test runs real gcc-built processes under real ptrace.  The watchdog
SIGKILLs the test's tracees after a timeout, which unblocks any wait in the
engine, and the test then fails on `timed_out` instead of hanging the suite;
faulthandler is the last resort if even that does not return.
"""
from __future__ import annotations

import faulthandler
import os
import signal
import sys
import threading
from pathlib import Path

import pytest



from irhandlers import Handlers  # noqa: E402

_handlers = None


@pytest.fixture
def H():
    global _handlers
    if _handlers is None:
        _handlers = Handlers()
    _handlers.reset()
    return _handlers


class Watchdog:
    def __init__(self, seconds: float):
        self.engines = []
        self.pids = []
        self.timed_out = False
        self.timer = threading.Timer(seconds, self.fire)
        self.timer.daemon = True
        self.timer.start()
        faulthandler.dump_traceback_later(seconds + 30, exit=True)

    def watch(self, engine):
        self.engines.append(engine)
        return engine

    def fire(self):
        self.timed_out = True
        faulthandler.dump_traceback(all_threads=True)  # where the engine was stuck
        for e in self.engines:
            for pid in list(e.procs):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        for pid in self.pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    def cancel(self):
        self.timer.cancel()
        faulthandler.cancel_dump_traceback_later()


@pytest.fixture
def watchdog():
    w = Watchdog(30)
    yield w
    w.cancel()
    for e in w.engines:
        try:
            e.detach_all()
        except Exception:
            pass
    assert not w.timed_out, "timed out"
