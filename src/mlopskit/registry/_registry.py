"""``ModelRegistry``: versions, aliases, lineage and an audit log in a folder or bucket.

Layout below the registry's root (every file is written once, never rewritten)::

    objects/                                  the content store (model artifacts)
    models/<name>/versions/0000000007.json    version 7's record
    models/<name>/aliases/<alias>/0000000003.json   the alias's 3rd move (an audit event)
    models/<name>/archived/0000000002.json    version 2 was archived (an audit event)

- **Versions** are claimed with an exclusive create of the record itself: the writer
  stores the artifact first (content-addressed, so a crash leaves at worst an
  unreferenced object), then creates ``versions/<N>.json``; if another writer got
  there first it moves on to ``N+1`` after a jittered backoff. No number is lost,
  duplicated or reused, and a version is visible only once its record is whole.
- **Aliases** move by compare-and-swap: the alias's state is its highest-numbered
  record; a move creates the next number exclusively, so of two concurrent moves from
  the same state one wins and the other re-reads and retries. The records are the
  audit log: nobody's history is overwritten.

The parts live in ``_base`` (state and reads), ``_versions``, ``_aliases`` and
``_audit``; this module only composes them.

What does *not* belong here: the create-only primitive (``mlopskit.versioning._records``), the
serialisers, name validation, gates.
"""

from __future__ import annotations

from mlopskit.registry._aliases import AliasesMixin
from mlopskit.registry._audit import AuditMixin
from mlopskit.registry._versions import VersionsMixin

__all__ = ["ModelRegistry"]


class ModelRegistry(VersionsMixin, AliasesMixin, AuditMixin):
    """A model registry in a folder or a bucket: no server, no database.

    Parameters
    ----------
    url
        Where the registry lives: a local folder (default ``.mlopskit/registry``),
        ``memory://…`` for tests, or any fsspec URL (``s3://bucket/registry``).
    store
        The :class:`mlopskit.versioning.ContentStore` that holds the artifacts;
        default: one at ``url`` itself (its objects go to ``<url>/objects/``). Pass a
        shared store to deduplicate models with pipeline outputs.
    trust_pickle
        Allow registering and loading models that only pickle can store (default:
        refused). Only for registries nobody untrusted can write to.
    key
        Sign every record and artifact and refuse unsigned ones (see
        :class:`~mlopskit.versioning.ContentStore`); default: the store's key.
    **storage_options
        Passed to fsspec (credentials, ``client_kwargs`` …).

    Notes
    -----
    Safe under concurrency and crashes on every filesystem with exclusive create (local
    folders, ``memory://``, S3 through s3fs): no lost or duplicated version numbers
    across processes and machines, and a process killed at any point leaves either no
    version or a whole one. A model's digest is its :func:`fingerprint` (class,
    parameters and fitted state), so registering the same fitted model twice stores
    one artifact (``ModelVersion.same_as`` lists the earlier versions). Models are
    stored without pickle where possible (scikit-learn estimators with skops, arrays,
    frames, JSON values); other models need ``trust_pickle=True``.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> reg = ModelRegistry("memory://docs/registry")
    >>> model = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    >>> mv = reg.register("churn", model, metrics={"auc": 0.91}, tags={"team": "crm"})
    >>> mv.version
    1
    >>> _ = reg.set_alias("churn", "production", 1, reason="first model")
    >>> reg.load("churn", alias="production").predict([[3.0]])
    array([1])
    >>> reg.list_models()
    ('churn',)
    """
