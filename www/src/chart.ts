// The stock-over-time chart of one item, drawn by hand as SVG from the `history` view: one
// step line per site, the total, and the reorder level as a dashed line. The x axis counts
// changes in log order (server positions first, then the changes still pending here).

import type { Views } from "annals-inventory";

/** `[position, qty]` after each change of one site; `position` is `null` while pending. */
type HistoryPoint = Views["history"]["row"][string][number];
import { h, svg } from "./dom";

/** Drawn at the figure's own width, so the text stays legible on a phone. */
const MIN_WIDTH = 280;
const MAX_WIDTH = 900;
const MARGIN = { top: 14, right: 16, bottom: 30, left: 44 };
const PALETTE = ["#2f7d6d", "#c0673a", "#4c6fb3", "#9a5fa8", "#b59a2b", "#5a8f3c", "#b2475f"];

export interface ChartInput {
  name: string;
  unit: string;
  reorderLevel: number;
  /** The `history` view's row of the item: per site, `[position, qty]` after each change. */
  history: Record<string, HistoryPoint[]>;
  /** A moment to mark (the log position of the version chosen in "Back in time"). */
  marker?: { position: number; label: string };
}

interface Step {
  position: number | null;
  site: string;
  /** Every site's quantity after this change; a site not yet seen has none. */
  values: Record<string, number | undefined>;
  total: number;
}

/** Puts every site's changes in one order and keeps every site's quantity after each. */
function timeline(history: Record<string, HistoryPoint[]>): Step[] {
  const changes: { position: number | null; index: number; site: string; qty: number }[] = [];
  for (const [site, points] of Object.entries(history)) {
    points.forEach(([position, qty], index) => changes.push({ position, index, site, qty }));
  }
  // Recorded changes by position; pending ones after them, each site's in its own order.
  changes.sort((a, b) => {
    if (a.position !== null && b.position !== null) return a.position - b.position;
    if (a.position !== null) return -1;
    if (b.position !== null) return 1;
    return a.index - b.index;
  });
  const values: Record<string, number> = {};
  return changes.map((change) => {
    values[change.site] = change.qty;
    const total = Object.values(values).reduce((sum, qty) => sum + qty, 0);
    return { position: change.position, site: change.site, values: { ...values }, total };
  });
}

/** Round steps for the y axis: 1, 2, 5, 10, 20, 50, ... */
function tickStep(max: number): number {
  const rough = max / 4;
  const power = 10 ** Math.floor(Math.log10(Math.max(rough, 1)));
  for (const factor of [1, 2, 5, 10]) {
    if (factor * power >= rough) return factor * power;
  }
  return 10 * power;
}

/** A step path: each change holds until the next one, the last until now (`end`). */
function stepPath(points: [number, number][], end: number): string {
  const path = points
    .map(([x, y], i) => (i === 0 ? `M${x.toFixed(1)},${y.toFixed(1)}` : `H${x.toFixed(1)}V${y.toFixed(1)}`))
    .join("");
  return `${path}H${end.toFixed(1)}`;
}

