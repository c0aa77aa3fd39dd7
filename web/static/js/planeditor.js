// The plan editor (/citizens/{id}/plans): plans in words with a live four-week preview,
// one-off moves and cancellations, extra visits, ending a plan, pauses, contact persons and
// each plan's history, all over the plan API. The server writes the rule and enforces the
// medication rules; this page only shows their answers, next to the form that caused them.
import { api, formatDateTime } from "/static/js/console.js";

const page = /** @type {HTMLElement} */ (document.querySelector(".plan-page"));
const citizenId = Number(page.dataset.citizenId);
const L = JSON.parse(document.getElementById("plan-labels")?.textContent ?? "{}");
const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/** @type {Map<number, any>} the plans as the API returns them, by id */
const plans = new Map();
let editingPlanId = /** @type {number|null} */ (null);
let actionPlanId = /** @type {number|null} */ (null);

function field(form, name) {
  return /** @type {HTMLInputElement} */ (form.elements.namedItem(name));
}

function text(form, name) {
  return String(field(form, name)?.value ?? "").trim();
}

function show(section, visible) {
  if (section) section.hidden = !visible;
  if (visible) section?.scrollIntoView({ block: "start" });
}

/** Show an API error next to its form: the Danish sentence for its code, then the server's. */
function showError(box, error) {
  if (!box) return;
  const code = error.code ?? "error";
  const lead = L.errors?.[code];
  box.replaceChildren();
  const strong = document.createElement("strong");
  strong.textContent = lead ?? error.message;
  box.append(strong);
  if (lead) {
    const detail = document.createElement("span");
    detail.className = "detail";
    detail.textContent = error.message;
    box.append(detail);
  }
  box.dataset.code = code;
  box.hidden = false;
  const form = box.closest("form");
  const medication = code.startsWith("medication_");
  for (const el of form?.querySelectorAll("[data-override]") ?? []) {
    if (medication) el.hidden = false;
  }
}

function clearError(box) {
  if (!box) return;
  box.hidden = true;
  box.textContent = "";
  delete box.dataset.code;
}

function dateText(iso) {
  const [y, m, d] = iso.split("-");
  return `${d}.${m}.${y}`;
}

function weekdayOf(iso) {
  return (new Date(`${iso}T12:00:00Z`).getUTCDay() + 6) % 7;
}

// -- the plan form -----------------------------------------------------------------------

const planSection = document.getElementById("plan-editor");
const planForm = /** @type {HTMLFormElement|null} */ (document.getElementById("plan-form"));
const planError = document.getElementById("plan-error");

function daysChoice(form) {
  return /** @type {HTMLInputElement} */ (form.querySelector('input[name="days"]:checked')).value;
}

/** Every day and weekdays tick their days; chosen days are the planner's own ticks. */
function syncDayBoxes(form) {
  const choice = daysChoice(form);
  for (const box of form.querySelectorAll('input[name="weekday"]')) {
    const input = /** @type {HTMLInputElement} */ (box);
    if (choice === "every_day") input.checked = true;
    if (choice === "weekdays") input.checked = WEEKDAYS.indexOf(input.value) < 5;
    input.disabled = choice !== "chosen";
  }
}

function planBody(form) {
  const weekdays = [...form.querySelectorAll('input[name="weekday"]:checked')].map((b) => b.value);
  const channels = Object.fromEntries(WEEKDAYS.map((d) => [d, text(form, `channel-${d}`)]));
  const physical = Object.entries(channels).filter(([, c]) => c === "physical");
  const body = {
    visit_type: text(form, "visit_type"),
    team_id: Number(text(form, "team_id")),
    schedule: {
      days: daysChoice(form),
      weekdays: daysChoice(form) === "chosen" ? weekdays : [],
      every_weeks: Number(text(form, "every_weeks")),
    },
    local_time: text(form, "local_time"),
    window_min: Number(text(form, "window_min")),
    default_channel: "screen",
    channel_by_weekday: Object.fromEntries(physical),
    valid_from: text(form, "valid_from"),
    valid_to: text(form, "valid_to") || null,
  };
  const reason = text(form, "reason");
  if (reason) body.reason = reason;
  return body;
}

