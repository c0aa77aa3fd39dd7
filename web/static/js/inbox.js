// The team's inbox on the start page: take, give back, finish or dismiss an item, and answer a
// "Ring til mig" with one press. The server renders the items; an `alert`, an `inbox-changed`
// or a `visit-updated` on the signalling socket (calllist.js forwards them) reloads them.
import { api } from "/static/js/console.js";
import { rememberRing } from "/static/js/ringintent.js";

const section = document.getElementById("inbox");
const items = document.getElementById("inbox-items");
let refreshing = null;

/** Reload the items from the server (one reload at a time). */
export async function refreshInbox() {
  if (refreshing) return refreshing;
  refreshing = (async () => {
    try {
      const response = await fetch(section.dataset.itemsUrl, { credentials: "same-origin" });
      if (!response.ok || response.redirected) return;
      items.innerHTML = await response.text();
      announceCount();
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

function announceCount() {
  const count = items.querySelectorAll(".inbox-item").length;
  section.querySelector("[data-inbox-count]").textContent = String(count);
  document.dispatchEvent(new CustomEvent("inbox-count", { detail: { active: count } }));
}

function showError(itemEl, message) {
  const box = itemEl.querySelector(".inbox-error");
  box.textContent = message;
  box.hidden = false;
}

async function act(itemEl, action, note) {
  try {
    await api(`/api/inbox/${itemEl.dataset.itemId}/${action}`, note === undefined ? {} : { note });
    await refreshInbox();
  } catch (err) {
    showError(itemEl, err.message);
  }
}

items.addEventListener("click", async (event) => {
  const target = event.target instanceof Element ? event.target : null;
  const itemEl = target?.closest(".inbox-item");
  if (!itemEl) return;
  const button = target.closest("button[data-inbox-action]");
  if (button) {
    await act(itemEl, button.dataset.inboxAction);
    return;
  }
  const call = target.closest("a[data-inbox-call]");
  if (call) {
    // One press answers the request: the item is taken, and the call view rings at once.
    event.preventDefault();
    const url = new URL(call.href);
    if (itemEl.classList.contains("state-open")) await act(itemEl, "take");
    rememberRing(url.pathname.split("/").pop(), url.searchParams.get("visit"));
    window.location.href = url.href;
  }
});

items.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.dataset.inboxAction) return;
  event.preventDefault();
  const itemEl = form.closest(".inbox-item");
  await act(itemEl, form.dataset.inboxAction, form.elements.namedItem("note").value);
});

document.addEventListener("console-event", (event) => {
  if (["alert", "inbox-changed", "visit-updated"].includes(event.detail.type)) refreshInbox();
});
announceCount();
