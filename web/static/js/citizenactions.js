// The citizen page's top card: "Ring op" leaves this tab's ring intent (the call page rings
// only because of it), and the "few new faces" flag is saved at once.
import { api } from "/static/js/console.js";
import { rememberRing } from "/static/js/ringintent.js";

const ring = document.querySelector("a#ring-citizen");
ring?.addEventListener("click", () => rememberRing(ring.dataset.citizenId, null));

const faces = /** @type {HTMLInputElement|null} */ (document.getElementById("few-new-faces"));
const facesStatus = document.getElementById("few-faces-status");
faces?.addEventListener("change", async () => {
  try {
    await api(`/api/citizens/${faces.dataset.citizenId}/few-new-faces`, { few_new_faces: faces.checked });
    facesStatus.textContent = facesStatus.dataset.saved;
  } catch (error) {
    faces.checked = !faces.checked;
    facesStatus.textContent = error.message;
  }
});
