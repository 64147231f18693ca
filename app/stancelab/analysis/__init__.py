"""COP analysis: preprocessing, sway, weight distribution, reach, single-leg, comparison.

Pure numpy/scipy functions over arrays in the board frame (mm, s); no Qt, no storage.
Definitions and references: docs/metrics.md.
"""

from stancelab.analysis.compare import (
    METRIC_DIRECTION,
    asymmetry_pct,
    better_side,
    compare_sides,
    trend,
)
from stancelab.analysis.filters import NO_FILTER, AnalysisSettings, Prepared, prepare
from stancelab.analysis.reach import (
    ReachMetrics,
    ReachSettings,
    edge_reach_score,
    foot_centre_from_quiet_stance,
    reach_metrics,
)
from stancelab.analysis.single_leg import (
    SingleLegMetrics,
    SingleLegSettings,
    single_leg_metrics,
    time_to_stabilisation,
    touchdown_events,
)
from stancelab.analysis.sway import SwayMetrics, sway_from_uniform, sway_metrics
from stancelab.analysis.weight import weight_from_cop, weight_from_forces

__all__ = [
                         "METRIC_DIRECTION",
                         "NO_FILTER",
                         "AnalysisSettings",
                         "Prepared",
                         "ReachMetrics",
                         "ReachSettings",
                         "SingleLegMetrics",
                         "SingleLegSettings",
                         "SwayMetrics",
                         "asymmetry_pct",
                         "better_side",
                         "compare_sides",
                         "edge_reach_score",
    "foot_centre_from_quiet_stance",
                         "prepare",
                         "reach_metrics",
                         "single_leg_metrics",
                         "sway_from_uniform",
                         "sway_metrics",
                         "time_to_stabilisation",
                         "touchdown_events",
                         "trend",
                         "weight_from_cop",
                         "weight_from_forces",
]
