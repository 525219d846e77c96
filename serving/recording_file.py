"""Read an uploaded R-R recording file into a table of beats.

One parser serves the web page, `POST /predict_file` and the command line. It accepts:

- the hackathon layout `id,time,x` with an optional label column `y`, and `id,x`;
- any table whose header names an R-R column (`x`, `RR`, `RR-interval [ms]`, `RRI`, `IBI`, ...),
  such as the two-column exports of chest-strap logger apps;
- a single column of R-R intervals, one per line, with or without a header line;
- comma, semicolon or tab separators, a decimal comma, a UTF-8 or UTF-16 byte-order mark,
  Windows or old Mac line ends, and Windows-1251 text;
- intervals in seconds: when the median interval is below 10, every interval is multiplied by 1000.

A file that cannot be read raises `RecordingFileError`, whose `code` and `values` select a message
of `serving.i18n` in the user's language.
"""

import csv
import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from serving.i18n import DEFAULT_LANGUAGE, translate

# The service's request limit is 100,000 beats (params.yaml, serve.max_beats). 8 MB fits that
# many rows of up to 80 characters, enough for logger exports with a full timestamp per beat.
DEFAULT_MAX_ROWS = 100_000
DEFAULT_MAX_BYTES = 8_000_000
BYTES_PER_MB = 1_000_000

# A median R-R interval below this many units means the file is in seconds: 10 s is 6 beats per
# minute, and 10 ms would be 6,000.
SECONDS_MEDIAN_BELOW = 10.0

LAYOUT_HACKATHON = "id,time,x"
LAYOUT_ID_X = "id,x"
LAYOUT_NAMED_COLUMN = "named_column"
LAYOUT_SINGLE_COLUMN = "single_column"

# Header names, compared after `normalise_name`, that mark the R-R column without being `x`.
RR_NAME = re.compile(r"(?<![a-zа-я])(rr|r-r|rri|nn|ibi)(?![a-zа-я])|interval|интервал")
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
INTEGER = re.compile(r"-?\d+")
SAMPLE_LINES = 50


class RecordingFileError(ValueError):
    """A recording file that cannot be read; `code` names the reason and keys the message."""

    def __init__(self, code: str, **values: object) -> None:
        self.code = code
        self.values = values
        super().__init__(self.message("en"))

    def message(self, language: str = DEFAULT_LANGUAGE) -> str:
        """Return the reason in `language` ("ru" or "en")."""
        return translate(f"error.{self.code}", language, **self.values)


@dataclass(frozen=True)
class FileLimits:
    """Upload limits; None switches a limit off (the command line reads local files unlimited)."""

    max_bytes: int | None = DEFAULT_MAX_BYTES
    max_rows: int | None = DEFAULT_MAX_ROWS


@dataclass(frozen=True)
class RecordingFile:
    """Beats read from one file, in file order.

    `beats` has the columns `id`, `time` (ms from the recording start), `x` (R-R interval, ms) and,
    when the file has labels, `y` (0/1). Without an `id` column every beat gets `default_id`.
    Without `time`, beat times are the running sum of the intervals, starting at 0 as in the
    hackathon data. `layout` is one of the `LAYOUT_` names, with ",y" appended when labelled.
    """

    beats: pd.DataFrame
    layout: str
    rr_column: str
    converted_from_seconds: bool
    has_header: bool
    delimiter: str | None

    @property
    def has_labels(self) -> bool:
        return "y" in self.beats.columns


