// The citizen page's agreement sheets: "Ret aftaleark" fills the form with the sheet (saving it
// makes a new version, citizen.js posts it), and relatives' personal links are made (the URL
// is shown once) and closed.
import { api, csrfToken } from "/static/js/console.js";

const form = /** @type {HTMLFormElement | null} */ (document.getElementById("agreement-form"));

for (const button of document.querySelectorAll("[data-edit-sheet]")) {
  button.addEventListener("click", () => {
    if (!form) return;
    const sheet = JSON.parse(button.dataset.sheet ?? "{}");
    form.dataset.sheetId = button.dataset.editSheet;
    for (const [name, value] of Object.entries(sheet)) {
      const field = form.elements.namedItem(name);
      if (!(field instanceof HTMLInputElement || field instanceof HTMLTextAreaElement)) continue;
      field.value = Array.isArray(value) ? value.join("\n") : (value ?? "");
    }
    const details = form.closest("details");
    if (details) details.open = true;
    form.querySelector("textarea, input")?.focus();
  });
}

const links = document.getElementById("relative-links");
const linkStatus = document.getElementById("link-status");
const linkUrl = /** @type {HTMLInputElement | null} */ (document.getElementById("link-url"));

function failed(error) {
  const known = links?.dataset[error.code];
  if (linkStatus && links) linkStatus.textContent = `${links.dataset.failed} ${known ?? error.message}`;
}

for (const button of document.querySelectorAll("[data-make-link]")) {
  button.addEventListener("click", async () => {
    if (!links || !linkUrl || !linkStatus) return;
    const citizen = links.dataset.citizenId;
    try {
      const path = `/api/citizens/${citizen}/relatives/${button.dataset.makeLink}/links`;
      const link = await api(path, { purpose: "agreements" });
      linkStatus.textContent = links.dataset.made ?? "";
      linkUrl.value = link.url;
      /** @type {HTMLElement} */ (linkUrl.closest(".link-made")).hidden = false;
      linkUrl.focus();
      linkUrl.select();
    } catch (error) {
      failed(error);
    }
  });
}

for (const button of document.querySelectorAll("[data-revoke-link]")) {
  button.addEventListener("click", async () => {
    if (!links || !linkStatus) return;
    const citizen = links.dataset.citizenId;
    const path = `/api/citizens/${citizen}/relatives/${button.dataset.relativeId}/links/${button.dataset.revokeLink}`;
    const response = await fetch(path, {
      method: "DELETE",
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRF-Token": csrfToken() },
    });
    if (!response.ok) {
      const data = await response.json().catch(() => ({}));
      failed({ code: data.error?.code, message: data.error?.message ?? response.statusText });
      return;
    }
    button.closest("li")?.remove();
    linkStatus.textContent = links.dataset.revoked ?? "";
  });
}
