// Shared by every staff console page: JSON calls with the CSRF token, the language switch.

/** The session's CSRF token (base.html puts it in a meta tag). */
export function csrfToken() {
  return document.querySelector('meta[name="csrf-token"]')?.getAttribute("content") ?? "";
}

/** An API error with the server's stable code ("reason_required", "forbidden", …). */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/**
 * GET (no body) or POST (body) JSON; resolves to the parsed reply, rejects with ApiError.
 * @param {string} path
 * @param {any} [body]
 */
export async function api(path, body) {
  const init = { headers: { Accept: "application/json" }, credentials: "same-origin" };
  if (body !== undefined) {
    init.method = "POST";
    init.headers["Content-Type"] = "application/json";
    init.headers["X-CSRF-Token"] = csrfToken();
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const err = data.error ?? {};
    throw new ApiError(response.status, err.code ?? "error", err.message ?? response.statusText);
  }
  return data;
}

/**
 * Times in the organisation's zone, whatever the device's zone: a nurse's laptop set to another
 * zone still reads 08:30 for an 08:30 visit. base.html puts the zone in <html data-time-zone>
 * and the language in <html lang>. Numbers are written as the server's pages write them
 * ("01.12.2026 08:30"); dates in words follow the page's language.
 */
const PAGE_ZONE = document.documentElement.dataset.timeZone || "Europe/Copenhagen";
const PAGE_LOCALE = document.documentElement.lang === "en" ? "en-GB" : "da";
const NUMERIC = new Intl.DateTimeFormat("en-GB", {
  timeZone: PAGE_ZONE,
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  hourCycle: "h23",
});
const IN_WORDS = new Intl.DateTimeFormat(PAGE_LOCALE, { timeZone: PAGE_ZONE, dateStyle: "long" });

/** The wall-clock fields of an instant in the organisation's zone. */
function wallClock(when) {
  return Object.fromEntries(NUMERIC.formatToParts(new Date(when)).map((p) => [p.type, p.value]));
}

/** "08:30": the clock time of an ISO instant (or a Date) in the organisation's zone. */
export function formatTime(when) {
  const { hour, minute } = wallClock(when);
  return `${hour}:${minute}`;
}

/** "01.12.2026 08:30": date and time of an ISO instant in the organisation's zone. */
export function formatDateTime(when) {
  const { day, month, year, hour, minute } = wallClock(when);
  return `${day}.${month}.${year} ${hour}:${minute}`;
}

/** "1. december 2026" / "1 December 2026": the date of an instant in the organisation's zone. */
export function formatDate(when) {
  return IN_WORDS.format(new Date(when));
}

function setupLanguageSwitch() {
  for (const button of document.querySelectorAll("[data-set-language]")) {
    button.addEventListener("click", async () => {
      await api("/api/me/language", { language: button.dataset.setLanguage });
      window.location.reload();
    });
  }
}

setupLanguageSwitch();

/** The header's inbox badge: the active items of my teams (overdue ones make it red). */
async function setupInboxBadge() {
  const badge = document.querySelector("[data-inbox-badge]");
  if (!badge) return;
  const show = (active, overdue) => {
    badge.textContent = String(active);
    badge.hidden = active === 0;
    badge.classList.toggle("overdue", overdue > 0);
  };
  const load = async () => {
    try {
      const summary = await api("/api/inbox/summary");
      show(summary.active, summary.overdue);
    } catch {
      badge.hidden = true; // the badge is a convenience; the inbox itself is on the start page
    }
  };
  document.addEventListener("inbox-count", (event) => show(event.detail.active, 0));
  document.addEventListener("inbox-refresh", load); // an item changed on this page
  await load();
}

setupInboxBadge();

// Phones: a table wider than the screen scrolls inside its own box (app.css); that box must be
// reachable by keyboard too, so it takes focus while (and only while) it scrolls.
function focusableScrollingTables() {
  for (const table of document.querySelectorAll("main table")) {
    if (table.scrollWidth > table.clientWidth + 1) table.tabIndex = 0;
    else table.removeAttribute("tabindex");
  }
}

focusableScrollingTables();
window.addEventListener("resize", focusableScrollingTables);
new MutationObserver(focusableScrollingTables).observe(document.querySelector("main") ?? document.body, {
  childList: true,
  subtree: true,
});
