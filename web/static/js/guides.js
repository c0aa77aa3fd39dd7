// Administration of the guided scripts (/api/guides): the visit types with their script's state,
// and one editor (intro, steps with their kind, note, in Danish and English), save or reset.
import { ApiError, api, csrfToken } from "/static/js/console.js";

const section = document.getElementById("guides");
const list = document.getElementById("guide-list");
const form = /** @type {HTMLFormElement|null} */ (document.getElementById("guide-form"));
const stepsBox = document.getElementById("guide-steps");
const template = /** @type {HTMLTemplateElement|null} */ (document.getElementById("guide-step-template"));
const status = document.getElementById("guide-status");
const english = document.documentElement.lang === "en";
const MAX_STEPS = 15;

/** @type {{code: string, name_da: string, name_en: string, customised: boolean, script: any}[]} */
let guides = [];
/** @type {string|null} */
let editing = null;

/** PUT or DELETE JSON with the CSRF token; the reply, or ApiError. */
async function send(method, path, body) {
  const init = {
    method,
    credentials: /** @type {RequestCredentials} */ ("same-origin"),
    headers: { Accept: "application/json", "X-CSRF-Token": csrfToken() },
  };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const err = data.error ?? {};
    const error = new ApiError(response.status, err.code ?? "error", err.message ?? response.statusText);
    error.details = err.details;
    throw error;
  }
  return data;
}

function nameOf(guide) {
  return english ? guide.name_en : guide.name_da;
}

function field(name) {
  return /** @type {HTMLInputElement} */ (form.elements.namedItem(name));
}

function renderList() {
  list.replaceChildren(
    ...guides.map((guide) => {
      const item = document.createElement("li");
      const name = document.createElement("span");
      name.textContent = `${nameOf(guide)} · `;
      const state = document.createElement("span");
      state.className = guide.customised ? "tag customised" : "muted";
      state.textContent = guide.customised ? section.dataset.customised : section.dataset.default;
      const edit = document.createElement("button");
      edit.type = "button";
      edit.className = "link";
      edit.dataset.guide = guide.code;
      edit.textContent = section.dataset.edit;
      edit.setAttribute("aria-label", `${section.dataset.edit}: ${nameOf(guide)}`);
      edit.addEventListener("click", () => open(guide.code));
      item.append(name, state, " ", edit);
      return item;
    }),
  );
}

/** Number the steps, name their fieldsets and allow "move up" except on the first. */
function renumber() {
  const rows = [...stepsBox.querySelectorAll("li.guide-step")];
  rows.forEach((row, index) => {
    row.querySelector("legend").textContent = `${section.dataset.step} ${index + 1}`;
    /** @type {HTMLButtonElement} */ (row.querySelector("[data-move-up]")).disabled = index === 0;
    /** @type {HTMLButtonElement} */ (row.querySelector("[data-remove]")).disabled = rows.length === 1;
  });
  /** @type {HTMLButtonElement} */ (document.getElementById("guide-add-step")).disabled =
    rows.length >= MAX_STEPS;
}

function addStep(step) {
  const row = /** @type {HTMLElement} */ (template.content.firstElementChild.cloneNode(true));
  row.querySelector("select").value = step?.kind ?? "confirm";
  /** @type {HTMLInputElement} */ (row.querySelector('input[name="da"]')).value = step?.text.da ?? "";
  /** @type {HTMLInputElement} */ (row.querySelector('input[name="en"]')).value = step?.text.en ?? "";
  row.querySelector("[data-remove]").addEventListener("click", () => {
    row.remove();
    renumber();
  });
  row.querySelector("[data-move-up]").addEventListener("click", () => {
    if (row.previousElementSibling) stepsBox.insertBefore(row, row.previousElementSibling);
    renumber();
    /** @type {HTMLElement} */ (row.querySelector("[data-move-up]")).focus();
  });
  stepsBox.append(row);
  renumber();
  return row;
}

