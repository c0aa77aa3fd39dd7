// Enrolment from the tablet's side: a random pairing secret, a 6-digit code, then the token.

import { ApiError, call } from "./api.js";
import { $, show } from "./screens.js";

const POLL_MS = 2000;
const SECRET_KEY = "sv.pairingSecret";

function randomSecret() {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replace(/[+/=]/g, (c) => ({ "+": "-", "/": "_", "=": "" })[c]);
}

/**
 * Show a code until a staff member enters it; resolves with the new device token.
 * @param {string} codeSelector where the code is shown
 * @param {boolean} showScreen switch to the pairing screen (not when re-enrolling quietly)
 * @param {{stopped: boolean}} control set `stopped` to end the loop (resolves with null)
 */
export async function pair(codeSelector = "#pairing-code", showScreen = true, control = { stopped: false }) {
  let secret = localStorage.getItem(SECRET_KEY);
  if (!secret) {
    secret = randomSecret();
    localStorage.setItem(SECRET_KEY, secret);
  }
  if (showScreen) show("pairing");
  let shown = false;
  while (!control.stopped) {
    const status = await poll(secret);
    if (status.status === "enrolled" && status.token) {
      localStorage.removeItem(SECRET_KEY);
      return status.token;
    }
    // A reloaded page does not know its code any more: it asks for a fresh one.
    if (status.status !== "waiting" || !shown) shown = await newCode(secret, codeSelector);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return null;
}

async function poll(secret) {
  try {
    return await call("GET", "/api/kiosk/pairing", secret);
  } catch {
    return { status: "offline" };
  }
}

async function newCode(secret, codeSelector) {
  try {
    const { code } = await call("POST", "/api/kiosk/pairing", secret, {});
    $(codeSelector).textContent = `${code.slice(0, 3)} ${code.slice(3)}`;
    $(codeSelector).dataset.code = code;
    return true;
  } catch (err) {
    if (err instanceof ApiError && err.status === 429) {
      await new Promise((resolve) => setTimeout(resolve, 30_000));
    }
    return false;
  }
}
