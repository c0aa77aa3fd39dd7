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
