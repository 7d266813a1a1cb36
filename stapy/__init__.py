"""stapy: a SystemTap-compatible tracer for user-space programs."""

__version__ = "0.1.0"
# The SystemTap language version stapy implements (systemtap_v, --compatible default).
SYSTEMTAP_VERSION = "5.6"
