"""Benchmark suite of Babel Search: quality, throughput and latency, product against hand-written baselines."""

from __future__ import annotations
