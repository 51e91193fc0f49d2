"""Write the notebooks this script owns (quickstart, continuous training) from source.

The notebooks are generated so their code stays reviewable as Python; outputs are
never committed. Run: ``python tools/make_notebooks.py``.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent.parent / "notebooks"


def _nb(cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [
        nbformat.v4.new_markdown_cell(src)
        if kind == "md"
        else nbformat.v4.new_code_cell(src)
        for kind, src in cells
    ]
    return nb


QUICKSTART = [
    (
        "md",
        "# mlopskit in ten minutes\n\nEvery block on one small dataset: version it, "
        "check it, train through a cached pipeline, register and promote the model, watch "
        "for drift, and simulate a rollout. Everything lives in a temporary folder.",
    ),
    (
        "code",
        "import os, tempfile\nimport numpy as np\nimport pandas as pd\n"
        "from sklearn.datasets import load_breast_cancer\n\n"
        "SMALL = os.environ.get('MLOPSKIT_NOTEBOOK_SMALL') == '1'\n"
        "root = tempfile.mkdtemp(prefix='mlopskit-quickstart-')\n"
        "frame = load_breast_cancer(as_frame=True).frame\n"
        "train, prod = frame.iloc[:400], frame.iloc[400:]\nframe.shape",
    ),
    (
        "md",
        "## 1. Versioning: content identity\n\nA digest names content, whatever process, "
        "machine or pandas version computes it. Stored objects are verified on every read.",
    ),
    (
        "code",
        "from mlopskit.versioning import ContentStore, diff_datasets, fingerprint, snapshot\n\n"
        "store = ContentStore(f'{root}/store')\n"
        "v1 = snapshot(train, store, name='cancer')\n"
        "v2 = snapshot(frame, store, name='cancer')\n"
        "print(v1.digest == fingerprint(train), [v.version for v in store.versions('cancer')])\n"
        "diff_datasets(train, frame)",
    ),
    ("md", "## 2. Schema: infer, then tighten"),
    (
        "code",
        "from mlopskit.schema import Schema\n\n"
        "features = train.drop(columns='target')\n"
        "schema = Schema.infer(features).with_column('mean radius', ge=0.0, le=40.0)\n"
        "bad = prod.drop(columns='target').copy()\n"
        "bad.iloc[:3, 0] = -1.0\n"
        "report = schema.validate(bad)\n"
        "print(report.ok)\nreport.failures.head()",
    ),
    ("md", "## 3. Pipeline: plain functions, cached"),
    (
        "code",
        "from sklearn.linear_model import LogisticRegression\nfrom sklearn.pipeline import make_pipeline\n"
        "from sklearn.preprocessing import StandardScaler\nfrom mlopskit.pipeline import Pipeline\n\n"
        "def X(data):\n    return data.drop(columns='target')\n\n"
        "def y(data):\n    return data['target']\n\n"
        "def model(X, y, C: float = 1.0):\n"
        "    return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=1000)).fit(X, y)\n\n"
        "def accuracy(model, X, y):\n    return float((model.predict(X) == y).mean())\n\n"
        "pipe = Pipeline([X, y, model, accuracy], name='cancer')\n"
        "first = pipe.run({'data': train}, cache=store)\n"
        "again = pipe.run({'data': train}, cache=store)\n"
        "print({n: s.status for n, s in first.steps.items()})\n"
        "print({n: s.status for n, s in again.steps.items()})",
    ),
    ("md", "## 4. Registry: versions, aliases, gates"),
    (
        "code",
        "from mlopskit.registry import ModelRegistry, metric_not_worse\n\n"
        "registry = ModelRegistry(f'{root}/registry')\n"
        "fitted = pipe.run({'data': train}, targets=['model', 'accuracy'], cache=store)\n"
        "mv = registry.register('cancer', fitted.outputs['model'],\n"
        "                       metrics={'accuracy': fitted.outputs['accuracy']},\n"
        "                       lineage=fitted, input_schema=schema)\n"
        "registry.promote('cancer', mv.version, gates=[metric_not_worse('accuracy')])\n"
        "production = registry.load('cancer', alias='production')\n"
        "registry.list_versions('cancer')",
    ),
    ("md", "## 5. Drift: batch and streaming"),
    (
        "code",
        "from mlopskit.drift import PageHinkley, TabularDrift\n\n"
        "detector = TabularDrift().fit(features)\n"
        "shifted = prod.drop(columns='target').assign(**{'mean radius': lambda d: d['mean radius'] * 1.3})\n"
        "print(detector.detect(prod.drop(columns='target')).drift, detector.detect(shifted).drift)\n"
        "errors = np.r_[np.random.default_rng(0).random(500) < 0.05, np.random.default_rng(1).random(500) < 0.3].astype(float)\n"
        "print('alarms at', PageHinkley().update_many(errors))",
    ),
    ("md", "## 6. Rollout: simulate before you ship"),
    (
        "code",
        "from mlopskit.rollout import Canary, ModelBehavior, SequentialTest, Traffic, simulate\n\n"
        "result = simulate(Canary(), baseline=ModelBehavior(error_rate=0.005),\n"
        "                  candidate=ModelBehavior(error_rate=0.015), traffic=Traffic(rps=1000),\n"
        "                  judge=SequentialTest(alpha=0.05), n_runs=50 if SMALL else 400, random_state=0)\n"
        "result.summary.set_index('metric').loc[['rolled_back', 'time_to_detect_s', 'bad_requests_served']]",
    ),
]

LOOP = [
    (
        "md",
        "# The continuous-training loop\n\nThe demo scenario of `mlopskit demo`, step by "
        "step: bootstrap a digits classifier, then production batches — clean, corrupt, "
        "covariate shift (sensor noise), prior shift (only four digits). Each call returns a "
        "`LoopEvent` with its reasons.",
    ),
    (
        "code",
        "import tempfile\nfrom mlopskit.drift import LabelDrift, TabularDrift\n"
        "from mlopskit.loop import ContinuousTraining, HoldoutGate, Monitor, RolloutCheck\n"
        "from mlopskit.loop.demo import demo_pipeline, demo_scenario, demo_schema\n"
        "from mlopskit.registry import ModelRegistry, metric_not_worse\n\n"
        "root = tempfile.mkdtemp(prefix='mlopskit-loop-')\n"
        "boot, batches = demo_scenario()\n"
        "loop = ContinuousTraining(\n"
        "    demo_pipeline(),\n"
        "    registry=ModelRegistry(f'{root}/registry'),\n"
        "    model_name='digits',\n"
        "    monitors=[Monitor(TabularDrift(alpha=0.01), on='features'),\n"
        "              Monitor(LabelDrift(alpha=0.01), on='predictions')],\n"
        "    gates=[HoldoutGate(), metric_not_worse('accuracy', tolerance=0.05)],\n"
        "    rollout=RolloutCheck(n_runs=50, random_state=0),\n"
        "    store=f'{root}/store',\n"
        "    schema=demo_schema(boot),\n"
        ")\n"
        "loop.bootstrap(boot).summary()",
    ),
    ("md", "Feed the production batches; print what the loop decided and why."),
    (
        "code",
        "for batch in batches:\n"
        "    event = loop.observe(batch.features, labels=batch.labels)\n"
        "    print(f'{batch.name:<8}', event.summary()[:200])",
    ),
    (
        "md",
        "The history is rebuilt from the store alone — a new loop object on the same "
        "folder would show the same table and carry on from the last event.",
    ),
    (
        "code",
        "loop.history()[['seq', 'decision', 'drifting_monitors', 'triggers', "
        "'candidate_version', 'candidate_score', 'production_score', 'production_version']]",
    ),
    (
        "md",
        "The registry's audit log records every alias move, with the gates' reasons.",
    ),
    ("code", "loop.registry.history('digits').to_frame()"),
    ("md", "The HTML report `mlopskit demo` writes, rendered inline."),
    (
        "code",
        "from IPython.display import HTML\nfrom mlopskit.loop import report\n"
        "HTML(report(loop))",
    ),
]


def main() -> None:
    for name, cells in (
        ("quickstart.ipynb", QUICKSTART),
        ("continuous_training.ipynb", LOOP),
    ):
        nbformat.write(_nb(cells), HERE / name)
        print("wrote", HERE / name)


if __name__ == "__main__":
    main()
