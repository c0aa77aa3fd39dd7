// Key figures: fetch /api/figures for the chosen team and period and draw them with Chart.js
// (vendored under /static/vendor/chart.js/, loaded before this module as a classic script).
const Chart = window.Chart;
const root = document.getElementById("figures");
const form = document.getElementById("figures-filter");
const status = document.getElementById("figures-status");
const table = document.getElementById("figures-table");
const label = (name) => root.dataset[name] ?? name;
const charts = new Map();
const percent = (value) => (value === null ? null : Math.round(value * 1000) / 10);
const COLOURS = ["#0b5cad", "#1e7a34", "#b3261e", "#8a5a00", "#5b3f9e"];

function draw(id, type, labels, series, options = {}) {
  charts.get(id)?.destroy();
  const datasets = series.map(([name, data], index) => ({
    label: name,
    data,
    borderColor: COLOURS[index % COLOURS.length],
    backgroundColor: COLOURS[index % COLOURS.length],
    spanGaps: true,
    tension: 0.2,
  }));
  const chart = new Chart(document.getElementById(id), {
    type,
    data: { labels, datasets },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      scales: { y: { beginAtZero: true, ...options.y } },
      // The canvas legend cannot wrap: a long label is cut on a phone. An HTML list can.
      plugins: { legend: { display: false } },
    },
  });
  charts.set(id, chart);
  drawLegend(id, chart);
}

/** The chart's series as a list under it: each a button that shows or hides its line. */
function drawLegend(id, chart) {
  const box = document.getElementById(id).closest("figure");
  let list = box.querySelector(".chart-legend");
  if (!list) {
    list = document.createElement("ul");
    list.className = "chart-legend";
    box.append(list);
  }
  list.replaceChildren(
    ...chart.data.datasets.map((dataset, index) => {
      const button = document.createElement("button");
      button.type = "button";
      button.setAttribute("aria-pressed", "true");
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = dataset.borderColor;
      button.append(swatch, dataset.label);
      button.addEventListener("click", () => {
        const shown = !chart.isDatasetVisible(index);
        chart.setDatasetVisibility(index, shown);
        chart.update();
        button.setAttribute("aria-pressed", String(shown));
      });
      const item = document.createElement("li");
      item.append(button);
      return item;
    }),
  );
}

/** "2026-W47" in the reader's words: "uge 47" (charts) or "uge 47, 2026" (the table). */
function weekText(isoWeek, withYear = false) {
  const [year, week] = isoWeek.split("-W");
  const text = `${label("labelWeekShort")} ${Number(week)}`;
  return withYear ? `${text}, ${year}` : text;
}

function fillTable(team) {
  const columns = [
    ["week", label("labelWeek"), (w) => weekText(w, true)],
    ["visits", label("labelVisits")],
    ["on_time_rate", label("labelOnTime"), percent],
    ["answer_rate", label("labelAnswer"), percent],
    ["missed", label("labelMissed")],
    ["escalated", label("labelEscalated")],
    ["continuity", label("labelContinuity")],
    ["continuity_breaks", label("labelBreaks")],
    ["continuity_break_share", label("labelBreakShare"), percent],
    ["screen_share", label("labelScreen"), percent],
    ["median_call_s", label("labelCallLength"), (s) => (s === null ? null : (s / 60).toFixed(1))],
  ];
  const head = document.createElement("tr");
  for (const [, title] of columns) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = title;
    head.append(th);
  }
  table.tHead.replaceChildren(head);
  table.tBodies[0].replaceChildren(
    ...team.weeks.map((week) => {
      const tr = document.createElement("tr");
      for (const [key, , format] of columns) {
        const td = document.createElement("td");
        const value = format ? format(week[key]) : week[key];
        td.textContent = value === null ? "–" : String(value);
        tr.append(td);
      }
      return tr;
    }),
  );
}

function render(team) {
  const weeks = team.weeks.map((w) => weekText(w.week));
  const pick = (key, format = (v) => v) => team.weeks.map((w) => format(w[key]));
  const pct = { y: { max: 100 } };
  draw("chart-rates", "line", weeks, [
    [label("labelOnTime"), pick("on_time_rate", percent)],
    [label("labelAnswer"), pick("answer_rate", percent)],
  ], pct);
  draw("chart-missed", "bar", weeks, [
    [label("labelMissed"), pick("missed")],
    [label("labelEscalated"), pick("escalated")],
  ]);
  draw("chart-continuity", "line", weeks, [
    [label("labelContinuity"), pick("continuity")],
    [label("labelBreaks"), pick("continuity_breaks")],
  ]);
  draw("chart-screen", "bar", weeks, [[label("labelScreen"), pick("screen_share", percent)]], pct);
  const minutes = (s) => (s === null ? null : Math.round(s / 6) / 10);
  draw("chart-calls", "line", weeks, [[label("labelCallLength"), pick("median_call_s", minutes)]]);
  fillTable(team);
  const total = team.weeks.reduce((sum, w) => sum + w.visits, 0);
  status.textContent = total === 0 ? label("labelEmpty") : `${team.team_name}: ${total} ${label("labelVisits").toLowerCase()}`;
}

async function load() {
  const params = new URLSearchParams(new FormData(form));
  root.dataset.state = "loading";
  try {
    const response = await fetch(`/api/figures?${params}`, { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const figures = await response.json();
    if (figures.teams.length) render(figures.teams[0]);
    root.dataset.state = "ready";
  } catch (error) {
    status.textContent = label("labelError");
    root.dataset.state = "error";
  }
}

form.addEventListener("change", load);
form.addEventListener("submit", (event) => event.preventDefault());
if (form.elements.team_id.options.length) load();
else root.dataset.state = "ready";
