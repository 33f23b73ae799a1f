"""Benchmarks. Each module ``bench/<area>_<what>.py`` runs with ``uv run python -m bench.<module>``
and writes ``bench/out/<module>.json`` through :func:`bench.common.write_results`;
``uv run task bench`` runs them all and writes ``bench/REPORT.md``."""