function openPlanForm(plan) {
  if (!planForm || !planSection) return;
  editingPlanId = plan?.id ?? null;
  planForm.reset();
  clearError(planError);
  for (const el of planForm.querySelectorAll("[data-override]")) el.hidden = true;
  document.getElementById("plan-form-title").textContent = plan ? L.edit_plan : L.new_plan;
  if (plan) fillPlanForm(planForm, plan);
  syncDayBoxes(planForm);
  show(planSection, true);
  refreshPreview();
}

function fillPlanForm(form, plan) {
  field(form, "visit_type").value = plan.visit_type;
  field(form, "team_id").value = String(plan.team_id);
  field(form, "local_time").value = plan.local_time.slice(0, 5);
  field(form, "window_min").value = String(plan.window_min);
  field(form, "valid_from").value = plan.valid_from;
  field(form, "valid_to").value = plan.valid_to ?? "";
  const words = plan.schedule;
  const radio = form.querySelector(`input[name="days"][value="${words.days}"]`);
  if (radio) /** @type {HTMLInputElement} */ (radio).checked = true;
  for (const box of form.querySelectorAll('input[name="weekday"]')) {
    /** @type {HTMLInputElement} */ (box).checked = words.weekdays.includes(box.value);
  }
  field(form, "every_weeks").value = String(words.every_weeks);
  for (const day of WEEKDAYS) {
    const channel = plan.channel_by_weekday[day] ?? plan.default_channel;
    field(form, `channel-${day}`).value = channel;
  }
}

let previewTimer = 0;
let previewSeq = 0;

function schedulePreview() {
  window.clearTimeout(previewTimer);
  previewTimer = window.setTimeout(refreshPreview, 250);
}

async function refreshPreview() {
  if (!planForm) return;
  const seq = ++previewSeq;
  const body = { ...planBody(planForm), citizen_id: citizenId };
  delete body.reason;
  if (editingPlanId !== null) body.plan_id = editingPlanId;
  const list = document.getElementById("preview-days");
  try {
    const preview = await api("/api/plans/preview", body);
    if (seq === previewSeq) drawPreview(preview);
  } catch (error) {
    if (seq !== previewSeq) return;
    list.replaceChildren();
    document.getElementById("preview-problems").replaceChildren(problemItem(L.errors?.[error.code] ?? error.message, "error"));
  }
}

function problemItem(message, severity) {
  const li = document.createElement("li");
  li.className = `problem ${severity}`;
  li.textContent = message;
  return li;
}

function drawPreview(preview) {
  document.getElementById("preview-words").textContent =
    `${preview.rrule_text} · ${dateText(preview.start)} – ${dateText(preview.end)}`;
  const problems = preview.problems.map((p) => problemItem(p.message, p.severity));
  document.getElementById("preview-problems").replaceChildren(...problems);
  const byDay = new Map();
  for (const visit of preview.visits) {
    if (!byDay.has(visit.date)) byDay.set(visit.date, []);
    byDay.get(visit.date).push(visit);
  }
  for (const day of preview.paused_days) if (!byDay.has(day)) byDay.set(day, []);
  const days = [...byDay.keys()].sort();
  const list = document.getElementById("preview-days");
  if (!days.length) {
    list.replaceChildren(problemItem(L.no_visits, "warning"));
    return;
  }
  list.replaceChildren(...days.map((day) => dayItem(day, byDay.get(day), preview)));
}

function dayItem(day, visits, preview) {
  const li = document.createElement("li");
  li.className = "preview-day";
  li.dataset.date = day;
  const head = document.createElement("span");
  head.className = "day";
  head.textContent = `${L.weekdays_short[weekdayOf(day)]} ${dateText(day).slice(0, 5)}`;
  li.append(head);
  if (preview.paused_days.includes(day)) li.append(tag(L.paused, "paused"));
  for (const visit of visits) {
    const item = document.createElement("span");
    item.className = `visit channel-${visit.channel}`;
    item.textContent = `${visit.time.slice(0, 5)} ${L.channel[visit.channel]}`;
    if (visit.moved) item.append(tag(L.moved, "moved"));
    if (visit.source !== "plan") item.append(tag(L.extra, "extra"));
    li.append(item);
    if (visit.note) {
      li.classList.add("clock-change");
      const note = document.createElement("span");
      note.className = "note";
      note.textContent = `${L.clock}: ${visit.note}`;
      li.append(note);
    }
  }
  return li;
}

