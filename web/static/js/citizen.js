// The citizen page: enrol a tablet by the code it shows, or revoke the citizen's tablet
// (the kiosk engineer's JSON API), then reload to show the new state.
import { api } from "/static/js/console.js";

const page = document.querySelector(".citizen-page");
const citizenId = page?.dataset.citizenId;
const enrolForm = document.getElementById("enrol-form");
const enrolStatus = document.getElementById("enrol-status");

enrolForm?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const code = /** @type {HTMLInputElement} */ (enrolForm.querySelector("#pairing-code")).value;
  try {
    await api(`/api/citizens/${citizenId}/enrol`, { code });
    window.location.reload();
  } catch (error) {
    enrolStatus.textContent = error.message;
  }
});

for (const button of document.querySelectorAll("[data-revoke]")) {
  button.addEventListener("click", async () => {
    if (!window.confirm(button.dataset.confirm)) return;
    try {
      await api(`/api/citizens/${citizenId}/kiosk/revoke`, {});
      window.location.reload();
    } catch (error) {
      enrolStatus.textContent = error.message;
    }
  });
}

// Agreement sheet ("Aftaler i dag"): one participant a line; blank fields are left out.
const agreementForm = /** @type {HTMLFormElement | null} */ (document.getElementById("agreement-form"));
const agreementStatus = document.getElementById("agreement-status");

function agreementBody(form) {
  const data = new FormData(form);
  const text = (name) => String(data.get(name) ?? "").trim() || null;
  return {
    meeting_date: text("meeting_date"),
    participants: String(data.get("participants") ?? "")
      .split("\n")
      .map((line) => line.trim())
      .filter(Boolean),
    topics: text("topics"),
    citizen_says: text("citizen_says"),
    relatives_say: text("relatives_say"),
    citizen_does: text("citizen_does"),
    municipality_does: text("municipality_does"),
    contact_phone: text("contact_phone"),
    follow_up_date: text("follow_up_date"),
  };
}

agreementForm?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const button = agreementForm.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    // "Ret aftaleark" (citizenagreements.js) fills the form and names the sheet: a new version.
    const sheetId = agreementForm.dataset.sheetId;
    const path = sheetId ? `/api/agreements/${sheetId}/edit` : `/api/citizens/${citizenId}/agreements`;
    await api(path, agreementBody(agreementForm));
    agreementStatus.textContent = agreementForm.dataset.saved;
    window.location.hash = "agreements";
    window.location.reload();
  } catch (error) {
    const known = agreementForm.dataset[error.code];
    agreementStatus.textContent = `${agreementForm.dataset.failed} ${known ?? error.message}`;
    button.disabled = false;
  }
});
