"""Step contracts with the real mlopskit.schema.Schema."""

from __future__ import annotations

import pandas as pd
import pytest

from mlopskit.errors import SchemaValidationError, StepFailedError
from mlopskit.pipeline import Pipeline, step
from mlopskit.schema import Column, Schema


def test_input_and_output_contracts_with_a_real_schema() -> None:
    adults = Schema(columns={"age": Column(dtype="integer", ge=18)})
    scored = Schema(columns={"score": Column(dtype="float", ge=0, le=1)})

    def people(ages):
        return pd.DataFrame({"age": ages})

    @step(input_schema=adults, output_schema=scored)
    def score(people):
        return pd.DataFrame({"score": people["age"] / 100.0})

    pipe = Pipeline([people, score])
    good = pipe.run({"ages": [20, 40]})
    assert good.ok
    assert list(good.outputs["score"]["score"]) == [0.2, 0.4]

    bad = pipe.run({"ages": [20, 7]})
    rec = bad.steps["score"]
    assert rec.status == "failed"
    assert "input 'people' failed its schema contract" in rec.error_message
    with pytest.raises(StepFailedError) as err:
        bad.raise_for_status()
    cause = err.value.__cause__
    assert isinstance(cause, SchemaValidationError)
    assert cause.report.ok is False
    assert cause.step == "score"

    too_old = pipe.run({"ages": [150]})
    assert too_old.steps["score"].status == "failed"
    assert (
        "its output failed its schema contract" in too_old.steps["score"].error_message
    )
