"""The frozen ``Result`` base that every block's results derive from.

A result is a value: immutable, comparable, printable, renderable in a notebook, and
round-trippable through JSON. Blocks subclass :class:`Result`, declare fields with
tuples (not lists) and, where a field is tabular, annotate it with :data:`Frame` so
that it holds a :class:`pandas.DataFrame` and still serialises to JSON losslessly for
the dtypes results use (numbers, booleans, strings, datetimes).

What does *not* belong here: anything specific to one block.

Examples
--------
>>> import pandas as pd
>>> class Summary(Result):
...     name: str
...     counts: Frame
>>> s = Summary(name="demo", counts=pd.DataFrame({"x": [1, 2]}))
>>> Summary.from_json(s.to_json()) == s
True
>>> s.to_dict()["name"]
'demo'
"""

from __future__ import annotations

import html
import json
from typing import Annotated, Any, TypeVar

import pandas as pd
from pydantic import BaseModel, ConfigDict, PlainSerializer, PlainValidator

__all__ = ["Frame", "Result", "frame_from_json", "frame_to_json"]

_R = TypeVar("_R", bound="Result")

#: Rows of a frame shown in ``repr`` and ``_repr_html_``; printing stays bounded.
MAX_DISPLAY_ROWS = 10


def frame_to_json(frame: pd.DataFrame) -> dict[str, Any]:
    """Encode a DataFrame as a JSON-compatible dict that keeps column dtypes.

    Examples
    --------
    >>> import pandas as pd
    >>> enc = frame_to_json(pd.DataFrame({"a": [1.5, None]}))
    >>> enc["dtypes"]
    ['float64']
    """
    dtypes = [str(t) for t in frame.dtypes]
    columns = []
    for position in range(frame.shape[1]):  # by position: names may repeat
        values = frame.iloc[:, position]
        if pd.api.types.is_datetime64_any_dtype(values.dtype):
            values = values.astype("string")  # ISO text keeps the time zone
        columns.append([_native(v) for v in values.astype(object)])
    index = frame.index
    if pd.api.types.is_datetime64_any_dtype(index.dtype):
        index = index.astype("string")
    return {
        "columns": [str(c) for c in frame.columns],
        "dtypes": dtypes,
        "index": [_native(v) for v in index.astype(object)],
        "index_dtype": str(frame.index.dtype),
        "data": [list(row) for row in zip(*columns, strict=True)] if columns else [],
    }


