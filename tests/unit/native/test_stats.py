"""Statistics and histograms through the compiled helpers (runtime/stat.c, stat-common.c, LANGUAGE.md 6 and 10.2)."""
import ctypes
import os
from pathlib import Path

import pytest

from native_jit import ALT_LIMITS, native
from stapy.runtime.native.helpers import (HIST_LINEAR, HIST_LOG, HIST_NONE, STAT_AVG, STAT_COUNT, STAT_MAX,
                                          STAT_MIN, STAT_SUM, STAT_VARIANCE)

N = native()
HERE = Path(__file__).parent


def stat(samples=(), htype=HIST_NONE, start=0, stop=0, interval=0, shift=0, n=N):
    mem = ctypes.create_string_buffer(n.stp_stat_bytes(htype, start, stop, interval))
    n.stp_stat_init(mem, htype, start, stop, interval, shift)
    for v in samples:
        n.stp_stat_add(mem, v)
    return mem


def get(st, op, n=N):
    ctx = n.ctx()
    out = ctypes.c_int64()
    rc = n.stp_stat_get(ctx, st, op, ctypes.byref(out))
    return out.value if rc == 0 else ctx.errmsg.decode()


def hist_text(st, n=N):
    ctx = n.ctx()
    buf = ctypes.create_string_buffer(1 << 16)
    length = n.stp_stat_hist_format(ctx, st, buf, 0, 1 << 16)
    return buf.raw[:length].decode() if length >= 0 else ctx.errmsg.decode()


def test_aggregates():
    st = stat([5, -3, 10, 4])
    assert [get(st, op) for op in (STAT_COUNT, STAT_SUM, STAT_MIN, STAT_MAX, STAT_AVG)] == [4, 16, -3, 10, 4]
    assert get(stat([-7, 0]), STAT_AVG) == -3  # truncates toward 0


def test_empty_aggregate():
    st = stat()
    assert get(st, STAT_COUNT) == 0 and get(st, STAT_SUM) == 0
    for op in (STAT_MIN, STAT_MAX, STAT_AVG, STAT_VARIANCE):
        assert get(st, op) == "empty aggregate"
    assert hist_text(stat(htype=HIST_LOG)) == "empty aggregate"


def test_variance_as_man_stap():
    assert get(stat(range(1, 6), shift=0), STAT_VARIANCE) == 12
    assert get(stat(range(1, 6), shift=1), STAT_VARIANCE) == 2
    assert get(stat([42]), STAT_VARIANCE) == 0


def test_clear():
    st = stat([1, 2, 3], HIST_LOG)
    N.stp_stat_clear(st)
    assert get(st, STAT_COUNT) == 0 and get(st, STAT_MIN) == "empty aggregate"
    N.stp_stat_add(st, 4)
    assert get(st, STAT_SUM) == 4


def test_hist_buckets():
    assert N.stp_hist_buckets(HIST_LOG, 0, 0, 0) == 128
    assert N.stp_hist_buckets(HIST_LINEAR, 0, 100, 10) == 13
    assert N.stp_hist_buckets(HIST_LINEAR, 0, 1250, 10) == 128  # 126 payload buckets
    assert N.stp_hist_buckets(HIST_LINEAR, 0, 1260, 10) == 0
    assert N.stp_hist_buckets(HIST_LINEAR, 0, 100, 0) == 0
    assert N.stp_hist_buckets(HIST_LINEAR, 100, 0, 10) == 0


def bucket(st, i):
    ctx = N.ctx()
    out = ctypes.c_int64()
    rc = N.stp_stat_hist_bucket(ctx, st, i, ctypes.byref(out))
    return out.value if rc == 0 else ctx.errmsg.decode()


def test_log_buckets():
    st = stat([0, 1, 2, 3, 4, 1024, -1, -5, (1 << 63) - 1, -(1 << 63)], HIST_LOG)
    assert bucket(st, 64) == 1  # 0
    assert bucket(st, 65) == 1  # 1
    assert bucket(st, 66) == 2  # 2, 3
    assert bucket(st, 67) == 1  # 4
    assert bucket(st, 75) == 1  # 1024: bit length 11
    assert bucket(st, 63) == 1  # -1 mirrored
    assert bucket(st, 61) == 1  # -5: bit length 3
    assert bucket(st, 127) == 1
    assert bucket(st, 0) == 1
    assert bucket(st, 128) == "histogram index out of range"
    assert bucket(st, -1) == "histogram index out of range"
    assert bucket(stat(htype=HIST_LOG), 3) == "empty aggregate"


def test_linear_buckets():
    st = stat([-5, 3, 3, 15, 42, 250, 100, 99], HIST_LINEAR, 0, 100, 10)
    # 99 -> [90,100) = 10, 100 -> [100,110) = 11 (the label "100"), 250 -> overflow 12
    assert [bucket(st, i) for i in range(13)] == [1, 2, 1, 0, 0, 1, 0, 0, 0, 0, 1, 1, 1]


def test_log_histogram_text_matches_the_spec_example():
    expected = "".join(line.rstrip("\n")[:-1] + "\n" for line in open(HERE / "hist_log_1_1_1_2_1024.txt"))
    assert hist_text(stat([1, 1, 1, 2, 1024], HIST_LOG)) == expected


