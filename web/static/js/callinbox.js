// The call view opened from the inbox: once the citizen is reached, mark the request done.
import { api } from "/static/js/console.js";

const panel = document.getElementById("inbox-answer");
const form = panel?.querySelector("form[data-inbox-done]");
const result = panel?.querySelector("[data-inbox-result]");

form?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const note = form.elements.namedItem("note").value;
  try {
    await api(`/api/inbox/${panel.dataset.itemId}/done`, { note });
    form.hidden = true;
    result.textContent = result.dataset.done;
    document.dispatchEvent(new CustomEvent("inbox-refresh"));
  } catch (err) {
    result.textContent = err.message;
  }
});
