"""Profiles: exact parts, merging (associative, hypothesis), JSON and the content
store, chunked sources (iterators, Parquet, Dask), and bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlopskit.drift import ColumnProfile, Profile, profile
from mlopskit.errors import DriftInputError, InvalidParameterError


def _frame(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """Adult-like mixed data: numbers with missing values, strings, booleans, dates."""
    age = rng.normal(40, 12, n).round()
    age[rng.random(n) < 0.05] = np.nan
    return pd.DataFrame(
        {
            "age": age,
            "hours": rng.integers(1, 80, n),
            "workclass": rng.choice(["private", "self-emp", "gov"], n),
            "married": rng.random(n) < 0.4,
            "seen": pd.Timestamp("2024-01-01", tz="UTC")
            + pd.to_timedelta(rng.integers(0, 86_400 * 365, n), unit="s"),
        }
    )


def _exact_parts(p: Profile) -> list[tuple]:
    return [
        (
            c.name,
            c.kind,
            c.n_rows,
            c.n_missing,
            c.minimum,
            c.maximum,
            c.categories,
            c.counts,
            c.overflowed,
            None if c.sketch is None else c.sketch.n,
        )
        for c in p.columns
    ]


def test_exact_parts_match_pandas() -> None:
    df = _frame(np.random.default_rng(0), 3000)
    p = profile(df)
    assert p.n_rows == 3000
    assert p.names == tuple(df.columns)
    age = p.column("age")
    assert age.kind == "numeric"
    assert age.n_missing == int(df["age"].isna().sum())
    assert age.mean == pytest.approx(df["age"].mean(), rel=1e-12)
    assert age.variance == pytest.approx(df["age"].var(), rel=1e-10)
    assert (age.minimum, age.maximum) == (df["age"].min(), df["age"].max())
    work = p.column("workclass")
    vc = df["workclass"].value_counts().sort_index()
    assert work.categories == tuple(vc.index)
    assert work.counts == tuple(vc.to_numpy())
    married = p.column("married")
    assert married.categories == (False, True)
    assert married.counts == tuple(df["married"].value_counts().sort_index())
    seen = p.column("seen")
    assert seen.kind == "datetime"
    assert seen.n_missing == 0
    assert seen.minimum == pytest.approx(df["seen"].min().value)


def test_chunked_equals_whole_on_exact_parts() -> None:
    df = _frame(np.random.default_rng(1), 5000)
    whole = profile(df)
    chunked = profile(df.iloc[i : i + 700] for i in range(0, len(df), 700))
    assert _exact_parts(whole) == _exact_parts(chunked)
    assert chunked.column("age").mean == pytest.approx(whole.column("age").mean)


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,  # fixed examples: the sketch bound is probabilistic
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    sizes=st.lists(st.integers(1, 400), min_size=3, max_size=3),
    seed=st.integers(0, 2**16),
)
def test_merge_is_associative(sizes: list[int], seed: int) -> None:
    rng = np.random.default_rng(seed)
    frames = [_frame(rng, n) for n in sizes]
    a, b, c = (profile(f, k=16, random_state=i) for i, f in enumerate(frames))
    left, right = a.merge(b).merge(c), a.merge(b.merge(c))
    assert _exact_parts(left) == _exact_parts(right)
    for x, y in zip(left.columns, right.columns, strict=True):
        if x.mean is not None:
            assert x.mean == pytest.approx(y.mean, rel=1e-9, abs=1e-9)
            assert x.m2 == pytest.approx(y.m2, rel=1e-9, abs=1e-6)
    # The sketches are different random compactions of the same data (k = 16, up
    # to 1,200 rows: they do compact); each stays within its own bound.
    hours = np.sort(pd.concat(frames)["hours"].to_numpy().astype(float))
    xs = np.unique(hours)
    true = np.searchsorted(hours, xs, side="right") / len(hours)
    for merged in (left, right):
        sk = merged.column("hours").sketch
        assert sk is not None
        assert sk.n == sum(sizes)
        assert np.abs(sk.cdf(xs) - true).max() <= sk.rank_error()


def test_merge_bounds_hold_against_exact_cdf() -> None:
    rng = np.random.default_rng(3)
    frames = [_frame(rng, int(n)) for n in rng.integers(500, 3000, 9)]
    parts = [profile(f, k=32, random_state=i) for i, f in enumerate(frames)]
    merged = parts[0]
    for part in parts[1:]:
        merged = merged.merge(part)
    hours = np.sort(pd.concat(frames)["hours"].to_numpy().astype(float))
    xs = np.unique(hours)
    true = np.searchsorted(hours, xs, side="right") / len(hours)
    sketch = merged.column("hours").sketch
    assert sketch is not None
    assert np.abs(sketch.cdf(xs) - true).max() <= sketch.rank_error()


def test_json_round_trip_and_content_store() -> None:
    from mlopskit.versioning import ContentStore, fingerprint

    p = profile(_frame(np.random.default_rng(4), 20_000), k=64)
    again = Profile.from_json(p.to_json())
    assert again == p
    assert again.column("married").categories == (False, True)  # bools stay bools
    store = ContentStore("memory://drift-profiles-store")
    # Stored as plain JSON data: the content store's safe JSON codec, no pickle.
    digest = store.put(json.loads(p.to_json()))
    assert Profile.model_validate(store.get(digest)) == p
    assert fingerprint(again) == fingerprint(p)
    assert store.put(json.loads(again.to_json())) == digest  # same content, same key
    raw = store.put_bytes(p.to_json().encode())
    assert Profile.from_json(store.get_bytes(raw)) == p
    other = profile(_frame(np.random.default_rng(5), 20_000), k=64)
    assert fingerprint(other) != fingerprint(p)


def test_missing_values_and_to_frame() -> None:
    df = pd.DataFrame(
        {"x": [1.0, np.nan, np.inf, 4.0], "s": pd.Series(["a", None, "a", "b"])}
    )
    p = profile(df)
    assert p.column("x").n_missing == 2
    assert p.column("x").sketch.n == 2
    assert p.column("s").n_missing == 1
    assert p.column("s").counts == (2, 1)
    frame = p.to_frame()
    assert frame["missing_rate"].tolist() == [0.5, 0.25]
    assert frame.loc[0, "rank_error"] == 0.0


def test_category_cap_policy() -> None:
    df = pd.DataFrame({"id": [f"u{i}" for i in range(50)]})
    p = profile(df, max_categories=10)
    col = p.column("id")
    assert col.overflowed
    assert col.categories == ()
    assert col.n_rows == 50
    small = profile(df.iloc[:6], max_categories=10)
    merged = small.merge(profile(df.iloc[6:12], max_categories=10))
    assert merged.column("id").overflowed  # 12 distinct > 10 after the merge


def test_numpy_array_and_datetime_naive() -> None:
    p = profile(np.arange(12.0).reshape(6, 2))
    assert p.names == ("x0", "x1")
    d = pd.DataFrame({"t": pd.date_range("2024-01-01", periods=5, freq="D")})
    assert profile(d).column("t").kind == "datetime"
    td = profile(pd.DataFrame({"d": pd.to_timedelta([1, 2, None], unit="s")}))
    assert td.column("d").kind == "numeric"
    assert (td.column("d").n_missing, td.column("d").maximum) == (1, 2e9)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (pd.DataFrame({"x": []}), "empty"),
        (pd.DataFrame(index=range(3)), "empty"),
        (pd.DataFrame({"x": ["a", 1, "b"]}), "mixes string and number"),
        (pd.DataFrame({"x": [object(), object()]}), "holds a object"),
        (pd.DataFrame({"x": np.array([1 + 2j, 3j])}), "complex"),
        (pd.Series([1.0, 2.0]), "2-D"),
        (np.arange(3.0), "2-D array"),
        (pd.DataFrame([[1, 2]], columns=["a", "a"]), "duplicate"),
        (42, "accepts a DataFrame"),
        ([np.arange(3.0).reshape(-1, 1), "x"], "must be a DataFrame"),
    ],
)
def test_bad_input_gets_a_specific_error(data: object, match: str) -> None:
    with pytest.raises(DriftInputError, match=match):
        profile(data)


def test_chunks_with_different_columns_or_kinds() -> None:
    a = pd.DataFrame({"x": [1.0, 2.0], "y": [1, 2]})
    with pytest.raises(DriftInputError, match="column 'z'") as err:
        profile(iter([a, a.rename(columns={"y": "z"})]))
    assert err.value.context["column"] == "z"
    with pytest.raises(DriftInputError, match="Column 'y' is categorical"):
        profile(iter([a, a.assign(y=["p", "q"])]))


def test_merge_of_different_schemas_names_the_column() -> None:
    a = profile(pd.DataFrame({"x": [1.0], "y": [2.0]}))
    b = profile(pd.DataFrame({"x": [1.0], "w": [2.0]}))
    with pytest.raises(DriftInputError, match="column 'y'"):
        a.merge(b)
    c = profile(pd.DataFrame({"x": [1.0], "y": ["s"]}))
    with pytest.raises(DriftInputError, match="column 'y'") as err:
        a.merge(c)
    assert err.value.context["column"] == "y"
    d = profile(pd.DataFrame({"x": [1.0], "y": pd.Series([1, 2][:1], dtype=object)}))
    with pytest.raises(DriftInputError, match="strings in one and numbers"):
        c.merge(d)
    with pytest.raises(DriftInputError, match="no column 'nope'"):
        a.column("nope")


@pytest.mark.parametrize("param", ["k", "max_categories", "chunk_size", "split_every"])
def test_invalid_parameters(param: str) -> None:
    with pytest.raises(InvalidParameterError, match=param):
        profile(pd.DataFrame({"x": [1.0]}), **{param: 0 if param != "k" else 4})


def test_parquet_dataset_streamed(tmp_path: object) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(6)
    frames = [_frame(rng, 4000) for _ in range(3)]
    root = tmp_path / "ds"  # type: ignore[operator]
    root.mkdir()
    for i, f in enumerate(frames):
        pq.write_table(
            pa.Table.from_pandas(f), root / f"part-{i}.parquet", row_group_size=1000
        )
    p = profile(root, chunk_size=700)
    whole = profile(pd.concat(frames, ignore_index=True))
    assert _exact_parts(p) == _exact_parts(whole)
    only = profile(str(root), columns=["hours", "workclass"])
    assert only.names == ("hours", "workclass")
    with pytest.raises(DriftInputError, match="Parquet"):
        profile(tmp_path / "missing")  # type: ignore[operator]


def test_dask_dataframe_on_a_local_cluster() -> None:
    dd = pytest.importorskip("dask.dataframe")
    distributed = pytest.importorskip("dask.distributed")
    rng = np.random.default_rng(7)
    df = _frame(rng, 6000).drop(columns=["seen"])
    ddf = dd.from_pandas(df, npartitions=7)
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
    ):
        p = profile(ddf, split_every=3, k=64)
        again = profile(ddf, split_every=3, k=64)
    assert p == again  # same partitions and seed: the same profile
    assert _exact_parts(p) == _exact_parts(profile(df, k=64))
    hours = np.sort(df["hours"].to_numpy().astype(float))
    xs = np.unique(hours)
    true = np.searchsorted(hours, xs, side="right") / len(hours)
    sketch = p.column("hours").sketch
    assert sketch is not None
    assert np.abs(sketch.cdf(xs) - true).max() <= sketch.rank_error()


def test_column_profile_is_a_frozen_result() -> None:
    col = profile(pd.DataFrame({"x": [1.0, 2.0]})).column("x")
    assert isinstance(col, ColumnProfile)
    with pytest.raises(Exception, match="frozen"):
        col.n_rows = 3  # type: ignore[misc]
