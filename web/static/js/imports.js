// The imports page: upload a file to /api/import-jobs, follow the job about once a second,
// show its report, and list recent imports (a running one is picked up again on return).
import { api, csrfToken, formatDateTime } from "./console.js";

const root = document.getElementById("imports");
const label = (name) => root.dataset[name] ?? name;
const fill = (text, values) => text.replace(/\{(\w+)\}/g, (_, key) => String(values[key] ?? ""));
const number = (n) => Number(n).toLocaleString(document.documentElement.lang || "da");
const RUNNING = new Set(["queued", "validating", "writing"]);
const POLL_MS = 1000;
const $ = (id) => document.getElementById(id);

let following = null; // the id of the job being followed

function stateLabel(state) {
  return label(`label${state[0].toUpperCase()}${state.slice(1)}`);
}

/** Upload the chosen file; the server answers 202 with the queued job. */
async function upload(dryRun) {
  const file = $("import-file").files[0];
  const error = $("import-error");
  error.hidden = true;
  if (!file) {
    error.textContent = label("labelNoFile");
    error.hidden = false;
    return;
  }
  const format = file.name.toLowerCase().endsWith(".json") ? "json" : "csv";
  const query = new URLSearchParams({ format, dry_run: dryRun ? "1" : "0", filename: file.name });
  const response = await fetch(`/api/import-jobs?${query}`, {
    method: "POST",
    credentials: "same-origin",
    headers: { "X-CSRF-Token": csrfToken(), "Content-Type": file.type || "text/plain", Accept: "application/json" },
    body: file,
  });
  const data = await response.json().catch(() => ({}));
  if (response.status !== 202) {
    error.textContent = data.error?.message ?? label("labelError");
    error.hidden = false;
    return;
  }
  follow(data);
}

/** Show a job and keep polling it until it is finished. */
async function follow(job) {
  following = job.id;
  showJob(job);
  while (RUNNING.has(job.state) && following === job.id) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    try {
      job = await api(`/api/import-jobs/${job.id}`);
    } catch {
      continue; // the server may be restarting; the next poll tries again
    }
    if (following === job.id) showJob(job);
  }
  loadRecent();
}

function showJob(job) {
  $("import-job").hidden = false;
  $("job-title").textContent = job.filename ?? `#${job.id}`;
  const progress = $("job-progress");
  progress.value = job.percent;
  progress.dataset.state = job.state;
  const total = job.total_lines;
  $("job-count").textContent = total
    ? `${number(job.done_lines)} ${label("labelOf")} ${number(total)} ${label("labelLines")}`
    : "";
  $("job-state").textContent = stateLabel(job.state) + (job.dry_run ? ` (${label("labelDryRun")})` : "");
  $("import-job").dataset.state = job.state;
  $("job-failed").hidden = !job.error;
  $("job-failed").textContent = job.error ?? "";
  showReport(job);
}

function showReport(job) {
  const report = job.report;
  $("job-summary").textContent = summary(job);
  $("job-unreachable").hidden = !report?.unreachable.length;
  $("unreachable-list").replaceChildren(
    ...(report?.unreachable ?? []).map((c) => element("li", `${c.name} (${c.ref})`)),
  );
  const rows = [];
  if (report?.file_error) rows.push(problemRow("", "", "", report.file_error, "error-row"));
  for (const line of report?.lines ?? []) {
    for (const p of line.problems) rows.push(problemRow(line.line, line.citizen_ref, line.plan_ref, p, "error-row"));
    for (const w of line.warnings) {
      if (w.code === "no_screen_consent") continue; // listed above, one name each
      rows.push(problemRow(line.line, line.citizen_ref, line.plan_ref, w, "warning-row"));
    }
  }
  $("job-problems").hidden = rows.length === 0;
  $("problem-rows").replaceChildren(...rows);
  $("problem-more").hidden = !report?.more_lines;
  $("problem-more").textContent = fill(label("labelMore"), { count: number(report?.more_lines ?? 0) });
}

function summary(job) {
  const report = job.report;
  if (!report) return "";
  if (job.state === "rejected") return fill(label("labelRejectedText"), { count: number(report.bad_lines) });
  if (job.state !== "done") return "";
  if (!report.imported) return label("labelChecked");
  return fill(label("labelImported"), {
    citizens: number(job.citizens), plans: number(job.plans), visits: number(job.visits_generated),
  });
}

function problemRow(line, citizen, plan, problem, kind) {
  const row = element("tr", null, [
    element("td", line), element("td", citizen ?? ""), element("td", plan ?? ""),
    element("td", `${problem.code}: ${problem.message}`),
  ]);
  row.className = kind;
  return row;
}

function element(tag, text, children = []) {
  const node = document.createElement(tag);
  if (text !== null) node.textContent = text;
  node.append(...children);
  return node;
}

/** The organisation's recent imports; a running one is followed again (the planner came back). */
async function loadRecent() {
  let jobs;
  try {
    jobs = (await api("/api/import-jobs")).jobs;
  } catch {
    return;
  }
  const rows = jobs.map((job) => {
    const open = element("button", job.filename ?? `#${job.id}`);
    open.className = "link";
    open.addEventListener("click", async () => follow(await api(`/api/import-jobs/${job.id}`)));
    const when = formatDateTime(job.created_at);
    return element("tr", null, [
      element("td", when), element("td", null, [open]), element("td", job.staff_name ?? ""),
      element("td", stateLabel(job.state) + (job.dry_run ? ` (${label("labelDryRun")})` : "")),
      element("td", number(job.total_lines)), element("td", number(job.citizens)), element("td", number(job.plans)),
    ]);
  });
  if (!rows.length) rows.push(element("tr", null, [element("td", label("labelEmpty"))]));
  $("recent-rows").replaceChildren(...rows);
  const running = jobs.find((job) => RUNNING.has(job.state));
  if (running && following === null) follow(await api(`/api/import-jobs/${running.id}`));
}

$("import-form").addEventListener("submit", (event) => {
  event.preventDefault();
  upload(event.submitter?.value === "1");
});
loadRecent();
