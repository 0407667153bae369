"""Runnable studies of loss functions, built on lossjax.

Each study is a module runnable as ``python -m experiments.<name>`` (absl flags; ``--help``
lists them). Its training logic lives in importable functions: ``run(config, out_dir)``
does the work, writes PNG plots and ``metrics.json`` into ``out_dir`` and returns the metrics;
``report(metrics, plots)`` turns them into a section of ``REPORT.md``.
``python -m experiments.demo`` runs every study with fast defaults and writes the report.
"""

STUDIES = (
    "loss_landscape",
    "loss_vs_accuracy",
    "outlier",
    "overfitting",
    "imbalance",
    "robust_regression",
    "boxes",
)
