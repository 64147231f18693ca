"""COP analysis: preprocessing, sway, weight distribution, reach, single-leg, comparison.

Pure numpy/scipy functions over arrays in the board frame (mm, s); no Qt, no storage.
Definitions and references: docs/metrics.md.
"""

from .filters import NO_FILTER, AnalysisSettings, Prepared, prepare
from .sway import SwayMetrics, sway_from_uniform, sway_metrics

__all__ = ["AnalysisSettings", "NO_FILTER", "Prepared", "prepare", "SwayMetrics",
           "sway_metrics", "sway_from_uniform"]
