"""update_many ≡ a loop over update, property-tested, and agreement with
straightforward reference implementations written from the papers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from mlopskit.drift import ADWIN, DDM, EDDM, HDDM, KSWIN, PageHinkley

# Small parameters so that short hypothesis streams raise many alarms: the
# equivalence is only interesting when alarms and resets happen.
SENSITIVE = {
    "ADWIN": lambda: ADWIN(delta=0.2, clock=3, grace_period=4, min_window_length=2),
    "PageHinkley": lambda: PageHinkley(delta=0.05, threshold=2.0, min_instances=3),
    "DDM": lambda: DDM(min_instances=5, warning_threshold=1.0, drift_threshold=1.5),
    "EDDM": lambda: EDDM(min_errors=3, alpha=0.99, beta=0.97),
    "HDDM": lambda: HDDM(drift_confidence=0.2, warning_confidence=0.4, two_sided=True),
    "KSWIN": lambda: KSWIN(window_size=12, stat_size=5, alpha=0.2),
}
BINARY = {"DDM", "EDDM", "HDDM"}


@st.composite
def streams(draw: st.DrawFn, binary: bool) -> np.ndarray:
    """Piecewise streams with level shifts and many ties (rounded values)."""
    pieces = draw(st.integers(1, 5))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    parts = []
    for _ in range(pieces):
        size = draw(st.integers(0, 400))
        if binary:
            parts.append((rng.random(size) < draw(st.floats(0.0, 1.0))).astype(float))
        else:
            level = draw(st.floats(-5, 5))
            scale = draw(st.sampled_from([0.0, 0.1, 1.0, 100.0]))
            decimals = draw(st.sampled_from([0, 1, 8]))
            parts.append(
                np.round(rng.normal(level, scale + 1e-3, size) * 1e3, decimals)
            )
    return np.concatenate(parts) if parts else np.zeros(0)


def _loop(det: object, values: np.ndarray) -> list[int]:
    return [i for i, x in enumerate(values) if det.update(x).drift_detected]  # type: ignore[attr-defined]


def _check_equivalence(name: str, values: np.ndarray, cut: int) -> None:
    looped = SENSITIVE[name]()
    alarms = _loop(looped, values)
    assert SENSITIVE[name]().update_many(values).tolist() == alarms
    # fed in two calls of update_many, then a loop: same alarms and same end state
    split = SENSITIVE[name]()
    cut = min(cut, values.shape[0])
    got = split.update_many(values[:cut]).tolist()
    got += [cut + a for a in split.update_many(values[cut:]).tolist()]
    assert got == alarms
    assert split.drift_detected == looped.drift_detected
    assert split.n_seen == looped.n_seen
    if hasattr(looped, "warning_detected"):
        assert split.warning_detected == looped.warning_detected
    # fed by update first, then update_many (the loop's state feeds the arrays)
    mixed = SENSITIVE[name]()
    got = _loop(mixed, values[:cut])
    got += [cut + a for a in mixed.update_many(values[cut:]).tolist()]
    assert got == alarms
    tail = np.concatenate([values[-50:], values[:50]])
    assert split.update_many(tail).tolist() == _loop(looped, tail)


@pytest.mark.slow
@settings(max_examples=40, deadline=None)
@given(data=st.data(), cut=st.integers(0, 2000))
def test_update_many_equals_loop_real(data: st.DataObject, cut: int) -> None:
    values = data.draw(streams(binary=False))
    for name in ("ADWIN", "PageHinkley", "KSWIN"):
        _check_equivalence(name, values, cut)


@pytest.mark.slow
@settings(max_examples=40, deadline=None)
@given(data=st.data(), cut=st.integers(0, 2000))
def test_update_many_equals_loop_binary(data: st.DataObject, cut: int) -> None:
    values = data.draw(streams(binary=True))
    for name in sorted(SENSITIVE):
        _check_equivalence(name, values, cut)


# --- reference implementations, one value at a time, from the papers ---------------


def _adwin_reference(values: np.ndarray, delta: float, clock: int, m: int) -> list[int]:
    """ADWIN with explicit bucket lists (MOA/river's structure), reset after a drift."""
    alarms, rows, width, tick, reset = [], [[]], 0, 0, False
    for i, x in enumerate(values.tolist()):
        if reset:
            rows, width, tick, reset = [[]], 0, 0, False
        rows[0].append([x, x * x, 1])  # newest last
        width += 1
        tick += 1
        level = 0
        while len(rows[level]) > m:
            a, b = rows[level].pop(0), rows[level].pop(0)
            if level + 1 == len(rows):
                rows.append([])
            rows[level + 1].append([a[0] + b[0], a[1] + b[1], a[2] + b[2]])
            level += 1
        if tick % clock or width <= 10:
            continue
        buckets = [bk for row in reversed(rows) for bk in row]  # oldest first
        total = math.fsum(b[0] for b in buckets)
        var = max(math.fsum(b[1] for b in buckets) / width - (total / width) ** 2, 0.0)
        dprime = math.log(2 * math.log(width) / delta)
        n0 = s0 = 0.0
        for bk in buckets[:-1]:
            n0 += bk[2]
            s0 += bk[0]
            n1 = width - n0
            if n0 < 5 or n1 < 5:
                continue
            m_recip = 1 / (n0 - 4) + 1 / (n1 - 4)
            eps = math.sqrt(2 * m_recip * var * dprime) + 2 / 3 * dprime * m_recip
            if abs(s0 / n0 - (total - s0) / n1) >= eps:
                alarms.append(i)
                reset = True
                break
    return alarms


def test_adwin_matches_bucket_list_reference() -> None:
    # Far from the boundary the rounding of sums cannot flip a decision, so the
    # alarms of the closed-form histogram must equal the explicit bucket lists'.
    rng = np.random.default_rng(1)
    stream = np.concatenate(
        [rng.normal(0, 1, 3000), rng.normal(1.5, 1, 1500), rng.normal(-1, 2, 1500)]
    )
    expected = _adwin_reference(stream, 0.002, 32, 5)
    assert len(expected) >= 2
    assert ADWIN().update_many(stream).tolist() == expected


def _page_hinkley_reference(values: np.ndarray, delta: float, lam: float) -> list[int]:
    alarms, start = [], 0
    for i in range(len(values)):
        seg = values[start : i + 1]
        n = np.arange(1, len(seg) + 1)
        dev = seg - np.cumsum(seg) / n
        up = np.concatenate([[0.0], np.cumsum(dev - delta)])
        down = np.concatenate([[0.0], np.cumsum(dev + delta)])
        if len(seg) >= 30 and (up[-1] - up.min() > lam or down.max() - down[-1] > lam):
            alarms.append(i)
            start = i + 1
    return alarms


def test_page_hinkley_matches_definition() -> None:
    rng = np.random.default_rng(4)
    stream = np.concatenate(
        [rng.normal(0, 1, 600), rng.normal(2, 1, 300), rng.normal(0, 1, 300)]
    )
    expected = _page_hinkley_reference(stream, 0.25, 30.0)
    assert len(expected) == 2
    assert PageHinkley().update_many(stream).tolist() == expected


def test_kswin_statistic_matches_scipy_with_ties() -> None:
    rng = np.random.default_rng(6)
    stream = np.round(rng.normal(0, 1, 400), 1)  # heavy ties
    det = KSWIN(window_size=60, stat_size=20, alpha=1e-12)
    for i, x in enumerate(stream):
        det.update(x)
        if i >= 59:
            window = stream[i - 59 : i + 1]
            res = stats.ks_2samp(window[:40], window[40:], method="exact")
            assert det.p_value == res.pvalue
