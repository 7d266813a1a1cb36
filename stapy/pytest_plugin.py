"""pytest plugin: the `stapy` fixture runs stap scripts against programs under test.

    def test_work_is_called_three_times(stapy):
        r = stapy.run('probe process("./prog").function("work") { n++ } probe end { println(n) }',
                      cmd="./prog")
        assert r.output == "3\\n"

Registered through the `pytest11` entry point, so installing stapy is enough.
"""
from __future__ import annotations

import pytest


class StapyFixture:
    """A thin handle on stapy.api for tests; `run` returns an api.Result."""

    def run(self, script: str, **kw):
        from stapy.api import run

        return run(script, **kw)

    def check(self, script: str, **kw):
        """Run and fail the test with stapy's diagnostics unless the run succeeded."""
        r = self.run(script, **kw)
        if r.status != 0:
            pytest.fail(f"stapy exited {r.status}:\n{r.errors}", pytrace=False)
        return r


@pytest.fixture
def stapy() -> StapyFixture:
    return StapyFixture()
