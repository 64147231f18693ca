"""analysis.tdist's Student t quantile against scipy.special.stdtrit (the Welch bound's t)."""

import numpy as np
import pytest
from scipy.special import stdtrit

from stancelab.analysis.assessment import welch_bound
from stancelab.analysis.tdist import t_quantile


def test_the_t_quantile_is_scipys_from_one_to_a_million_degrees_of_freedom():
    rng = np.random.default_rng(5)
    dofs = np.concatenate([np.arange(1, 60, 0.25), rng.uniform(1, 40, 300),
                           10 ** rng.uniform(0, 6, 300)])
    worst = 0.0
    for p in (0.975, 0.95, 0.995, 0.9):
        for d in dofs:
            ours, theirs = t_quantile(p, float(d)), float(stdtrit(d, p))
            worst = max(worst, abs(ours - theirs) / theirs)
    assert worst < 1e-13


def test_known_values_and_the_welch_bound():
    assert t_quantile(0.975, 1.0) == pytest.approx(12.706204736174707, rel=1e-14)
    assert t_quantile(0.975, 4.0) == pytest.approx(2.7764451051977987, rel=1e-14)
    bound, q = welch_bound(2.0, 3, 1.0, 5)
    a, b = 4.0 / 3, 1.0 / 5
    dof = (a + b) ** 2 / (a ** 2 / 2 + b ** 2 / 4)
    assert q == pytest.approx(float(stdtrit(dof, 0.975)), rel=1e-13)
    assert bound == pytest.approx(q * np.sqrt(a + b), rel=1e-15)


@pytest.mark.parametrize("p,dof", [(0.5, 3.0), (1.0, 3.0), (0.975, 0.0), (0.975, -1.0)])
def test_bad_arguments_are_refused(p, dof):
    with pytest.raises(ValueError):
        t_quantile(p, dof)
