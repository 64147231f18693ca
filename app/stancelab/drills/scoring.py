"""Where the drills hand their recorded samples to stancelab.analysis.

No metric is computed here: this module only cuts the right samples, calls the analysis
functions and turns their results into the JSON-able dicts stored with each trial.
"""

from __future__ import annotations

import math

import numpy as np

from stancelab.analysis import AnalysisSettings, sway_metrics
from stancelab.geometry import FootModel
from stancelab.processing import Block

#: Analysis settings used when a drill is not given any (docs/metrics.md has the rationale).
DEFAULT_ANALYSIS = AnalysisSettings()


def _jsonable(value):
    if hasattr(value, "to_dict"):
        value = value.to_dict()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return None if math.isnan(v) or math.isinf(v) else v
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    return value


def clock_target(block: Block, foot: FootModel, hour: int, target_mm, centre_mm,
                 fraction: float, zone_mm: float, hold_s: float, cue_t_s: float,
                 outcome: str, settings: AnalysisSettings):
    """Reach metrics of one clock target (ReachMetrics, dict to store).

    ``block`` runs from shortly before the cue (the start position) to the target's end."""
    from stancelab.analysis import reach

    m = reach.reach_metrics(block.t_s, block.cop_x_mm, block.cop_y_mm, cue_t_s,
                            tuple(centre_mm), foot, hour, fraction, zone_mm,
                            analysis=settings)
    d = _jsonable(m)
    d.pop("settings", None)
    d.update(outcome=outcome, target_pct=fraction * 100.0, hold_s=hold_s)
    # The target's score is the farthest point reached along its direction (% of the edge);
    # a target never reached has no score: its excursion is kept, labelled as a time-out.
    d["score_pct"] = d.get("max_excursion_pct") if outcome == "reached" else None
    return m, d


def clock_overall(reach_results: list, foot: FootModel, fraction: float,
                  target_dicts: list[dict]) -> dict:
    """Edge-reach score of the whole clock: area reached and the weakest direction."""
    from stancelab.analysis import reach

    d = _jsonable(reach.edge_reach_score(reach_results, foot)) if len(reach_results) >= 3 \
        else {}
    d["targets_reached"] = sum(r["outcome"] == "reached" for r in target_dicts)
    d["targets_timed_out"] = sum(r["outcome"] == "time-out" for r in target_dicts)
    d["target_pct"] = fraction * 100.0
    return d


def single_leg(lead_in: Block, hold: Block, weight_n: float, foot: FootModel,
               duration_s: float, completed: bool, settings: AnalysisSettings) -> dict:
    """Time held, touchdowns and steady sway over the timed hold; time to stabilisation from
    the step-on (``lead_in`` starts just before it and runs to the end of the hold)."""
    from stancelab.analysis import single_leg as sl

    m = sl.single_leg_metrics(hold.t_s, hold.cop_x_mm, hold.cop_y_mm, hold.total_n,
                              weight_n, foot, analysis=settings)
    d = _jsonable(m)
    wsway = d.pop("window_sway", None)
    if wsway:
        wsway.pop("settings", None)
        wsway.pop("preprocessing", None)
    # Duration-dependent sway compared left/right only over this same fixed window.
    d["window"] = {"window_s": m.settings["single_leg"]["window_s"], "sway": wsway,
                   "reason": d.pop("window_reason", None)}
    sway = d.pop("sway", None) or {}
    sway.pop("settings", None)
    sway.pop("preprocessing", None)
    d.update(sway)
    try:
        on = sl.single_leg_metrics(lead_in.t_s, lead_in.cop_x_mm, lead_in.cop_y_mm,
                                   lead_in.total_n, weight_n, foot, analysis=settings)
        d["time_to_stabilisation_s"] = _jsonable(on.time_to_stabilisation_s)
        d["step_on_s"] = _jsonable(on.stand_start_s)
    except ValueError:
        d["time_to_stabilisation_s"] = None
    d.update(completed=completed, target_duration_s=duration_s)
    return d


def quiet(block: Block, settings: AnalysisSettings,
          foot_length_mm: float | None = None) -> dict:
    """Sway metrics plus the feet's left/right (and front/back) shares of the weight.

    The feet's shares come from the COP relative to the foot marks; the board halves' shares
    from the corner forces are stored too, prefixed ``board_``."""
    from stancelab.analysis import weight

    d = _jsonable(sway_metrics(block.t_s, block.cop_x_mm, block.cop_y_mm, settings))
    d.update(_jsonable(weight.weight_from_cop(block.cop_x_mm, block.cop_y_mm,
                                              foot_length_mm=foot_length_mm)))
    d.update({f"board_{k}": v for k, v in
              _jsonable(weight.weight_from_forces(block.forces_n)).items()})
    return d
