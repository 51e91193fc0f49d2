"""Every exception mlopskit raises on purpose.

One root, :class:`MlopsKitError`, so ``except MlopsKitError`` catches anything the
library raises deliberately. Each subclass also inherits the builtin it refines, so
code written against the builtins keeps working (``except ValueError`` catches a
:class:`SchemaError`, ``except LookupError`` an :class:`ObjectNotFoundError`).

The tree::

    MlopsKitError
     ├─ InvalidParameterError (ValueError)      a parameter has a bad type or value
     ├─ NotFittedError (AttributeError)         a method needs ``fit`` first
     ├─ OptionalDependencyError (ImportError)   an optional extra is not installed
     ├─ VersioningError                         versioning: hashes, the content store
     │   ├─ FingerprintError (TypeError)        no fingerprint handler for a type
     │   ├─ IntegrityError (ValueError)         stored bytes do not match their digest
     │   │   └─ TamperedObjectError             a signed store's signature is missing or wrong
     │   ├─ ObjectNotFoundError (LookupError)   no object with that digest / version
     │   ├─ StoreError (OSError)                the store's storage failed or is unusable
     │   └─ UntrustedFormatError (ValueError)   storing or loading it needs pickle, not trusted
     ├─ SchemaError (ValueError)                a schema or its input is malformed
     │   └─ SchemaValidationError               data failed validation (carries the report)
     ├─ PipelineError                           pipeline: definition and execution
     │   ├─ PipelineDefinitionError (ValueError) a cycle, missing input, duplicate name …
     │   ├─ RunNotFoundError (LookupError)      no saved run with that id in the store
     │   ├─ StepFailedError (RuntimeError)      a step raised (carries the run record)
     │   └─ UncacheableOutputError (TypeError)  a step's output cannot be stored
     ├─ RegistryError (ValueError)              registry: bad names, refused writes
     │   ├─ RegistryLookupError (LookupError)   unknown model, version or alias
     │   └─ PromotionRefusedError               a promotion gate failed
     ├─ DriftError                              drift detection
     │   ├─ DriftInputError (ValueError)        NaN, wrong shape or columns, too few rows
     │   │   └─ LabelTypeError (TypeError)       labels mix types that cannot be ordered
     │   ├─ DriftStatisticError (ArithmeticError) a statistic came out NaN/inf (never drift)
     │   └─ DatasetUnavailableError (LookupError) a benchmark dataset is not on disk
     ├─ RolloutError (ValueError)               rollout simulation: bad scenario
     └─ LoopError (RuntimeError)                the continuous-training loop
         ├─ BatchError (InvalidParameterError)  a production batch the loop refuses
         ├─ InferencePathError                  the model cannot score data through the pipeline
         ├─ LoopBusyError                       another worker holds the loop's next step
         └─ LoopConfigError (ValueError)        the loop's definition differs from the stored one

One warning: :class:`PickleTrustWarning` (``MlopsKitError`` and ``UserWarning``),
emitted when a store pickles an object because the caller trusted pickle; filter it
by class (``warnings.filterwarnings("ignore", category=PickleTrustWarning)``).

Every exception carries its context as attributes (keyword arguments of the
constructor) and survives pickling, because pipeline steps and benchmark runs cross
process boundaries.

Examples
--------
>>> from mlopskit.errors import MlopsKitError, IntegrityError
>>> err = IntegrityError("object abc is corrupt", digest="abc")
>>> isinstance(err, MlopsKitError), isinstance(err, ValueError), err.digest
(True, True, 'abc')
>>> import pickle
>>> pickle.loads(pickle.dumps(err)).digest
'abc'
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "BatchError",
    "DatasetUnavailableError",
    "DriftError",
    "DriftInputError",
    "DriftStatisticError",
    "FingerprintError",
    "InferencePathError",
    "IntegrityError",
    "InvalidParameterError",
    "LabelTypeError",
    "LoopBusyError",
    "LoopConfigError",
    "LoopError",
    "MlopsKitError",
    "NotFittedError",
    "ObjectNotFoundError",
    "OptionalDependencyError",
    "PickleTrustWarning",
    "PipelineDefinitionError",
    "PipelineError",
    "PromotionRefusedError",
    "RegistryError",
    "RegistryLookupError",
    "RolloutError",
    "RunNotFoundError",
    "SchemaError",
    "SchemaValidationError",
    "StepFailedError",
    "StoreError",
    "TamperedObjectError",
    "UncacheableOutputError",
    "UntrustedFormatError",
    "VersioningError",
]


def _rebuild(cls: type[MlopsKitError], message: str, context: dict[str, Any]) -> Any:
    return cls(message, **context)


class MlopsKitError(Exception):
    """Root of every exception raised on purpose by mlopskit.

    Parameters
    ----------
    message
        What was wrong, what was expected, and how to fix it.
    **context
        Structured context (a digest, a step name, a report …), kept as attributes.
    """

    def __init__(self, message: str = "", **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.context = context
        for key, value in context.items():
            setattr(self, key, value)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.message, self.context))

    def __str__(self) -> str:
        return self.message


class InvalidParameterError(MlopsKitError, ValueError):
    """A parameter has an invalid type or value."""


class NotFittedError(MlopsKitError, AttributeError):
    """A method that needs fitted state was called before ``fit``."""


class OptionalDependencyError(MlopsKitError, ImportError):
    """A feature needs an optional extra that is not installed."""


# --- versioning -------------------------------------------------------------------


class VersioningError(MlopsKitError):
    """Base of the versioning block's errors."""


