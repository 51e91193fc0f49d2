"""Reading the CSV and Parquet files the command line is given.

Shared by every sub-command that takes data files (``validate``, ``drift``), so they
accept the same formats and fail the same way.

What does *not* belong here: anything a block's Python API needs (it takes frames).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

__all__ = ["read_table"]


def read_table(path: str | Path, *, error: type[Exception]) -> Any:
    """Read a ``.csv`` or ``.parquet`` file into a DataFrame.

    Parameters
    ----------
    path
        The file.
    error
        The :class:`~mlopskit.errors.MlopsKitError` subclass to raise on bad input
        (each block reports in its own family).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from mlopskit.errors import DriftInputError
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.csv"
    >>> _ = path.write_text("x,y\\n1,a\\n2,b\\n")
    >>> read_table(path, error=DriftInputError).shape
    (2, 2)
    >>> read_table(path.with_suffix(".xlsx"), error=DriftInputError)
    Traceback (most recent call last):
    ...
    mlopskit.errors.DriftInputError: No data file at '...a.xlsx'. Give a .csv or .parquet file.
    """
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise error(f"No data file at {str(path)!r}. Give a .csv or .parquet file.")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return pd.read_csv(path)
        if suffix in (".parquet", ".pq"):
            if importlib.util.find_spec("pyarrow") is None:
                raise error(
                    "Reading Parquet needs pyarrow, which is not installed. "
                    "Run `pip install pyarrow`, or convert the file to CSV."
                )
            return pd.read_parquet(path, engine="pyarrow")
    except (ValueError, OSError) as exc:
        if isinstance(exc, error):
            raise
        raise error(f"Cannot read {str(path)!r}: {exc}.") from exc
    raise error(
        f"Unsupported data file {path.name!r}: expected a .csv or .parquet file."
    )
