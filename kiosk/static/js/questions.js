// Before a visitation meeting (from a day until a quarter of an hour before it) the idle screen
// gives way to two plain questions, one at a time: "Hvad vil du gerne tale om?" and "Hvem skal
// være med?". Big toggle buttons, "Færdig" to go on, "Ikke nu" to skip; the answers go to
// the host (POST /api/kiosk/meeting-answers). A ring takes over the screen as always: the
// questions come back on the idle screen afterwards until answered or skipped.

import { call } from "./api.js";
import { clockTime, t } from "./i18n.js";
import { $, current, show } from "./screens.js";

const TOPICS = ["medicine", "food", "bath", "outings", "night", "other"];
const MAX_RELATIVES = 4; // six choices at most: they must fit a 1024x600 screen

export class QuestionScreen {
  /** @param {() => string} token */
  constructor(token) {
    this.token = token;
    this.asked = null;
    /** @type {Set<number>} meetings answered or skipped on this page */
    this.closed = new Set();
    this.step = "topics";
    this.topics = [];
    $("#questions-done").addEventListener("click", () => this.done());
    $("#questions-skip").addEventListener("click", () => this.skip());
  }

  /** Show the questions if a meeting is near, they are open, and the idle screen shows. */
  offer(questions) {
    if (!questions || this.closed.has(questions.visit_id) || current() !== "idle") return;
    if (this.asked?.visit_id !== questions.visit_id) {
      this.step = "topics";
      this.topics = [];
    }
    this.asked = questions;
    this._render();
    show("questions");
  }

  _choices() {
    if (this.step === "topics") return TOPICS.map((code) => [code, t(`topic_${code}`)]);
    const relatives = this.asked.people.slice(0, MAX_RELATIVES).map((p) => [p.code, p.label]);
    return [...relatives, ["contact_person", t("people_contact")], ["nobody", t("people_nobody")]];
  }

  _render() {
    $("#questions-title").textContent = t(this.step === "topics" ? "questions_topics" : "questions_people");
    const when = clockTime(new Date(this.asked.planned_at));
    $("#questions-when").textContent = t("questions_when").replace("{time}", when);
    const box = $("#questions-choices");
    box.dataset.step = this.step;
    box.replaceChildren(
      ...this._choices().map(([code, label]) => {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "btn btn-calm choice";
        button.dataset.code = code;
        button.textContent = label;
        button.setAttribute("aria-pressed", "false");
        button.addEventListener("click", () => this._toggle(button));
        return button;
      }),
    );
  }

  /** Press a choice; "Ingen andre" stands alone. */
  _toggle(button) {
    const on = button.getAttribute("aria-pressed") !== "true";
    button.setAttribute("aria-pressed", String(on));
    if (!on) return;
    for (const other of document.querySelectorAll("#questions-choices .choice")) {
      const alone = button.dataset.code === "nobody" || other.dataset.code === "nobody";
      if (other !== button && alone) other.setAttribute("aria-pressed", "false");
    }
  }

  _pressed() {
    return [...document.querySelectorAll("#questions-choices .choice[aria-pressed='true']")].map(
      (b) => b.dataset.code,
    );
  }

  /** "Færdig": on to the second question, or send both answers. */
  async done() {
    if (this.step === "topics") {
      this.topics = this._pressed();
      this.step = "people";
      this._render();
      return;
    }
    await this._send({ topics: this.topics, people: this._pressed(), skipped: false });
  }

  /** "Ikke nu": the first question skips both; the second sends the topics alone. */
  async skip() {
    if (this.step === "topics") await this._send({ topics: [], people: [], skipped: true });
    else await this._send({ topics: this.topics, people: [], skipped: false });
  }

  async _send(answers) {
    const visitId = this.asked.visit_id;
    this.closed.add(visitId);
    if (current() === "questions") show("idle");
    try {
      await call("POST", "/api/kiosk/meeting-answers", this.token(), { visit_id: visitId, ...answers });
      document.body.dataset.questions = "sent";
    } catch {
      document.body.dataset.questions = "failed"; // e.g. the meeting began: nothing to repeat
    }
  }
}
