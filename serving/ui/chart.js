// R-R interval chart drawn as SVG, without a chart library.
//
// The x axis is time from the recording start, the y axis the R-R interval in ms. Anomalous beats
// are drawn red on a shaded band with a solid mark on top, so short episodes stay visible when
// 5,000 beats share 1,000 pixels. Artifacts are orange crosses, or dots where beats are dense.
// The y range is fitted to the non-artifact beats, and artifacts outside it are triangles on the
// chart's edge. Dragging across the chart zooms in.
"use strict";

(function () {
  const SVG_NS = "http://www.w3.org/2000/svg";
  const HEIGHT = 340;
  const MARGIN = { top: 14, right: 18, bottom: 46, left: 66 };
  const LABEL_STRIP = 8; // height in px of the y = 1 label strip above the plot
  const DOTS_MIN_SPACING = 5; // draw every beat as a dot when beats are at least this many px apart
  const CROSSES_MIN_SPACING = 4; // below this spacing artifacts are small dots, so dense runs stay readable
  const EPISODE_MARK = 5; // height in px of the solid red mark on top of each anomaly band
  const TIME_STEPS_S = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200];

  function svgElement(name, attributes, parent) {
    const element = document.createElementNS(SVG_NS, name);
    for (const [key, value] of Object.entries(attributes || {})) {
      element.setAttribute(key, String(value));
    }
    if (parent) {
      parent.appendChild(element);
    }
    return element;
  }

  function formatTime(ms) {
    const total = Math.round(ms / 1000);
    const hours = Math.floor(total / 3600);
    const minutes = Math.floor((total % 3600) / 60);
    const seconds = String(total % 60).padStart(2, "0");
    if (hours > 0) {
      return `${hours}:${String(minutes).padStart(2, "0")}:${seconds}`;
    }
    return `${minutes}:${seconds}`;
  }

  // Step between value ticks: 1, 2 or 5 times a power of ten, giving at most maxTicks ticks.
  function valueStep(span, maxTicks) {
    const raw = span / Math.max(maxTicks, 1);
    const magnitude = 10 ** Math.floor(Math.log10(raw));
    for (const multiple of [1, 2, 5, 10]) {
      if (multiple * magnitude >= raw) {
        return multiple * magnitude;
      }
    }
    return 10 * magnitude;
  }

  function timeStepMs(spanMs, maxTicks) {
    for (const seconds of TIME_STEPS_S) {
      if ((seconds * 1000 * maxTicks) >= spanMs) {
        return seconds * 1000;
      }
    }
    return valueStep(spanMs, maxTicks);
  }

  // Index of the first element of the sorted array that is >= value.
  function lowerBound(array, value) {
    let low = 0;
    let high = array.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (array[middle] < value) {
        low = middle + 1;
      } else {
        high = middle;
      }
    }
    return low;
  }

  class RRChart {
    // texts(key, values) returns a translated text; onViewChange(isZoomed) is called after a zoom.
    constructor(container, texts, onViewChange) {
      this.container = container;
      this.texts = texts;
      this.onViewChange = onViewChange || (() => {});
      this.series = null;
      this.view = null;
      this.tooltip = document.createElement("div");
      this.tooltip.className = "tooltip";
      this.tooltip.hidden = true;
      this.dragStart = null;
      container.addEventListener("mousedown", (event) => this.startDrag(event));
      container.addEventListener("mousemove", (event) => this.move(event));
      container.addEventListener("mouseleave", () => this.hideHover());
      window.addEventListener("mouseup", (event) => this.endDrag(event));
      window.addEventListener("resize", () => this.render());
    }

    // series: {id, time, x, prediction, artifact, probability, label}; arrays sorted by time.
    setSeries(series) {
      this.series = series;
      this.resetView();
    }

    resetView() {
      const time = this.series.time;
      this.view = [time[0], time[time.length - 1]];
      if (this.view[1] <= this.view[0]) {
        this.view = [this.view[0] - 1000, this.view[0] + 1000];
      }
      this.render();
      this.onViewChange(false);
    }

    isZoomed() {
      const time = this.series.time;
      return this.view[0] > time[0] || this.view[1] < time[time.length - 1];
    }

    render() {
      if (!this.series) {
        return;
      }
      const series = this.series;
      const width = Math.max(this.container.clientWidth, 320);
      const top = MARGIN.top + (series.label ? LABEL_STRIP + 6 : 0);
      const plot = { left: MARGIN.left, right: width - MARGIN.right, top, bottom: HEIGHT - MARGIN.bottom };
      const [t0, t1] = this.view;
      const first = Math.max(lowerBound(series.time, t0) - 1, 0);
      const last = Math.min(lowerBound(series.time, t1 + 1e-9) + 1, series.time.length);
      const yDomain = this.valueDomain(first, last);

      const scaleX = (t) => plot.left + ((t - t0) / (t1 - t0)) * (plot.right - plot.left);
      const scaleY = (v) => plot.bottom - ((v - yDomain[0]) / (yDomain[1] - yDomain[0])) * (plot.bottom - plot.top);
      const spacing = (plot.right - plot.left) / Math.max(last - first, 1);
      this.geometry = { plot, scaleX, first, last, spacing };

      const svg = svgElement("svg", {
        viewBox: `0 0 ${width} ${HEIGHT}`,
        height: HEIGHT,
        role: "img",
        "aria-label": this.texts("chart.title", { id: series.id }),
      });
      const clipId = `plot-clip-${series.id}`.replace(/[^A-Za-z0-9_-]/g, "_");
      const clip = svgElement("clipPath", { id: clipId }, svgElement("defs", {}, svg));
      svgElement("rect", { x: plot.left, y: plot.top - 1, width: plot.right - plot.left, height: plot.bottom - plot.top + 2 }, clip);

      this.drawAxes(svg, plot, yDomain, scaleX, scaleY);
      const layer = svgElement("g", { "clip-path": `url(#${clipId})` }, svg);
      this.drawAnomalyBands(layer, plot, first, last, scaleX);
      this.drawSeries(layer, first, last, scaleX, scaleY, yDomain);
      this.drawArtifacts(layer, plot, first, last, scaleX, scaleY, yDomain);
      if (series.label) {
        this.drawLabels(svg, plot, first, last, scaleX);
      }
      this.hover = svgElement("g", { class: "hover" }, svg);
      this.selection = svgElement("rect", { class: "selection", y: plot.top, height: plot.bottom - plot.top, width: 0 }, svg);
      this.selection.setAttribute("visibility", "hidden");

      this.container.replaceChildren(svg, this.tooltip);
      this.container.dataset.beats = String(series.time.length);
      this.container.dataset.visibleBeats = String(Math.max(last - first, 0));
    }

    // R-R range of the visible non-artifact beats, padded, so one 3,000 ms artifact does not flatten the rest.
    valueDomain(first, last) {
      const series = this.series;
      let low = Infinity;
      let high = -Infinity;
      for (let i = first; i < last; i += 1) {
        if (!series.artifact[i]) {
          low = Math.min(low, series.x[i]);
          high = Math.max(high, series.x[i]);
        }
      }
      if (!Number.isFinite(low)) {
        for (let i = first; i < last; i += 1) {
          low = Math.min(low, series.x[i]);
          high = Math.max(high, series.x[i]);
        }
      }
      const padding = Math.max((high - low) * 0.08, 20);
      return [Math.max(low - padding, 0), high + padding];
    }

    drawAxes(svg, plot, yDomain, scaleX, scaleY) {
      const axes = svgElement("g", { class: "axes" }, svg);
      const valueTick = valueStep(yDomain[1] - yDomain[0], 6);
      for (let value = Math.ceil(yDomain[0] / valueTick) * valueTick; value <= yDomain[1]; value += valueTick) {
        const y = scaleY(value);
        svgElement("line", { class: "grid", x1: plot.left, x2: plot.right, y1: y, y2: y }, axes);
        const label = svgElement("text", { class: "tick", x: plot.left - 8, y: y + 4, "text-anchor": "end" }, axes);
        label.textContent = String(Math.round(value));
      }

      const [t0, t1] = this.view;
      const maxTicks = Math.max(Math.floor((plot.right - plot.left) / 90), 2);
      const timeTick = timeStepMs(t1 - t0, maxTicks);
      for (let t = Math.ceil(t0 / timeTick) * timeTick; t <= t1; t += timeTick) {
        const x = scaleX(t);
        svgElement("line", { class: "grid vertical", x1: x, x2: x, y1: plot.top, y2: plot.bottom }, axes);
        const label = svgElement("text", { class: "tick", x, y: plot.bottom + 18, "text-anchor": "middle" }, axes);
        label.textContent = formatTime(t);
      }

      svgElement("rect", { class: "frame", x: plot.left, y: plot.top, width: plot.right - plot.left, height: plot.bottom - plot.top }, axes);
      const xTitle = svgElement("text", { class: "axis-title", x: (plot.left + plot.right) / 2, y: HEIGHT - 6, "text-anchor": "middle" }, axes);
      xTitle.textContent = this.texts("chart.x_axis");
      const middle = (plot.top + plot.bottom) / 2;
      const yTitle = svgElement("text", {
        class: "axis-title",
        x: 16,
        y: middle,
        "text-anchor": "middle",
        transform: `rotate(-90 16 ${middle})`,
      }, axes);
      yTitle.textContent = this.texts("chart.y_axis");
    }

    // Shaded bands behind runs of anomalous beats, at least 3 px wide so one beat of 5,000 shows,
    // each with a solid mark along the top edge that stays visible behind a dense line.
    drawAnomalyBands(layer, plot, first, last, scaleX) {
      const series = this.series;
      const group = svgElement("g", { class: "anomaly-bands" }, layer);
      let i = first;
      while (i < last) {
        if (!series.prediction[i]) {
          i += 1;
          continue;
        }
        let end = i;
        while (end + 1 < last && series.prediction[end + 1]) {
          end += 1;
        }
        const before = i > 0 ? (series.time[i - 1] + series.time[i]) / 2 : series.time[i];
        const after = end + 1 < series.time.length ? (series.time[end] + series.time[end + 1]) / 2 : series.time[end];
        let left = scaleX(before);
        let right = scaleX(after);
        if (right - left < 3) {
          const centre = (left + right) / 2;
          left = centre - 1.5;
          right = centre + 1.5;
        }
        svgElement("rect", { class: "anomaly-band", x: left, y: plot.top, width: right - left, height: plot.bottom - plot.top }, group);
        svgElement("rect", { class: "episode-mark", x: left, y: plot.top, width: right - left, height: EPISODE_MARK }, group);
        i = end + 1;
      }
    }

    drawSeries(layer, first, last, scaleX, scaleY, yDomain) {
      const series = this.series;
      const spacing = this.geometry.spacing;
      let line = "";
      let anomaly = "";
      let previous = -1;
      for (let i = first; i < last; i += 1) {
        if (series.artifact[i]) {
          continue;
        }
        const x = scaleX(series.time[i]).toFixed(1);
        const y = scaleY(Math.min(Math.max(series.x[i], yDomain[0]), yDomain[1])).toFixed(1);
        line += `${line ? "L" : "M"}${x} ${y}`;
        if (series.prediction[i]) {
          const joined = previous >= 0 && series.prediction[previous];
          anomaly += `${joined ? "L" : "M"}${x} ${y}`;
          if (!joined) {
            // A lone anomalous beat still gets a visible mark: a short stub on the line.
            anomaly += `l0.01 0`;
          }
        }
        previous = i;
      }
      svgElement("path", { class: spacing < 1 ? "rr-line dense" : "rr-line", d: line }, layer);
      svgElement("path", { class: "anomaly-line", d: anomaly }, layer);

      if (spacing >= DOTS_MIN_SPACING) {
        const dots = svgElement("g", { class: "dots" }, layer);
        for (let i = first; i < last; i += 1) {
          if (series.artifact[i]) {
            continue;
          }
          svgElement("circle", {
            class: series.prediction[i] ? "dot anomaly" : "dot",
            cx: scaleX(series.time[i]).toFixed(1),
            cy: scaleY(series.x[i]).toFixed(1),
            r: spacing >= 12 ? 3.5 : 2.5,
          }, dots);
        }
      }
    }

    drawArtifacts(layer, plot, first, last, scaleX, scaleY, yDomain) {
      const series = this.series;
      const sparse = this.geometry.spacing >= CROSSES_MIN_SPACING;
      const size = sparse ? 5 : 3;
      let crosses = "";
      let dots = "";
      let edges = "";
      for (let i = first; i < last; i += 1) {
        if (!series.artifact[i]) {
          continue;
        }
        const x = scaleX(series.time[i]);
        const value = series.x[i];
        if (value > yDomain[1]) {
          const y = plot.top;
          edges += `M${x - size} ${y + 2 * size}L${x} ${y + 1}L${x + size} ${y + 2 * size}Z`;
        } else if (value < yDomain[0]) {
          const y = plot.bottom;
          edges += `M${x - size} ${y - 2 * size}L${x} ${y - 1}L${x + size} ${y - 2 * size}Z`;
        } else if (sparse) {
          const y = scaleY(value);
          crosses += `M${x - size} ${y - size}L${x + size} ${y + size}M${x - size} ${y + size}L${x + size} ${y - size}`;
        } else {
          // A zero-length segment with a round cap is a dot; one path keeps thousands of them cheap.
          dots += `M${x.toFixed(1)} ${scaleY(value).toFixed(1)}l0.01 0`;
        }
      }
      svgElement("path", { class: "artifact-cross", d: crosses }, layer);
      svgElement("path", { class: "artifact-dot", d: dots }, layer);
      svgElement("path", { class: "artifact-edge", d: edges }, layer);
    }

    // Expert labels (y = 1) as a strip above the plot, to compare with the red bands below.
    drawLabels(svg, plot, first, last, scaleX) {
      const series = this.series;
      const group = svgElement("g", { class: "labels" }, svg);
      const y = plot.top - LABEL_STRIP - 4;
      let i = first;
      while (i < last) {
        if (!series.label[i]) {
          i += 1;
          continue;
        }
        let end = i;
        while (end + 1 < last && series.label[end + 1]) {
          end += 1;
        }
        const left = scaleX(series.time[i]);
        const right = Math.max(scaleX(series.time[end]), left + 3);
        svgElement("rect", { class: "label-run", x: left, y, width: right - left, height: LABEL_STRIP }, group);
        i = end + 1;
      }
    }

    plotX(event) {
      const bounds = this.container.getBoundingClientRect();
      const svgWidth = Math.max(this.container.clientWidth, 320);
      return ((event.clientX - bounds.left) / bounds.width) * svgWidth;
    }

    timeAt(px) {
      const { plot } = this.geometry;
      const [t0, t1] = this.view;
      const clamped = Math.min(Math.max(px, plot.left), plot.right);
      return t0 + ((clamped - plot.left) / (plot.right - plot.left)) * (t1 - t0);
    }

    startDrag(event) {
      if (!this.series || event.button !== 0) {
        return;
      }
      this.dragStart = this.plotX(event);
      event.preventDefault();
    }

    move(event) {
      if (!this.series || !this.geometry) {
        return;
      }
      const px = this.plotX(event);
      if (this.dragStart !== null) {
        const left = Math.min(px, this.dragStart);
        this.selection.setAttribute("x", String(left));
        this.selection.setAttribute("width", String(Math.abs(px - this.dragStart)));
        this.selection.setAttribute("visibility", "visible");
      }
      this.showHover(px);
    }

    endDrag(event) {
      if (this.dragStart === null) {
        return;
      }
      const start = this.dragStart;
      this.dragStart = null;
      const end = this.plotX(event);
      if (Math.abs(end - start) < 6) {
        this.selection.setAttribute("visibility", "hidden");
        return;
      }
      const a = this.timeAt(Math.min(start, end));
      const b = this.timeAt(Math.max(start, end));
      if (b > a) {
        this.view = [a, b];
        this.render();
        this.onViewChange(this.isZoomed());
      }
    }

    showHover(px) {
      const { plot, scaleX } = this.geometry;
      if (px < plot.left || px > plot.right) {
        this.hideHover();
        return;
      }
      const series = this.series;
      const t = this.timeAt(px);
      let i = Math.min(lowerBound(series.time, t), series.time.length - 1);
      if (i > 0 && Math.abs(series.time[i - 1] - t) < Math.abs(series.time[i] - t)) {
        i -= 1;
      }
      const x = scaleX(series.time[i]);
      this.hover.replaceChildren();
      svgElement("line", { class: "guide", x1: x, x2: x, y1: plot.top, y2: plot.bottom }, this.hover);
      const probability = series.probability[i];
      this.tooltip.textContent = this.texts("chart.tooltip", {
        time: formatTime(series.time[i]),
        rr: Math.round(series.x[i]),
        probability: probability === null || probability === undefined ? "-" : new Intl.NumberFormat(document.documentElement.lang, {
          minimumFractionDigits: 2,
          maximumFractionDigits: 2,
        }).format(probability),
      });
      this.tooltip.hidden = false;
      const scale = this.container.getBoundingClientRect().width / Math.max(this.container.clientWidth, 320);
      const left = Math.min(x * scale + 12, this.container.clientWidth - this.tooltip.offsetWidth - 4);
      this.tooltip.style.left = `${Math.max(left, 0)}px`;
      this.tooltip.style.top = `${plot.top + 4}px`;
    }

    hideHover() {
      if (this.hover) {
        this.hover.replaceChildren();
      }
      this.tooltip.hidden = true;
    }
  }

  window.RRChart = RRChart;
  window.formatTime = formatTime;
})();
