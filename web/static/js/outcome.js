// The one-tap outcome after a call: "completed" saves at once; every other outcome asks for a
// reason first. Corrections go to the edit route while it is open, then become amendments.
import { api } from "/static/js/console.js";

/**
 * @param {HTMLElement|null} section the #outcome section (absent without a visit)
 * @returns {{ setLocked: (locked: boolean) => void, focusFirst: () => boolean }}
 */
export function setupOutcome(section) {
  const form = section?.querySelector("#outcome-form");
  if (!section || !form) return { setLocked: () => {}, focusFirst: () => false };
  const visitId = section.dataset.visitId;
  const reasonBox = form.querySelector("#reason-box");
  const reason = form.querySelector("#reason");
  const status = form.querySelector("#outcome-status");
  let kind = null;
  let outcomeId = null;

  function body() {
    const observations = [...form.querySelectorAll('input[name="observation"]:checked')].map(
      (box) => ({ code: box.value }),
    );
    const sugar = document.getElementById("blood-sugar");
    if (sugar && sugar.value.trim()) {
      observations.push({ code: "blood_sugar", value: sugar.value.trim() });
    }
    const note = form.querySelector("#obs-note").value.trim();
    return {
      kind,
      reason: reason.value.trim() || null,
      observations,
      note: note || null,
      checklist: checklist(),
    };
  }

  // Every guidance step shown (medication), ticked or not, in the words the nurse saw;
  // null when the visit type shows none.
  function checklist() {
    const boxes = [...document.querySelectorAll('.guidance input[name="step"]')];
    if (!boxes.length) return null;
    return boxes.map((box) => ({
      step: Number(box.value),
      text: (box.closest("label")?.textContent ?? "").trim(),
      confirmed: box.checked,
    }));
  }

  async function save() {
    if (kind !== "completed" && !reason.value.trim()) {
      status.textContent = section.dataset.reasonNeeded;
      reason.focus();
      return;
    }
    try {
      let saved;
      if (outcomeId === null) {
        saved = await api(`/api/visits/${visitId}/outcome`, body());
      } else {
        saved = await api(`/api/outcomes/${outcomeId}/edit`, body()).catch((error) => {
          if (error.code !== "edit_window_closed") throw error;
          return api(`/api/outcomes/${outcomeId}/amend`, body());
        });
      }
      outcomeId = saved.id;
      section.dataset.outcomeId = String(saved.id);
      section.dataset.savedKind = saved.kind;
      status.textContent = section.dataset.saved;
    } catch (error) {
      status.textContent = `${section.dataset.failed} ${error.message}`;
    }
  }

  for (const button of form.querySelectorAll("button.kind")) {
    button.addEventListener("click", () => {
      if (section.dataset.locked === "true") return;
      kind = button.value;
      for (const other of form.querySelectorAll("button.kind")) {
        other.setAttribute("aria-pressed", String(other === button));
      }
      if (kind === "completed") {
        reasonBox.hidden = true;
        save();
      } else {
        reasonBox.hidden = false;
        reason.focus();
      }
    });
  }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (kind && section.dataset.locked !== "true") save();
  });

  // While the call is on, the outcome cannot be saved by a stray press: its buttons are
  // disabled and the form says why (observations may still be ticked as they come up).
  function setLocked(locked) {
    section.dataset.locked = String(locked);
    section.querySelector("#outcome-locked").hidden = !locked;
    for (const button of form.querySelectorAll("button")) button.disabled = locked;
    const kinds = form.querySelector("fieldset.kinds");
    if (locked) kinds.setAttribute("aria-describedby", "outcome-locked");
    else kinds.removeAttribute("aria-describedby");
  }

  /** Focus the form's first field (after the call); false when there is none. */
  function focusFirst() {
    const first = form.querySelector("input, textarea, select, button");
    first?.focus({ preventScroll: true });
    return Boolean(first);
  }

  return { setLocked, focusFirst };
}
