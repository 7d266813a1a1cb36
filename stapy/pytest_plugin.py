"""pytest plugin entry point (the `stapy` fixture lands with the Python API)."""
