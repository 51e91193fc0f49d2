"""A model's signature: the input schema inferred from an example, and its output type.

MLflow records a signature (input and output column/tensor specs) inferred from an
input example (``mlflow.models.infer_signature``); mlopskit does the same with its
own :class:`mlopskit.schema.Schema` for the inputs, and records the type, dtype and
shape (rows as ``None``) of what ``predict`` returns on the example's first rows.

What does *not* belong here: storing the signature (the version record).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mlopskit.errors import RegistryError

__all__ = ["infer_signature"]

#: Rows of the example the model predicts on to learn its output type.
_OUTPUT_ROWS = 5


def _output_spec(output: Any) -> dict[str, Any]:
    if isinstance(output, pd.DataFrame):
        return {
            "type": "DataFrame",
            "columns": {str(c): str(t) for c, t in output.dtypes.items()},
            "shape": [None, int(output.shape[1])],
        }
    if isinstance(output, pd.Series):
        return {"type": "Series", "dtype": str(output.dtype), "shape": [None]}
    array = np.asarray(output)
    return {
        "type": type(output).__name__,
        "dtype": str(array.dtype),
        "shape": [None, *(int(n) for n in array.shape[1:])],
    }


def infer_signature(model: Any, example: Any) -> dict[str, Any]:
    """``{"inputs": schema JSON, "outputs": spec or None}`` from an input example.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.linear_model import LinearRegression
    >>> x = pd.DataFrame({"a": [0.0, 1.0, 2.0], "b": [1.0, 0.0, 1.0]})
    >>> sig = infer_signature(LinearRegression().fit(x, [0.0, 1.0, 2.0]), x)
    >>> sig["outputs"]
    {'type': 'ndarray', 'dtype': 'float64', 'shape': [None]}
    """
    from mlopskit.schema import Schema

    if not isinstance(example, pd.DataFrame):
        raise RegistryError(
            "`input_example` must be a pandas DataFrame shaped like the model's input. "
            f"Got {type(example).__name__} instead; wrap an array with "
            "pandas.DataFrame(x, columns=[...]).",
        )
    inputs = Schema.infer(example).to_json(indent=None)
    outputs = None
    predict = getattr(model, "predict", None)
    if callable(predict):
        try:
            outputs = _output_spec(predict(example.head(_OUTPUT_ROWS)))
        except Exception as exc:  # the example does not fit the model: say so
            raise RegistryError(
                f"The model's predict failed on the input example ({type(exc).__name__}: "
                f"{exc}); pass an example with the columns the model was fitted on.",
            ) from exc
    return {"inputs": inputs, "outputs": outputs}
