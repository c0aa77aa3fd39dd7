// Ringing and the call itself: answer, decline, auto-answer countdown, camera hide, hang up,
// and recovery after signalling loss (resume, then fresh offers: our ICE restart).

import { CallMesh } from "/static/js/webrtc.js";
import { callerLines, roleLabel, t, visitLabel } from "./i18n.js";
import { openMedia, stopMedia } from "./media.js";
import { Ringtone } from "./ringtone.js";
import { $, show } from "./screens.js";

// A hand already moving when the ring appears must not answer or decline: the ringing screen's
// buttons wait this long before they take a tap.
const RING_TAP_GUARD_MS = 600;
// Afvis needs a second tap within this window ("Tryk igen for at afvise") ...
const DECLINE_CONFIRM_MS = 3000;
// ... and not a bounce of the first one: taps this soon after it are ignored.
const DECLINE_BOUNCE_MS = 500;

export class CallController {
  /**
   * @param {import("/static/js/signaling.js").SignalingClient} client
   * @param {{ onEnded: () => void, volumeCap: () => number }} hooks
   */
  constructor(client, hooks) {
    this.client = client;
    this.hooks = hooks;
    this.ring = null;
    this.mesh = null;
    this.stream = null;
    this.cameraOn = true;
    this.countdownTimer = 0;
    this._declineArmedAt = null;
    this.ringtone = new Ringtone();
    client.on("ring", (m) => this._ringing(m));
    client.on("call-state", (m) => this._callState(m));
    client.on("call-ended", (m) => this._ended(m.call_id));
    client.on("welcome", (w) => this._welcomed(w));
    client.on("resume-failed", () => this._teardown());
    client.on("message", (m) => this.mesh?.handle(m));
    $("#answer-button").addEventListener("click", () => this.answer());
    $("#decline-button").addEventListener("click", () => this._declineTapped());
    $("#cancel-auto").addEventListener("click", () => this._stopCountdown());
    $("#hangup-button").addEventListener("click", () => this.hangup());
    $("#camera-button").addEventListener("click", () => this.setCamera(!this.cameraOn));
    this._liveTimer = setInterval(() => this._showCameraState(), 500);
  }

  /** True while ringing or in a call (the idle screen must not take over). */
  get busy() {
    return this.ring !== null || this.mesh !== null;
  }

  _ringing(message) {
    if (this.mesh) return; // one call at a time; the server will not ring us twice
    this.ring = message;
    this.cameraOn = !message.camera_off;
    const caller = message.caller;
    const [who, what] = callerLines(caller); // a relative: "Ida ringer" / "din datter"
    $("#caller-name").textContent = who;
    $("#caller-role").textContent = what;
    setPhoto($("#caller-photo"), caller.photo_url, caller.name);
    $("#ring-visit").textContent = visitLabel(message.visit_type);
    this._resetDecline();
    show("ringing");
    this._guardTaps();
    this.ringtone.volume = this.hooks.volumeCap();
    this.ringtone.start();
    this._startCountdown(message.auto_answer_after_s);
    // Open the camera while it rings, so answering is instant.
    this._mediaReady = openMedia().then((stream) => (this.stream = stream));
  }

  _startCountdown(seconds) {
    this._stopCountdown();
    if (!seconds) return;
    let left = seconds;
    $("#countdown").textContent = String(left);
    $("#auto-answer").hidden = false;
    this.countdownTimer = setInterval(() => {
      left -= 1;
      $("#countdown").textContent = String(Math.max(0, left));
      if (left <= 0) {
        this._stopCountdown();
        this.answer();
      }
    }, 1000);
  }

  _stopCountdown() {
    clearInterval(this.countdownTimer);
    this.countdownTimer = 0;
    $("#auto-answer").hidden = true;
  }

  /** The citizen pressed "Svar" (or the countdown reached zero). */
  async answer() {
    if (!this.ring) return;
    this._stopCountdown();
    this.ringtone.stop();
    await this._mediaReady;
    this.client.trySend({ type: "accept", call_id: this.ring.call_id });
  }

  /** Buttons take no tap for a moment after the ring appears (answering by itself still works);
   *  then Svar has the keyboard focus, so Enter answers. */
  _guardTaps() {
    const buttons = ["#answer-button", "#decline-button", "#cancel-auto"].map((s) => $(s));
    for (const button of buttons) button.disabled = true;
    clearTimeout(this._guardTimer);
    this._guardTimer = setTimeout(() => {
      for (const button of buttons) button.disabled = false;
      if (this.ring) $("#answer-button").focus();
    }, RING_TAP_GUARD_MS);
  }

