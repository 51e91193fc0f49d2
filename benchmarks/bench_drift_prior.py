"""Label-shift estimators compared: BBSE, RLLS, MLLS (BCTS) and MLLS (no calibration).

Digits and a synthetic 3-class dataset; the model is trained on one third of the data,
the estimators are fitted on a second third (held-out source), and target samples of
size n are drawn from the last third with Dirichlet(α) class priors (α = 1: moderate,
α = 0.1: severe, often a class knocked out). Reported: mean absolute error of the
estimated priors (sum over classes, i.e. twice the total-variation distance), coverage
of the 95 % intervals, and time per ``detect``. Tables go into docs/drift_prior.md.

    python benchmarks/bench_drift_prior.py [--reps 100]

No peer library estimates label shift (see the research note), so the comparison is
between the three estimators, as in Alexandari et al. (2020).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mlopskit.drift import BBSE, MLLS, RLLS
from mlopskit.drift.benchmark import DirichletLabelShift, load_dataset, make_synthetic


def estimators():
    return {
        "BBSE": ("label", BBSE()),
        "RLLS": ("label", RLLS(n_bootstrap=100, random_state=0)),
        "MLLS (BCTS)": ("proba", MLLS()),
        "MLLS (no calibration)": ("proba", MLLS(calibration="none")),
    }


def run(dataset, model, sizes, alphas, reps, seed=0):
    rng = np.random.default_rng(seed)
    order = rng.permutation(dataset.X.shape[0])
    a, b = order.size // 3, 2 * order.size // 3
    tr, src, tgt = order[:a], order[a:b], order[b:]
    model.fit(dataset.X[tr], dataset.y[tr])
    fitted = {}
    for name, (kind, est) in estimators().items():
        out = (
            model.predict(dataset.X[src])
            if kind == "label"
            else model.predict_proba(dataset.X[src])
        )
        fitted[name] = (kind, est.fit(out, dataset.y[src]))
    rows = []
    k = dataset.n_classes
    for alpha in alphas:
        for n in sizes:
            err = {name: [] for name in fitted}
            cover = {name: [] for name in fitted}
            secs = {name: [] for name in fitted}
            for _ in range(reps):
                X, y = DirichletLabelShift(alpha).sample(
                    dataset.X[tgt], dataset.y[tgt], n, random_state=rng
                )
                truth = np.bincount(y, minlength=k) / n
                labels, proba = model.predict(X), model.predict_proba(X)
                for name, (kind, est) in fitted.items():
                    t0 = time.perf_counter()
                    res = est.detect(labels if kind == "label" else proba)
                    secs[name].append(time.perf_counter() - t0)
                    q = np.array(res.target_priors)
                    err[name].append(np.abs(q - truth).sum())
                    lo, hi = (
                        np.array(res.target_priors_low),
                        np.array(res.target_priors_high),
                    )
                    cover[name].append(np.mean((lo <= truth) & (truth <= hi)))
            rows.extend(
                (
                    alpha,
                    n,
                    name,
                    np.mean(err[name]),
                    np.mean(cover[name]),
                    np.median(secs[name]) * 1e3,
                )
                for name in fitted
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=100)
    args = parser.parse_args()
    cases = [
        (
            "digits",
            "logistic regression",
            load_dataset("digits"),
            make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)),
        ),
        (
            "digits",
            "random forest (miscalibrated)",
            load_dataset("digits"),
            RandomForestClassifier(n_estimators=100, random_state=0),
        ),
        (
            "synthetic (3 classes)",
            "logistic regression",
            make_synthetic(n_samples=6000),
            make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)),
        ),
    ]
    for data_name, model_name, dataset, model in cases:
        rows = run(dataset, model, sizes=(100, 500), alphas=(1.0, 0.1), reps=args.reps)
        print(f"\n### {data_name}, {model_name}\n")
        print(
            "| Dirichlet α | n | estimator | mean abs. error | 95 % interval coverage | ms per detect |"
        )
        print("|---|---|---|---|---|---|")
        for alpha, n, name, err, cov, ms in rows:
            print(f"| {alpha:g} | {n} | {name} | {err:.3f} | {cov:.2f} | {ms:.1f} |")


if __name__ == "__main__":
    main()
