"""``ValidationReport``: every failure of one validation, as data.

What does *not* belong here: running checks (``_validate``).
"""

from __future__ import annotations

import html
from typing import Any

import pandas as pd
from pydantic import Field

from mlopskit._results import Frame, Result
from mlopskit.errors import SchemaValidationError

__all__ = ["ValidationReport", "empty_failures", "empty_skew", "empty_summary"]

#: Rows of the failure table and of the summary shown by ``str(report)``.
_SHOWN_FAILURES = 10
_SHOWN_CHECKS = 20


_COLUMNS: dict[str, dict[str, Any]] = {
    "failures": {"column": object, "check": object, "index": object, "value": object},
    "summary": {"column": object, "check": object, "failures": "int64"},
    "skew": {
        "column": object,
        "metric": object,
        "distance": "float64",
        "threshold": "float64",
        "skewed": bool,
    },
}
_EMPTY: dict[str, pd.DataFrame] = {}


def _empty(kind: str) -> pd.DataFrame:
    # Built once, copied per report: a report's frames are never shared.
    if kind not in _EMPTY:
        _EMPTY[kind] = pd.DataFrame(
            {name: pd.Series([], dtype=dtype) for name, dtype in _COLUMNS[kind].items()}
        )
    return _EMPTY[kind].copy()


def empty_failures() -> pd.DataFrame:
    """The failure table with no rows (its columns and dtypes)."""
    return _empty("failures")


def empty_summary() -> pd.DataFrame:
    """The summary table with no rows."""
    return _empty("summary")


def empty_skew() -> pd.DataFrame:
    """The skew table with no rows."""
    return _empty("skew")


