"""Table-driven tests of the recording-file parser: every accepted layout and quirk, every rejection."""

from dataclasses import dataclass, field

import pytest

from serving.i18n import LANGUAGES, TEXTS, choose_language, translate
from serving.recording_file import (
    FileLimits,
    RecordingFileError,
    parse_recording_file,
)


@dataclass
class Accepted:
    name: str
    content: bytes
    layout: str
    x: list
    time: list
    ids: list | None = None  # None: every beat has the default id "upload"
    labels: list | None = None
    converted: bool = False
    has_header: bool = True
    limits: FileLimits = field(default_factory=FileLimits)


ACCEPTED = [
    Accepted(
        "hackathon with labels",
        b"id,time,x,y\n1,0,800,0\n1,780,780,1\n2,0,600,0\n",
        layout="id,time,x,y",
        ids=[1, 1, 2],
        x=[800, 780, 600],
        time=[0, 780, 0],
        labels=[0, 1, 0],
    ),
    Accepted(
        "hackathon without labels",
        b"id,time,x\n81,0,576\n81,568,568\n",
        layout="id,time,x",
        ids=[81, 81],
        x=[576, 568],
        time=[0, 568],
    ),
    Accepted(
        "id,x derives time per recording",
        b"id,x\n7,800\n7,810\n8,600\n8,620\n",
        layout="id,x",
        ids=[7, 7, 8, 8],
        x=[800, 810, 600, 620],
        time=[0, 810, 0, 620],
    ),
    Accepted(
        "text ids stay text",
        b"id,x\npatient-a,800\npatient-b,700\n",
        layout="id,x",
        ids=["patient-a", "patient-b"],
        x=[800, 700],
        time=[0, 0],
    ),
    Accepted(
        "single column without header",
        b"812\n790\n805\n",
        layout="single_column",
        x=[812, 790, 805],
        time=[0, 790, 1595],
        has_header=False,
    ),
    Accepted(
        "single column with header",
        b"RR\n812\n790\n",
        layout="single_column",
        x=[812, 790],
        time=[0, 790],
    ),
    Accepted(
        "single column in seconds",
        b"0.812\n0.790\n0.805\n",
        layout="single_column",
        x=[812, 790, 805],
        time=[0, 790, 1595],
        converted=True,
        has_header=False,
    ),
    Accepted(
        "decimal comma in seconds",
        b"RR (s)\n0,812\n0,790\n",
        layout="single_column",
        x=[812, 790],
        time=[0, 790],
        converted=True,
    ),
    Accepted(
        "decimal comma without header",
        b"0,812\n0,790\n",
        layout="single_column",
        x=[812, 790],
        time=[0, 790],
        converted=True,
        has_header=False,
    ),
    Accepted(
        "decimal comma quoted by a spreadsheet",
        b'RR\n"0,812"\n"0,790"\n',
        layout="single_column",
        x=[812, 790],
        time=[0, 790],
        converted=True,
    ),
    Accepted(
        "semicolon with decimal comma",
        b"id;time;x\n1;0;812,5\n1;812,5;790,25\n",
        layout="id,time,x",
        ids=[1, 1],
        x=[812.5, 790.25],
        time=[0, 812.5],
    ),
    Accepted(
        "tab separated",
        b"id\ttime\tx\n3\t0\t700\n3\t700\t710\n",
        layout="id,time,x",
        ids=[3, 3],
        x=[700, 710],
        time=[0, 700],
    ),
    Accepted(
        "utf-8 byte-order mark",
        b"\xef\xbb\xbfid,time,x\n1,0,800\n",
        layout="id,time,x",
        ids=[1],
        x=[800],
        time=[0],
    ),
    Accepted(
        "windows line ends and blank lines",
        b"x\r\n800\r\n\r\n810\r\n\r\n",
        layout="single_column",
        x=[800, 810],
        time=[0, 810],
    ),
    Accepted(
        "old mac line ends",
        b"800\r810\r",
        layout="single_column",
        x=[800, 810],
        time=[0, 810],
        has_header=False,
    ),
    Accepted(
        "utf-16 from a spreadsheet",
        "id\tx\r\n1\t800\r\n1\t820\r\n".encode("utf-16"),
        layout="id,x",
        ids=[1, 1],
        x=[800, 820],
        time=[0, 820],
    ),
    Accepted(
        "windows-1251 header",
        "Интервал RR, мс\n800\n820\n".encode("cp1251").replace(b",", b""),
        layout="single_column",
        x=[800, 820],
        time=[0, 820],
    ),
    Accepted(
        "logger export with timestamp column",
        b"Phone timestamp;RR-interval [ms]\n2021-03-01T10:00:00.123;812\n2021-03-01T10:00:00.935;790\n",
        layout="named_column",
        x=[812, 790],
        time=[0, 790],
    ),
    Accepted(
        "seconds converts time column too",
        b"id,time,x\n1,0,0.8\n1,0.81,0.81\n",
        layout="id,time,x",
        ids=[1, 1],
        x=[800, 810],
        time=[0, 810],
        converted=True,
    ),
    Accepted(
        "trailing separators from a spreadsheet",
        b"id;x;\n1;800;\n1;810;\n",
        layout="id,x",
        ids=[1, 1],
        x=[800, 810],
        time=[0, 810],
    ),
    Accepted(
        "exactly the row limit",
        b"x\n" + b"800\n" * 5,
        layout="single_column",
        x=[800] * 5,
        time=[0, 800, 1600, 2400, 3200],
        limits=FileLimits(max_rows=5),
    ),
]


