// The clinicians' page: upload or sample -> POST /predict_file -> verdict, summary and chart.
//
// Every text comes from texts.json (serving/i18n.py), so a language switch re-renders the page,
// the last result and the last error without asking the server again.
"use strict";

(function () {
  const STORAGE_KEY = "cardiospike.language";
  const BYTES_PER_MB = 1000000; // as serving/recording_file.py counts megabytes
  const PREDICT_URL = new URL("../predict_file", window.location.href).toString();

  const state = {
    texts: {},
    language: "ru",
    limits: {},
    samples: [],
    result: null,
    error: null, // {code, values} of serving/i18n.py, or {key: "error.request", values: {detail}}
    selected: 0,
    busy: false,
  };

  const byId = (id) => document.getElementById(id);

  function t(key, values) {
    const table = state.texts[state.language] || {};
    const template = table[key] !== undefined ? table[key] : key;
    return template.replace(/\{(\w+)\}/g, (match, name) => (values && name in values ? String(values[name]) : match));
  }

  function formatNumber(value, digits) {
    if (value === null || value === undefined) {
      return t("summary.undefined");
    }
    return new Intl.NumberFormat(state.language, {
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    }).format(value);
  }

  // ---- Language --------------------------------------------------------------------------

  function setLanguage(language, remember) {
    if (!state.texts[language]) {
      return;
    }
    state.language = language;
    if (remember) {
      window.localStorage.setItem(STORAGE_KEY, language);
    }
    document.documentElement.lang = language;
    for (const button of document.querySelectorAll(".language-button")) {
      button.setAttribute("aria-pressed", String(button.dataset.language === language));
    }
    renderAll();
  }

  function renderStaticTexts() {
    document.title = t("page.title");
    for (const element of document.querySelectorAll("[data-text]")) {
      element.textContent = t(element.dataset.text);
    }
    const chosen = byId("file-input").files[0];
    byId("file-chosen").textContent = chosen ? chosen.name : t("upload.none");
    byId("upload-hint").textContent = t("upload.hint", {
      max_rows: formatNumber(state.limits.max_rows, 0),
      max_mb: formatNumber(state.limits.max_bytes / BYTES_PER_MB, 0),
    });
  }

  function renderAll() {
    renderStaticTexts();
    renderSamples();
    renderStatus();
    renderError();
    renderResult();
  }

  // ---- Samples ---------------------------------------------------------------------------

  function renderSamples() {
    const list = byId("sample-list");
    list.replaceChildren();
    byId("samples-none").hidden = state.samples.length > 0;
    for (const sample of state.samples) {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "sample-button";
      button.dataset.sample = sample.name;
      button.disabled = state.busy;
      button.textContent = `${t("result.recording", { id: sample.id })} · ${t("samples.beats", {
        beats: formatNumber(sample.beats, 0),
      })}`;
      button.addEventListener("click", () => loadSample(sample));
      item.appendChild(button);
      list.appendChild(item);
    }
  }

  async function loadSample(sample) {
    try {
      const response = await fetch(`samples/${encodeURIComponent(sample.name)}`);
      if (!response.ok) {
        throw new Error(`${response.status} ${response.statusText}`);
      }
      const blob = await response.blob();
      await upload(new File([blob], sample.name, { type: "text/csv" }));
    } catch (problem) {
      showRequestError(problem);
    }
  }

  // ---- Upload ----------------------------------------------------------------------------

  async function upload(file) {
    if (state.limits.max_bytes && file.size > state.limits.max_bytes) {
      // The server rejects it too; checking here spares uploading a large file for nothing.
      const megabytes = (size) => (size / BYTES_PER_MB).toFixed(1);
      setError({ code: "too_large", values: { size_mb: megabytes(file.size), limit_mb: megabytes(state.limits.max_bytes) } });
      return;
    }
    const form = new FormData();
    form.append("file", file, file.name);
    form.append("language", state.language);

    setBusy(true);
    try {
      const response = await fetch(PREDICT_URL, { method: "POST", body: form, headers: { Accept: "application/json" } });
      const body = await response.json().catch(() => null);
      if (body && body.success === true) {
        state.result = body;
        state.selected = 0;
        state.error = null;
      } else if (body && body.error && body.error.code) {
        state.result = null;
        state.error = { code: body.error.code, values: body.error.values || {}, message: body.error.message };
      } else {
        const detail = body && (body.error || body.detail) ? JSON.stringify(body.error || body.detail) : `${response.status} ${response.statusText}`;
        throw new Error(detail);
      }
    } catch (problem) {
      state.result = null;
      state.error = { key: "error.request", values: { detail: problem.message } };
    } finally {
      setBusy(false);
    }
    renderAll();
  }

  function setBusy(busy) {
    state.busy = busy;
    byId("upload-button").disabled = busy;
    for (const button of document.querySelectorAll(".sample-button")) {
      button.disabled = busy;
    }
    renderStatus();
  }

  function renderStatus() {
    byId("status").textContent = state.busy ? t("upload.running") : "";
  }

  function setError(error) {
    state.error = error;
    state.result = null;
    renderAll();
  }

  function showRequestError(problem) {
    setError({ key: "error.request", values: { detail: problem.message } });
  }

  function renderError() {
    const element = byId("error");
    const error = state.error;
    element.hidden = !error;
    if (!error) {
      element.textContent = "";
      element.removeAttribute("data-code");
      return;
    }
    const key = error.key || `error.${error.code}`;
    const known = (state.texts[state.language] || {})[key] !== undefined;
    element.textContent = known ? t(key, error.values) : error.message || key;
    element.dataset.code = error.code || "request";
  }

  // ---- Result ----------------------------------------------------------------------------

  function renderResult() {
    const section = byId("result");
    const result = state.result;
    section.hidden = !result;
    if (!result) {
      delete section.dataset.file;
      return;
    }
    section.dataset.file = result.file_name;
    byId("file-name").textContent = t("result.file", { name: result.file_name });
    byId("file-layout").textContent = t("result.layout", {
      layout: t(`layout.${result.layout}`, { column: result.rr_column }),
    });
    byId("file-model").textContent = result.model_version ? t("result.model", { version: result.model_version }) : "";
    const converted = byId("file-converted");
    converted.hidden = !result.converted_from_seconds;
    converted.textContent = t("result.converted");
    renderMetrics(byId("file-metrics"), result.metrics);
    renderRecordingTable(result);
    renderRecording(result.recordings[state.selected]);
  }

  function renderMetrics(list, metrics) {
    list.hidden = !metrics;
    list.replaceChildren();
    if (metrics) {
      addTerm(list, "summary.f1", formatNumber(metrics.f1, 3));
      addTerm(list, "summary.precision", formatNumber(metrics.precision, 3));
      addTerm(list, "summary.recall", formatNumber(metrics.recall, 3));
    }
  }

  function addTerm(list, key, value) {
    const wrapper = document.createElement("div");
    const term = document.createElement("dt");
    const description = document.createElement("dd");
    term.textContent = t(key);
    description.textContent = value;
    description.dataset.term = key;
    wrapper.append(term, description);
    list.appendChild(wrapper);
  }

  function renderRecordingTable(result) {
    const block = byId("recordings-block");
    block.hidden = result.recordings.length < 2;
    const body = byId("recordings-table").querySelector("tbody");
    body.replaceChildren();
    if (block.hidden) {
      return;
    }
    for (const header of block.querySelectorAll(".labels-only")) {
      header.hidden = !result.has_labels;
    }
    result.recordings.forEach((recording, index) => {
      const row = document.createElement("tr");
      row.setAttribute("aria-selected", String(index === state.selected));
      const cells = [
        recording.id,
        recording.diagnosis ? t("table.yes") : t("table.no"),
        formatNumber(recording.episodes, 0),
        formatNumber(recording.pattern_per_5minute, 0),
        formatNumber(recording.artifacts, 0),
        formatNumber(recording.x.length, 0),
      ];
      if (result.has_labels) {
        cells.push(formatNumber(recording.metrics.f1, 3));
      }
      cells.forEach((text, column) => {
        const cell = document.createElement("td");
        cell.textContent = text;
        if (column === 1 && recording.diagnosis) {
          cell.className = "anomaly";
        }
        row.appendChild(cell);
      });
      const select = () => {
        state.selected = index;
        renderResult();
      };
      row.tabIndex = 0;
      row.addEventListener("click", select);
      row.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          select();
        }
      });
      body.appendChild(row);
    });
  }

  let chart = null;

  function renderRecording(recording) {
    byId("recording-title").textContent = t("result.recording", { id: recording.id });
    const diagnosis = byId("diagnosis");
    diagnosis.textContent = recording.diagnosis ? t("diagnosis.anomaly") : t("diagnosis.normal");
    diagnosis.className = `diagnosis ${recording.diagnosis ? "anomaly" : "normal"}`;
    diagnosis.dataset.diagnosis = String(recording.diagnosis);

    const summary = byId("summary");
    summary.replaceChildren();
    // The sum of the intervals, as the service uses for episodes per 5 minutes.
    const duration = recording.x.reduce((sum, value) => sum + value, 0);
    addTerm(summary, "summary.beats", formatNumber(recording.x.length, 0));
    addTerm(summary, "summary.duration", window.formatTime(duration));
    addTerm(summary, "summary.episodes", formatNumber(recording.episodes, 0));
    addTerm(summary, "summary.per5", formatNumber(recording.pattern_per_5minute, 0));
    addTerm(summary, "summary.anomalous_beats", formatNumber(recording.predictions.reduce((sum, value) => sum + value, 0), 0));
    addTerm(summary, "summary.artifacts", formatNumber(recording.artifacts, 0));
    if (recording.metrics) {
      addTerm(summary, "summary.f1", formatNumber(recording.metrics.f1, 3));
      addTerm(summary, "summary.precision", formatNumber(recording.metrics.precision, 3));
      addTerm(summary, "summary.recall", formatNumber(recording.metrics.recall, 3));
    }

    if (!chart) {
      chart = new window.RRChart(byId("chart"), t, (zoomed) => {
        byId("zoom-reset").hidden = !zoomed;
      });
    }
    if (chart.series && chart.series.source === recording) {
      chart.render();
    } else {
      chart.setSeries(seriesOf(recording));
    }
    renderLegend(Boolean(recording.y));
  }

  // The recording's beats sorted by time, as the chart needs them.
  function seriesOf(recording) {
    const order = recording.time.map((_, index) => index).sort((a, b) => recording.time[a] - recording.time[b]);
    const pick = (values) => (values ? order.map((index) => values[index]) : null);
    return {
      source: recording,
      id: recording.id,
      time: pick(recording.time),
      x: pick(recording.x),
      prediction: pick(recording.predictions),
      artifact: pick(recording.artifact),
      probability: pick(recording.probability),
      label: pick(recording.y),
    };
  }

  function renderLegend(hasLabels) {
    const legend = byId("legend");
    legend.replaceChildren();
    const glyphs = {
      "chart.rr": '<line x1="2" y1="7" x2="26" y2="7" class="rr-line"/>',
      "chart.anomaly": '<rect x="0" y="0" width="28" height="14" class="anomaly-band"/><line x1="4" y1="7" x2="24" y2="7" class="anomaly-line"/>',
      "chart.artifact": '<path d="M3 2L13 12M3 12L13 2" class="artifact-cross"/><path d="M21 7l0.01 0" class="artifact-dot"/>',
      "chart.label": '<rect x="2" y="3" width="24" height="8" class="label-run"/>',
    };
    for (const [key, glyph] of Object.entries(glyphs)) {
      if (key === "chart.label" && !hasLabels) {
        continue;
      }
      const item = document.createElement("li");
      item.innerHTML = `<svg viewBox="0 0 28 14" aria-hidden="true">${glyph}</svg>`;
      const label = document.createElement("span");
      label.textContent = t(key);
      item.appendChild(label);
      legend.appendChild(item);
    }
  }

  // ---- CSV download ------------------------------------------------------------------------

  function csvNumber(value, digits) {
    return Number.isInteger(value) ? String(value) : String(Number(value.toFixed(digits)));
  }

  function downloadCsv() {
    const result = state.result;
    const rows = [];
    for (const recording of result.recordings) {
      recording.row.forEach((fileRow, index) => {
        rows.push([
          fileRow,
          `${csvQuote(recording.id)},${csvNumber(recording.time[index], 3)},${csvNumber(recording.x[index], 3)},` +
            `${recording.predictions[index]},${csvNumber(recording.probability[index], 6)},${recording.artifact[index]}`,
        ]);
      });
    }
    rows.sort((a, b) => a[0] - b[0]);
    const text = ["id,time,x,y,probability,artifact", ...rows.map((row) => row[1])].join("\n") + "\n";
    const link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([text], { type: "text/csv" }));
    link.download = `${result.file_name.replace(/\.[^.]*$/, "")}-cardiospike.csv`;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
  }

  function csvQuote(value) {
    const text = String(value);
    return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  }

  // ---- Start -----------------------------------------------------------------------------

  async function start() {
    const response = await fetch("texts.json");
    const body = await response.json();
    state.texts = body.texts;
    state.limits = body.limits;
    const stored = window.localStorage.getItem(STORAGE_KEY);
    try {
      const samples = await fetch("samples.json");
      state.samples = samples.ok ? await samples.json() : [];
    } catch (problem) {
      state.samples = [];
    }

    for (const button of document.querySelectorAll(".language-button")) {
      button.addEventListener("click", () => setLanguage(button.dataset.language, true));
    }
    byId("upload-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const file = byId("file-input").files[0];
      if (!file) {
        setError({ code: "no_file", values: {} });
        return;
      }
      upload(file);
    });
    byId("file-input").addEventListener("change", renderStaticTexts);
    byId("download-button").addEventListener("click", downloadCsv);
    byId("zoom-reset").addEventListener("click", () => chart && chart.resetView());

    setLanguage(stored && body.texts[stored] ? stored : body.language, false);
    document.body.dataset.ready = "true";
  }

  start().catch((problem) => {
    byId("error").hidden = false;
    byId("error").textContent = `texts.json: ${problem.message}`;
  });
})();
