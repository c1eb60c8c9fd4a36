// A small SVG line chart of the project's own: series over shared x labels, a legend and
// a text summary for screen readers. No third-party code.
const NS = "http://www.w3.org/2000/svg";
const W = 720, H = 220, PAD = { left: 56, right: 12, top: 12, bottom: 28 };

function svg(name, attrs = {}, text) {
  const node = document.createElementNS(NS, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text != null) node.textContent = text;
  return node;
}

// The top of the axis: 2, 4 or 10 times a power of ten, so that the middle line's label
// is exact (a top of 5 put 2.5 in the middle, which whole counts wrote as "3").
function niceMax(value) {
  if (value <= 0) return 2;
  const power = 10 ** Math.floor(Math.log10(value));
  return [2, 4, 10].map((m) => m * power).find((m) => m >= value);
}

// `series`: [{name, values, color}]; `labels`: one per point; `format`: numbers as text.
export function lineChart(figure, { labels, series, format, summary }) {
  figure.replaceChildren();
  const top = niceMax(Math.max(0, ...series.flatMap((s) => s.values)));
  const plotW = W - PAD.left - PAD.right, plotH = H - PAD.top - PAD.bottom;
  const x = (i) => PAD.left + (labels.length > 1 ? (i * plotW) / (labels.length - 1) : plotW / 2);
  const y = (v) => PAD.top + plotH - (v / top) * plotH;
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": summary });
  for (const tick of [0, top / 2, top]) {
    root.append(svg("line", { class: "axis", x1: PAD.left, x2: W - PAD.right, y1: y(tick), y2: y(tick) }));
    root.append(svg("text", { x: PAD.left - 6, y: y(tick) + 4, "text-anchor": "end" }, format(tick)));
  }
  const step = Math.max(1, Math.ceil(labels.length / 6));
  labels.forEach((label, i) => {
    if (i % step === 0 || i === labels.length - 1) {
      // The last label ends at the plot's edge instead of running past the picture.
      const anchor = i === labels.length - 1 && labels.length > 1 ? "end" : "middle";
      root.append(svg("text", { x: x(i), y: H - 8, "text-anchor": anchor }, label));
    }
  });
  for (const s of series) {
    const points = s.values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
    root.append(svg("polyline", { points, fill: "none", stroke: s.color, "stroke-width": 2 }));
    if (s.values.length === 1) {
      root.append(svg("circle", { cx: x(0), cy: y(s.values[0]), r: 3, fill: s.color }));
    }
  }
  const legend = document.createElement("ul");
  legend.className = "legend";
  for (const s of series) {
    const item = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = s.color;
    item.append(swatch, s.name);
    legend.append(item);
  }
  figure.append(root, legend);
}