  /** First tap on Afvis: ask for a second one; a second tap in the window declines. */
  _declineTapped() {
    const button = $("#decline-button");
    const armedAt = this._declineArmedAt;
    if (armedAt === null) {
      this._declineArmedAt = performance.now();
      button.dataset.decline = "armed";
      button.querySelector(".label").textContent = t("decline_confirm");
      this._declineTimer = setTimeout(() => this._resetDecline(), DECLINE_CONFIRM_MS);
      this._bounceTimer = setTimeout(() => {
        if (button.dataset.decline) button.dataset.decline = "confirm";
      }, DECLINE_BOUNCE_MS);
    } else if (performance.now() - armedAt >= DECLINE_BOUNCE_MS) {
      this.decline();
    }
  }

  _resetDecline() {
    clearTimeout(this._declineTimer);
    clearTimeout(this._bounceTimer);
    this._declineArmedAt = null;
    const button = $("#decline-button");
    delete button.dataset.decline;
    button.querySelector(".label").textContent = t("decline");
  }

  /** The citizen pressed "Afvis" twice. */
  decline() {
    if (!this.ring) return;
    this.client.trySend({ type: "decline", call_id: this.ring.call_id });
    this._teardown();
  }

  /** The citizen pressed "Læg på". */
  hangup() {
    const callId = this.mesh?.callId ?? this.ring?.call_id;
    if (callId) this.client.trySend({ type: "hangup", call_id: callId });
    this.client.forgetCall();
    this._teardown();
  }

  /** Hide or show our picture; audio goes on either way. */
  setCamera(on) {
    this.cameraOn = on;
    for (const track of this.stream?.getVideoTracks() ?? []) track.enabled = on;
    this.mesh?.setVideoSending(on);
    $("#camera-button").textContent = on ? t("hide_camera") : t("show_camera");
    $("#camera-button").setAttribute("aria-pressed", String(!on));
    this._showCameraState();
  }

  async _callState(snapshot) {
    if (snapshot.state !== "active") return;
    if (this.mesh) {
      this.mesh.update(snapshot);
      return;
    }
    if (!this.ring || this.ring.call_id !== snapshot.call_id) return;
    await this._mediaReady;
    this._enterCall(snapshot);
    await this.mesh.offerToAll(); // the kiosk has just entered: it offers
  }

  _enterCall(snapshot) {
    const caller = this.ring?.caller;
    this.ringtone.stop();
    this.mesh = new CallMesh({
      client: this.client,
      snapshot,
      stream: this.stream,
      sendVideo: this.cameraOn,
    });
    this.mesh.on("track", ({ stream }) => this._remote(stream));
    $("#remote-name").textContent = caller ? `${caller.name} · ${roleLabel(caller.role)}` : "";
    $("#self-video").srcObject = this.stream;
    this.setCamera(this.cameraOn);
    this.ring = null;
    show("call");
  }

  _remote(stream) {
    const video = $("#remote-video");
    if (video.srcObject !== stream) video.srcObject = stream;
    video.volume = this.hooks.volumeCap();
    video.play().catch(() => {});
  }

  async _welcomed(welcome) {
    if (welcome.resumed && this.mesh) {
      // Back after a signalling drop: the others forgot our old id; offer afresh.
      await this.mesh.resume(welcome.resumed);
    } else if (!welcome.resumed && this.mesh && !this.client.callId) {
      this._teardown();
    }
  }

  _ended(callId) {
    if (this.mesh?.callId === callId || this.ring?.call_id === callId) this._teardown();
  }

  _teardown() {
    this._stopCountdown();
    this._resetDecline();
    this.ringtone.stop();
    this.mesh?.close();
    this.mesh = null;
    this.ring = null;
    stopMedia(this.stream);
    this.stream = null;
    $("#remote-video").srcObject = null;
    $("#self-video").srcObject = null;
    this.hooks.onEnded();
  }

  _showCameraState() {
    const inCall = this.mesh !== null;
    const track = this.stream?.getVideoTracks()[0];
    const live = inCall && this.cameraOn && track?.readyState === "live" && track.enabled;
    $("#camera-live").hidden = !live;
    $("#camera-off").hidden = !inCall || Boolean(live);
    document.body.dataset.camera = live ? "live" : "off";
  }
}

/** Show a photo, or hide the image when there is none. */
export function setPhoto(img, url, name) {
  if (url) {
    img.src = url;
    img.alt = name ?? "";
    img.hidden = false;
  } else {
    img.removeAttribute("src");
    img.hidden = true;
  }
}