@pytest.mark.parametrize("case", ACCEPTED, ids=[case.name for case in ACCEPTED])
def test_parser_accepts(case: Accepted) -> None:
    recording = parse_recording_file(case.content, default_id="upload", limits=case.limits)
    beats = recording.beats

    assert recording.layout == case.layout
    assert beats["x"].tolist() == pytest.approx(case.x)
    assert beats["time"].tolist() == pytest.approx(case.time)
    assert beats["id"].tolist() == (case.ids if case.ids is not None else ["upload"] * len(case.x))
    assert recording.converted_from_seconds is case.converted
    assert recording.has_header is case.has_header
    assert recording.has_labels is (case.labels is not None)
    if case.labels is not None:
        assert beats["y"].tolist() == case.labels


@dataclass
class Rejected:
    name: str
    content: bytes
    code: str
    values: dict
    english: str  # a part of the English message
    russian: str  # a part of the Russian message
    limits: FileLimits = field(default_factory=FileLimits)


REJECTED = [
    Rejected("zero bytes", b"", "empty", {}, "The file is empty", "Файл пуст"),
    Rejected("only blank lines", b"\r\n  \n\n", "empty", {}, "The file is empty", "Файл пуст"),
    Rejected("header without data", b"id,time,x\n", "empty", {}, "The file is empty", "Файл пуст"),
    Rejected("only a byte-order mark", b"\xef\xbb\xbf", "empty", {}, "The file is empty", "Файл пуст"),
    Rejected("png image", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not_text", {}, "not a text file", "не текстовый"),
    Rejected("gzip archive", b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", "not_text", {}, "not a text file", "не текстовый"),
    Rejected("words only", b"name\nalice\nbob\n", "no_numeric_column", {}, "No column of the file contains numbers", "нет столбца с числами"),
    Rejected("x column of words", b"id,x\n1,abc\n1,def\n", "no_numeric_column", {}, "No column of the file contains numbers", "нет столбца с числами"),
    Rejected("unnamed text columns", b"a;b\nx;y\n", "no_numeric_column", {}, "No column of the file contains numbers", "нет столбца с числами"),
    Rejected(
        "two unnamed numeric columns",
        b"a;b\n1;800\n1;810\n",
        "ambiguous_columns",
        {"columns": "a, b"},
        "Several columns (a, b) contain numbers",
        "Числа есть в нескольких столбцах (a, b)",
    ),
    Rejected(
        "headerless table",
        b"1;0;800\n1;800;810\n",
        "no_header",
        {"columns": 3},
        "Line 1 has 3 columns but no header line",
        "Столбцов в строке 1: 3",
    ),
    Rejected(
        "word among numbers",
        b"x\n800\nabc\n810\n",
        "bad_number",
        {"line": 3, "column": "x", "value": "abc"},
        'Line 3, column "x": "abc" is not a number',
        "Строка 3, столбец «x»: «abc» не является числом",
    ),
    Rejected(
        "infinity",
        b"800\ninf\n",
        "bad_number",
        {"line": 2, "column": "x", "value": "inf"},
        '"inf" is not a number',
        "«inf» не является числом",
    ),
    Rejected(
        "missing interval",
        b"id,time,x\n1,0,800\n1,800,\n",
        "missing_value",
        {"line": 3, "column": "x"},
        'Line 3, column "x": the value is missing',
        "Строка 3, столбец «x»: значение пропущено",
    ),
    Rejected(
        "missing id",
        b"id,x\n1,800\n,810\n",
        "missing_value",
        {"line": 3, "column": "id"},
        'Line 3, column "id": the value is missing',
        "Строка 3, столбец «id»: значение пропущено",
    ),
    Rejected(
        "short row",
        b"id,time,x\n1,0,800\n1,800\n",
        "ragged_row",
        {"line": 3, "found": 2, "expected": 3},
        "Line 3 has 2 columns, but the header line has 3",
        "Строка 3: столбцов 2, а в строке заголовка 3",
    ),
    Rejected(
        "zero interval",
        b"800\n0\n",
        "non_positive",
        {"line": 2, "value": "0"},
        "Line 2: the R-R interval 0 is not positive",
        "Строка 2: R-R-интервал 0 не положителен",
    ),
    Rejected(
        "label outside 0 and 1",
        b"id,x,y\n1,800,0\n1,810,2\n",
        "bad_label",
        {"line": 3, "value": "2"},
        'Line 3: the label y must be 0 or 1, not "2"',
        "Строка 3: разметка y должна быть 0 или 1, а не «2»",
    ),
    Rejected(
        "more rows than the limit",
        b"x\n" + b"800\n" * 6,
        "too_many_rows",
        {"rows": 6, "limit": 5},
        "The file has 6 data rows, more than the limit of 5 beats",
        "Строк с данными в файле: 6, а ограничение — 5 ударов",
        limits=FileLimits(max_rows=5),
    ),
    Rejected(
        "larger than the upload limit",
        b"800\n" * 300_000,
        "too_large",
        {"size_mb": "1.2", "limit_mb": "1.0"},
        "The file is 1.2 MB, larger than the upload limit of 1.0 MB",
        "Файл занимает 1.2 МБ, а ограничение загрузки 1.0 МБ",
        limits=FileLimits(max_bytes=1_000_000),
    ),
]


@pytest.mark.parametrize("case", REJECTED, ids=[case.name for case in REJECTED])
def test_parser_rejects(case: Rejected) -> None:
    with pytest.raises(RecordingFileError) as caught:
        parse_recording_file(case.content, limits=case.limits)
    error = caught.value

    assert error.code == case.code
    assert error.values == case.values
    assert case.english in error.message("en")
    assert case.russian in error.message("ru")
    assert str(error) == error.message("en")


def test_parser_unlimited_accepts_large_file() -> None:
    content = b"800\n" * 300_000
    recording = parse_recording_file(content, limits=FileLimits(max_bytes=None, max_rows=None))
    assert len(recording.beats) == 300_000


@pytest.mark.parametrize("language", LANGUAGES)
def test_texts_cover_every_error_code(language: str) -> None:
    codes = {case.code for case in REJECTED} | {"no_file"}
    missing = sorted(code for code in codes if f"error.{code}" not in TEXTS[language])
    assert missing == []


def test_texts_same_keys_in_both_languages() -> None:
    assert sorted(TEXTS["ru"]) == sorted(TEXTS["en"])


def test_texts_same_placeholders_in_both_languages() -> None:
    import string

    def placeholders(text: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}

    differing = [key for key in TEXTS["ru"] if placeholders(TEXTS["ru"][key]) != placeholders(TEXTS["en"][key])]
    assert differing == []


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "ru"),
        ("", "ru"),
        ("de-DE,de;q=0.9", "ru"),
        ("en-US,en;q=0.9", "en"),
        ("ru-RU,ru;q=0.9,en;q=0.8", "ru"),
        ("de,en;q=0.5,ru;q=0.7", "ru"),
        ("fr;q=0.9, en-GB;q=0.8", "en"),
        ("en;q=0, ru;q=0.1", "ru"),
        ("en;q=bad", "ru"),
        ("*", "ru"),
    ],
)
def test_choose_language(header: str | None, expected: str) -> None:
    assert choose_language(header) == expected


def test_translate_unknown_language_falls_back_to_russian() -> None:
    assert translate("error.empty", "de") == TEXTS["ru"]["error.empty"]
