"""The ``Schema`` model: columns plus table-level rules, and its operations.

A schema is a frozen pydantic model. Edit it by deriving a new one:
:meth:`Schema.with_column`, :meth:`Schema.without_column` and
:meth:`Schema.with_options` validate the change, so an inferred schema is tightened
in a few readable lines.

What does *not* belong here: the validation engine (``_validate``), inference
(``_infer``) and the comparison of two schemas (``_diff``).
"""

from __future__ import annotations

import html
import json
from typing import TYPE_CHECKING, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    ValidationError,
    field_validator,
    model_validator,
)

from mlopskit.errors import SchemaError
from mlopskit.schema._column import RAW_ERRORS, Column, explain

if TYPE_CHECKING:
    import pandas as pd

    from mlopskit.schema._diff import SchemaDiff
    from mlopskit.schema._report import ValidationReport

__all__ = ["Schema"]

#: Version of the JSON layout written by ``to_json`` (read back by ``from_json``).
FORMAT = 1


class Schema(BaseModel):
    """A declarative DataFrame schema: columns and table-level rules.

    Attributes
    ----------
    columns
        Column name → :class:`Column`, in the expected order.
    strict
        Forbid columns the schema does not declare.
    ordered
        Require the declared columns to appear in the declared order.
    min_rows, max_rows
        Bounds on the number of rows.
    unique
        Combinations of columns whose values must be unique together, e.g.
        ``(("user_id", "day"),)``.
    checks
        Names of registered custom checks run on the whole frame.
    description
        Free text for people.

    Examples
    --------
    Infer a schema, tighten it, then validate a bad batch:

    >>> import pandas as pd
    >>> from mlopskit.schema import Schema
    >>> train = pd.DataFrame({"age": [23, 35, 41, 58], "plan": ["free", "pro"] * 2})
    >>> schema = Schema.infer(train).with_column("age", ge=18, le=100)
    >>> schema["age"].ge, schema["plan"].isin
    (18, ('free', 'pro'))
    >>> batch = pd.DataFrame({"age": [30, 7], "plan": ["pro", "gold"]})
    >>> schema.validate(batch).failures[["column", "check", "index", "value"]]
      column   check  index value
    0    age  ge(18)      1     7
    1   plan    isin      1  gold
    """

    model_config = ConfigDict(frozen=True, extra="forbid", ser_json_inf_nan="constants")

    columns: dict[str, Column] = {}
    strict: bool = False
    ordered: bool = False
    min_rows: int | None = None
    max_rows: int | None = None
    unique: tuple[tuple[str, ...], ...] = ()
    checks: tuple[str, ...] = ()
    description: str | None = None

    @field_validator("checks", mode="before")
    @classmethod
    def _one_check(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value

    @field_validator("unique", mode="before")
    @classmethod
    def _combos(cls, value: Any) -> Any:
        if isinstance(value, str):
            return ((value,),)
        return tuple((c,) if isinstance(c, str) else tuple(c) for c in value)

    @model_validator(mode="after")
    def _check_consistency(self) -> Schema:
        for combo in self.unique:
            unknown = [c for c in combo if c not in self.columns]
            if unknown or not combo:
                raise ValueError(
                    f"`unique` combination {combo} names columns the schema does not "
                    f"declare: {unknown}. Declare them in `columns` first."
                )
        rows = (self.min_rows, self.max_rows)
        if any(v is not None and v < 0 for v in rows):
            raise ValueError(f"Row-count bounds must be >= 0. Got {rows} instead.")
        if None not in rows and rows[0] > rows[1]:  # type: ignore[operator]
            raise ValueError(f"`min_rows` exceeds `max_rows`: {rows}.")
        return self

    # --- reading ------------------------------------------------------------------

    def __repr_args__(self) -> Any:
        for name, value in super().__repr_args__():
            field = type(self).model_fields.get(name) if name else None
            if field is None or name == "columns" or value != field.default:
                yield name, value

    def __getitem__(self, name: str) -> Column:
        try:
            return self.columns[name]
        except KeyError:
            raise KeyError(
                f"The schema has no column {name!r}; it has {list(self.columns)}."
            ) from None

    def _repr_html_(self) -> str:
        """One row per column (dtype, nulls, constraints), then the table rules."""
        head = "".join(
            f"<th style='text-align:left'>{h}</th>"
            for h in ("column", "dtype", "nullable", "constraints")
        )
        rows = [f"<tr>{head}</tr>"]
        for name, column in self.columns.items():
            cells = (name, column.dtype, "yes" if column.nullable else "no")
            shown = "".join(
                f"<td style='text-align:left'>{html.escape(str(c))}</td>"
                for c in (*cells, _constraints(column))
            )
            rows.append(f"<tr>{shown}</tr>")
        rules = [
            f"{name} {getattr(self, name)!r}"
            for name in (
                "strict",
                "ordered",
                "min_rows",
                "max_rows",
                "unique",
                "checks",
            )
            if getattr(self, name) != type(self).model_fields[name].default
        ]
        n = len(self.columns)
        title = f"Schema: {n} column{'s' * (n != 1)}"
        if rules:
            title += "; " + ", ".join(rules)
        parts = [f"<div><p><strong>{html.escape(title)}</strong></p>"]
        if self.description:
            parts.append(f"<p>{html.escape(self.description)}</p>")
        parts.append(f"<table>{''.join(rows)}</table></div>")
        return "".join(parts)

    # --- editing ------------------------------------------------------------------

    def with_column(
        self, name: str, column: Column | None = None, **changes: Any
    ) -> Schema:
        """A copy with column ``name`` added, replaced or edited.

        Parameters
        ----------
        name
            The column to change (or add).
        column
            A whole new :class:`Column`; omit it to edit the existing one.
        **changes
            Fields to change on the column (``ge=0``, ``nullable=True``,
            ``isin=None`` to drop a constraint …). Validated like the constructor.

        Returns
        -------
        Schema
            A new schema; this one is unchanged.

        Raises
        ------
        SchemaError
            An unknown column (without ``column``) or an invalid change.

        Examples
        --------
        >>> from mlopskit.schema import Column, Schema
        >>> s = Schema(columns={"x": Column(dtype="float")})
        >>> s.with_column("x", ge=0.0).with_column("y", Column(dtype="string"))["x"].ge
        0.0
        """
        if column is None:
            if name not in self.columns:
                raise SchemaError(
                    f"The schema has no column {name!r} to edit (it has "
                    f"{list(self.columns)}). Pass a Column to add one: "
                    f"with_column({name!r}, Column(dtype=...)).",
                    column=name,
                )
            base = self.columns[name].model_dump(exclude_defaults=True)
            column = _build(Column, {**base, **changes}, f"column {name!r}")
        elif changes:
            column = _build(
                Column, {**column.model_dump(exclude_defaults=True), **changes}, name
            )
        return self.with_options(columns={**self.columns, name: column})

    def without_column(self, *names: str) -> Schema:
        """A copy without the given columns (and without unique combos using them).

        Examples
        --------
        >>> from mlopskit.schema import Column, Schema
        >>> s = Schema(columns={"a": Column(), "b": Column()})
        >>> list(s.without_column("a").columns)
        ['b']
        """
        unknown = [n for n in names if n not in self.columns]
        if unknown:
            raise SchemaError(
                f"The schema has no columns {unknown}; it has {list(self.columns)}."
            )
        columns = {k: v for k, v in self.columns.items() if k not in names}
        unique = tuple(c for c in self.unique if not set(c) & set(names))
        return self.with_options(columns=columns, unique=unique)

    def with_options(self, **changes: Any) -> Schema:
        """A copy with table-level fields changed (``strict=True``, ``min_rows=…``).

        Examples
        --------
        >>> Schema().with_options(strict=True, min_rows=1).strict
        True
        """
        data = {name: getattr(self, name) for name in type(self).model_fields}
        schema: Schema = _build(Schema, {**data, **changes}, "schema")
        return schema

    # --- operations ---------------------------------------------------------------

    @classmethod
    def infer(
        cls,
        df: pd.DataFrame,
        *,
        tolerance: float | None = None,
        false_failure_rate: float = 0.01,
        batch_size: int | None = None,
        unseen: Literal["fail", "warn", "allow"] = "warn",
        max_categories: int = 50,
        unique: bool = True,
        patterns: bool = True,
        statistics: bool = False,
        skew_threshold: float | None = None,
        strict: bool = False,
    ) -> Schema:
        """Propose a schema from data, calibrated to accept fresh data, to review.

        Every data-derived check is sized so that a clean batch of ``batch_size``
        rows from the distribution of ``df`` fails the schema with probability at
        most ``false_failure_rate`` (split evenly over the columns, and over the two
        tails of a range), under the assumptions below; what is plainly wrong
        (values far outside the range, text in a number column, a null where there
        were none, a missing column) still fails.

        The rules:

        - **ranges** (numbers, datetimes, durations, string lengths): past each
          extreme, a predictive exponential-tail margin estimated from the
          ``k = clip(√n, 10, n - 1)`` most extreme values: with ``u`` the
          ``(k+1)``-th most extreme and ``s`` the mean excess of the ``k`` over it,
          the bound is ``u + l·s`` with ``l = k·(((k+1)/((n+1)·r))^(1/k) - 1)`` and
          ``r = false_failure_rate / (2 · n_columns · batch_size)`` the allowed
          chance per value and tail. The chance a fresh value passes it is ``r``
          exactly for an exponential tail, less for lighter ones (normal, uniform,
          beta, gamma, bounded integers), more for power-law tails (Pareto,
          Student-t, some "error" measurements; see docs/schema.md). Bounds are
          rounded outward; fewer than 3 values give no range; a column with no
          negative value stays non-negative and one filling [0, 1] stays at most 1
          (so a negative value there fails, whatever the tail says).
        - **categories**: integer and string columns with at most
          ``max_categories`` distinct values, each seen twice on average, get an
          ``isin`` set. The set is closed when the Good-Turing chance that a batch
          of ``batch_size`` values holds a level never seen, ``1 - (1 - N1/n)^m``
          (``N1``: levels seen once), is within the column's share of
          ``false_failure_rate``; otherwise it is open-ended and ``unseen`` decides
          (integers then get a range instead).
        - **nulls**: a column with a null in ``df`` is nullable, one without is
          not (by the rule of three its null rate is then below ``3/n`` at 95 %).

        Parameters
        ----------
        df
            The data (typically a training set).
        tolerance
            ``None`` (default): the calibrated ranges above. A number keeps the
            older rule: widen ranges and lengths by this fraction of their span
            (and at least to the gap between the 0.1 % tail quantile and the
            extreme), ``0`` for the exact min/max.
        false_failure_rate
            Chance, at most, that a clean batch fails the schema (default 1 %).
        batch_size
            Rows of the batches the schema will check (default: ``len(df)``);
            larger batches get wider ranges, as they sample the tails further.
        unseen
            What a level never seen does in a column whose levels look open-ended:
            ``"warn"`` (listed in ``report.warnings``), ``"fail"`` or ``"allow"``
            (no ``isin`` set). Closed-looking sets always fail on a new level.
        max_categories
            Most distinct values an ``isin`` set is inferred for.
        unique
            Mark all-distinct integer and string columns (20+ values) unique.
        patterns
            Infer a regex for structured strings (``"[A-Z]{3}-\\d{4}"``), else
            length bounds.
        statistics
            Record reference statistics for the skew check.
        skew_threshold
            The threshold stored with those statistics (``None``: 0.1).
        strict
            Forbid undeclared columns (else they are listed as warnings).

        Returns
        -------
        Schema

        Raises
        ------
        SchemaError
            ``df`` is not a pandas DataFrame (a polars one: convert it with
            ``df.to_pandas()``) or has duplicate column names.
        InvalidParameterError
            An option is out of range.

        Examples
        --------
        >>> import pandas as pd
        >>> df = pd.DataFrame({
        ...     "id": [f"AB-{i:03d}" for i in range(40)],      # structured codes
        ...     "x": [0.5 + i / 4 for i in range(40)],          # a non-negative number
        ...     "plan": ["free", "pro", "free", "team"] * 10,   # a few categories
        ... })
        >>> s = Schema.infer(df)
        >>> s["id"].regex, s["id"].unique, s["x"].ge, s["x"].le, s["plan"].isin
        ('AB-\\\\d{3}', True, 0.0, 28.0, ('free', 'pro', 'team'))
        >>> Schema.infer(df, tolerance=0.1)["x"].le  # the span-fraction rule
        12.0
        """
        from mlopskit.schema._infer import infer_schema

        return infer_schema(
            df,
            tolerance=tolerance,
            false_failure_rate=false_failure_rate,
            batch_size=batch_size,
            unseen=unseen,
            max_categories=max_categories,
            unique=unique,
            patterns=patterns,
            statistics=statistics,
            skew_threshold=skew_threshold,
            strict=strict,
        )

    def validate(  # type: ignore[override]  # BaseModel.validate is pydantic v1's
        self, df: pd.DataFrame, *, lazy: bool = True, coerce: bool = False
    ) -> ValidationReport:
        """Check ``df`` against the schema and report every failure.

        Parameters
        ----------
        df
            The frame to check; it is never modified.
        lazy
            ``True``: run every check and collect all failures. ``False``: stop
            after the first check that fails (its failing rows are all reported).
        coerce
            Convert columns whose dtype differs to the declared one first; cells
            that cannot be converted are reported under ``coerce(<dtype>)`` and the
            converted frame is in ``report.data``.

        Returns
        -------
        ValidationReport
            Never raises for bad data; call ``raise_for_errors()`` to raise.

        Raises
        ------
        SchemaError
            ``df`` is not a DataFrame, or has duplicate column names.

        Examples
        --------
        >>> import pandas as pd
        >>> from mlopskit.schema import Column, Schema
        >>> s = Schema(columns={"n": Column(dtype="integer", isin=(1, 2))})
        >>> r = s.validate(pd.DataFrame({"n": ["1", "x", "3"]}), coerce=True)
        >>> r.failures[["check", "index", "value"]].values.tolist()
        [['coerce(integer)', 1, 'x'], ['isin', 2, 3]]
        >>> r.data["n"].tolist()
        [1, <NA>, 3]
        """
        from mlopskit.schema._validate import run_validation

        return run_validation(self, df, lazy=lazy, coerce=coerce)

    def diff(self, other: Schema) -> SchemaDiff:
        """What changed from this schema to ``other``, and is it backward compatible.

        Examples
        --------
        >>> from mlopskit.schema import Column, Schema
        >>> old = Schema(columns={"x": Column(dtype="float", ge=0.0)})
        >>> new = old.with_column("x", ge=1.0)
        >>> d = old.diff(new)
        >>> d.backward_compatible, d.changes[["attribute", "effect"]].values.tolist()
        (False, [['lower bound', 'tightened']])
        """
        from mlopskit.schema._diff import diff_schemas

        return diff_schemas(self, other)

    # --- serialisation -----------------------------------------------------------

    def to_json(self, *, indent: int | None = 2) -> str:
        """The schema as short, readable JSON (defaults left out).

        Examples
        --------
        >>> from mlopskit.schema import Column, Schema
        >>> print(Schema(columns={"x": Column(dtype="float", le=1.0)}).to_json(indent=None))
        {"format": 1, "columns": {"x": {"dtype": "float", "le": 1.0}}}
        """
        body = self.model_dump(mode="json", exclude_defaults=True)
        if "columns" not in body:
            body["columns"] = {}
        return json.dumps({"format": FORMAT, **body}, indent=indent)

    @classmethod
    def from_json(cls, text: str | bytes) -> Schema:
        """Read a schema written by :meth:`to_json` (or written by hand).

        Raises
        ------
        SchemaError
            The text is not JSON, or not a valid schema (the message says where).

        Examples
        --------
        >>> Schema.from_json('{"columns": {"x": {"dtype": "integer", "ge": 0}}}')["x"].ge
        0
        """
        try:
            body = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError, TypeError) as exc:
            raise SchemaError(
                f"The schema text is not valid JSON ({exc}). Expected the output of "
                "Schema.to_json().",
            ) from exc
        if not isinstance(body, dict):
            raise SchemaError(
                f"A schema is a JSON object. Got a JSON {type(body).__name__} instead."
            )
        version = body.pop("format", FORMAT)
        if version != FORMAT:
            raise SchemaError(
                f"Unsupported schema format {version!r}; this mlopskit reads format "
                f"{FORMAT}. Upgrade mlopskit to read newer schemas."
            )
        schema: Schema = _build(cls, body, "schema")
        return schema


def _constraints(column: Column) -> str:
    """A column's checks in one line: ``ge 0, le 10, unique``."""
    shown = []
    skip = {"dtype", "nullable", "reference", "description"}
    for name, value in column.model_dump(exclude_defaults=True).items():
        if name in skip:
            continue
        if value is True:
            shown.append(name)
        elif name == "isin" and len(value) > 10:
            shown.append(
                f"isin {len(value)} values ({', '.join(map(str, value[:5]))} …)"
            )
        else:
            shown.append(f"{name} {value}")
    if column.reference is not None:
        shown.append(
            f"skew({column.reference.metric} <= {column.reference.threshold:g})"
        )
    return ", ".join(shown)


def _build(model: type[Any], data: dict[str, Any], what: str) -> Any:
    token = RAW_ERRORS.set(True)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = explain(exc, what)
        raise SchemaError(f"Invalid {what}: {problems}.", errors=problems) from None
    finally:
        RAW_ERRORS.reset(token)
