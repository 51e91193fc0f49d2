"""Write the per-block tutorial notebooks (versioning, registry, drift) from source.

Each tutorial is what a newcomer runs top to bottom on their first hour with a block,
through public names only; the test suite executes them (nbmake). Outputs are never
committed. Run: ``python tools/make_tutorials.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

# The notebook builder is shared with the sibling script (tools/ is not a package).
sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_notebooks import HERE, _nb

VERSIONING = [
    (
        "md",
        "# Versioning data and files\n\n"
        "`mlopskit.versioning` names everything by its content: a digest that is the same "
        "on every machine, every Python process and every pandas version. On that rests "
        "a content-addressed store (one copy of each object, every read verified) and "
        "dataset versions with diffs. Everything here lives in a temporary folder.",
    ),
    (
        "code",
        "import tempfile\nfrom pathlib import Path\n\n"
        "import numpy as np\nimport pandas as pd\n"
        "from sklearn.datasets import load_wine\n\n"
        "from mlopskit.versioning import ContentStore, diff_datasets, fingerprint, "
        "hash_path, snapshot\n\n"
        "work = Path(tempfile.mkdtemp())\n"
        "wine = load_wine(as_frame=True).frame\nwine.shape",
    ),
    (
        "md",
        "## Fingerprints\n\nA fingerprint depends on the values, the column names and "
        "the dtypes — not on memory layout, the index's object identity or the "
        "process. Reordering columns is a change; copying is not.",
    ),
    (
        "code",
        "digest = fingerprint(wine)\n"
        "assert fingerprint(wine.copy()) == digest\n"
        "assert fingerprint(wine[wine.columns[::-1]]) != digest\n"
        "edited = wine.copy()\nedited.iloc[0, 0] += 0.01\n"
        "assert fingerprint(edited) != digest\n"
        "digest",
    ),
    (
        "md",
        "Files and folders have digests too: a folder's is that of a sorted manifest "
        "of its files, and unchanged files are not re-read the second time.",
    ),
    (
        "code",
        "raw = work / 'raw'\nraw.mkdir()\n"
        "wine.iloc[:100].to_csv(raw / 'part-1.csv', index=False)\n"
        "wine.iloc[100:].to_csv(raw / 'part-2.csv', index=False)\n"
        "before = hash_path(raw)\n"
        "(raw / 'part-2.csv').write_text('changed\\n')\n"
        "assert hash_path(raw) != before\nbefore",
    ),
    (
        "md",
        "## The content store\n\n`put` stores an object under its fingerprint (a second "
        "`put` of the same content writes nothing); `get` checks the digest before it "
        "returns anything, so a corrupted object is an error, never a wrong answer.",
    ),
    (
        "code",
        "store = ContentStore(str(work / 'store'))\n"
        "key = store.put(wine)\n"
        "assert key == digest and store.put(wine.copy()) == key\n"
        "back = store.get(key)\n"
        "assert back.equals(wine)\n"
        "store.verify().ok",
    ),
    (
        "md",
        "## Dataset versions and diffs\n\n`snapshot` records the next version of a "
        "named dataset (its parent, its metadata); unchanged data records nothing new. "
        "`diff_datasets` says what changed between two versions, row by row when "
        "rows have a key.",
    ),
    (
        "code",
        "wine = wine.reset_index(names='id')\n"
        "v1 = snapshot(wine, store, name='wine', meta={'source': 'sklearn'})\n"
        "update = wine.copy()\n"
        "update.loc[update['id'] < 5, 'alcohol'] += 1.0\n"
        "update = update[update['id'] != 10]\n"
        "v2 = snapshot(update, store, name='wine')\n"
        "assert snapshot(update, store, name='wine') == v2  # unchanged: same record\n"
        "[(v.version, v.rows) for v in store.versions('wine')]",
    ),
    (
        "code",
        "diff = diff_datasets(v1.load(store), v2.load(store), key='id')\n"
        "assert (diff.n_changed, diff.n_removed, diff.n_added) == (5, 1, 0)\n"
        "diff.changed.head()",
    ),
]


REGISTRY = [
    (
        "md",
        "# A model registry in a folder\n\n"
        "`mlopskit.registry.ModelRegistry` keeps model versions, aliases "
        "(`production`, `staging` …), metrics and lineage on any filesystem: a local "
        "folder here, `s3://…` for a team. Every alias move is in an audit log, every "
        "load is checked against the stored digest, and promotion can be gated.",
    ),
    (
        "code",
        "import tempfile\n\n"
        "from sklearn.datasets import load_breast_cancer\n"
        "from sklearn.linear_model import LogisticRegression\n"
        "from sklearn.model_selection import train_test_split\n"
        "from sklearn.pipeline import make_pipeline\n"
        "from sklearn.preprocessing import StandardScaler\n\n"
        "from mlopskit.registry import ModelRegistry, metric_not_worse\n\n"
        "X, y = load_breast_cancer(return_X_y=True, as_frame=True)\n"
        "X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)\n"
        "registry = ModelRegistry(tempfile.mkdtemp())",
    ),
    (
        "md",
        "## Register two versions\n\nA version records the model, its metrics and "
        "free-form tags; numbering is claimed atomically, so two processes "
        "registering at once get two different numbers.",
    ),
    (
        "code",
        "def train(C):\n"
        "    model = make_pipeline(StandardScaler(), LogisticRegression(C=C))\n"
        "    model.fit(X_train, y_train)\n"
        "    return model, {'accuracy': model.score(X_test, y_test)}\n\n"
        "model_1, metrics_1 = train(C=0.001)\n"
        "mv1 = registry.register('cancer', model_1, metrics=metrics_1)\n"
        "model_2, metrics_2 = train(C=1.0)\n"
        "mv2 = registry.register('cancer', model_2, metrics=metrics_2)\n"
        "registry.list_versions('cancer')[['version', 'metrics.accuracy']]",
    ),
    (
        "md",
        "## Promote through a gate\n\n`promote` moves an alias only when every gate "
        "passes; a refusal changes nothing and says why.",
    ),
    (
        "code",
        "gate = metric_not_worse('accuracy')\n"
        "registry.promote('cancer', mv1.version, gates=[gate])\n"
        "promotion = registry.promote('cancer', mv2.version, gates=[gate])\n"
        "registry.get_version('cancer', alias='production').version",
    ),
    (
        "md",
        "## Load by alias, and read the audit log\n\nThe loaded model is checked "
        "against the digest recorded at registration before it is returned.",
    ),
    (
        "code",
        "production = registry.load('cancer', alias='production')\n"
        "assert production.score(X_test, y_test) == metrics_2['accuracy']\n"
        "registry.history('cancer').to_frame()[['kind', 'version', 'alias', 'reason']]",
    ),
]


DRIFT = [
    (
        "md",
        "# Detecting drift\n\n"
        "`mlopskit.drift` detectors follow scikit-learn's shape: `fit(reference)`, then "
        "`detect(batch)` returns a result with a p-value and a decision at `alpha`. "
        "Under no shift a detector alarms at rate `alpha`; that is the promise every "
        "detector is tested against. This tutorial uses the wine data set.",
    ),
    (
        "code",
        "import numpy as np\nimport pandas as pd\n"
        "from sklearn.datasets import load_wine\n\n"
        "from mlopskit.drift import ADWIN, KSDrift, LabelDrift, MMDDrift, TabularDrift\n\n"
        "rng = np.random.default_rng(0)\n"
        "wine = load_wine(as_frame=True).frame.sample(frac=1.0, random_state=0)\n"
        "features = wine.drop(columns='target')\n"
        "reference, batch = features.iloc[:90], features.iloc[90:]\n"
        "len(reference), len(batch)",
    ),
    (
        "md",
        "## One test per column\n\n`TabularDrift` picks a test per column from its "
        "type and corrects for testing many columns (Bonferroni by default), so the "
        "whole table alarms at most at rate `alpha` under no shift.",
    ),
    (
        "code",
        "detector = TabularDrift(alpha=0.05).fit(reference)\n"
        "clean = detector.detect(batch)\n"
        "shifted = batch.assign(alcohol=batch['alcohol'] + 0.5)\n"
        "result = detector.detect(shifted)\n"
        "assert result.drift\n"
        "clean.drift, result.drift, result.features.sort_values('p_value').head(3)",
    ),
    (
        "md",
        "## A multivariate test\n\n`MMDDrift` compares the joint distribution (a "
        "kernel two-sample test with a permutation p-value): it sees a shift that is "
        "small in every column but shared by many.",
    ),
    (
        "code",
        "scaled = (features - features.mean()) / features.std()\n"
        "mmd = MMDDrift(n_permutations=200, random_state=0).fit(scaled.iloc[:90])\n"
        "diffuse = scaled.iloc[90:] + 0.4\n"
        "mmd.detect(scaled.iloc[90:]).p_value, mmd.detect(diffuse).p_value",
    ),
    (
        "md",
        "## Prior (label) shift\n\n`LabelDrift` tests whether the class proportions "
        "changed, on true or predicted labels.",
    ),
    (
        "code",
        "labels = wine['target'].to_numpy()\n"
        "label_drift = LabelDrift().fit(labels[:90])\n"
        "only_two = labels[90:][labels[90:] != 0]\n"
        "label_drift.detect(labels[90:]).drift, label_drift.detect(only_two).drift",
    ),
    (
        "md",
        "## Streaming\n\nStreaming detectors follow river's shape: `update(x)` per "
        "value and a `drift_detected` flag; `update_many` gives the same alarms for a "
        "whole array at once.",
    ),
    (
        "code",
        "stream = np.concatenate([rng.normal(0, 1, 2000), rng.normal(1.5, 1, 2000)])\n"
        "alarms = ADWIN().update_many(stream)\n"
        "assert len(alarms) and alarms[0] >= 2000\n"
        "alarms[:3]",
    ),
]


def main() -> None:
    for name, cells in (
        ("versioning_tutorial.ipynb", VERSIONING),
        ("registry_tutorial.ipynb", REGISTRY),
        ("drift_tutorial.ipynb", DRIFT),
    ):
        nbformat.write(_nb(cells), HERE / name)
        print("wrote", HERE / name)


if __name__ == "__main__":
    main()
