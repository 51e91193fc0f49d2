from __future__ import annotations

import pickle

import pytest

from mlopskit import errors
from mlopskit.errors import MlopsKitError

ALL_ERRORS = [getattr(errors, name) for name in errors.__all__]


@pytest.mark.parametrize("cls", ALL_ERRORS, ids=lambda c: c.__name__)
def test_every_error_derives_from_the_root(cls: type[Exception]) -> None:
    assert issubclass(cls, MlopsKitError)


@pytest.mark.parametrize("cls", ALL_ERRORS, ids=lambda c: c.__name__)
def test_every_error_pickles_with_its_context(cls: type[MlopsKitError]) -> None:
    err = cls("what went wrong and how to fix it", step="train", digest="blake3:ab")
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is cls
    assert str(back) == "what went wrong and how to fix it"
    assert back.step == "train"
    assert back.digest == "blake3:ab"


@pytest.mark.parametrize(
    ("cls", "builtin"),
    [
        (errors.InvalidParameterError, ValueError),
        (errors.NotFittedError, AttributeError),
        (errors.OptionalDependencyError, ImportError),
        (errors.FingerprintError, TypeError),
        (errors.IntegrityError, ValueError),
        (errors.ObjectNotFoundError, LookupError),
        (errors.StoreError, OSError),
        (errors.SchemaValidationError, ValueError),
        (errors.PipelineDefinitionError, ValueError),
        (errors.StepFailedError, RuntimeError),
        (errors.RegistryLookupError, LookupError),
        (errors.DriftInputError, ValueError),
        (errors.LabelTypeError, TypeError),
        (errors.LabelTypeError, ValueError),
        (errors.DriftStatisticError, ArithmeticError),
        (errors.RolloutError, ValueError),
    ],
)
def test_errors_refine_the_builtin(
    cls: type[Exception], builtin: type[Exception]
) -> None:
    assert issubclass(cls, builtin)


def test_tree_in_docstring_names_every_error() -> None:
    assert errors.__doc__ is not None
    for name in errors.__all__:
        assert name in errors.__doc__, f"{name} is missing from the tree in errors.py"
