// The citizen page's "Besked til borgeren": set or clear the number a citizen without a tablet
// gets reminders and change notices on by SMS (POST /api/citizens/{id}/sms-number), then reload
// to show the masked number.
import { api } from "/static/js/console.js";

const smsForm = /** @type {HTMLFormElement|null} */ (document.getElementById("sms-form"));
const smsStatus = document.getElementById("sms-status");
const PHONE = /^\+?[0-9 ]{6,20}$/;

async function saveNumber(phone) {
  try {
    await api(`/api/citizens/${smsForm.dataset.citizenId}/sms-number`, { phone });
    window.location.reload();
  } catch (error) {
    smsStatus.textContent = error.message;
  }
}

smsForm?.addEventListener("submit", (event) => {
  event.preventDefault();
  const input = /** @type {HTMLInputElement} */ (smsForm.elements.namedItem("phone"));
  const phone = input.value.trim().replace(/\s+/g, " ");
  if (!PHONE.test(phone) || phone.replace(/\D/g, "").length < 6) {
    input.setAttribute("aria-invalid", "true");
    smsStatus.textContent = smsForm.dataset.invalid ?? "";
    input.focus();
    return;
  }
  input.removeAttribute("aria-invalid");
  saveNumber(phone);
});

document.getElementById("sms-clear")?.addEventListener("click", (event) => {
  const button = /** @type {HTMLButtonElement} */ (event.currentTarget);
  if (window.confirm(button.dataset.confirm)) saveNumber(null);
});
