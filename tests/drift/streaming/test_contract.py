"""The streaming contract: conformance suite, parameters, bad input, reset."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.base import clone

from mlopskit.drift import ADWIN, DDM, EDDM, HDDM, KSWIN, PageHinkley
from mlopskit.errors import DriftInputError, InvalidParameterError
from mlopskit.testing._streaming_checks import check_streaming_detector

DETECTORS = [
    ADWIN(),
    ADWIN(clock=4, delta=0.05),
    PageHinkley(),
    PageHinkley(mode="up", delta=0.1, threshold=10.0),
    PageHinkley(mode="down"),
    DDM(),
    DDM(min_instances=30),
    EDDM(),
    EDDM(min_errors=30, beta=0.9),
    HDDM(),
    HDDM(two_sided=True),
    KSWIN(window_size=100, stat_size=30, alpha=0.005),
]


@pytest.mark.parametrize("detector", DETECTORS, ids=repr)
def test_conformance(detector: object) -> None:
    check_streaming_detector(detector)


@pytest.mark.slow
def test_conformance_kswin_defaults() -> None:
    check_streaming_detector(KSWIN())


@pytest.mark.parametrize(
    ("detector", "match"),
    [
        (ADWIN(delta=0.0), "`delta` must be a real number in \\(0, 1\\). Got 0.0"),
        (ADWIN(clock=0), "`clock` must be an integer"),
        (ADWIN(max_buckets=1.5), "`max_buckets` must be an integer"),
        (PageHinkley(threshold=-1.0), "`threshold`"),
        (PageHinkley(mode="sideways"), "`mode` must be one of"),
        (PageHinkley(delta=float("nan")), "`delta`"),
        (DDM(warning_threshold=4.0), "must not exceed `drift_threshold`"),
        (DDM(min_instances=True), "`min_instances` must be an integer"),
        (EDDM(alpha=0.8, beta=0.9), "`beta` \\(drift level\\) must not exceed"),
        (EDDM(min_errors=1), "`min_errors`"),
        (
            HDDM(drift_confidence=0.01, warning_confidence=0.001),
            "at least `drift_confidence`",
        ),
        (HDDM(two_sided="yes"), "`two_sided` must be a bool"),
        (KSWIN(window_size=100, stat_size=100), "`stat_size` must be smaller"),
        (KSWIN(alpha=1.0), "`alpha`"),
    ],
)
def test_bad_parameters_raise_on_first_update(detector: object, match: str) -> None:
    # the constructor only stores parameters (scikit-learn's contract) ...
    assert clone(detector).get_params() == detector.get_params()  # type: ignore[attr-defined]
    # ... and the first update validates them
    with pytest.raises(InvalidParameterError, match=match):
        detector.update(0.0)  # type: ignore[attr-defined]
    with pytest.raises(InvalidParameterError, match=match):
        clone(detector).update_many(np.zeros(3))


@pytest.mark.parametrize("cls", [ADWIN, PageHinkley, DDM, EDDM, HDDM, KSWIN])
def test_constructor_is_keyword_only(cls: type) -> None:
    with pytest.raises(TypeError):
        cls(0.1)


@pytest.mark.parametrize("cls", [ADWIN, PageHinkley, DDM, EDDM, HDDM, KSWIN])
@pytest.mark.parametrize(
    "bad", [float("nan"), float("inf"), -float("inf"), "abc", None]
)
def test_non_finite_or_non_numeric_input_raises(cls: type, bad: object) -> None:
    det = cls()
    det.update(0.0)
    before = det.n_seen
    with pytest.raises(DriftInputError, match="Got"):
        det.update(bad)
    assert det.n_seen == before  # nothing was fed


@pytest.mark.parametrize("cls", [ADWIN, PageHinkley, DDM, EDDM, HDDM, KSWIN])
def test_update_many_rejects_nan_and_feeds_nothing(cls: type) -> None:
    det = cls()
    values = np.zeros(10)
    values[7] = np.nan
    with pytest.raises(DriftInputError, match="at index 7") as info:
        det.update_many(values)
    assert info.value.index == 7  # type: ignore[attr-defined]
    assert det.n_seen == 0


@pytest.mark.parametrize("cls", [ADWIN, PageHinkley, DDM, EDDM, HDDM, KSWIN])
def test_update_many_rejects_2d(cls: type) -> None:
    with pytest.raises(DriftInputError, match="1-D array"):
        cls().update_many(np.zeros((4, 2)))


@pytest.mark.parametrize("cls", [DDM, EDDM])
@pytest.mark.parametrize("bad", [0.5, 2.0, -1.0])
def test_error_rate_detectors_need_zero_or_one(cls: type, bad: float) -> None:
    with pytest.raises(DriftInputError, match="0 \\(correct\\) or 1 \\(error\\)"):
        cls().update(bad)
    with pytest.raises(DriftInputError, match="at index 1"):
        cls().update_many([1.0, bad])


def test_hddm_needs_values_in_unit_interval() -> None:
    HDDM().update(0.25)  # a bounded score is fine
    with pytest.raises(DriftInputError, match="in \\[0, 1\\]"):
        HDDM().update(1.5)


def test_booleans_and_numpy_scalars_are_accepted() -> None:
    errors = np.random.default_rng(3).random(500) < 0.2
    looped = DDM()
    alarms = [i for i, e in enumerate(errors) if looped.update(e).drift_detected]
    assert DDM().update_many(errors).tolist() == alarms
    assert PageHinkley().update(np.float32(1.5)).n_seen == 1


def test_drift_detected_is_read_only() -> None:
    det = PageHinkley()
    with pytest.raises(AttributeError):
        det.drift_detected = True  # type: ignore[misc]
    with pytest.raises(AttributeError):
        DDM().warning_detected = True  # type: ignore[misc]


def test_resets_on_the_update_after_a_drift() -> None:
    rng = np.random.default_rng(5)
    stream = np.concatenate([rng.normal(0, 1, 2000), rng.normal(3, 1, 200)])
    alarms = PageHinkley().update_many(stream)
    assert alarms.size == 1
    det = PageHinkley()
    det.update_many(stream[: alarms[0] + 1])
    assert det.drift_detected
    assert det.n_seen == alarms[0] + 1
    det.update(3.0)
    assert not det.drift_detected
    assert det.n_seen == 1


def test_reset_returns_detector_and_forgets() -> None:
    det = ADWIN()
    det.update_many(np.arange(100.0))
    assert det.reset() is det
    assert det.n_seen == 0
    assert det.width == 0
    assert det.estimation == 0.0


def test_set_params_restarts_the_detector() -> None:
    det = PageHinkley(threshold=5.0)
    det.update_many(np.zeros(50))
    det.set_params(threshold=-1.0)
    with pytest.raises(InvalidParameterError):
        det.update(0.0)


def test_warning_comes_before_drift_on_a_gradual_rise() -> None:
    rng = np.random.default_rng(11)
    rate = np.concatenate([np.full(5000, 0.1), np.linspace(0.1, 0.5, 3000)])
    errors = rng.random(rate.shape[0]) < rate
    for det in (DDM(), HDDM()):
        warned, drifted = None, None
        for i, e in enumerate(errors):
            det.update(e)
            if det.warning_detected and warned is None:
                warned = i
            if det.drift_detected:
                drifted = i
                break
        assert warned is not None
        assert drifted is not None
        assert warned < drifted, type(det).__name__


def test_pickle_round_trip_keeps_state() -> None:
    rng = np.random.default_rng(8)
    stream = np.concatenate([rng.normal(0, 1, 3000), rng.normal(1, 1, 1000)])
    det = ADWIN()
    det.update_many(stream[:1500])
    det.update(0.1)  # leave values in ADWIN's between-checks buffer
    copy = pickle.loads(pickle.dumps(det))
    assert copy.width == det.width
    assert copy.estimation == det.estimation
    assert (
        copy.update_many(stream[1501:]).tolist()
        == det.update_many(stream[1501:]).tolist()
    )


def test_adwin_width_and_estimation() -> None:
    det = ADWIN()
    for x in (1.0, 2.0, 3.0):
        det.update(x)
    assert det.width == 3
    assert det.estimation == pytest.approx(2.0)


def test_kswin_p_value_matches_scipy() -> None:
    from scipy import stats

    rng = np.random.default_rng(2)
    stream = rng.normal(0, 1, 150)
    stream[120:] += 0.8
    det = KSWIN(window_size=100, stat_size=30, alpha=0.005)
    assert det.p_value is None
    for i, x in enumerate(stream):
        det.update(x)
        if i >= 99:
            window = stream[i - 99 : i + 1]
            expected = stats.ks_2samp(window[:70], window[70:], method="exact").pvalue
            assert det.p_value == expected
            assert det.drift_detected == (expected <= 0.005)
            if det.drift_detected:
                break
    assert det.drift_detected  # the 0.8 σ shift at 120 is found
