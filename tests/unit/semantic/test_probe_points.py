from __future__ import annotations

import pytest

from stapy.diagnostics import StapError
from stapy.semantic import probe_points
from stapy.semantic.probe_points import ProbePointError, Resolved
from tests.unit.semantic.helpers import analyze_text


@pytest.mark.parametrize("point, period, rand", [
    ("timer.s(2)", 2_000_000_000, 0),
    ("timer.ms(5).randomize(2)", 5_000_000, 2_000_000),
    ("timer.us(100)", 100_000, 0),
    ("timer.nsec(100000)", 100_000, 0),
    ("timer.hz(3)", 333_333_334, 0),
    ("timer.jiffies(2)", 8_000_000, 0),
])
def test_timer_periods(point, period, rand):
    program, _ = analyze_text(f"probe {point} {{ print(1) }}")
    p = program.probes[0]
    assert (p.family, p.params["period_ns"], p.params["randomize_ns"]) == ("timer", period, rand)


def test_process_points_use_the_registered_resolver():
    try:
        probe_points.register_process_resolver(
            lambda point, options: [Resolved("process.function", {"address": 0x1139}, comment=" /* pc=0x1139 */")])
        program, _ = analyze_text('probe process("/bin/true").function("main") { print(1) }')
        p = program.probes[0]
        assert (p.family, p.params, p.comment) == ("process.function", {"address": 0x1139}, " /* pc=0x1139 */")
    finally:
        probe_points.register_process_resolver(None)


def test_process_points_without_resolver_fail_like_stap():
    with pytest.raises(StapError) as e:
        analyze_text('probe process("/bin/true").function("main") { print(1) }')
    d, inner = e.value.diagnostics[:2]
    assert (d.message, d.token.text, inner.message, inner.token) == ("while resolving probe point", "process",
                                                                     "no match", None)


def test_kernel_points_are_refused():
    with pytest.raises(StapError) as e:
        analyze_text('probe kernel.function("x") { print(1) }')
    assert e.value.diagnostics[1].message == "kernel probes are not supported by stapy"