/** Draws the chart into `figure`, with a legend and a sentence for screen readers. */
export function drawChart(figure: HTMLElement, input: ChartInput) {
  const sites = Object.keys(input.history);
  const steps = timeline(input.history);
  figure.dataset.steps = String(steps.length);
  if (steps.length === 0) {
    figure.replaceChildren(h("p", { class: "empty" }, "No stock has moved yet: receive or count some to start the chart."));
    return;
  }
  const last = steps[steps.length - 1];
  const quantities = steps.flatMap((s) => Object.values(s.values) as number[]);
  const highest = Math.max(input.reorderLevel, ...steps.map((s) => s.total), 1);
  const lowest = Math.min(0, ...quantities);
  const step = tickStep(highest - lowest);
  const top = Math.ceil(highest / step) * step;
  const bottom = Math.floor(lowest / step) * step;

  const width = Math.round(Math.min(MAX_WIDTH, Math.max(MIN_WIDTH, figure.clientWidth || 640)));
  const height = width < 480 ? 200 : 240;
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const right = width - MARGIN.right;
  // One equal slot per change; the last one lasts until now, at the right edge.
  const x = (i: number) => MARGIN.left + (i / steps.length) * plotW;
  const y = (qty: number) => MARGIN.top + plotH - ((qty - bottom) / (top - bottom)) * plotH;

  const grid: SVGElement[] = [];
  for (let tick = bottom; tick <= top; tick += step) {
    grid.push(svg("line", { class: "grid", x1: MARGIN.left, x2: right, y1: y(tick), y2: y(tick) }));
    grid.push(svg("text", { class: "tick", x: MARGIN.left - 8, y: y(tick) + 4, "text-anchor": "end" }, tick));
  }
  const first = steps[0].position;
  const axis = [
    svg("text", { class: "tick", x: MARGIN.left, y: height - 8 }, first === null ? "first change" : `#${first}`),
    svg("text", { class: "tick", x: right, y: height - 8, "text-anchor": "end" }, "now"),
    svg("text", { class: "tick axis-name", x: MARGIN.left + plotW / 2, y: height - 8, "text-anchor": "middle" }, `${steps.length} ${steps.length === 1 ? "change" : "changes"}, oldest to newest`),
  ];

  const reorder =
    input.reorderLevel > 0
      ? [
          svg("line", { class: "reorder", x1: MARGIN.left, x2: right, y1: y(input.reorderLevel), y2: y(input.reorderLevel) }),
          svg("text", { class: "tick reorder-label", x: right, y: y(input.reorderLevel) - 5, "text-anchor": "end" }, `reorder below ${input.reorderLevel}`),
        ]
      : [];

  const marked: SVGElement[] = [];
  if (input.marker) {
    // The state at the marked moment is the one after the last change at or before it.
    const held = steps.filter((s) => s.position !== null && s.position <= input.marker!.position).length - 1;
    const at = held < 0 ? MARGIN.left : (x(held) + (held + 1 < steps.length ? x(held + 1) : right)) / 2;
    marked.push(
      svg("line", { class: "marker", x1: at, x2: at, y1: MARGIN.top, y2: MARGIN.top + plotH, "data-testid": "chart-marker" }),
      svg("text", { class: "tick marker-label", x: at + 4, y: MARGIN.top + 10 }, input.marker.label),
    );
  }
  const total = svg("path", {
    class: "total",
    d: stepPath(steps.map((s, i): [number, number] => [x(i), y(s.total)]), right),
    fill: "none",
    "data-testid": "chart-total",
    "data-values": steps.map((s) => s.total).join(","),
  });
  const lines = sites.map((site, index) => {
    const color = PALETTE[index % PALETTE.length];
    const points: [number, number][] = [];
    const dots: SVGElement[] = [];
    steps.forEach((s, i) => {
      const qty = s.values[site];
      if (qty === undefined) return;
      points.push([x(i), y(qty)]);
      if (s.site === site) {
        const fill = s.position === null ? "white" : color;
        dots.push(svg("circle", { cx: x(i), cy: y(qty), r: 3.5, fill, stroke: color, "stroke-width": 2 }));
      }
    });
    return svg(
      "g",
      { "data-site": site },
      svg("path", {
        d: stepPath(points, right),
        fill: "none",
        stroke: color,
        "stroke-width": 2,
        "data-testid": "chart-line",
        "data-site": site,
        "data-values": steps.map((s) => s.values[site] ?? "").join(","),
      }),
      ...dots,
    );
  });

  const now = (site: string) => last.values[site] ?? 0;
  const summary =
    `Stock of ${input.name} over ${steps.length} ${steps.length === 1 ? "change" : "changes"}; now ` +
    sites.map((site) => `${site} ${now(site)}`).join(", ") +
    `, total ${last.total} ${input.unit}.`;
  const chart = svg(
    "svg",
    { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": summary },
    svg("title", {}, summary),
    ...grid,
    ...axis,
    ...reorder,
    ...marked,
    total,
    ...lines,
  );
  const legend = h(
    "figcaption",
    { class: "legend" },
    ...sites.map((site, index) =>
      h("span", { class: "legend-item" }, h("span", { class: "swatch", style: `background:${PALETTE[index % PALETTE.length]}` }), `${site} ${now(site)}`),
    ),
    h("span", { class: "legend-item" }, h("span", { class: "swatch total-swatch" }), `total ${last.total} ${input.unit}`),
    steps.some((s) => s.position === null)
      ? h("span", { class: "legend-item muted" }, h("span", { class: "swatch hollow" }), "not yet synced")
      : null,
  );
  figure.replaceChildren(chart, legend);
}
