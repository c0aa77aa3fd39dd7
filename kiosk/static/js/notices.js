// Reminders and change notices on the idle screen ("Sygeplejerske Anna er forsinket ca. 10
// minutter …"): the newest as a card with the staff member's photo. The tablet tells the server
// when it first had a notice on screen, so staff see "Borgeren har fået besked 10:31".
// New notices arrive with the idle facts, which the idle screen fetches every `poll_s` seconds.

import { call } from "./api.js";
import { setPhoto } from "./call.js";
import { currentLanguage } from "./i18n.js";
import { $ } from "./screens.js";

export class NoticeCard {
  /** @param {() => string} token */
  constructor(token) {
    this.token = token;
    /** @type {Set<number>} notices reported shown by this page (or being reported) */
    this.reported = new Set();
  }

  /**
   * Show the newest notice (the server sends them newest first), or hide the card. A notice
   * about the next visit says it all (with the time as it is now): the sentence then gives way.
   */
  render(notices, nextVisitId) {
    const card = $("#notice");
    const top = (notices ?? [])[0];
    card.hidden = !top;
    document.getElementById("screen-idle")?.classList.toggle("has-notice", Boolean(top));
    if (!top) {
      delete card.dataset.noticeId;
      return;
    }
    if (top.visit_id === nextVisitId) $("#next-visit").hidden = true;
    card.dataset.noticeId = String(top.notice_id);
    card.dataset.kind = top.kind;
    $("#notice-text").textContent = currentLanguage() === "en" ? top.text_en : top.text_da;
    setPhoto($("#notice-photo"), top.staff_photo_url, top.staff_name);
    this.reportShown(top);
  }

  /** Tell the server once that the notice is on screen (only while the idle screen shows). */
  async reportShown(notice) {
    if (notice.shown_at || this.reported.has(notice.notice_id)) return;
    if (document.body.dataset.screen !== "idle") return; // a later refresh reports it
    this.reported.add(notice.notice_id);
    try {
      await call("POST", `/api/kiosk/notices/${notice.notice_id}/shown`, this.token(), {});
    } catch {
      this.reported.delete(notice.notice_id); // try again on the next refresh
    }
  }
}