class FingerprintError(VersioningError, TypeError):
    """``fingerprint`` has no handler for an object's type."""


class IntegrityError(VersioningError, ValueError):
    """Stored bytes do not match their recorded digest (tampered or truncated)."""


class ObjectNotFoundError(VersioningError, LookupError):
    """No stored object or dataset version has the requested digest or name."""


class StoreError(VersioningError, OSError):
    """The store's underlying filesystem failed or cannot be used."""


class TamperedObjectError(IntegrityError):
    """A signed store met an object or record whose signature is missing or wrong.

    Raised before anything is deserialised; ``name`` says which object or record.
    """


class UntrustedFormatError(VersioningError, ValueError):
    """Storing or loading an object needs a format the caller did not allow.

    ``put`` raises it for an object only pickle can store (``type_name`` says which);
    ``get`` for a stored object whose codec is not allowed (``codec``), before
    anything is deserialised. Opt in with ``trust_pickle=True`` for sources you trust.
    """


class PickleTrustWarning(MlopsKitError, UserWarning):
    """An object was pickled because the caller trusted pickle (a ``UserWarning``).

    It derives from :class:`MlopsKitError` too, like every name in this module, so it
    carries context and pickles; filter it by class.
    """


# --- schema -----------------------------------------------------------------------


class SchemaError(MlopsKitError, ValueError):
    """A schema, or the input handed to one, is malformed."""


class SchemaValidationError(SchemaError):
    """Data failed schema validation; ``report`` holds every failure."""


# --- pipeline ---------------------------------------------------------------------


class PipelineError(MlopsKitError):
    """Base of the pipeline block's errors."""


class PipelineDefinitionError(PipelineError, ValueError):
    """The pipeline's graph is invalid (cycle, missing input, duplicate name …)."""


class StepFailedError(PipelineError, RuntimeError):
    """A step raised while the pipeline ran; ``run`` holds the run record."""


class RunNotFoundError(PipelineError, LookupError):
    """No run with the requested id is saved in the store; the message lists some."""


class UncacheableOutputError(PipelineError, TypeError):
    """A step's output cannot be fingerprinted or stored; mark the step ``cache=False``."""


# --- registry ---------------------------------------------------------------------


class RegistryError(MlopsKitError, ValueError):
    """A registry operation was refused (bad name, unstorable model …)."""


class RegistryLookupError(RegistryError, LookupError):
    """An unknown model, version or alias; the message lists what exists."""


class PromotionRefusedError(RegistryError):
    """A promotion gate failed; ``failures`` lists each failing gate and its reason."""


# --- drift ------------------------------------------------------------------------


class DriftError(MlopsKitError):
    """Base of the drift block's errors."""


class DriftInputError(DriftError, ValueError):
    """Input a detector cannot use: NaN or inf, wrong shape, columns or dtypes."""


class LabelTypeError(DriftInputError, TypeError):
    """Labels mix types that cannot be compared, e.g. ``"3"`` and ``3``."""


class DriftStatisticError(DriftError, ArithmeticError):
    """A test statistic or p-value came out NaN or inf; it is never read as drift."""


class DatasetUnavailableError(DriftError, LookupError):
    """A benchmark dataset is not available locally (mlopskit never downloads one)."""


# --- rollout and loop -------------------------------------------------------------


class RolloutError(MlopsKitError, ValueError):
    """A rollout scenario is invalid (unknown field, impossible weights …)."""


class LoopError(MlopsKitError, RuntimeError):
    """The continuous-training loop cannot proceed."""


class BatchError(LoopError, InvalidParameterError):
    """A production batch the loop refuses outright (no rows, labels of the wrong length)."""


class InferencePathError(LoopError):
    """The model cannot score data through the pipeline's inference steps."""


class LoopBusyError(LoopError):
    """Another worker holds the loop's next sequence number (its lease is live)."""


class LoopConfigError(LoopError, ValueError):
    """The loop's definition differs from the one stored at bootstrap."""
