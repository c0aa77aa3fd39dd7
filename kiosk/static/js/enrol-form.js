// Staff side of enrolment: send the code from the tablet, or revoke the tablet.
// Works on every `.kiosk-enrol[data-citizen-id]` section (kiosk/templates/kiosk_enrol_form.html).

const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content ?? "";

async function post(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf() },
    body: JSON.stringify(body),
    credentials: "same-origin",
  });
  const data = await response.json().catch(() => ({}));
  return { ok: response.ok, data };
}

function wire(section) {
  const id = section.dataset.citizenId;
  const status = section.querySelector(".kiosk-enrol-status");
  section.querySelector(".kiosk-enrol-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = section.querySelector("input[name=code]");
    const { ok, data } = await post(`/api/citizens/${id}/enrol`, { code: input.value });
    status.textContent = ok
      ? "Skærmen er tilknyttet. Den er klar om et øjeblik."
      : data.error?.message ?? "Det lykkedes ikke. Prøv igen.";
    if (ok) input.value = "";
  });
  section.querySelector(".kiosk-revoke").addEventListener("click", async () => {
    if (!window.confirm("Spær borgerens skærm? Den skal tilknyttes igen bagefter.")) return;
    const { ok, data } = await post(`/api/citizens/${id}/kiosk/revoke`, {});
    status.textContent = ok ? `Spærret (${data.revoked}).` : data.error?.message ?? "Fejl.";
  });
}

for (const section of document.querySelectorAll(".kiosk-enrol[data-citizen-id]")) wire(section);
