// A ring happens only because the nurse pressed "Ring op" in this browser tab just now.
// Opening, reloading or restoring a call page, or following a link from another site, must
// never ring an 80-year-old's tablet: only a same-origin click can write this tab's
// sessionStorage, and the call page consumes the intent once.
const KEY = "screenvisit-ring-intent";
const MAX_AGE_MS = 60_000;

/** Remember that the nurse asked to ring this citizen (and visit) from this tab. */
export function rememberRing(citizenId, visitId) {
  sessionStorage.setItem(KEY, JSON.stringify({ citizenId, visitId: visitId || null, at: Date.now() }));
}

/** True once if a fresh intent for this citizen (and visit) was left by the list; then forgotten. */
export function takeRing(citizenId, visitId) {
  const raw = sessionStorage.getItem(KEY);
  sessionStorage.removeItem(KEY);
  if (!raw) return false;
  try {
    const intent = JSON.parse(raw);
    const fresh = Date.now() - intent.at < MAX_AGE_MS;
    return fresh && intent.citizenId === citizenId && (intent.visitId || null) === (visitId || null);
  } catch {
    return false;
  }
}
