"""Applications built on the engine: the Python API, screening, the benchmark, frames and figures."""
