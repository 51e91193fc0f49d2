"""The HTML report: integers print as integers, tables scroll, figures are embedded."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mlopskit.drift import TabularDrift
from mlopskit.loop import ContinuousTraining, HoldoutGate, report
from mlopskit.pipeline import Pipeline


def model(data: pd.DataFrame) -> object:
    X, y = data.drop(columns="target"), data["target"]
    return make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)


@pytest.fixture(scope="module")
def html() -> str:
    frame = load_wine(as_frame=True).frame.sample(frac=1.0, random_state=1)
    frame = frame.reset_index(drop=True)
    name = f"wine-{np.random.default_rng().integers(1 << 30)}"
    loop = ContinuousTraining(
        Pipeline([model]),
        registry=f"memory://{name}/registry",
        model_name="wine",
        monitors={"features": TabularDrift()},
        gates=[HoldoutGate()],
        store=f"memory://{name}/store",
    )
    loop.bootstrap(frame.iloc[:120])
    batch = frame.iloc[120:]
    loop.observe(batch.drop(columns="target"), labels=batch["target"].to_numpy())
    return report(loop)


def _cells(html: str, header: str) -> list[str]:
    """The cells of one column of the first table that has that header."""
    for table in re.findall(r"<table>.*?</table>", html, flags=re.S):
        heads = re.findall(r"<th>(.*?)</th>", table)
        if header in heads:
            col = heads.index(header)
            rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table, flags=re.S)[1:]
            return [re.findall(r"<td>(.*?)</td>", r)[col] for r in rows]
    raise AssertionError(f"no table has a {header!r} column")


def test_versions_and_sequence_numbers_print_as_integers(html: str) -> None:
    for header in ("seq", "production_version", "version"):
        cells = [c for c in _cells(html, header) if c]
        assert cells, header
        assert all(re.fullmatch(r"\d+", c) for c in cells), (header, cells)


def test_scores_keep_their_decimals(html: str) -> None:
    cells = [c for c in _cells(html, "performance") if c]
    assert cells
    assert all(re.fullmatch(r"\d\.\d{4}", c) for c in cells), cells


def test_every_table_scrolls_in_its_own_box_and_the_page_fits_1280px(html: str) -> None:
    assert html.count("<table>") == html.count("<div class='scroll'><table>") >= 3
    width = re.search(r"max-width: (\d+)px", html)
    assert width is not None
    assert int(width.group(1)) <= 1280


def test_figures_are_embedded_as_png(html: str) -> None:
    pytest.importorskip("matplotlib")
    assert re.search(
        r"<img [^>]*src='data:image/png;base64,[A-Za-z0-9+/=]{100,}'", html
    )
