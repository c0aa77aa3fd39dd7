// The meeting panel's dialogue part in the call view (#meeting-dialogue, meetings only): what
// the citizen answered on her tablet before the meeting, a note per dignity-wheel theme (saved
// on "Gem noter" and when a field loses focus), a copy of the notes into the meeting's sheet,
// and follow-up tasks with an owner and a due date that land in the team's inbox.

import { api } from "/static/js/console.js";

const ZONE = document.documentElement.dataset.timeZone || "Europe/Copenhagen"; // the organisation's

/** "{name}" in a translated text. */
function fill(text, values) {
  return (text ?? "").replace(/\{(\w+)\}/g, (_, key) => values[key] ?? "");
}

function element(tag, props = {}, children = []) {
  const el = Object.assign(document.createElement(tag), props);
  el.append(...children);
  return el;
}

export class MeetingDialogue {
  /** @param {HTMLElement} panel the #meeting-dialogue section */
  constructor(panel) {
    this.panel = panel;
    this.path = `/api/visits/${panel.dataset.visitId}`;
    this.status = panel.querySelector("#dialogue-status");
    this.notes = panel.querySelector("#theme-notes");
    this.taskForm = panel.querySelector("#task-form");
    this.saved = new Map(); // theme → the note as last saved
    this.notes.addEventListener("submit", (event) => {
      event.preventDefault();
      this.saveNotes();
    });
    this.notes.addEventListener("focusout", () => this.saveNotes(true));
    panel.querySelector("#copy-notes").addEventListener("click", () => this.copyNotes());
    this.taskForm.addEventListener("submit", (event) => {
      event.preventDefault();
      this.addTask();
    });
    panel.querySelector("#dialogue-refresh").addEventListener("click", () => this.load());
    this.load();
  }

  async load() {
    try {
      const data = await api(`${this.path}/dialogue`);
      this.renderAnswers(data);
      if (!this.notes.querySelector("textarea")) this.renderThemes(data.themes);
      this.renderTasks(data.tasks);
      this.renderOwners(data.owners);
    } catch (err) {
      this.say(err.message);
    }
  }

  say(text) {
    this.status.textContent = text;
  }

  renderAnswers(data) {
    const box = this.panel.querySelector("#dialogue-answers");
    const lines = [];
    if (data.summary) lines.push(data.summary);
    if (data.people.length) {
      const people = data.people.map((p) => p.label).join(", ");
      lines.push(fill(box.dataset.people, { people }));
    }
    if (!lines.length) lines.push(data.skipped ? box.dataset.skipped : box.dataset.none);
    box.replaceChildren(...lines.map((line) => element("p", { textContent: line })));
    box.dataset.state = data.answered_at ? "answered" : data.skipped ? "skipped" : "none";
  }

  renderThemes(themes) {
    const fields = themes.map((theme) => {
      const id = `theme-${theme.code}`;
      const area = element("textarea", { id, name: theme.code, rows: 2, maxLength: 2000 });
      area.value = theme.note;
      this.saved.set(theme.code, theme.note);
      return element("div", { className: "theme" }, [
        element("label", { htmlFor: id, textContent: theme.label }),
        area,
      ]);
    });
    this.notes.querySelector(".themes").replaceChildren(...fields);
  }

  /** Save the notes that changed (``quiet``: on leaving a field, say nothing when none did). */
  async saveNotes(quiet = false) {
    const changed = {};
    for (const area of this.notes.querySelectorAll("textarea")) {
      if (area.value !== this.saved.get(area.name)) changed[area.name] = area.value;
    }
    if (!Object.keys(changed).length) {
      if (!quiet) this.say(this.notes.dataset.saved);
      return;
    }
    try {
      await api(`${this.path}/dialogue/notes`, { notes: changed });
      for (const [theme, note] of Object.entries(changed)) this.saved.set(theme, note);
      this.say(this.notes.dataset.saved);
    } catch (err) {
      this.say(err.message);
    }
  }

  async copyNotes() {
    await this.saveNotes(true);
    try {
      const sheet = await api(`${this.path}/dialogue/copy-to-agreement`, {});
      this.say(fill(this.panel.querySelector("#copy-notes").dataset.copied, { version: sheet.version }));
    } catch (err) {
      this.say(err.message);
    }
  }

  renderOwners(owners) {
    const select = this.taskForm.querySelector("select[name=owner]");
    const chosen = select.value;
    select.replaceChildren(
      ...owners.map((o) => element("option", { value: o.code, textContent: o.label })),
    );
    if (chosen) select.value = chosen;
  }

  renderTasks(tasks) {
    const list = this.panel.querySelector("#task-list");
    const items = tasks.map((task) => {
      // Due at the end of the day (the next midnight): a second earlier is the day itself.
      const end = task.due_at ? new Date(Date.parse(task.due_at) - 1000) : null;
      const due = end ? end.toLocaleDateString("da-DK", { timeZone: ZONE }) : "";
      const text = fill(list.dataset.line, { text: task.text, owner: task.owner_name ?? "", due });
      return element("li", { textContent: text });
    });
    list.replaceChildren(...items);
  }

  async addTask() {
    const form = new FormData(this.taskForm);
    const body = {
      text: String(form.get("text") ?? ""),
      owner_staff_id: Number(form.get("owner")),
      due_date: String(form.get("due") ?? ""),
    };
    try {
      await api(`${this.path}/follow-up-tasks`, body);
      this.taskForm.reset();
      this.say(this.taskForm.dataset.added);
      await this.load();
    } catch (err) {
      this.say(err.message);
    }
  }
}

const panel = document.getElementById("meeting-dialogue");
if (panel) window.meetingDialogue = new MeetingDialogue(panel);