function fill(script) {
  field("intro.da").value = script.intro.da;
  field("intro.en").value = script.intro.en;
  field("note.da").value = script.note?.da ?? "";
  field("note.en").value = script.note?.en ?? "";
  field("measurement").checked = script.measurement === "blood_sugar";
  field("dignity_wheel").checked = script.dignity_wheel;
  stepsBox.replaceChildren();
  for (const step of script.steps) addStep(step);
}

function open(code) {
  const guide = guides.find((g) => g.code === code);
  if (!guide) return;
  editing = code;
  clearErrors();
  status.textContent = "";
  fill(guide.script);
  const title = document.getElementById("guide-form-title");
  title.textContent = nameOf(guide);
  form.hidden = false;
  title.focus();
}

/** The script as the form holds it; a note left empty in both languages is no note. */
function script() {
  const noteDa = field("note.da").value.trim();
  const noteEn = field("note.en").value.trim();
  return {
    intro: { da: field("intro.da").value.trim(), en: field("intro.en").value.trim() },
    steps: [...stepsBox.querySelectorAll("li.guide-step")].map((row) => ({
      kind: row.querySelector("select").value,
      text: {
        da: /** @type {HTMLInputElement} */ (row.querySelector('input[name="da"]')).value.trim(),
        en: /** @type {HTMLInputElement} */ (row.querySelector('input[name="en"]')).value.trim(),
      },
    })),
    note: noteDa || noteEn ? { da: noteDa, en: noteEn } : null,
    measurement: field("measurement").checked ? "blood_sugar" : null,
    dignity_wheel: field("dignity_wheel").checked,
  };
}

function clearErrors() {
  for (const el of form.querySelectorAll('[aria-invalid="true"]')) el.removeAttribute("aria-invalid");
}

/** The form control a validation error's location points at (["steps", "0", "text", "da"]). */
function controlAt(loc) {
  if (loc[0] === "steps" && loc.length > 1) {
    const row = stepsBox.querySelectorAll("li.guide-step")[Number(loc[1])];
    if (!row) return document.getElementById("guide-steps-box");
    return loc[2] === "kind" ? row.querySelector("select") : row.querySelector(`input[name="${loc[3] ?? "da"}"]`);
  }
  if (loc[0] === "steps") return document.getElementById("guide-steps-box");
  if (loc[0] === "intro" || loc[0] === "note") return field(`${loc[0]}.${loc[1] ?? "da"}`);
  return null;
}

function showError(error) {
  const details = error instanceof ApiError && error.code === "invalid_input" ? error.details : null;
  if (!details) {
    status.textContent = `${section.dataset.failed} ${error.message}`;
    return;
  }
  const controls = details.map((d) => controlAt(d.loc)).filter(Boolean);
  for (const control of controls) control.setAttribute("aria-invalid", "true");
  status.textContent = section.dataset.invalid;
  const first = controls[0];
  if (first && "focus" in first) first.focus();
}

async function save(event) {
  event.preventDefault();
  clearErrors();
  try {
    const saved = await send("PUT", `/api/guides/${encodeURIComponent(editing)}`, script());
    replace(saved);
    status.textContent = section.dataset.saved;
  } catch (error) {
    showError(error);
  }
}

async function reset() {
  if (!window.confirm(section.dataset.confirmReset)) return;
  clearErrors();
  try {
    const saved = await send("DELETE", `/api/guides/${encodeURIComponent(editing)}`);
    replace(saved);
    fill(saved.script);
    status.textContent = section.dataset.wasReset;
  } catch (error) {
    showError(error);
  }
}

function replace(saved) {
  guides = guides.map((g) => (g.code === saved.code ? saved : g));
  renderList();
}

async function start() {
  if (!section || !form || !template) return;
  form.addEventListener("submit", save);
  document.getElementById("guide-reset").addEventListener("click", reset);
  document.getElementById("guide-add-step").addEventListener("click", () => {
    addStep(null).querySelector("input").focus();
  });
  document.getElementById("guide-close").addEventListener("click", () => {
    form.hidden = true;
    list.querySelector(`[data-guide="${editing}"]`)?.focus();
    editing = null;
  });
  try {
    guides = (await api("/api/guides")).guides;
    renderList();
  } catch (error) {
    list.textContent = error.message;
  }
}

start();
