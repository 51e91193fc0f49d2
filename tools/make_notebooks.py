"""Write the notebooks this script owns (quickstart, continuous training, the loop on
your own pipeline) from source.

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
        "    holdout_fraction=0.5,  # two 120-row batches give the 100 held-out rows\n"
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


OWN_PIPELINE = [
    (
        "md",
        "# The loop on your own pipeline\n\n"
        "`ContinuousTraining` on a pipeline with a **featurise** step (raw census-like "
        "columns → model features → a scaled logistic regression) and on generated "
        "adult-census-like data — not the demo's digits. Everything goes through public "
        "names, and everything lives in a temporary folder.",
    ),
    (
        "code",
        "import os, tempfile\nimport numpy as np\nimport pandas as pd\n\n"
        "SMALL = os.environ.get('MLOPSKIT_NOTEBOOK_SMALL') == '1'\n"
        "root = tempfile.mkdtemp(prefix='mlopskit-own-pipeline-')\n"
        "OCCUPATIONS = ['clerical', 'craft', 'professional', 'sales', 'service']\n\n"
        "def people(n, *, seed, older=False):\n"
        '    """Adult-census-like rows; the label is whether income exceeds 50k."""\n'
        "    rng = np.random.default_rng(seed)\n"
        "    age = rng.normal(55 if older else 38, 9, n).clip(17, 90).round()\n"
        "    hours = rng.normal(40, 10, n).clip(1, 99).round()\n"
        "    education = rng.integers(6, 21, n)\n"
        "    gain = np.where(rng.random(n) < 0.1, rng.lognormal(8, 1, n), 0.0).round()\n"
        "    occupation = rng.choice(OCCUPATIONS, n, p=[0.2, 0.2, 0.25, 0.2, 0.15])\n"
        "    # Earnings rise to mid-career; past 50 they fall with age.\n"
        "    score = (0.35 * (education - 12) + 0.04 * (hours - 40) + 0.0004 * gain\n"
        "             + 0.08 * np.minimum(age - 38, 12) - 0.25 * np.maximum(age - 50, 0)\n"
        "             + 0.8 * (occupation == 'professional') - 0.5)\n"
        "    label = (rng.random(n) < 1 / (1 + np.exp(-score))).astype(int)\n"
        "    return pd.DataFrame({'age': age, 'hours_per_week': hours,\n"
        "                         'education_years': education, 'capital_gain': gain,\n"
        "                         'occupation': pd.Categorical(occupation, categories=OCCUPATIONS),\n"
        "                         'income_over_50k': label})\n\n"
        "boot = people(1500, seed=0)\nboot.head()",
    ),
    (
        "md",
        "## The training pipeline: featurise, then fit\n\n"
        "`featurise` is row-wise (it uses no statistics of the data, and fixed "
        "categories, so a batch that lacks a level still gets every column); the scaler "
        "is inside the model, so it is fitted once and travels with it. The label column "
        "passes through when it is there — production batches have none.",
    ),
    (
        "code",
        "from sklearn.linear_model import LogisticRegression\n"
        "from sklearn.pipeline import make_pipeline\n"
        "from sklearn.preprocessing import StandardScaler\n\n"
        "def featurise(data):\n"
        "    out = pd.DataFrame({'age': data['age'], 'hours_per_week': data['hours_per_week'],\n"
        "                        'education_years': data['education_years'],\n"
        "                        'log_gain': np.log1p(data['capital_gain'])}, index=data.index)\n"
        "    occupation = pd.Categorical(data['occupation'], categories=OCCUPATIONS)\n"
        "    dummies = pd.get_dummies(occupation, prefix='occ', dtype=float)\n"
        "    dummies.index = data.index\n"
        "    out = out.join(dummies)\n"
        "    if 'income_over_50k' in data:\n"
        "        out['income_over_50k'] = data['income_over_50k']\n"
        "    return out\n\n"
        "def model(featurise):\n"
        "    X, y = featurise.drop(columns='income_over_50k'), featurise['income_over_50k']\n"
        "    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y)",
    ),
    (
        "md",
        "## The loop\n\n"
        "The schema is inferred, then edited to the columns' real limits. The training "
        "window is the newest 600 labelled rows: a model retrained after a shift learns "
        "mostly from the new population.",
    ),
    (
        "code",
        "from mlopskit.drift import LabelDrift, TabularDrift\n"
        "from mlopskit.loop import ContinuousTraining, HoldoutGate, Monitor\n"
        "from mlopskit.pipeline import Pipeline\n"
        "from mlopskit.schema import Schema\n\n"
        "schema = (Schema.infer(boot.drop(columns='income_over_50k'))\n"
        "          .with_column('age', ge=17, le=90).with_column('hours_per_week', ge=1, le=99)\n"
        "          .with_column('capital_gain', ge=0, le=1e6)\n"
        "          .with_column('education_years', ge=1, le=25))\n"
        "loop = ContinuousTraining(\n"
        "    Pipeline([featurise, model], name='census-training'),\n"
        "    registry=f'{root}/registry', store=f'{root}/store', model_name='census',\n"
        "    target='income_over_50k', schema=schema,\n"
        "    monitors=[Monitor(TabularDrift(alpha=0.01), on='features'),\n"
        "              Monitor(LabelDrift(alpha=0.01), on='predictions')],\n"
        "    gates=[HoldoutGate()],\n"
        "    training_window=600,\n"
        ")\n"
        "event = loop.bootstrap(boot)\nprint(event.features_step)\nevent.reasons",
    ),
    (
        "md",
        "The loop found the features step itself: the model cannot score the raw "
        "columns, it can score `featurise`'s output. Every monitor on predictions, the "
        "performance score and the gates run raw batch → featurise → model.\n\n"
        "## A stream: clean, a broken export, an older population",
    ),
    (
        "code",
        "n = 200 if SMALL else 400\n"
        "stream = [('clean', people(n, seed=1)), ('clean', people(n, seed=2)),\n"
        "          ('missing column', people(n, seed=3).drop(columns='capital_gain'))]\n"
        "stream += [(f'older-{i}', people(n, seed=10 + i, older=True)) for i in range(1, 7)]\n"
        "for name, batch in stream:\n"
        "    event = loop.observe(batch)  # the label column is taken as the labels\n"
        "    print(f'{name:<15} {event.decision:<19}', '; '.join(event.reasons)[:160])",
    ),
    (
        "md",
        "The older population drifts the features and the predictions at once; the loop "
        "gathers 100 held-out rows from that batch on, retrains once, and compares the "
        "candidate with production on the same rows. It promotes only a candidate better "
        "at 95 % confidence: with the small batches of a CI run the first candidate is "
        "not, and production stays until the window holds enough of the new population; "
        "with full-size batches the first retrain is promoted. Either way the monitors "
        "that fired are disarmed until they see a clean batch, and a cooldown follows "
        "every retrain — no storm.",
    ),
    (
        "code",
        "loop.history()[['seq', 'decision', 'triggers', 'suppressed', 'performance',\n"
        "                'baseline', 'holdout_rows', 'gain', 'gain_low', 'gain_high']]",
    ),
    (
        "code",
        "decided = [e for e in loop.events() if e.comparison is not None]\n"
        "for e in decided:\n"
        "    print(e.decision, '—', next(g.reason for g in e.gates if g.gate == 'holdout'))",
    ),
    (
        "md",
        "## Bad input\n\n"
        "Labels of the wrong length are refused before anything is written; a batch "
        "with an undeclared column is quarantined, naming it.",
    ),
    (
        "code",
        "from mlopskit.errors import BatchError\n\n"
        "batch = people(50, seed=99)\n"
        "try:\n"
        "    loop.observe(batch.drop(columns='income_over_50k'), labels=[1, 0])\n"
        "except BatchError as err:\n"
        "    print('refused:', err.column, '-', err)\n"
        "loop.observe(batch.assign(zip_code='02139')).reasons[0]",
    ),
]


def main() -> None:
    for name, cells in (
        ("quickstart.ipynb", QUICKSTART),
        ("continuous_training.ipynb", LOOP),
        ("loop_own_pipeline.ipynb", OWN_PIPELINE),
    ):
        nbformat.write(_nb(cells), HERE / name)
        print("wrote", HERE / name)


if __name__ == "__main__":
    main()
