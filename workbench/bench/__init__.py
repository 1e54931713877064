"""Load and redraw benchmarks of the workbench (not imported by the app):
``python -m workbench.bench.bench_ui [--memory | --redraw-cost | --sessions 1 10 30]``."""
