"""Benchmarks that print ratios against the physical limit measured in the same run.

``python -m bench`` runs every module here that defines ``run()``; each yields
:class:`bench.common.Metric` and is printed as one JSON line
``{"metric", "value", "unit", "limit", "ratio", "goal"}``.
"""