function tag(label, kind) {
  const span = document.createElement("span");
  span.className = `tag ${kind}`;
  span.textContent = label;
  return span;
}

planForm?.addEventListener("change", (event) => {
  if (/** @type {HTMLInputElement} */ (event.target).name === "days") syncDayBoxes(planForm);
  schedulePreview();
});
planForm?.addEventListener("input", schedulePreview);

planForm?.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearError(planError);
  const body = planBody(planForm);
  const override = text(planForm, "override_reason");
  try {
    if (editingPlanId === null) {
      await api("/api/plans", { ...body, citizen_id: citizenId });
    } else {
      await api(`/api/plans/${editingPlanId}`, override ? { ...body, override_reason: override } : body);
    }
    window.location.reload();
  } catch (error) {
    showError(planError, error);
  }
});

document.getElementById("new-plan")?.addEventListener("click", () => openPlanForm(null));

// -- one-off changes, extra visits, ending ------------------------------------------------

const changeForm = /** @type {HTMLFormElement|null} */ (document.getElementById("change-form"));
const adjustForm = /** @type {HTMLFormElement|null} */ (document.getElementById("adjust-form"));
const endForm = /** @type {HTMLFormElement|null} */ (document.getElementById("end-form"));

function openAction(sectionId, labelId, planId) {
  actionPlanId = planId;
  const section = document.getElementById(sectionId);
  const form = section?.querySelector("form");
  form?.querySelectorAll("[role=alert]").forEach(clearError);
  form?.querySelectorAll("[data-override]").forEach((el) => (el.hidden = true));
  const item = document.querySelector(`.plan[data-plan-id="${planId}"]`);
  document.getElementById(labelId).textContent = item?.dataset.label ?? "";
  show(section, true);
}

function syncKind() {
  if (!changeForm) return;
  const kind = /** @type {HTMLInputElement} */ (changeForm.querySelector('input[name="kind"]:checked')).value;
  /** @type {HTMLElement} */ (changeForm.querySelector("[data-move]")).hidden = kind !== "move";
}
changeForm?.addEventListener("change", syncKind);
changeForm?.addEventListener("input", (event) => {
  // The day's dose is moved from its own date unless the planner says otherwise.
  if (/** @type {HTMLInputElement} */ (event.target).name === "date") {
    field(changeForm, "move_to_date").value = text(changeForm, "date");
  }
});

function submitter(form, errorId, build, path) {
  form?.addEventListener("submit", async (event) => {
    event.preventDefault();
    const box = document.getElementById(errorId);
    clearError(box);
    try {
      await api(path(), build(form));
      window.location.reload();
    } catch (error) {
      showError(box, error);
    }
  });
}

submitter(
  changeForm,
  "change-error",
  (form) => {
    const kind = /** @type {HTMLInputElement} */ (form.querySelector('input[name="kind"]:checked')).value;
    const body = { date: text(form, "date"), kind, reason: text(form, "reason") };
    if (kind === "move") {
      body.move_to_date = text(form, "move_to_date");
      body.move_to_time = text(form, "move_to_time");
    }
    const override = text(form, "override_reason");
    if (override) body.override_reason = override;
    return body;
  },
  () => `/api/plans/${actionPlanId}/changes`,
);

submitter(
  adjustForm,
  "adjust-error",
  (form) => ({
    visit_type: text(form, "visit_type"),
    schedule: { days: "every_day" },
    local_time: text(form, "local_time"),
    channel: text(form, "channel"),
    valid_from: text(form, "valid_from"),
    valid_to: text(form, "valid_to"),
    reason: text(form, "reason"),
  }),
  () => `/api/plans/${actionPlanId}/adjustments`,
);

submitter(
  endForm,
  "end-error",
  (form) => ({ last_day: text(form, "last_day"), reason: text(form, "reason") }),
  () => `/api/plans/${actionPlanId}/end`,
);

for (const section of document.querySelectorAll("#plan-editor, #change-editor, #adjust-editor, #end-editor")) {
  section.querySelector("[data-cancel]")?.addEventListener("click", () => show(section, false));
}

// -- pauses and contact persons ------------------------------------------------------------

submitter(
  /** @type {HTMLFormElement|null} */ (document.getElementById("pause-form")),
  "pause-error",
  (form) => ({ citizen_id: citizenId, start: text(form, "start"), end: text(form, "end"), reason: text(form, "reason") }),
  () => "/api/pauses",
);

