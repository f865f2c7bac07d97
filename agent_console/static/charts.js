// Charts as inline SVG, no library (the console runs offline): horizontal bars (the funnel), vertical bars (grades)
// and a histogram (latency). Each function returns an <svg> element sized by its viewBox, so CSS sets its width.
// Labels are set with textContent; colours come from classes in style.css (the CSP forbids inline styles), and
// every bar carries data-label / data-value so tests and screen readers can read the figures.

const SVG = "http://www.w3.org/2000/svg";

function svgEl(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = String(text);
  return node;
}

function chart(className, width, height, title) {
  const svg = svgEl("svg", { class: `chart ${className}`, viewBox: `0 0 ${width} ${height}`, role: "img" });
  svg.append(svgEl("title", {}, title));
  return svg;
}

/** Horizontal bars, one per [label, value], widths relative to the largest; the share of the first shown after. */
export function funnelChart(items, { title = "Funnel" } = {}) {
  const rowH = 30;
  const labelW = 150;
  const barW = 300;
  const svg = chart("funnel-chart", labelW + barW + 90, items.length * rowH + 8, title);
  const top = Math.max(1, ...items.map(([, v]) => v));
  const first = items[0]?.[1] ?? 0;
  items.forEach(([label, value], i) => {
    const y = 4 + i * rowH;
    const w = Math.max(value > 0 ? 2 : 0, (barW * value) / top);
    const share = first > 0 && i > 0 ? ` (${Math.round((100 * value) / first)}%)` : "";
    svg.append(
      svgEl("text", { x: labelW - 8, y: y + 17, class: "chart-label", "text-anchor": "end" }, label),
      svgEl("rect", { x: labelW, y, width: w, height: rowH - 8, class: `bar step-${i}`, ...dataOf(label, value) }),
      svgEl("text", { x: labelW + w + 6, y: y + 17, class: "chart-value" }, `${value}${share}`),
    );
  });
  return svg;
}

/** Vertical bars, one per [label, value] (e.g. grades A–D); `classOf(label)` adds a class per bar. */
export function columnChart(items, { title = "Chart", classOf = () => "" } = {}) {
  const colW = 56;
  const plotH = 120;
  const svg = chart("column-chart", items.length * colW + 16, plotH + 44, title);
  const top = Math.max(1, ...items.map(([, v]) => v));
  items.forEach(([label, n], i) => {
    const x = 8 + i * colW;
    const h = (plotH * n) / top;
    const y = 18 + plotH - h;
    svg.append(
      svgEl("rect", { x: x + 8, y, width: colW - 16, height: h, class: `bar ${classOf(label)}`, ...dataOf(label, n) }),
      svgEl("text", { x: x + colW / 2, y: y - 4, class: "chart-value", "text-anchor": "middle" }, n),
      svgEl("text", { x: x + colW / 2, y: plotH + 36, class: "chart-label", "text-anchor": "middle" }, label),
    );
  });
  return svg;
}

/** Histogram of `bins` ([{lo_ms, hi_ms, count}], contiguous from 0 ms; hi_ms null = open-ended), axis in ms. */
export function histogramChart(bins, { title = "Histogram", unit = "ms" } = {}) {
  const plotW = 480;
  const plotH = 120;
  const left = 36;
  const svg = chart("histogram-chart", plotW + left + 16, plotH + 44, title);
  const top = Math.max(1, ...bins.map((b) => b.count));
  const w = plotW / Math.max(1, bins.length);
  svg.append(svgEl("line", { x1: left, y1: plotH + 10, x2: left + plotW, y2: plotH + 10, class: "axis" }));
  svg.append(svgEl("text", { x: left - 4, y: 18, class: "chart-label", "text-anchor": "end" }, top));
  const tick = Math.max(1, Math.ceil(bins.length / 8));
  bins.forEach((bin, i) => {
    const h = (plotH * bin.count) / top;
    const label = bin.hi_ms === null ? `≥ ${bin.lo_ms} ${unit}` : `${bin.lo_ms}–${bin.hi_ms} ${unit}`;
    const box = { x: left + i * w + 1, y: plotH + 10 - h, width: Math.max(1, w - 2), height: h };
    const rect = svgEl("rect", { ...box, class: "bar", ...dataOf(label, bin.count) });
    rect.append(svgEl("title", {}, `${label}: ${bin.count}`));
    svg.append(rect);
    if (i % tick === 0) {
      svg.append(svgEl("text", { x: left + i * w, y: plotH + 28, class: "chart-label" }, bin.lo_ms));
    }
  });
  svg.append(svgEl("text", { x: left + plotW, y: plotH + 42, class: "chart-label", "text-anchor": "end" }, unit));
  return svg;
}

function dataOf(label, value) {
  return { "data-label": label, "data-value": value };
}