def _native(value: Any) -> Any:
    """A cell as a JSON-native Python value: floats keep every bit (pydantic writes the
    shortest repr that reads back exactly), missing values become ``None``."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and value != value:
        return None
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
        if isinstance(value, float) and value != value:
            return None
    return value


def frame_from_json(obj: Any) -> pd.DataFrame:
    """Decode :func:`frame_to_json`'s output (or pass a DataFrame through).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    >>> frame_from_json(frame_to_json(df)).equals(df)
    True
    """
    if isinstance(obj, pd.DataFrame):
        return obj
    if isinstance(obj, str):
        obj = json.loads(obj)
    if not isinstance(obj, dict) or "columns" not in obj or "data" not in obj:
        raise ValueError(  # pydantic turns ValueError into a ValidationError
            "Expected a pandas DataFrame or its JSON encoding (a dict with 'columns' "
            f"and 'data'). Got {type(obj).__name__} instead."
        )
    frame = pd.DataFrame(obj["data"], columns=obj["columns"])
    for col, dtype in zip(obj["columns"], obj.get("dtypes", []), strict=False):
        frame[col] = _restore(frame[col], dtype)
    if obj.get("index") is not None:
        frame.index = pd.Index(
            _restore(pd.Series(obj["index"], dtype=object), obj.get("index_dtype", "")),
        )
    return frame


def _restore(values: pd.Series, dtype: str) -> pd.Series:
    if dtype in ("", "object"):
        return values.astype(object) if len(values) else values
    if dtype.startswith("datetime64"):
        tz = dtype.split(",", 1)[1].strip(" ]") if "," in dtype else None
        parsed = pd.to_datetime(values, utc=tz is not None)
        return parsed.dt.tz_convert(tz) if tz else parsed.astype(dtype)
    if dtype == "str":  # pandas 3's default string dtype
        return values.astype("str")
    return values.astype(dtype)


#: Annotate a result field with ``Frame`` to hold a DataFrame that survives JSON.
Frame = Annotated[
    pd.DataFrame,
    PlainValidator(frame_from_json),
    PlainSerializer(frame_to_json, when_used="json"),
]


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, pd.DataFrame) or isinstance(b, pd.DataFrame):
        return (
            isinstance(a, pd.DataFrame)
            and isinstance(b, pd.DataFrame)
            and a.shape == b.shape
            and list(a.columns) == list(b.columns)
            and bool(a.reset_index(drop=True).equals(b.reset_index(drop=True)))
        )
    if isinstance(a, BaseModel) and isinstance(b, BaseModel):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, tuple | list) and isinstance(b, tuple | list):
        return len(a) == len(b) and all(
            _equal(x, y) for x, y in zip(a, b, strict=False)
        )
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True  # NaN fields compare equal: results are values
    return bool(a == b)


class Result(BaseModel):
    """Immutable, serialisable return value of every mlopskit computation.

    Subclasses declare fields; they get a readable ``repr``, ``_repr_html_`` for
    notebooks, :meth:`to_dict`, :meth:`to_json` and :meth:`from_json`, and value
    equality (DataFrame fields compare by content).
    """

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        arbitrary_types_allowed=True,
        ser_json_inf_nan="constants",
    )

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, BaseModel)
        return all(
            _equal(getattr(self, name), getattr(other, name))
            for name in type(self).model_fields
        )

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.to_json()))

    def to_dict(self) -> dict[str, Any]:
        """The result as plain Python values (DataFrames stay DataFrames)."""
        return {name: getattr(self, name) for name in type(self).model_fields}

    def to_json(self, *, indent: int | None = None) -> str:
        """The result as a JSON string that :meth:`from_json` reads back."""
        return self.model_dump_json(indent=indent)

    @classmethod
    def from_json(cls: type[_R], text: str | bytes) -> _R:
        """Rebuild a result from :meth:`to_json`'s output."""
        return cls.model_validate_json(text)

    def __repr_args__(self) -> Any:
        for name, value in super().__repr_args__():
            if isinstance(value, pd.DataFrame):
                yield name, _FrameRepr(value)
            else:
                yield name, value

    def _repr_html_(self) -> str:
        rows = []
        frames = []
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, pd.DataFrame):
                frames.append((name, value))
                continue
            shown = (
                value._repr_html_()
                if isinstance(value, Result)
                else html.escape(_short(value))
            )
            rows.append(
                f"<tr><th style='text-align:left'>{html.escape(name)}</th>"
                f"<td style='text-align:left'>{shown}</td></tr>"
            )
        parts = [
            f"<div><strong>{html.escape(type(self).__name__)}</strong>",
            f"<table>{''.join(rows)}</table>",
        ]
        for name, frame in frames:
            more = len(frame) - MAX_DISPLAY_ROWS
            parts.append(f"<p><em>{html.escape(name)}</em> ({len(frame)} rows)</p>")
            parts.append(frame.head(MAX_DISPLAY_ROWS).to_html())
            if more > 0:
                parts.append(f"<p>… {more} more rows</p>")
        parts.append("</div>")
        return "".join(parts)


class _FrameRepr:
    """Shows a DataFrame field in ``repr`` as its shape, not its contents."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame

    def __repr__(self) -> str:
        return f"<DataFrame {self.frame.shape[0]}×{self.frame.shape[1]}>"


def _short(value: Any, limit: int = 200) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