class ValidationReport(Result):
    """The outcome of ``Schema.validate``: every failing cell or rule, and counts.

    Attributes
    ----------
    ok
        ``True`` when no check failed.
    n_rows
        Rows in the validated frame.
    failures
        One row per failing cell or rule: ``column`` (``None`` for table-level
        rules), ``check`` (e.g. ``"ge(0)"``, ``"isin"``, ``"not_null"``), ``index``
        (the row's index label in the input frame; ``None`` for a rule such as a
        missing column or a skewed distribution) and ``value`` (the failing value).
    warnings
        Findings that do not fail the batch, in the layout of ``failures``: a
        column a non-strict schema does not declare (check ``"undeclared"``), a
        value outside the ``isin`` set of a column whose ``unseen`` policy is
        ``"warn"`` (check ``"isin"``).
    summary
        One row per check that ran: ``column``, ``check``, ``failures`` (count).
    skew
        One row per column with reference statistics: ``column``, ``metric``,
        ``distance``, ``threshold``, ``skewed``.
    complete
        ``False`` when ``lazy=False`` stopped at the first failing check.
    data
        With ``coerce=True``: the coerced frame (cells that could not be coerced are
        null). Not serialised: ``to_json`` keeps the report, not the data.

    Notes
    -----
    ``to_json``/``from_json`` round-trip the report; failing values that are
    timestamps or durations come back as ISO 8601 text (the ``value`` column mixes
    types, so JSON cannot say which text was a date).

    Examples
    --------
    >>> import pandas as pd
    >>> from mlopskit.schema import Column, Schema
    >>> schema = Schema(columns={"age": Column(dtype="integer", ge=0)})
    >>> report = schema.validate(pd.DataFrame({"age": [5, -1, 7]}, index=[10, 11, 12]))
    >>> report.ok, report.n_failures, report.failures["index"].tolist()
    (False, 1, [11])
    >>> print(report)  # doctest: +NORMALIZE_WHITESPACE
    ValidationReport: FAILED, 1 failure in 1 check (1 of 3 rows)
    column  check  failures
       age  ge(0)         1
    first failures:
    column  check  index  value
       age  ge(0)     11     -1
    """

    ok: bool
    n_rows: int
    failures: Frame
    summary: Frame
    warnings: Frame = Field(default_factory=empty_failures)
    skew: Frame = Field(default_factory=empty_skew)
    complete: bool = True
    data: Frame | None = Field(default=None, exclude=True, repr=False)

    @property
    def n_failures(self) -> int:
        """Number of failing cells and rules (rows of :attr:`failures`)."""
        return len(self.failures)

    @property
    def failing_rows(self) -> pd.Index:
        """Distinct index labels of rows with at least one failing cell."""
        labels = self.failures["index"]
        return pd.Index(labels[labels.notna()].unique())

    def to_frame(self) -> pd.DataFrame:
        """The failure table (a copy): one row per failing cell or rule.

        Examples
        --------
        >>> import pandas as pd
        >>> from mlopskit.schema import Column, Schema
        >>> s = Schema(columns={"x": Column(dtype="integer", le=1)})
        >>> list(s.validate(pd.DataFrame({"x": [0, 5]})).to_frame().columns)
        ['column', 'check', 'index', 'value']
        """
        return self.failures.copy()

    def raise_for_errors(self) -> ValidationReport:
        """Raise :class:`~mlopskit.errors.SchemaValidationError` if a check failed.

        Returns
        -------
        ValidationReport
            This report, when it is ok (so calls chain).

        Raises
        ------
        SchemaValidationError
            Carrying this report as ``report``; its message is ``str(report)``.

        Examples
        --------
        >>> import pandas as pd
        >>> from mlopskit.schema import Column, Schema
        >>> schema = Schema(columns={"x": Column(dtype="float", le=1.0)})
        >>> schema.validate(pd.DataFrame({"x": [0.5]})).raise_for_errors().ok
        True
        """
        if not self.ok:
            raise SchemaValidationError(str(self), report=self)
        return self

    def __str__(self) -> str:
        n_checks = len(self.summary)
        if self.ok:
            head = (
                f"ValidationReport: ok ({self.n_rows} rows, {n_checks} checks passed"
                f"{self._warning_count()})"
            )
            return "\n".join([head, *self._warning_lines()])
        failing = self.summary[self.summary["failures"] > 0]
        n_fail = self.n_failures
        rows = len(self.failing_rows)
        head = (
            f"ValidationReport: FAILED, {n_fail} failure{'s' * (n_fail != 1)} in "
            f"{len(failing)} check{'s' * (len(failing) != 1)} "
            f"({rows} of {self.n_rows} rows)"
        )
        head += self._warning_count()
        if not self.complete:
            head += "; stopped at the first failing check (lazy=False)"
        parts = [head, _table(failing, _SHOWN_CHECKS, "checks")]
        parts.append("first failures:")
        parts.append(_table(self.failures, _SHOWN_FAILURES, "failures"))
        return "\n".join([*parts, *self._warning_lines()])

    def _warning_count(self) -> str:
        n = len(self.warnings)
        return f", {n} warning{'s' * (n != 1)}" if n else ""

    def _warning_lines(self) -> list[str]:
        if not len(self.warnings):
            return []
        return ["warnings:", _table(self.warnings, _SHOWN_FAILURES, "warnings")]

    def _repr_html_(self) -> str:
        """The verdict, the failing checks and the first failures, escaped."""
        verdict = str(self).split("\n", 1)[0]
        colour = "#2e7d32" if self.ok else "#c62828"
        parts = [
            f"<div><p><strong style='color:{colour}'>{html.escape(verdict)}"
            "</strong></p>"
        ]
        failing = self.summary[self.summary["failures"] > 0]
        for title, frame, limit in (
            ("failing checks", failing, _SHOWN_CHECKS),
            ("first failures", self.failures, _SHOWN_FAILURES),
            ("warnings", self.warnings, _SHOWN_FAILURES),
            ("skew", self.skew, _SHOWN_CHECKS),
        ):
            if len(frame):
                parts.append(f"<p><em>{title}</em> ({len(frame)} rows)</p>")
                parts.append(frame.head(limit).to_html(index=False, escape=True))
        parts.append("</div>")
        return "".join(parts)


def _table(frame: pd.DataFrame, limit: int, what: str) -> str:
    shown = frame.head(limit)
    text = shown.to_string(index=False, max_colwidth=40)
    if len(frame) > limit:
        text += f"\n… {len(frame) - limit} more {what}"
    return str(text)
