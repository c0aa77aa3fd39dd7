// The citizen page's consent register and relatives: record a consent (auto-answer with its
// windows and callers), withdraw one saying who withdrew it, add, edit and remove relatives
// with their permissions (each a consent). Posts to the JSON API, then reloads the page to
// show the register as stored; the result is announced in the section's live region.
import { api } from "/static/js/console.js";

const consentsCard = document.getElementById("consents");
const relativesCard = document.getElementById("relatives");
const citizenId = consentsCard?.dataset.citizenId;
const STATUS_KEY = "consents-status";

/** Show a message after the reload in the section it belongs to. */
function reloadWith(section, message) {
  sessionStorage.setItem(STATUS_KEY, JSON.stringify({ section, message }));
  window.location.hash = section;
  window.location.reload();
}

function showStoredStatus() {
  const raw = sessionStorage.getItem(STATUS_KEY);
  if (!raw) return;
  sessionStorage.removeItem(STATUS_KEY);
  const { section, message } = JSON.parse(raw);
  const target = document.getElementById(section === "relatives" ? "relatives-status" : "consent-status");
  if (target) target.textContent = message;
}

/** The card's Danish message for an error code, else the server's own message. */
function failure(card, error) {
  const known = card.dataset[error.code];
  return `${card.dataset.failed} ${known ?? error.message}`;
}

/** Who gave or withdrew: {kind, name} from a form's giver fields. */
function giverOf(form) {
  const kind = form.querySelector("[name=giver_kind]").value;
  const name = form.querySelector("[name=giver_name]").value.trim();
  return { kind, name: name || null };
}

async function submitting(form, statusEl, card, action) {
  const buttons = form.querySelectorAll("button");
  buttons.forEach((b) => (b.disabled = true));
  try {
    await action();
  } catch (error) {
    statusEl.textContent = failure(card, error);
    buttons.forEach((b) => (b.disabled = false));
  }
}

// -- recording a consent ----------------------------------------------------------------------

const consentForm = document.getElementById("consent-form");
const consentStatus = document.getElementById("consent-status");
const scopeFields = document.getElementById("auto-answer-scope");
const windows = document.getElementById("consent-windows");
const windowTemplate = /** @type {HTMLTemplateElement | null} */ (
  document.getElementById("window-template")
);

function addWindow() {
  const node = windowTemplate.content.firstElementChild.cloneNode(true);
  const index = windows.children.length + 1;
  node.querySelector("legend").textContent += ` ${index}`;
  node.querySelector("[data-remove-window]").addEventListener("click", () => node.remove());
  windows.append(node);
  node.querySelector("input[name=start]").focus();
}

function showScope() {
  const auto = consentForm.querySelector("[name=kind]").value === "auto_answer";
  scopeFields.hidden = !auto;
  if (auto && windows.children.length === 0) addWindow();
}

/** The auto-answer scope from the form, or throws with a message for the status line. */
function scopeOf(form) {
  const checked = (name) =>
    [...form.querySelectorAll(`input[name=${name}]:checked`)].map((box) => box.value);
  const spans = [...windows.querySelectorAll(".consent-window")].map((fieldset) => ({
    start: fieldset.querySelector("[name=start]").value,
    end: fieldset.querySelector("[name=end]").value,
    weekdays: [...fieldset.querySelectorAll("[name=weekday]:checked")].map((b) => Number(b.value)),
  }));
  if (spans.some((span) => span.weekdays.length === 0)) {
    throw new Error(consentsCard.dataset.no_weekday);
  }
  return { windows: spans, callers: checked("caller"), staff_ids: checked("staff").map(Number) };
}

if (consentForm) {
  consentForm.querySelector("[name=kind]").addEventListener("change", showScope);
  document.getElementById("add-window").addEventListener("click", addWindow);
  showScope();
  consentForm.addEventListener("submit", (event) => {
    event.preventDefault();
    submitting(consentForm, consentStatus, consentsCard, async () => {
      const kind = consentForm.querySelector("[name=kind]").value;
      const note = consentForm.querySelector("[name=note]").value.trim() || null;
      const body = { kind, given_by: giverOf(consentForm), note };
      if (kind === "auto_answer") body.scope = scopeOf(consentForm);
      await api(`/api/citizens/${citizenId}/consents`, body);
      reloadWith("consents", consentsCard.dataset.saved);
    });
  });
}

// -- withdrawing ------------------------------------------------------------------------------

for (const form of document.querySelectorAll(".withdraw-form")) {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitting(form, consentStatus, consentsCard, async () => {
      await api(`/api/consents/${form.dataset.consentId}/withdraw`, {
        withdrawn_by: giverOf(form),
      });
      reloadWith("consents", consentsCard.dataset.withdrawn);
    });
  });
}

// -- relatives --------------------------------------------------------------------------------

const relativesStatus = document.getElementById("relatives-status");

function detailsOf(form) {
  const text = (name) => form.querySelector(`[name=${name}]`).value.trim() || null;
  return { name: text("name"), relation: text("relation"), phone: text("phone"), email: text("email") };
}

/** The permission checkboxes whose state differs from what is stored (all ticked ones when new). */
function changedPermissions(form) {
  const changed = {};
  for (const box of form.querySelectorAll("[data-permission]")) {
    if (box.checked !== (box.dataset.was === "1")) changed[box.dataset.permission] = box.checked;
  }
  return changed;
}

const addForm = document.getElementById("relative-add-form");
addForm?.addEventListener("submit", (event) => {
  event.preventDefault();
  submitting(addForm, relativesStatus, relativesCard, async () => {
    const permissions = changedPermissions(addForm);
    const body = { ...detailsOf(addForm), permissions };
    if (Object.keys(permissions).length) body.given_by = giverOf(addForm);
    await api(`/api/citizens/${citizenId}/relatives`, body);
    reloadWith("relatives", relativesCard.dataset.added);
  });
});

for (const form of document.querySelectorAll(".relative-form")) {
  const id = form.dataset.relativeId;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitting(form, relativesStatus, relativesCard, async () => {
      await api(`/api/relatives/${id}`, detailsOf(form));
      const permissions = changedPermissions(form);
      if (Object.keys(permissions).length) {
        await api(`/api/relatives/${id}/permissions`, { permissions, given_by: giverOf(form) });
      }
      reloadWith("relatives", relativesCard.dataset.saved);
    });
  });
  form.querySelector("[data-remove-relative]").addEventListener("click", () => {
    if (!window.confirm(relativesCard.dataset.confirmRemove)) return;
    submitting(form, relativesStatus, relativesCard, async () => {
      await api(`/api/relatives/${id}/remove`, {});
      reloadWith("relatives", relativesCard.dataset.removed);
    });
  });
}

showStoredStatus();
