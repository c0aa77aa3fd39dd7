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
