"""Calibration and power of :class:`~mlopskit.drift.ClassifierDrift`.

The out-of-fold scores of a domain classifier come from ``n_folds`` different models.
Ranking all of them together and reading the Mann–Whitney null distribution off the
pooled ranking is not valid: a model that memorises its training rows (trees,
nearest neighbours) scores a held-out row by the labels of its neighbours in the
other folds, and the model of a neighbouring fold does the same the other way round,
so the folds' rank statistics are positively correlated and the pooled AUC varies
more than the Mann–Whitney null says (false-alarm rates of 0.10–0.18 at alpha =
0.05). Within one fold the held-out scores come from one model that never saw them,
so the per-fold test is exact; ``ClassifierDrift`` combines the folds with Bonferroni
(valid under any dependence between folds).

A 3-nearest-neighbour classifier with 2 folds is used for the calibration check: it
is a cheap memoriser that shows the bug clearly (a pooled false-alarm rate of 0.09 to
0.11 over 400-run batches at n = 50), and one run costs about 4 ms.
"""

from __future__ import annotations

import numpy as np
from scipy import stats
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier

from mlopskit.drift import ClassifierDrift
from mlopskit.testing import check_detector

ALPHA = 0.05


def _alarms(reps: int, n: int, shift: float, seed: int) -> int:
    rng = np.random.default_rng(seed)
    count = 0
    for i in range(reps):
        det = ClassifierDrift(
            estimator=KNeighborsClassifier(3), n_folds=2, random_state=i
        )
        smp = rng.normal(size=(n, 3))
        smp[:, 0] += shift
        count += bool(det.fit(rng.normal(size=(n, 3))).detect(smp).drift)
    return count


def test_false_alarm_rate_is_at_most_alpha_under_no_shift() -> None:
    # R = 800 seeded null runs at n = 50 per sample. A test of size <= alpha gives at
    # most Binomial(800, 0.05) alarms, whose one-sided 99.9 % quantile is 60 (rate
    # 0.075, a margin of 0.025): a calibrated detector fails this one seed in a
    # thousand; the pooled Mann-Whitney p-value (rate ~0.10, ~80 alarms expected,
    # sd ~8.5) fails it almost always.
    reps = 800
    limit = int(stats.binom.ppf(0.999, reps, ALPHA))
    alarms = _alarms(reps, n=50, shift=0.0, seed=11)
    assert alarms <= limit, f"{alarms}/{reps} false alarms, limit {limit}"


def test_power_under_a_clear_shift() -> None:
    # A 1-sd mean shift of one feature, n = 100 per sample: each fold's held-out
    # AUC is about 0.7 on 50 vs 50 rows; 40 runs, at least 36 must alarm (36/40 =
    # 0.9 leaves room for seeds, not for a weak test).
    assert _alarms(40, n=100, shift=1.0, seed=12) >= 36


def test_details_report_the_folds() -> None:
    rng = np.random.default_rng(13)
    det = ClassifierDrift(estimator=LogisticRegression(), n_folds=4, random_state=0)
    result = det.fit(rng.normal(size=(200, 2))).detect(rng.normal(size=(200, 2)) + 1)
    fold_p = result.details["fold_p_values"]
    assert len(fold_p) == 4
    assert len(result.details["fold_auc"]) == 4
    # Bonferroni: the p-value is the smallest fold p-value times the number of folds.
    assert result.p_value == min(1.0, 4 * min(fold_p))
    assert result.drift
    assert result.statistic > 0.7


def test_classifier_drift_passes_check_detector() -> None:
    check_detector(
        ClassifierDrift(estimator=LogisticRegression(), n_folds=3, random_state=0)
    )