for (const button of document.querySelectorAll("[data-remove-pause]")) {
  button.addEventListener("click", async () => {
    try {
      await api(`/api/pauses/${button.dataset.removePause}/remove`, {});
      window.location.reload();
    } catch (error) {
      showError(document.getElementById("pause-error"), error);
    }
  });
}

submitter(
  /** @type {HTMLFormElement|null} */ (document.getElementById("contacts-form")),
  "contacts-error",
  (form) => ({
    staff_ids: [...form.querySelectorAll('select[name="staff"]')]
      .map((s) => /** @type {HTMLSelectElement} */ (s).value)
      .filter(Boolean)
      .map(Number),
  }),
  () => `/api/citizens/${citizenId}/contact-persons`,
);

// -- each plan's history --------------------------------------------------------------------

function valueText(value) {
  if (value === null || value === undefined) return "—";
  if (typeof value === "object") {
    return Object.entries(value)
      .filter(([, v]) => v !== null && v !== "")
      .map(([k, v]) => (k === "start" || k === "end" ? dateText(String(v)) : `${L.fields?.[k] ?? k}: ${typeof v === "object" ? JSON.stringify(v) : v}`))
      .join(" – ");
  }
  return /^\d{4}-\d{2}-\d{2}$/.test(String(value)) ? dateText(String(value)) : String(value);
}

function historyItem(entry) {
  const li = document.createElement("li");
  const when = formatDateTime(entry.at);
  const head = document.createElement("p");
  head.className = "history-head";
  head.textContent = `${when} · ${L.actions?.[entry.action] ?? entry.action} · ${L.by} ${entry.actor}`;
  li.append(head);
  const changes = Object.entries(entry.changes).filter(([name]) => name !== "rrule");
  if (changes.length) {
    const list = document.createElement("ul");
    list.className = "changes";
    for (const [name, [before, after]] of changes) {
      const item = document.createElement("li");
      const label = L.fields?.[name] ?? (/^\d{4}-/.test(name) ? dateText(name) : name);
      item.textContent = `${label}: ${valueText(before)} → ${valueText(after)}`;
      list.append(item);
    }
    li.append(list);
  }
  if (entry.action === "plan.medication_override") {
    const rules = document.createElement("p");
    rules.className = "override";
    rules.textContent = `${L.override}: ${(entry.detail.rules ?? []).map((r) => L.errors?.[r]?.split(".")[0] ?? r).join(", ")}`;
    li.append(rules);
  }
  if (entry.reason) {
    const reason = document.createElement("p");
    reason.className = "reason";
    reason.textContent = `${L.reason}: ${entry.reason}`;
    li.append(reason);
  }
  return li;
}

async function loadHistory(details, planId) {
  const list = details.querySelector(".history-list");
  try {
    const history = await api(`/api/plans/${planId}/history`);
    const items = history.entries.map(historyItem);
    list.replaceChildren(...(items.length ? items : [problemItem(L.history_empty, "warning")]));
    details.dataset.loaded = "true";
  } catch (error) {
    list.replaceChildren(problemItem(error.message, "error"));
  }
}

// -- wiring ------------------------------------------------------------------------------------

for (const item of document.querySelectorAll(".plan[data-plan-id]")) {
  const planId = Number(/** @type {HTMLElement} */ (item).dataset.planId);
  const details = item.querySelector("details.history");
  details?.addEventListener("toggle", () => {
    if (/** @type {HTMLDetailsElement} */ (details).open) loadHistory(details, planId);
  });
  item.querySelector('[data-action="edit"]')?.addEventListener("click", () => openPlanForm(plans.get(planId)));
  item.querySelector('[data-action="change"]')?.addEventListener("click", () => {
    openAction("change-editor", "change-plan", planId);
    syncKind();
  });
  item.querySelector('[data-action="adjust"]')?.addEventListener("click", () => openAction("adjust-editor", "adjust-plan", planId));
  item.querySelector('[data-action="end"]')?.addEventListener("click", () => openAction("end-editor", "end-plan", planId));
}

async function loadPlans() {
  try {
    const list = await api(`/api/plans?citizen_id=${citizenId}`);
    for (const plan of list.plans) plans.set(plan.id, plan);
  } finally {
    page.dataset.state = "ready";
  }
}

loadPlans();
