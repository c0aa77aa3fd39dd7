// "I dag": keeps the server-rendered call list current without reloads. Presence (tablet online,
// in a call) arrives over the signalling socket; a `visit-updated` re-fetches the rows.
import { SignalingClient } from "/static/js/signaling.js";
import { rememberRing } from "/static/js/ringintent.js";
import { api } from "/static/js/console.js";

const REFRESH_EVERY_MS = 60_000; // planned → due → late changes with the clock

const list = document.getElementById("calllist");

// "Ring op" links are re-rendered with the rows, so listen once on the list.
list.addEventListener("click", (event) => {
  const link = event.target instanceof Element ? event.target.closest("a.button.call") : null;
  if (!link) return;
  const url = new URL(link.href);
  const citizenId = url.pathname.split("/").pop();
  rememberRing(citizenId, url.searchParams.get("visit"));
});
// "Forsinket ca. 10 min": the citizen's tablet (or SMS) is told; the row then says when the
// citizen saw it ("Borgeren har fået besked 10:31"), re-read with the rows.
list.addEventListener("click", async (event) => {
  const button = event.target instanceof Element ? event.target.closest("button[data-delay-visit]") : null;
  if (!button) return;
  button.disabled = true;
  const visitId = button.dataset.delayVisit;
  try {
    const reply = await api(`/api/visits/${visitId}/delay`, { minutes: Number(button.dataset.minutes) });
    showDelay(visitId, reply.channel ? { told_at_local: null } : null, true);
  } catch {
    showDelay(visitId, { failed: true }, true);
  } finally {
    button.disabled = false;
  }
});

/** One row's delay line: told at, waiting to be seen, or nobody to tell. */
function showDelay(visitId, state, pressed) {
  const line = list.querySelector(`[data-delay-state="${visitId}"]`);
  if (!line) return;
  if (!state) {
    line.textContent = pressed ? line.dataset.nobody : "";
  } else if (state.failed) {
    line.textContent = line.dataset.failed;
  } else {
    line.textContent = state.told_at_local
      ? line.dataset.told.replace("{at}", state.told_at_local)
      : line.dataset.waiting;
  }
}

async function loadDelays() {
  const ids = [...list.querySelectorAll("[data-delay-state]")].map((el) => el.dataset.delayState);
  if (!ids.length) return;
  try {
    const reply = await api(`/api/notices/delays?visit_id=${ids.join(",")}`);
    for (const state of reply.delays) showDelay(String(state.visit_id), state, false);
  } catch {
    // the next refresh tries again
  }
}
list.addEventListener("calllist-refreshed", loadDelays);
loadDelays();

const live = document.getElementById("live-state");
const alerts = document.getElementById("alerts");
const client = new SignalingClient({ agent: "screenvisit-console/1" });
/** @type {Map<string, any>} citizen id → latest presence entry */
const presence = new Map();
let subscribed = "";
let refreshing = null;

function citizenIds() {
  const ids = [...list.querySelectorAll("tr[data-citizen-id]")].map((tr) => tr.dataset.citizenId);
  return [...new Set(ids)];
}

function applyPresence(entry) {
  presence.set(entry.citizen_id, entry);
  for (const row of list.querySelectorAll(`tr[data-citizen-id="${entry.citizen_id}"]`)) {
    const dot = row.querySelector(".presence");
    if (dot) {
      dot.dataset.presence = entry.online ? "online" : "offline";
      dot.textContent = entry.online ? dot.dataset.labelOnline : dot.dataset.labelOffline;
      // "Online, sound off": it would ring silently until someone taps it (null: unknown).
      const soundOff = entry.online && entry.sound === false;
      if (soundOff) dot.textContent = dot.dataset.labelSoundOff;
      if (soundOff) dot.dataset.sound = "off";
      else delete dot.dataset.sound;
    }
    row.classList.toggle("in-call", Boolean(entry.in_call));
  }
}

async function subscribe() {
  const ids = citizenIds();
  const key = ids.join(",");
  if (!client.isOpen || key === subscribed) return;
  subscribed = key;
  try {
    const reply = await client.request({ type: "presence-subscribe", citizen_ids: ids });
    for (const entry of reply.entries ?? []) applyPresence(entry);
  } catch {
    subscribed = ""; // try again on the next refresh or reconnect
  }
}

async function refresh() {
  if (refreshing) return refreshing;
  refreshing = (async () => {
    try {
      const response = await fetch(list.dataset.rowsUrl, { credentials: "same-origin" });
      if (response.status === 401 || response.redirected) {
        window.location.reload(); // the session ended: go through the login page
        return;
      }
      if (!response.ok) return;
      list.innerHTML = await response.text();
      for (const entry of presence.values()) applyPresence(entry);
      list.dispatchEvent(new CustomEvent("calllist-refreshed"));
      await subscribe();
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

function showAlert(message) {
  const item = document.createElement("p");
  item.className = "alert";
  item.textContent = message.message;
  alerts.prepend(item);
}

client.on("state", ({ state }) => {
  live.dataset.state = state;
  live.textContent = state === "open" ? live.dataset.online : live.dataset.offline;
  if (state === "open") {
    subscribed = "";
    refresh();
  }
});
client.on("presence", (message) => {
  for (const entry of message.entries ?? []) applyPresence(entry);
});
/** Let the page's other parts (the inbox) hear the team's notifications too. */
function forward(message) {
  document.dispatchEvent(new CustomEvent("console-event", { detail: message }));
}

client.on("visit-updated", (message) => {
  refresh();
  forward(message);
});
client.on("alert", (message) => {
  showAlert(message);
  refresh();
  forward(message);
});
client.on("inbox-changed", forward);
setInterval(refresh, REFRESH_EVERY_MS);
client.start();
