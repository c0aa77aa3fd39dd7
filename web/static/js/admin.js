// Administration: settings, new staff and teams, (de)activating staff, over the admin JSON API.
import { api } from "/static/js/console.js";

function field(form, name) {
  return /** @type {HTMLInputElement} */ (form.elements.namedItem(name));
}

function onSubmit(id, statusId, build, path, reload) {
  const form = /** @type {HTMLFormElement|null} */ (document.getElementById(id));
  const status = document.getElementById(statusId);
  form?.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api(path, build(form));
      if (reload) window.location.reload();
      else status.textContent = status.dataset.saved ?? "OK";
    } catch (error) {
      status.textContent = error.message;
    }
  });
}

// Reminders to the citizen: the evening-before time (empty: none) and up to four offsets in
// minutes, checked here field by field with the server's rules; a live sentence says the result.
const remindersBox = document.getElementById("reminders");
const HH_MM = /^([01][0-9]|2[0-3]):[0-5][0-9]$/;

/** The offsets typed ("30, 120"), or null when one is not a whole number in 5..720 or > 4. */
function minutesTyped(text) {
  const parts = text.split(/[\s,;]+/).filter(Boolean);
  if (!parts.every((p) => /^[0-9]+$/.test(p))) return null;
  const minutes = [...new Set(parts.map(Number))].sort((a, b) => a - b);
  return minutes.length <= 4 && minutes.every((m) => m >= 5 && m <= 720) ? minutes : null;
}

/** The evening time typed: "18:00", "" for none, or null when it is not a time. */
function eveningTyped(input) {
  if (input.validity.badInput) return null;
  const value = input.value.slice(0, 5);
  return value === "" || HH_MM.test(value) ? value : null;
}

function fieldError(name, message) {
  const input = document.getElementById(name);
  const box = document.getElementById(`${name}-error`);
  box.textContent = message ?? "";
  box.hidden = !message;
  if (message) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
}

function fillSentence(template, values) {
  return template.replace(/%\((\w+)\)s/g, (_, key) => values[key] ?? "");
}

function remindersSummary() {
  const summary = document.getElementById("reminders-summary");
  if (!remindersBox || !summary) return;
  const form = /** @type {HTMLFormElement} */ (remindersBox.closest("form"));
  const time = eveningTyped(field(form, "reminders_evening"));
  const minutes = minutesTyped(field(form, "reminders_minutes").value);
  const data = remindersBox.dataset;
  const list = (minutes ?? []).join(", ").replace(/, ([0-9]+)$/, ` ${data.and} $1`);
  if (time === null || minutes === null) {
    summary.textContent = ""; // the field's own message says what is wrong, on save
    return;
  }
  let key = "summaryNone";
  if (field(form, "reminders_enabled").checked) {
    if (time && minutes.length) key = "summaryBoth";
    else if (time) key = "summaryEvening";
    else if (minutes.length) key = "summaryMinutes";
  }
  summary.textContent = fillSentence(data[key] ?? "", { time: time ?? "", minutes: list });
}

/** The reminders to send, or throws (each wrong field marked, the first focused). */
function reminders(form) {
  const evening = eveningTyped(field(form, "reminders_evening"));
  const minutes = minutesTyped(field(form, "reminders_minutes").value);
  fieldError("reminders_evening", evening === null ? remindersBox.dataset.errorEvening : null);
  fieldError("reminders_minutes", minutes === null ? remindersBox.dataset.errorMinutes : null);
  if (evening === null || minutes === null) {
    const first = evening === null ? "reminders_evening" : "reminders_minutes";
    field(form, first).focus();
    throw new Error(remindersBox.dataset[evening === null ? "errorEvening" : "errorMinutes"]);
  }
  return {
    enabled: field(form, "reminders_enabled").checked,
    evening_before: evening || null,
    minutes_before: minutes,
  };
}

for (const name of ["reminders_enabled", "reminders_evening", "reminders_minutes"]) {
  document.getElementById(name)?.addEventListener("input", remindersSummary);
  document.getElementById(name)?.addEventListener("change", remindersSummary);
}
remindersSummary();

onSubmit(
  "settings-form",
  "settings-status",
  (form) => ({
    ring_timeout_s: Number(field(form, "ring_timeout_s").value),
    auto_answer_default: field(form, "auto_answer_default").checked,
    auto_answer_after_s: Number(field(form, "auto_answer_after_s").value),
    outcome_edit_minutes: Number(field(form, "outcome_edit_minutes").value),
    medication_min_gap_h: Number(field(form, "medication_min_gap_h").value),
    tablet_refusal: field(form, "tablet_refusal").value,
    relatives_may_call: field(form, "relatives_may_call").checked,
    tablet_roles: [...form.querySelectorAll('input[name="tablet_roles"]:checked')].map((box) => box.value),
    overdue: {
      to: field(form, "overdue_to").value,
      on_call_staff_ids: [...form.querySelectorAll('input[name="on_call"]:checked')].map((box) => Number(box.value)),
    },
    retry_ladder: {
      retries: Number(field(form, "retries").value),
      delay_min: Number(field(form, "delay_min").value),
      alert_team: field(form, "alert_team").checked,
      create_physical_task: field(form, "create_physical_task").checked,
      notify_relative: field(form, "notify_relative").checked,
    },
    reminders: reminders(form),
  }),
  "/api/admin/settings",
  false,
);

onSubmit(
  "staff-form",
  "staff-status",
  (form) => {
    const team = field(form, "team_id").value;
    return {
      username: field(form, "username").value.trim(),
      display_name: field(form, "display_name").value.trim(),
      role: field(form, "role").value,
      team_ids: team ? [Number(team)] : [],
      password: field(form, "password").value,
    };
  },
  "/api/admin/staff",
  true,
);

onSubmit(
  "team-form",
  "team-status",
  (form) => ({ name: field(form, "name").value.trim(), phone: field(form, "phone").value || null }),
  "/api/admin/teams",
  true,
);

for (const button of document.querySelectorAll("[data-active-toggle]")) {
  button.addEventListener("click", async () => {
    const active = button.dataset.active !== "true";
    await api(`/api/admin/staff/${button.dataset.activeToggle}/active`, { active });
    window.location.reload();
  });
}

// Tablets: enrol the tablet showing a pairing code for the chosen citizen (the enrolment API
// the citizen page uses), then reload the table.
const enrolForm = /** @type {HTMLFormElement|null} */ (document.getElementById("tablet-enrol-form"));
enrolForm?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const status = document.getElementById("tablet-enrol-status");
  const citizen = field(enrolForm, "citizen_id").value;
  const code = field(enrolForm, "code").value.trim();
  if (!citizen || !code) {
    status.textContent = enrolForm.dataset.choose;
    return;
  }
  try {
    await api(`/api/citizens/${citizen}/enrol`, { code });
    window.location.reload();
  } catch (error) {
    status.textContent = error.message;
  }
});
