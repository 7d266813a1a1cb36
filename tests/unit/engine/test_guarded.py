"""Guarded user access: one test per fault class, from a compiled handler (native) and from Python."""
from __future__ import annotations

import ctypes
import os

import pytest

from conftest import build_target
from enginefix import H, watchdog  # noqa: F401  (fixtures)
from stapy.codegen import abi
from stapy.runtime import guarded
from stapy.runtime.engine import Engine

CLASSES = ["s_null", "s_unmapped", "s_prot_none", "s_cross", "s_noncanon", "s_kernel"]


@pytest.mark.parametrize("hot", [False, True], ids=["py", "hot"])
def test_each_fault_class_is_a_value(H, watchdog, hot):
    exe = str(build_target("engine_faults.c", flags=("-O0",)))
    e = watchdog.watch(Engine(hotloop=hot))
    for i, name in enumerate(CLASSES + ["s_ok", "s_edge"]):
        e.add_probe(exe, name, H["string"], "entry", i)
    e.launch([exe])
    assert e.run() == "exited" and e.target_status == 0
    for i, name in enumerate(CLASSES):
        assert H.counts[i] == 1, name
        assert H.status[i] == -14, name
        assert H.string(i) == b"", name
    assert H.status[6] == 5 and H.string(6) == b"hello"
    assert H.status[7] == 3 and H.string(7) == b"xyz"   # ends exactly at the page end


def test_python_accessors_on_own_process():
    pid = os.getpid()
    buf = ctypes.create_string_buffer(b"abc\0def")
    a = ctypes.addressof(buf)
    assert guarded.read_string(pid, a) == b"abc"
    assert guarded.read_string(pid, a, size=3) == b"ab"
    assert guarded.read_string(pid, 0) is None
    assert guarded.read_string(pid, 0x8000000000001000) is None
    assert guarded.read_string(pid, 0xFFFFFFFF81000000) is None
    v = ctypes.c_int64(-5)
    va = ctypes.addressof(v)
    assert guarded.read_int(pid, va, 8) == -5
    assert guarded.read_int(pid, va, 8, signed=False) == 2**64 - 5
    assert guarded.read_int(pid, va, 4) == -5 and guarded.read_int(pid, va, 2) == -5 and guarded.read_int(pid, va, 1) == -5
    assert guarded.read_int(pid, va, 1, signed=False) == 251
    assert guarded.read_int(pid, 8, 4) is None


def test_native_read_user_without_tracee_faults():
    """In begin/end probes ctx->pid is 0: every user read faults."""
    ctx = abi.Context()
    guarded.install(ctx)
    fn = guarded.READ_FN(ctx.read_user)
    buf = ctypes.create_string_buffer(8)
    src = ctypes.c_int64(7)
    assert fn(ctypes.addressof(ctx), ctypes.addressof(src), buf, 8) == -14
    ctx.pid = os.getpid()
    assert fn(ctypes.addressof(ctx), ctypes.addressof(src), buf, 8) == 8
    assert int.from_bytes(buf.raw, "little") == 7
