"""The command line's tables: a series read from a CSV or Parquet file, a forecast
written to one.

:func:`read_series` reads one column of a user's file (or a long file of many series),
finding its dialect (tabs, or ';' with decimal commas), its time column and its dates;
:func:`refuse_gaps` names empty cells and missing rows in the file's terms;
:func:`write_table` writes a forecast table as CSV, JSON or Parquet, atomically. Every
mistake in a file is a :class:`UsageError`: one line naming the file, and the flag to
change where there is one. pandas is imported on first use, not with the module.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

__all__ = [
    "DATA_SUFFIXES",
    "UsageError",
    "read_future",
    "read_series",
    "refuse_gaps",
    "table_format",
    "write_table",
]

# the suffixes of the files read_series is for (.parquet and .pq as Parquet, the others
# as CSV); `fit` refuses to save a model under such a name
DATA_SUFFIXES = (".csv", ".txt", ".tsv", ".parquet", ".pq")


class UsageError(Exception):
    """A mistake of the user's (in a file or a flag): the command line reports it in
    one line, exit status 2."""


def read_series(
    path: str,
    column: str | None,
    time_column: str | None,
    id_column: str | None = None,
    defaults: tuple[str | None, str | None, str | None] | None = None,
    keep: tuple[str, ...] = (),
) -> Any:
    """Read one numeric column of a CSV or Parquet file as a pd.Series; with
    ``id_column`` (or a ``unique_id`` column), a long file of many series, as a
    DataFrame of three columns (id, time, value). ``keep``: more columns to keep as
    they are (covariates), after those three; the file is then always returned as a
    long frame (one series gets the id ``column``'s name, in a ``unique_id`` column).

    ``column`` may be omitted when the file has exactly one numeric column besides the
    time (and id) column. ``time_column`` (parsed as dates, else kept as it is) becomes
    the index; without it, a first column that parses entirely as dates is used.
    ``defaults`` (id, time, value) stand in for the names not given, where the file has
    such columns (a model's own column names).
    """
    import pandas as pd

    table = _read_table(path)
    if table.empty:
        raise UsageError(f"{path}: no rows")
    if not isinstance(table.index, pd.RangeIndex):
        # pandas makes the first field an index when rows hold one field more than the
        # header: "1000,00" under "sales" is a decimal comma, not two columns
        header = ", ".join(repr(str(c)) for c in table.columns)
        raise UsageError(
            f"{path}: its rows hold one field more than its header ({header}); the first "
            f"row begins with {str(table.index[0])!r}: are commas decimal marks in column "
            f"{str(table.columns[0])!r}? Write numbers with '.', or separate fields with ';'"
        )
    names = [str(c) for c in table.columns]
    table.columns = names
    listed = ", ".join(repr(n) for n in names[:10]) + (", ..." if len(names) > 10 else "")
    if defaults is not None:
        id_column, time_column, column = (
            given if given is not None or default not in names else default
            for given, default in zip((id_column, time_column, column), defaults, strict=True)
        )
    if id_column is None and "unique_id" in names and column != "unique_id":
        id_column = "unique_id"  # the long-frame convention: many series
    options: tuple[tuple[str | None, str], ...] = (
        (column, "--column"),
        (time_column, "--time-column"),
        (id_column, "--id-column"),
        *((name, "a covariate") for name in keep),
    )
    for name, option in options:
        if name is not None and name not in names:
            raise UsageError(f"{path}: no column {name!r} ({option}); its columns are {listed}")
    if len(names) == 1 and any(mark in names[0] for mark in ";\t|"):
        raise UsageError(
            f"{path}: one column named {names[0]!r}: is the file separated by another "
            "character than ','? Save it with commas (or tabs, as .tsv)"
        )
    leading = next(n for n in names if n != id_column) if len(names) > 1 else names[0]
    first = table[leading]
    if time_column is None and column != leading:
        if _parse_dates(first) is not None:
            time_column = leading
        elif _looks_like_dates(first):  # never drop a time column without a word
            raise UsageError(
                f"{path}: the {'first ' if leading == names[0] else ''}column {leading!r} "
                "looks like dates, but some do not "
                f"parse (first value {first.iloc[0]!r}); fix them, or give --time-column"
            )
    if column is None:
        numeric = [
            n
            for n in names
            if n not in (time_column, id_column, *keep)
            and pd.api.types.is_numeric_dtype(table[n])
            and not pd.api.types.is_bool_dtype(table[n])
        ]
        if len(numeric) != 1:
            raise UsageError(
                f"{path}: which column is the series? Give --column (columns: {listed})"
            )
        column = numeric[0]
    values = table[column]
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        converted = pd.to_numeric(values, errors="coerce")
        bad = converted.isna() & values.notna()
        if bad.any():
            row = int(bad.to_numpy().argmax())
            raise UsageError(
                f"{path}: column {column!r} is not numeric: row {row + 1} holds "
                f"{values.iloc[row]!r}"
            )
        values = converted
    series = pd.Series(values.to_numpy(), name=column)
    if time_column is not None:
        labels = table[time_column]
        parsed = _parse_dates(labels)
        if parsed is not None:
            labels = parsed
        elif not pd.api.types.is_integer_dtype(labels):
            raise UsageError(
                f"{path}: time column {time_column!r} holds neither dates nor whole "
                f"numbers (first value {labels.iloc[0]!r})"
            )
        series.index = pd.Index(labels, name=time_column)
    if id_column is None and not keep:
        return series
    if time_column is None:
        what = "a file of many series" if id_column is not None else "a file with covariates"
        raise UsageError(f"{path}: {what} needs a time column: give --time-column")
    ids = table[id_column].to_numpy() if id_column is not None else [column] * len(table)
    return pd.DataFrame(
        {
            id_column or "unique_id": ids,
            time_column: series.index,
            column: series.to_numpy(),
            **{name: table[name].to_numpy() for name in keep},
        }
    )


def _read_table(path: str) -> Any:
    """A CSV (its dialect found) or Parquet file as a DataFrame, as it is."""
    import pandas as pd

    source = Path(path)
    if not source.is_file():
        raise UsageError(f"{path}: no such file")
    suffix = source.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            try:
                return pd.read_parquet(source)
            except ImportError:
                raise UsageError(
                    f"{path}: reading Parquet needs pyarrow (pip install pyarrow), or "
                    "give a CSV file"
                ) from None
        return pd.read_csv(source, **_csv_dialect(source, suffix))
    except UsageError:
        raise
    except Exception as error:  # pandas' parser errors have many types
        raise UsageError(f"{path}: cannot be read as a table: {error}") from None


def read_future(path: str, names: tuple[str, str, str]) -> Any:
    """The covariates' values ahead (``forecast --future``): a CSV or Parquet file as a
    DataFrame, its time column (``names[1]``) parsed as dates where it holds them."""
    table = _read_table(path)
    time_column = names[1]
    if time_column not in table.columns:
        raise UsageError(f"{path}: no time column {time_column!r} (the fit's)")
    parsed = _parse_dates(table[time_column])
    return table if parsed is None else table.assign(**{time_column: parsed})


def refuse_gaps(series: Any, path: str, advice: str) -> None:
    """Empty cells, or rows missing from a regular time column (an hour without a
    row), named in the file's terms: the model would refuse them (its missing policy
    is "raise"); ``advice`` says what the user can do about it."""
    from ._time_index import regular_grid

    empty = series.isna().to_numpy()
    if empty.any():
        row = int(empty.argmax())
        at = "" if series.index.name is None else f" ({series.index[row]})"
        more = int(empty.sum()) - 1
        raise UsageError(
            f"{path}: column {series.name!r} has no value in row {row + 1}{at}"
            + (f" and {more} more row{'s' if more > 1 else ''}" if more else "")
            + f"; {advice}"
        )
    grid = regular_grid(series.index) if series.index.is_unique else None
    if grid is not None:
        absent = grid.difference(series.index)
        n = len(absent)
        raise UsageError(
            f"{path}: {n} {grid.freqstr!r} step{'s' if n > 1 else ''} of column "
            f"{series.index.name!r} {'have' if n > 1 else 'has'} no row (the first: "
            f"{absent[0]}); {advice}"
        )


def _csv_dialect(source: Path, suffix: str) -> dict[str, str]:
    """Tabs for .tsv; the European layout, ';' between fields and ',' as the decimal
    mark, for a CSV whose header and first lines all hold the same number of semicolons
    (read with ',' its dates and whole parts would become the index; a comma in such a
    file's header, ``date;sales, EUR``, is part of a name)."""
    if suffix == ".tsv":
        return {"sep": "\t"}
    with open(source, encoding="utf-8", errors="replace") as file:
        lines = [line for line in itertools.islice(file, 21) if line.strip()]
    counts = {line.count(";") for line in lines}
    if lines and len(counts) == 1 and counts != {0}:
        return {"sep": ";", "decimal": ","}
    return {"sep": ","}


def _parse_dates(values: Any) -> Any:
    """A column's values as timestamps if all of them are dates, else None.

    Tried in turn: pandas' inferred format; day first (13/02/2020 is only a date that
    way, so the column is read day first); UTC (timestamps with different UTC offsets,
    as across a daylight-saving change, become UTC times).
    """
    import warnings

    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(values):
        return values
    if not (pd.api.types.is_string_dtype(values) or pd.api.types.is_object_dtype(values)):
        return None
    for options in ({}, {"dayfirst": True}, {"utc": True}):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "could not infer format" for odd layouts
                parsed = pd.to_datetime(values, errors="coerce", **options)
        except (TypeError, ValueError, OverflowError):
            continue
        if pd.api.types.is_datetime64_any_dtype(parsed) and bool(parsed.notna().all()):
            return parsed
    return None


def _looks_like_dates(values: Any) -> bool:
    """Whether most of a text column's values are dates (then one that is not is a
    mistake to report, not a reason to drop the column)."""
    import warnings

    import pandas as pd

    if not (pd.api.types.is_string_dtype(values) or pd.api.types.is_object_dtype(values)):
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            parsed = pd.to_datetime(values, errors="coerce", format="mixed", utc=True)
        except (TypeError, ValueError, OverflowError):
            return False
    return bool(parsed.notna().mean() >= 0.5)


def table_format(path: str) -> str:
    """The format of --output, "csv", "json" or "parquet", by its suffix; CSV for a
    device or a pipe (/dev/null, /dev/stdout), which has no suffix to go by."""
    suffix = Path(path).suffix.lower()
    if suffix in (".csv", ".json", ".parquet"):
        return suffix[1:]
    if Path(path).exists() and not Path(path).is_file() and not Path(path).is_dir():
        return "csv"
    raise UsageError(f"--output {path}: expected a .csv, .json or .parquet file name")


def write_table(frame: Any, path: str, long: bool) -> None:
    """A forecast table to CSV, JSON or Parquet (see ``table_format``), atomically;
    the index as the first column, except for the ``long`` frame of many series."""
    from ._io import atomic_path

    kind = table_format(path)
    table = frame if long else frame.reset_index()
    with atomic_path(path) as temporary:
        if kind == "csv":
            table.to_csv(temporary, index=False)
        elif kind == "parquet":
            table.to_parquet(temporary, index=False)
        else:
            table.to_json(temporary, orient="records", date_format="iso", indent=2)
