// The idle screen: clock, date, the next visit in plain words, today's agreements sheet when
// there is one, and maybe "Ring til mig".

import { call } from "./api.js";
import { setPhoto } from "./call.js";
import { clockTime, currentLanguage, longDate, setTimeZone, t } from "./i18n.js";
import { NoticeCard } from "./notices.js";
import { QuestionScreen } from "./questions.js";
import { $ } from "./screens.js";

const REFRESH_MS = 5 * 60 * 1000;

/** "Søndag 22. november" inside a Danish sentence is "søndag 22. november". */
function midSentence(text) {
  return currentLanguage() === "en" ? text : text.charAt(0).toLowerCase() + text.slice(1);
}

export class IdleScreen {
  /** @param {() => string} token */
  constructor(token) {
    this.token = token;
    this.home = null;
    this.notices = new NoticeCard(token);
    this.questions = new QuestionScreen(token); // before a meeting: what to talk about, with whom
    this._tick();
    setInterval(() => this._tick(), 1000);
    $("#callback-button").addEventListener("click", () => this.requestCallBack());
  }

  /** Load the idle facts; resolves with them (or null when offline). */
  async refresh() {
    try {
      this.home = await call("GET", "/api/kiosk/me", this.token());
      localStorage.setItem("sv.teamPhone", this.home.team_phone ?? "");
      setTimeZone(this.home.timezone);
      this._tick();
      this._render();
    } catch (err) {
      if (err.status === 403) throw err;
    }
    clearTimeout(this._timer);
    // Notices (a nurse running late, a moved visit) must show within a minute: the server says
    // how often to ask again (poll_s); without an answer yet, the old five minutes.
    const every = this.home?.poll_s ? this.home.poll_s * 1000 : REFRESH_MS;
    this._timer = setTimeout(() => this.refresh().catch(() => {}), every);
    return this.home;
  }

  _tick() {
    const now = new Date();
    $("#clock").textContent = clockTime(now);
    $("#date").textContent = longDate(now);
  }

  _render() {
    const home = this.home;
    const visit = home.next_visit;
    $("#next-visit").hidden = !visit;
    $("#no-visit").hidden = Boolean(visit);
    if (visit) {
      $("#next-text").textContent = currentLanguage() === "en" ? englishSentence(visit) : visit.sentence;
      setPhoto($("#next-photo"), visit.staff_photo_url, visit.staff_name);
    }
    $("#callback-button").hidden = !home.call_back_enabled;
    this._renderAgreements(home.agreements);
    this.notices.render(home.notices, visit?.visit_id);
    this.questions.offer(home.questions);
  }

  /** The agreement sheet ("Aftaler i dag", or from a recent meeting): you do, we do, call us. */
  _renderAgreements(sheet) {
    $("#agreements").hidden = !sheet;
    $("#screen-idle").classList.toggle("has-agreements", Boolean(sheet));
    if (!sheet) return;
    $("#agreements-you").textContent = sheet.citizen_does ?? "";
    $("#agreements-you-box").hidden = !sheet.citizen_does;
    $("#agreements-we").textContent = sheet.municipality_does ?? "";
    $("#agreements-we-box").hidden = !sheet.municipality_does;
    const followUp = currentLanguage() === "en" ? sheet.follow_up_en : sheet.follow_up;
    $("#agreements-follow-up").textContent = followUp ?? "";
    $("#agreements-follow-up").hidden = !followUp;
    const phone = sheet.phone ?? this.home.team_phone ?? "";
    // Plain text, not a tel: link: a locked tablet has no dialer and must not leave the kiosk.
    $("#agreements-phone").textContent = phone;
    $("#agreements-phone-box").hidden = !phone;
    const meeting = new Date(`${sheet.meeting_date}T12:00:00Z`); // a calendar date: read in UTC
    $("#agreements-title").textContent = sheet.is_today
      ? t("agreements_title")
      : t("agreements_from").replace("{date}", midSentence(longDate(meeting, "UTC")));
  }

  /** "Ring til mig": put a call-back request in the team's queue. */
  async requestCallBack() {
    const button = $("#callback-button");
    button.disabled = true;
    try {
      await call("POST", "/api/kiosk/call-back", this.token(), {});
      $("#callback-done").textContent = t("callback_done");
      $("#callback-done").hidden = false;
      setTimeout(() => {
        $("#callback-done").hidden = true;
        button.disabled = false;
      }, 60_000);
    } catch {
      button.disabled = false;
    }
  }
}

function englishSentence(visit) {
  const who = visit.staff_name ? visit.staff_name.split(" ")[0] : t("home_care");
  const day = { "i dag": t("today"), "i morgen": t("tomorrow") }[visit.day_label] ?? visit.day_label;
  return t("comes_on_screen")
    .replace("{who}", who)
    .replace("{day}", day)
    .replace("{time}", visit.local_time)
    .replace("{what}", visit.type_name_en.toLowerCase());
}
