"""Russian and English texts of the web page and of the recording-file messages.

The page fetches `TEXTS` as JSON (see `serving.web`), and the upload endpoint and the command line
format their messages from the same table, so every text exists once, in both languages.
Placeholders use `str.format` syntax: `{line}`, `{limit}`.
"""

DEFAULT_LANGUAGE = "ru"
LANGUAGES = ("ru", "en")

TEXTS: dict[str, dict[str, str]] = {
    "ru": {
        # Page
        "page.title": "CardioSpike: поиск COVID-специфичных аномалий ритма",
        "page.lead": "Загрузите запись R-R-интервалов или выберите пример. Модель отметит удары, "
        "относящиеся к аномалии, и артефакты измерения.",
        "page.language": "Язык",
        "upload.label": "Файл записи (.csv или .txt)",
        "upload.hint": "Подходят таблица id,time,x (с y или без), таблица id,x и один столбец "
        "R-R-интервалов в миллисекундах или секундах, с заголовком или без. Разделитель: запятая, "
        "точка с запятой или табуляция. До {max_rows} ударов и {max_mb} МБ.",
        "upload.choose": "Выбрать файл…",
        "upload.none": "Файл не выбран",
        "upload.button": "Проверить запись",
        "upload.running": "Идёт анализ…",
        "samples.title": "Примеры из тестовой выборки",
        "samples.none": "Примеры не подготовлены: выполните python -m serving.samples при сборке.",
        "samples.beats": "ударов: {beats}",
        "result.file": "Файл: {name}",
        "result.layout": "Формат: {layout}",
        "result.converted": "Интервалы были в секундах и переведены в миллисекунды.",
        "result.model": "Модель: версия {version}",
        "result.recordings": "Записи в файле",
        "result.download": "Скачать результат (CSV)",
        "result.recording": "Запись {id}",
        "diagnosis.anomaly": "Обнаружена COVID-специфичная аномалия ритма",
        "diagnosis.normal": "COVID-специфичная аномалия ритма не обнаружена",
        "summary.beats": "Ударов",
        "summary.duration": "Длительность",
        "summary.episodes": "Эпизодов аномалии",
        "summary.per5": "Эпизодов за 5 минут",
        "summary.artifacts": "Артефактов",
        "summary.anomalous_beats": "Ударов в аномалии",
        "summary.f1": "F1 по разметке y",
        "summary.precision": "Точность (precision)",
        "summary.recall": "Полнота (recall)",
        "summary.undefined": "не определена",
        "table.id": "Запись",
        "table.diagnosis": "Заключение",
        "table.yes": "аномалия",
        "table.no": "нет",
        "table.f1": "F1 по y",
        "chart.title": "R-R-интервалы записи {id}",
        "chart.x_axis": "Время, мин:с",
        "chart.y_axis": "R-R, мс",
        "chart.rr": "R-R-интервал",
        "chart.anomaly": "Удар в аномалии",
        "chart.artifact": "Артефакт",
        "chart.label": "Разметка y = 1",
        "chart.zoom_hint": "Выделите участок мышью, чтобы увеличить его.",
        "chart.reset": "Показать всю запись",
        "chart.tooltip": "{time}: R-R {rr} мс, вероятность {probability}",
        "layout.id,time,x": "таблица id,time,x",
        "layout.id,time,x,y": "таблица id,time,x,y",
        "layout.id,x": "таблица id,x",
        "layout.id,x,y": "таблица id,x,y",
        "layout.named_column": "таблица со столбцом «{column}»",
        "layout.single_column": "один столбец R-R-интервалов",
        "error.request": "Запрос не выполнен: {detail}",
        # Recording file messages
        "error.no_file": "Файл не передан: приложите один файл записи в поле file.",
        "error.empty": "Файл пуст: в нём нет ни одного R-R-интервала.",
        "error.not_text": "Файл не текстовый. Загрузите таблицу R-R-интервалов в формате .csv или .txt.",
        "error.too_large": "Файл занимает {size_mb} МБ, а ограничение загрузки {limit_mb} МБ.",
        "error.too_many_rows": "Строк с данными в файле: {rows}, а ограничение — {limit} ударов.",
        "error.no_numeric_column": "В файле нет столбца с числами, поэтому R-R-интервалы не найдены. "
        "Ожидается один интервал в строке или столбцы id,time,x.",
        "error.ambiguous_columns": "Числа есть в нескольких столбцах ({columns}), и неясно, в каком "
        "из них R-R-интервалы. Назовите этот столбец x или RR в строке заголовка.",
        "error.no_header": "Столбцов в строке 1: {columns}, но нет строки заголовка с их названиями. "
        "Добавьте заголовок, например id,time,x, или оставьте один столбец интервалов.",
        "error.bad_number": "Строка {line}, столбец «{column}»: «{value}» не является числом.",
        "error.missing_value": "Строка {line}, столбец «{column}»: значение пропущено.",
        "error.ragged_row": "Строка {line}: столбцов {found}, а в строке заголовка {expected}.",
        "error.non_positive": "Строка {line}: R-R-интервал {value} не положителен.",
        "error.bad_label": "Строка {line}: разметка y должна быть 0 или 1, а не «{value}».",
    },
    "en": {
        # Page
        "page.title": "CardioSpike: COVID-19-specific heart rhythm anomalies",
        "page.lead": "Upload an R-R interval recording or pick a sample. The model marks the beats "
        "that belong to an anomaly and the measurement artifacts.",
        "page.language": "Language",
        "upload.label": "Recording file (.csv or .txt)",
        "upload.hint": "Accepted: an id,time,x table (with or without y), an id,x table and a "
        "single column of R-R intervals in milliseconds or seconds, with or without a header line. "
        "Separator: comma, semicolon or tab. Up to {max_rows} beats and {max_mb} MB.",
        "upload.choose": "Choose a file…",
        "upload.none": "No file chosen",
        "upload.button": "Check the recording",
        "upload.running": "Analysing…",
        "samples.title": "Samples from the test set",
        "samples.none": "No samples were prepared: run python -m serving.samples at build time.",
        "samples.beats": "{beats} beats",
        "result.file": "File: {name}",
        "result.layout": "Layout: {layout}",
        "result.converted": "The intervals were in seconds and have been converted to milliseconds.",
        "result.model": "Model: version {version}",
        "result.recordings": "Recordings in the file",
        "result.download": "Download the result (CSV)",
        "result.recording": "Recording {id}",
        "diagnosis.anomaly": "COVID-19-specific rhythm anomaly found",
        "diagnosis.normal": "No COVID-19-specific rhythm anomaly found",
        "summary.beats": "Beats",
        "summary.duration": "Duration",
        "summary.episodes": "Anomaly episodes",
        "summary.per5": "Episodes per 5 minutes",
        "summary.artifacts": "Artifacts",
        "summary.anomalous_beats": "Anomalous beats",
        "summary.f1": "F1 against the y labels",
        "summary.precision": "Precision",
        "summary.recall": "Recall",
        "summary.undefined": "undefined",
        "table.id": "Recording",
        "table.diagnosis": "Diagnosis",
        "table.yes": "anomaly",
        "table.no": "none",
        "table.f1": "F1 against y",
        "chart.title": "R-R intervals of recording {id}",
        "chart.x_axis": "Time, min:s",
        "chart.y_axis": "R-R, ms",
        "chart.rr": "R-R interval",
        "chart.anomaly": "Anomalous beat",
        "chart.artifact": "Artifact",
        "chart.label": "Label y = 1",
        "chart.zoom_hint": "Drag across the chart to zoom in.",
        "chart.reset": "Show the whole recording",
        "chart.tooltip": "{time}: R-R {rr} ms, probability {probability}",
        "layout.id,time,x": "id,time,x table",
        "layout.id,time,x,y": "id,time,x,y table",
        "layout.id,x": "id,x table",
        "layout.id,x,y": "id,x,y table",
        "layout.named_column": "table with the column \"{column}\"",
        "layout.single_column": "single column of R-R intervals",
        "error.request": "The request failed: {detail}",
        # Recording file messages
        "error.no_file": "No file was uploaded: attach one recording file in the field file.",
        "error.empty": "The file is empty: it contains no R-R intervals.",
        "error.not_text": "The file is not a text file. Upload a .csv or .txt table of R-R intervals.",
        "error.too_large": "The file is {size_mb} MB, larger than the upload limit of {limit_mb} MB.",
        "error.too_many_rows": "The file has {rows} data rows, more than the limit of {limit} beats.",
        "error.no_numeric_column": "No column of the file contains numbers, so no R-R intervals were "
        "found. Expected one interval per line or the columns id,time,x.",
        "error.ambiguous_columns": "Several columns ({columns}) contain numbers, so it is not clear "
        "which one holds the R-R intervals. Name that column x or RR in the header line.",
        "error.no_header": "Line 1 has {columns} columns but no header line names them. Add a "
        "header line such as id,time,x, or keep a single column of intervals.",
        "error.bad_number": "Line {line}, column \"{column}\": \"{value}\" is not a number.",
        "error.missing_value": "Line {line}, column \"{column}\": the value is missing.",
        "error.ragged_row": "Line {line} has {found} columns, but the header line has {expected}.",
        "error.non_positive": "Line {line}: the R-R interval {value} is not positive.",
        "error.bad_label": "Line {line}: the label y must be 0 or 1, not \"{value}\".",
    },
}


def translate(key: str, language: str, **values: object) -> str:
    """Return the text `key` in `language` (the default language if unknown) with `values` filled in."""
    table = TEXTS.get(language, TEXTS[DEFAULT_LANGUAGE])
    return table[key].format(**values)


def choose_language(accept_language: str | None) -> str:
    """Pick "ru" or "en" from an HTTP Accept-Language header; Russian when neither is requested.

    Ranges are tried by falling quality (`q`), and a range matches by its primary subtag, so
    "en-GB" selects English. A range with q=0 means "not acceptable" and is skipped.
    """
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate((accept_language or "").split(",")):
        tag, _, parameters = item.strip().partition(";")
        quality = 1.0
        for parameter in parameters.split(";"):
            name, _, value = parameter.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if quality > 0 and primary in LANGUAGES:
            # Sort by quality, highest first; equal qualities keep header order.
            ranked.append((-quality, position, primary))
    return min(ranked)[2] if ranked else DEFAULT_LANGUAGE