def test_linear_histogram_labels():
    text = hist_text(stat([-5, 3, 3, 15, 42, 250], HIST_LINEAR, 0, 100, 10))
    labels = [line.split("|")[0].strip() for line in text.splitlines()[1:] if line]
    assert labels == "<0 0 10 20 30 40 50 60 ~ 90 100 >100".split()


def test_linear_histogram_drops_empty_under_and_overflow():
    text = hist_text(stat([50], HIST_LINEAR, 0, 100, 10))
    # data in bucket 6 ([50,60)); rows 4..8 = 30..70, no `<`/`>` rows
    assert [line.split("|")[0].strip() for line in text.splitlines()[1:] if line] == ["30", "40", "50", "60", "70"]


def test_scaling_and_count_width():
    text = hist_text(stat([7] * 120 + [1], HIST_LOG))
    lines = text.splitlines()
    # max 120 > 50: scale ceil(120/50) = 3, so 40 '@'; count width 3
    assert lines[0] == "value |" + "-" * 50 + " count"
    row = next(line for line in lines if line.startswith("    4 |"))
    assert row == "    4 |" + "@" * 40 + " " * (50 - 40 + 1 + 3 - 3) + "120"
    row1 = next(line for line in lines if line.startswith("    1 |"))
    assert row1 == "    1 |" + " " * (50 + 1 + 3 - 1) + "1"


def test_negative_log_rows_and_no_elision_when_disabled():
    n = native(ALT_LIMITS)  # HIST_ELISION -1
    text = hist_text(stat([-4, 16], HIST_LOG, n=n), n=n)
    labels = [line.split("|")[0].strip() for line in text.splitlines()[1:] if line]
    assert labels == ["-16", "-8", "-4", "-2", "-1", "0", "1", "2", "4", "8", "16", "32", "64"]
    assert "~" not in text
    text = hist_text(stat([-4, 16], HIST_LOG))
    assert [line.split("|")[0].strip() for line in text.splitlines()[1:] if line] == \
        ["-16", "-8", "-4", "-2", "-1", "~", "4", "8", "16", "32", "64"]


def test_hist_width_from_limits():
    n = native(ALT_LIMITS)  # HIST_WIDTH 10
    text = hist_text(stat([1, 1, 2], HIST_LOG, n=n), n=n)
    assert text.splitlines()[0] == "value |---------- count"
    assert text.splitlines()[2] == "    1 |@@" + " " * 9 + "2"


def test_sprint_histogram_is_cut_at_511():
    buf = ctypes.create_string_buffer(600)
    ctx = N.ctx()
    length = N.stp_stat_hist_format(ctx, stat([1, 1, 1, 2, 1024], HIST_LOG), buf, 0, 512)
    assert length == 512
    assert N.stp_fmt_finish(buf, length, 512) == 511


def test_print_histogram_to_the_output_fd():
    r, w = os.pipe()
    try:
        out = ctypes.create_string_buffer(64)
        data = ctypes.create_string_buffer(100)  # smaller than the text: drains mid-way
        N.stp_out_init(out, data, 100, w)
        ctx = N.ctx()
        assert N.stp_out_hist(ctx, out, stat([1, 1, 1, 2, 1024], HIST_LOG)) == 0
        assert N.stp_out_flush(out) == 0
        os.close(w)
        got = b""
        while chunk := os.read(r, 4096):
            got += chunk
    finally:
        os.close(r)
    assert got.decode() == hist_text(stat([1, 1, 1, 2, 1024], HIST_LOG))
    assert N.stp_out_hist(ctx, out, stat(htype=HIST_LOG)) == 1 and ctx.errmsg == b"empty aggregate"


def test_no_variance_terms_without_variance():
    """shift -1 (no @variance anywhere, stap's !stat_op_variance): the other aggregates and the histogram are
    unchanged, and the variance words stay untouched (zero)."""
    samples = [5, -3, 10, 4, 1 << 40]
    with_var = stat(samples, HIST_LOG)
    without = stat(samples, HIST_LOG, shift=-1)
    ops = (STAT_COUNT, STAT_SUM, STAT_MIN, STAT_MAX, STAT_AVG)
    assert [get(without, op) for op in ops] == [get(with_var, op) for op in ops]
    assert hist_text(without) == hist_text(with_var)
    words = (ctypes.c_int64 * 12).from_buffer(without)
    assert list(words[9:12]) == [0, 0, 0]  # avg_s, _M2, variance_s


def test_variance_in_script_with_and_without_variance_globals():
    """codegen asks for the variance terms only for stats that @variance reads (tests/runtime has the values)."""
    import io

    pytest.importorskip("stapy.parser.frontend")
    from stapy.options import Options
    from stapy.session import Session

    out = io.StringIO()
    script = ("global s, t; probe begin { for (i = 1; i <= 5; i++) { s <<< i; t <<< i } "
              "println(@variance(s), \" \", @avg(t), \" \", @max(t)); exit() }")
    assert Session(Options(script_text=script), out, io.StringIO()).main() == 0
    assert out.getvalue() == "12 3 5\n"  # LANGUAGE.md 6: samples 1..5 have stap's integer variance 12
