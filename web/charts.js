// Two small SVG charts for the dashboard (no charting library: nothing to fetch, nothing to update).
// Each chart is a <figure> with a title, the drawing (role="img" with a text description) and the same
// numbers as a table for screen readers and for anyone who wants the exact figures.
import { el } from "/assets/staff.js";

const NS = "http://www.w3.org/2000/svg";
export const COLORS = ["#0b5c8f", "#b42318", "#1d6b35", "#9a4a00", "#6639ba"];

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function figure(title, drawing, description, head, rows) {
  const table = el("table", {}, [
    el("thead", {}, el("tr", {}, head.map((h) => el("th", { scope: "col", text: h })))),
    el("tbody", {}, rows.map((r) => el("tr", {}, r.map((c, i) => el(i ? "td" : "th", i ? { text: c } : { scope: "row", text: c }))))),
  ]);
  drawing.setAttribute("role", "img");
  drawing.setAttribute("aria-label", `${title}. ${description}`);
  return el("figure", { class: "card" }, [
    el("figcaption", {}, el("h2", { text: title })),
    drawing,
    el("details", {}, [el("summary", { text: "Data table" }), table]),
  ]);
}

/** Whole numbers as they are, others to one decimal: an axis never reads 3.3333333. */
const plain = (v) => (Number.isInteger(v) ? String(v) : v.toFixed(1));

/** Horizontal bars, one per [label, value]. */
export function barChart(title, data, format = plain) {
  const rowH = 26, left = 110, width = 340;
  const max = Math.max(1, ...data.map(([, v]) => v));
  const drawing = svg("svg", { class: "chart", viewBox: `0 0 ${width} ${Math.max(1, data.length) * rowH + 10}` });
  data.forEach(([label, v], i) => {
    const y = 5 + i * rowH;
    const w = ((width - left - 50) * v) / max;
    drawing.append(
      svg("text", { x: left - 6, y: y + 16, "text-anchor": "end" }, label),
      svg("rect", { x: left, y: y + 3, width: Math.max(1, w), height: rowH - 8, fill: COLORS[0], rx: 2 }),
      svg("text", { x: left + w + 4, y: y + 16 }, format(v)),
    );
  });
  if (!data.length) drawing.append(svg("text", { x: 10, y: 20 }, "No data yet."));
  const description = data.length ? data.map(([l, v]) => `${l}: ${format(v)}`).join("; ") : "No data yet.";
  return figure(title, drawing, description, ["", "Value"], data.map(([l, v]) => [l, format(v)]));
}

/** Lines over days; `null` values are gaps (no figure that day), never zeros. */
export function lineChart(title, labels, series, format = plain) {
  const width = 340, height = 190, left = 52, bottom = 24, top = 10, right = 10;
  const values = series.flatMap((s) => s.values).filter((v) => v != null);
  const max = Math.max(1, ...values) * 1.1;
  const x = (i) => left + (labels.length <= 1 ? 0 : (i * (width - left - right)) / (labels.length - 1));
  const y = (v) => top + (height - top - bottom) * (1 - v / max);
  const drawing = svg("svg", { class: "chart", viewBox: `0 0 ${width} ${height}` });
  for (let k = 0; k <= 4; k++) {
    const v = (max * k) / 4;
    drawing.append(svg("line", { class: "grid", x1: left, x2: width - right, y1: y(v), y2: y(v) }), svg("text", { x: left - 4, y: y(v) + 4, "text-anchor": "end" }, format(v)));
  }
  const step = Math.max(1, Math.ceil(labels.length / 5));
  // Every `step`-th day and always the last (today); a label too close before it gives way.
  const shown = labels.map((_, i) => i % step === 0);
  const last = labels.length - 1;
  if (last > 0 && !shown[last]) {
    if (last % step < step / 2) shown[last - (last % step)] = false;
    shown[last] = true;
  }
  const anchor = (i) => (i === 0 ? "start" : i === last ? "end" : "middle");
  labels.forEach((l, i) => { if (shown[i]) drawing.append(svg("text", { x: x(i), y: height - 6, "text-anchor": anchor(i) }, l)); });
  series.forEach((s, n) => {
    const color = COLORS[n % COLORS.length];
    let d = "";
    s.values.forEach((v, i) => {
      if (v == null) return;
      d += `${d && s.values[i - 1] != null ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)} `;
      drawing.append(svg("circle", { cx: x(i), cy: y(v), r: 3, fill: color }));
    });
    if (d) drawing.append(svg("path", { d, fill: "none", stroke: color, "stroke-width": 2 }));
  });
  const legend = el("p", { class: "legend" }, series.map((s, n) => el("span", {}, [el("span", { class: `swatch swatch-${n % COLORS.length}` }), s.name])));
  const description = series.map((s) => `${s.name}: ${s.values.map((v, i) => `${labels[i]} ${v == null ? "none" : format(v)}`).join(", ")}`).join(". ");
  const fig = figure(title, drawing, description, ["Day", ...series.map((s) => s.name)], labels.map((l, i) => [l, ...series.map((s) => (s.values[i] == null ? "–" : format(s.values[i])))]));
  fig.insertBefore(legend, fig.querySelector("details"));
  return fig;
}
