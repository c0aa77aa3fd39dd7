// The citizen's tablet: enrol once, then idle ↔ ringing ↔ call, recovering by itself.

import { SignalingClient } from "/static/js/signaling.js";
import { CallController } from "./call.js";
import { watchDeviceState } from "./devicestate.js";
import { setLanguage } from "./i18n.js";
import { IdleScreen } from "./idle.js";
import { pair } from "./pairing.js";
import { unlockAudio } from "./ringtone.js";
import { runSelfTest } from "./selftest.js";
import { $, current, show } from "./screens.js";

const TOKEN_KEY = "sv.deviceToken";
const STARTED_KEY = "sv.started";
const REFUSED_RETRY_MS = 3 * 60 * 1000;
const SELFTEST_CHECK_MS = 60 * 1000;

/** A token in the URL fragment (demo links) moves to storage; the fragment is cleared. */
function tokenFromFragment() {
  const match = /(?:^#|&)token=([^&]+)/.exec(window.location.hash);
  if (match) {
    const token = decodeURIComponent(match[1]);
    if (localStorage.getItem(TOKEN_KEY) !== token) localStorage.removeItem(STARTED_KEY);
    localStorage.setItem(TOKEN_KEY, token);
    history.replaceState(null, "", window.location.pathname + window.location.search);
  }
}

/** "Tryk for at starte": a tap unlocks sound and camera for this browser. The tablet is
 *  online already (the socket never waits for it); a ring, a call or a revoked tablet's screen
 *  is not covered by it, and any tap anywhere unlocks sound too. */
function tapToStart() {
  if (["loading", "idle"].includes(current())) show("start");
  const button = $("#start-button");
  button.focus();
  return new Promise((resolve) => {
    button.addEventListener(
      "click",
      async () => {
        unlockAudio();
        try {
          const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
          for (const track of stream.getTracks()) track.stop();
        } catch {
          // No camera permission: calls still work with sound; the self-test reports it.
        }
        resolve();
      },
      { once: true },
    );
  });
}

class Kiosk {
  constructor(token) {
    this.token = token;
    this.client = new SignalingClient({
      token,
      agent: "screenvisit-kiosk-web/1",
      refusedRetryMs: REFUSED_RETRY_MS,
    });
    this.idle = new IdleScreen(() => this.token);
    this.calls = new CallController(this.client, {
      onEnded: () => this.showIdle(),
      volumeCap: () => Math.min(1, (this.idle.home?.volume_cap ?? 100) / 100),
    });
    watchDeviceState(this.client, this.calls); // the nurse sees "sound off", "microphone off"
    this.testedFor = null;
    this.testing = false;
    this.client.on("state", ({ state }) => this._state(state));
    this.client.on("welcome", () => this._welcomed());
    window.addEventListener("offline", () => this._banner());
    window.addEventListener("online", () => this._banner());
    // Any touch or key unlocks sound (a touch grants it on pointerup or touchend, a mouse on
    // pointerdown).
    for (const type of ["pointerdown", "pointerup", "touchend", "keydown"]) {
      document.addEventListener(type, () => unlockAudio(), { passive: true });
    }
    unlockAudio(); // body[data-sound] says from the start whether a ring would be heard
    setInterval(() => this._maybeSelfTest(), SELFTEST_CHECK_MS);
  }

  start() {
    this.client.start();
  }

  showIdle() {
    if (this.calls.busy || this.client.state === "refused") return;
    show("idle");
    this.idle.questions.offer(this.idle.home?.questions); // before a meeting, when not answered
  }

  async _welcomed() {
    try {
      const home = await this.idle.refresh();
      if (home) setLanguage(home.language);
    } catch {
      // 403: the socket will be refused too and show the right screen.
    }
    if (["loading", "revoked"].includes(current())) this.showIdle();
  }

  _state(state) {
    document.body.dataset.connection = state;
    this._banner();
    if (state === "refused") this._revoked();
  }

  _banner() {
    const state = this.client.state;
    const lost = state === "reconnecting" || (!navigator.onLine && state !== "refused");
    $("#reconnecting").hidden = !lost;
  }

  _revoked() {
    this.calls._teardown();
    show("revoked");
    const phone = localStorage.getItem("sv.teamPhone");
    $("#revoked-phone").textContent = phone ?? "";
    this._offerReEnrolment();
  }

  /** A revoked tablet also shows a pairing code, so staff can connect it again on the spot. */
  async _offerReEnrolment() {
    if (this.rePairing) return;
    this.rePairing = { stopped: false };
    const off = this.client.on("welcome", () => {
      this.rePairing.stopped = true; // not revoked after all (e.g. a passing refusal)
    });
    $("#revoked-staff").hidden = false;
    const token = await pair("#revoked-code", false, this.rePairing);
    off();
    this.rePairing = null;
    $("#revoked-staff").hidden = true;
    if (token) {
      localStorage.setItem(TOKEN_KEY, token);
      localStorage.removeItem(STARTED_KEY);
      window.location.reload();
    }
  }

  /** Before each visit window (and once after enrolment) check camera, sound and network. */
  async _maybeSelfTest(force = false) {
    const visit = this.idle.home?.next_visit;
    const leadMs = (this.idle.home?.selftest_lead_min ?? 10) * 60 * 1000;
    const due =
      visit &&
      this.testedFor !== visit.visit_id &&
      Date.parse(visit.planned_at) - leadMs <= Date.now();
    if (!(force || due) || this.testing || this.calls.busy || !this.client.isOpen) return;
    this.testing = true;
    document.body.dataset.selftest = "running";
    try {
      const result = await runSelfTest(this.client, this.token);
      if (visit) this.testedFor = visit.visit_id;
      document.body.dataset.selftest = result.ok ? "ok" : `failed:${result.failed_part}`;
    } finally {
      this.testing = false;
    }
  }

  /** Run the self-test now if the socket is welcomed, else as soon as it is (after enrolment). */
  selfTestWhenReady() {
    if (this.client.isOpen) {
      this._maybeSelfTest(true);
      return;
    }
    const off = this.client.on("welcome", () => {
      off();
      this._maybeSelfTest(true);
    });
  }
}

/** True when this browser will not play sound until someone taps the screen. */
async function soundLocked() {
  const context = unlockAudio();
  if (context.state === "running") return false;
  await new Promise((resolve) => setTimeout(resolve, 500)); // the audio thread may be starting
  return context.state !== "running";
}

async function main() {
  tokenFromFragment();
  let token = localStorage.getItem(TOKEN_KEY);
  if (!token) {
    token = await pair();
    localStorage.setItem(TOKEN_KEY, token);
    localStorage.removeItem(STARTED_KEY);
  }
  show("loading");
  const kiosk = new Kiosk(token);
  window.screenvisitKiosk = kiosk; // for people debugging a tablet and for tests
  // Online at once, after a power cut or a reload as after enrolment: nurses can ring, and a
  // revoked tablet says so, before anyone touches the screen. Only sound may wait for a tap.
  kiosk.start();
  const firstStart = !localStorage.getItem(STARTED_KEY);
  if (firstStart || (await soundLocked())) {
    // First start: the tap also grants the camera. Later, a browser without an autoplay
    // exception (Safari after a restart) keeps sound locked until a tap: ask for it.
    await tapToStart();
    localStorage.setItem(STARTED_KEY, "1");
    kiosk.showIdle();
    if (firstStart) kiosk.selfTestWhenReady();
  }
}

main();