def parse_recording_file(
    content: bytes,
    default_id: str = "1",
    limits: FileLimits = FileLimits(),
) -> RecordingFile:
    """Parse the bytes of an uploaded file; raise `RecordingFileError` when they cannot be read."""
    if limits.max_bytes is not None and len(content) > limits.max_bytes:
        raise RecordingFileError(
            "too_large", size_mb=megabytes(len(content)), limit_mb=megabytes(limits.max_bytes)
        )

    text = decode_text(content)
    lines = [(number, line) for number, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not lines:
        raise RecordingFileError("empty")

    delimiter = detect_delimiter([line for _, line in lines[:SAMPLE_LINES]])
    rows = [(number, split_fields(line, delimiter)) for number, line in lines]
    has_header = not all(parse_number(value) is not None for value in rows[0][1])
    header = [normalise_name(name) for name in rows[0][1]] if has_header else None
    data_rows = rows[1:] if has_header else rows
    if not data_rows:
        raise RecordingFileError("empty")
    if limits.max_rows is not None and len(data_rows) > limits.max_rows:
        raise RecordingFileError("too_many_rows", rows=len(data_rows), limit=limits.max_rows)

    if header is None:
        width = max(width_of(fields) for _, fields in data_rows)
        if width > 1:
            raise RecordingFileError("no_header", columns=width)
        header = ["x"]
    columns = columns_of(header, data_rows, original_names=rows[0][1] if has_header else header)
    beats, converted = build_beats(columns, header, data_rows, default_id)
    return RecordingFile(
        beats=beats,
        layout=layout_of(header, columns),
        rr_column=rows[0][1][columns["x"]].strip() if has_header else "",
        converted_from_seconds=converted,
        has_header=has_header,
        delimiter=delimiter,
    )


def megabytes(size: int) -> str:
    return f"{size / BYTES_PER_MB:.1f}"


def decode_text(content: bytes) -> str:
    """Decode bytes as UTF-16 (with a BOM), UTF-8 (BOM optional) or Windows-1251; reject binaries."""
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = content.decode("utf-16")
        except UnicodeDecodeError:
            raise RecordingFileError("not_text") from None
    elif b"\x00" in content:
        raise RecordingFileError("not_text")
    else:
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            # Russian Excel saves CSV in Windows-1251; it decodes every byte but 0x98.
            try:
                text = content.decode("cp1251")
            except UnicodeDecodeError:
                raise RecordingFileError("not_text") from None
    if CONTROL_CHARACTERS.search(text):
        raise RecordingFileError("not_text")
    return text


def detect_delimiter(sample: list[str]) -> str | None:
    """Return the field separator of the sample lines, or None for a single column.

    Tab and semicolon win over comma, because a comma beside them is a decimal comma. A file with
    only commas is a table when its first line is a header with several names, or when some line
    has two or more commas. Otherwise, as in `812,5` on every line, the comma is decimal.
    """
    if any("\t" in line for line in sample):
        return "\t"
    if any(";" in line for line in sample):
        return ";"
    if not any("," in line for line in sample):
        return None

    first = split_fields(sample[0], ",")
    first_is_header = not all(parse_number(value) is not None for value in first)
    if first_is_header:
        return "," if len(first) > 1 else None
    if any(len(split_fields(line, ",")) > 2 for line in sample):
        return ","
    # NOTE: a headerless "id,x" file reads as decimal commas here. Multi-column layouts need a
    # header line, as the page's upload hint explains.
    return None


def split_fields(line: str, delimiter: str | None) -> list[str]:
    """Split one line; quotes follow the CSV rules, so a quoted "812,5" stays one field."""
    if delimiter is None:
        return [line.strip().strip('"').strip()]
    return [value.strip() for value in next(csv.reader([line], delimiter=delimiter))]


def parse_number(value: str) -> float | None:
    """Return the finite number written in `value` (a decimal comma allowed), or None."""
    cleaned = value.strip().strip('"').replace("\u00a0", "").replace(" ", "").replace(",", ".")
    if not cleaned:
        return None
    try:
        number = float(cleaned)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def normalise_name(name: str) -> str:
    return " ".join(name.strip().strip('"').lower().split())


def columns_of(header: list[str], data_rows: list, original_names: list[str]) -> dict[str, int]:
    """Map the roles `x` and, where named, `id`, `time` and `y` to column positions.

    The R-R column is the one named `x`, else one whose name looks like an R-R interval, else the
    only column, else the only column that contains numbers.
    """
    roles = {role: header.index(role) for role in ("id", "time", "x", "y") if role in header}
    if "x" in roles:
        return roles

    named = [position for position, name in enumerate(header) if RR_NAME.search(name)]
    if len(named) == 1:
        return {"x": named[0]}
    if len(header) == 1:
        return {"x": 0}

    numeric = [
        position
        for position in range(len(header))
        if any(
            position < len(fields) and parse_number(fields[position]) is not None
            for _, fields in data_rows[:SAMPLE_LINES]
        )
    ]
    if len(numeric) == 1:
        return {"x": numeric[0]}
    if not numeric:
        raise RecordingFileError("no_numeric_column")
    names = ", ".join(original_names[position].strip() for position in numeric)
    raise RecordingFileError("ambiguous_columns", columns=names)


def layout_of(header: list[str], columns: dict[str, int]) -> str:
    labels = ",y" if "y" in columns else ""
    if "id" in columns and "time" in columns:
        return LAYOUT_HACKATHON + labels
    if "id" in columns:
        return LAYOUT_ID_X + labels
    if len(header) == 1:
        return LAYOUT_SINGLE_COLUMN
    return LAYOUT_NAMED_COLUMN


def build_beats(columns: dict[str, int], header: list[str], data_rows: list, default_id: str) -> tuple[pd.DataFrame, bool]:
    """Read the role columns of every data row; return the beats and whether seconds were converted."""
    x_values = []
    for line, fields in data_rows:
        check_width(line, fields, len(header))
        try:
            x_values.append(read_number(line, fields, columns["x"], header))
        except RecordingFileError:
            # One bad cell in a column of numbers is reported with its line. A column with no
            # number at all means the file is not an R-R recording.
            if not any(parse_number(row[columns["x"]]) is not None for _, row in data_rows if len(row) > columns["x"]):
                raise RecordingFileError("no_numeric_column") from None
            raise
    rr = np.asarray(x_values, dtype=float)
    if np.any(rr <= 0):
        index = int(np.flatnonzero(rr <= 0)[0])
        raise RecordingFileError("non_positive", line=data_rows[index][0], value=format_number(rr[index]))
    converted = bool(np.median(rr) < SECONDS_MEDIAN_BELOW)
    if converted:
        rr = rr * 1000.0

    ids = read_ids(columns, header, data_rows, default_id)
    time = read_time(columns, header, data_rows, ids, rr, converted)
    beats = pd.DataFrame({"id": ids, "time": time, "x": rr})
    if "y" in columns:
        beats["y"] = read_labels(columns["y"], data_rows)
    return beats, converted


def width_of(fields: list[str]) -> int:
    """Return the number of fields without trailing empty ones, which spreadsheets often add."""
    width = len(fields)
    while width > 1 and not fields[width - 1]:
        width -= 1
    return width


def check_width(line: int, fields: list[str], expected: int) -> None:
    """Reject a row whose field count differs from the header's; trailing empty fields are allowed."""
    found = max(width_of(fields), min(len(fields), expected))
    if found != expected:
        raise RecordingFileError("ragged_row", line=line, found=found, expected=expected)


def read_number(line: int, fields: list[str], position: int, header: list[str]) -> float:
    value = fields[position]
    if not value.strip():
        raise RecordingFileError("missing_value", line=line, column=header[position])
    number = parse_number(value)
    if number is None:
        raise RecordingFileError("bad_number", line=line, column=header[position], value=value)
    return number


def format_number(value: float) -> str:
    return f"{value:g}"


def read_ids(columns: dict[str, int], header: list[str], data_rows: list, default_id: str) -> np.ndarray:
    """Return recording ids: integers when every id is an integer (as in the hackathon data), else text."""
    if "id" not in columns:
        return np.full(len(data_rows), default_id, dtype=object)
    position = columns["id"]
    texts = []
    for line, fields in data_rows:
        value = fields[position].strip().strip('"')
        if not value:
            raise RecordingFileError("missing_value", line=line, column=header[position])
        texts.append(value)
    if all(INTEGER.fullmatch(value) for value in texts):
        return np.asarray([int(value) for value in texts], dtype=np.int64)
    return np.asarray(texts, dtype=object)


def read_time(
    columns: dict[str, int], header: list[str], data_rows: list, ids: np.ndarray, rr: np.ndarray, converted: bool
) -> np.ndarray:
    """Return beat times in ms: the file's `time` column, or the running sum of intervals per recording.

    A `time` column is converted from seconds together with the intervals when its median step
    inside a recording is also below `SECONDS_MEDIAN_BELOW`.
    """
    if "time" in columns:
        time = np.asarray([read_number(line, fields, columns["time"], header) for line, fields in data_rows])
        if converted:
            steps = pd.Series(time).groupby(pd.Series(ids, dtype=object)).diff().abs().dropna()
            if len(steps) and steps.median() < SECONDS_MEDIAN_BELOW:
                time = time * 1000.0
        return time

    # The first beat of a recording is at time 0; each later beat is one interval after the previous.
    frame = pd.DataFrame({"id": pd.Series(ids, dtype=object), "x": rr})
    running = frame.groupby("id", sort=False)["x"].cumsum()
    first = frame.groupby("id", sort=False)["x"].transform("first")
    return (running - first).to_numpy(dtype=float)


def read_labels(position: int, data_rows: list) -> np.ndarray:
    labels = []
    for line, fields in data_rows:
        value = fields[position].strip().strip('"')
        if value not in ("0", "1", "0.0", "1.0"):
            raise RecordingFileError("bad_label", line=line, value=value)
        labels.append(int(float(value)))
    return np.asarray(labels, dtype=np.int64)
