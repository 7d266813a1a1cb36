"""The output buffer: appends, drains when full, survives partial writes and EINTR, reports errors."""
import ctypes
import os
import signal
import threading
import time

from native_jit import native

N = native()


class Out:
    def __init__(self, fd, cap):
        self.obj = ctypes.create_string_buffer(64)
        self.data = ctypes.create_string_buffer(cap)
        N.stp_out_init(self.obj, self.data, cap, fd)


def read_all(fd, into):
    while chunk := os.read(fd, 65536):
        into.append(chunk)


def test_appends_and_flush():
    r, w = os.pipe()
    o = Out(w, 16)
    N.stp_out_str(o.obj, N.s("hello, "))
    N.stp_out_long(o.obj, -42)
    N.stp_out_char(o.obj, ord("\n"))
    N.stp_out_write(o.obj, b"0123456789" * 5, 50)  # larger than the buffer
    assert N.stp_out_flush(o.obj) == 0
    os.close(w)
    got = []
    read_all(r, got)
    os.close(r)
    assert b"".join(got) == b"hello, -42\n" + b"0123456789" * 5


def test_partial_writes_and_eintr_lose_nothing():
    r, w = os.pipe()
    payload = bytes(range(256)) * 4096  # 1 MiB: far more than a pipe holds
    o = Out(w, 1 << 16)
    got = []
    main = threading.get_ident()
    fired = []
    old = signal.signal(signal.SIGUSR1, lambda *a: fired.append(1))

    def interrupt_then_read():
        time.sleep(0.2)  # the writer is now blocked on a full pipe
        for _ in range(3):
            signal.pthread_kill(main, signal.SIGUSR1)
            time.sleep(0.05)
        read_all(r, got)

    t = threading.Thread(target=interrupt_then_read)
    t.start()
    try:
        N.stp_out_write(o.obj, payload, len(payload))
        assert N.stp_out_flush(o.obj) == 0
    finally:
        os.close(w)
        t.join()
        os.close(r)
        signal.signal(signal.SIGUSR1, old)
    assert fired
    assert b"".join(got) == payload


def test_write_error_is_reported_once():
    r, w = os.pipe()
    os.close(r)
    os.close(w)
    o = Out(w, 8)
    N.stp_out_write(o.obj, b"x" * 20, 20)
    assert N.stp_out_flush(o.obj) == -9  # EBADF
