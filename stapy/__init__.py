"""stapy: a SystemTap-compatible tracer for user-space programs."""

__version__ = "0.1.0"
# The SystemTap language version stapy implements (systemtap_v, --compatible default).
SYSTEMTAP_VERSION = "5.6"


def run(script: str, **kw):
    """Run a stap script from Python; see stapy.api.run."""
    from stapy.api import run as _run

    return _run(script, **kw)
