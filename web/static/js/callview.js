// The call view: rings the citizen when the nurse pressed "Ring op" (in the list or here — never
// merely because the page was opened or reloaded), shows remote video large and our own small, mute,
// camera, hang-up, invite a colleague, live connection quality, then the one-tap outcome.
import { SignalingClient } from "/static/js/signaling.js";
import { CallMesh } from "/static/js/webrtc.js";
import { api } from "/static/js/console.js";
import { setupOutcome } from "/static/js/outcome.js";
import { takeRing } from "/static/js/ringintent.js";

const STATS_EVERY_MS = 2000;

const root = document.getElementById("callview");
const stateEl = document.getElementById("call-state");
const remoteVideo = /** @type {HTMLVideoElement} */ (document.getElementById("remote-video"));
const selfVideo = /** @type {HTMLVideoElement} */ (document.getElementById("self-video"));
const muteBtn = document.getElementById("btn-mute");
const cameraBtn = document.getElementById("btn-camera");
const hangupBtn = document.getElementById("btn-hangup");
const ringBtn = document.getElementById("btn-ring");
const citizenId = root.dataset.citizenId;
const visitId = root.dataset.visitId || null;

let client = null;
let mesh = null;
let stream = null;
let callId = null;
let callState = "idle";
let statsTimer = 0;
const lastBytes = new Map();

function setState(key) {
  callState = key;
  root.dataset.callState = key;
  stateEl.textContent = stateEl.dataset[key] ?? stateEl.dataset.error;
  hangupBtn.disabled = !["ringing", "active"].includes(key);
  ringBtn.hidden = key !== "ready";
}

async function openMedia() {
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
    selfVideo.srcObject = stream;
  } catch {
    stream = null; // receive-only: the nurse can still see and hear the citizen
  }
}

async function ring() {
  try {
    const request = { type: "ring", citizen_id: citizenId };
    if (visitId) request.visit_id = visitId;
    onCallState(await client.request(request));
  } catch (error) {
    setState(["offline", "busy", "forbidden"].includes(error.code) ? error.code : "error");
    finish(false);
  }
}

function onCallState(snapshot) {
  if (!snapshot || snapshot.citizen_id !== citizenId) return;
  callId = snapshot.call_id;
  client.trackCall(callId);
  setState(snapshot.state === "active" ? "active" : "ringing");
  if (!mesh) {
    mesh = new CallMesh({ client, snapshot, stream });
    mesh.on("track", ({ stream: remote }) => {
      remoteVideo.srcObject = remote;
      remoteVideo.play().catch(() => {});
    });
  } else {
    mesh.update(snapshot);
  }
  if (snapshot.state === "active") loadColleagues();
}

function finish(ended = true) {
  if (ended) setState("ended");
  clearInterval(statsTimer);
  mesh?.close();
  mesh = null;
  for (const track of stream?.getTracks() ?? []) track.stop();
  client?.forgetCall();
  client?.stop();
  document.getElementById("outcome")?.scrollIntoView({ block: "start" });
  document.querySelector("#outcome .kind")?.focus({ preventScroll: true });
}

function hangUp() {
  if (!callId) return;
  client.trySend({ type: callState === "ringing" ? "cancel" : "hangup", call_id: callId });
  finish();
}

function toggle(button, on) {
  button.setAttribute("aria-pressed", String(on));
  button.textContent = on ? button.dataset.on : button.dataset.off;
}

function setupControls() {
  muteBtn.addEventListener("click", () => {
    const muted = muteBtn.getAttribute("aria-pressed") !== "true";
    for (const track of stream?.getAudioTracks() ?? []) track.enabled = !muted;
    toggle(muteBtn, muted);
  });
  cameraBtn.addEventListener("click", () => {
    const off = cameraBtn.getAttribute("aria-pressed") !== "true";
    if (mesh) mesh.setVideoSending(!off);
    else for (const track of stream?.getVideoTracks() ?? []) track.enabled = !off;
    toggle(cameraBtn, off);
  });
  hangupBtn.addEventListener("click", hangUp);
}

// -- connection quality from getStats ------------------------------------------------------

function summarise(report, peerId) {
  const byId = new Map();
  report.forEach((s) => byId.set(s.id, s));
  let pair = null;
  let bytes = 0;
  let lost = 0;
  let received = 0;
  for (const s of byId.values()) {
    if (s.type === "transport" && s.selectedCandidatePairId) pair = byId.get(s.selectedCandidatePairId);
    if (!pair && s.type === "candidate-pair" && s.state === "succeeded" && s.nominated) pair = s;
    if (s.type === "inbound-rtp") {
      bytes += s.bytesReceived ?? 0;
      lost += Math.max(0, s.packetsLost ?? 0);
      received += s.packetsReceived ?? 0;
    }
  }
  const now = performance.now();
  const last = lastBytes.get(peerId);
  lastBytes.set(peerId, { bytes, at: now });
  const kbps = last && now > last.at ? ((bytes - last.bytes) * 8) / (now - last.at) : null;
  const local = pair ? byId.get(pair.localCandidateId) : null;
  const remote = pair ? byId.get(pair.remoteCandidateId) : null;
  return {
    rttMs: pair?.currentRoundTripTime != null ? pair.currentRoundTripTime * 1000 : null,
    lossPct: lost + received > 0 ? (100 * lost) / (lost + received) : null,
    kbps,
    relay: pair ? local?.candidateType === "relay" || remote?.candidateType === "relay" : null,
  };
}

function showQuality(q) {
  const set = (key, text) => {
    document.querySelector(`#quality [data-q="${key}"]`).textContent = text;
  };
  set("rtt", q.rttMs == null ? "—" : `${Math.round(q.rttMs)} ms`);
  set("loss", q.lossPct == null ? "—" : `${q.lossPct.toFixed(1)} %`);
  set("bitrate", q.kbps == null ? "—" : `${Math.round(q.kbps)} kbit/s`);
  const route = document.querySelector('#quality [data-q="route"]');
  route.textContent = q.relay == null ? "—" : q.relay ? route.dataset.relay : route.dataset.direct;
}

async function pollStats() {
  for (const [peerId, link] of mesh?.links ?? []) {
    if (!link.pc || link.pc.connectionState !== "connected") continue;
    showQuality(summarise(await link.pc.getStats(), peerId));
    return; // the citizen's link: the first connected one is the one that matters
  }
}

// -- colleagues ----------------------------------------------------------------------------

async function loadColleagues() {
  const listEl = document.getElementById("colleague-list");
  if (listEl.dataset.loaded) return;
  listEl.dataset.loaded = "1";
  const { colleagues } = await api("/api/console/colleagues").catch(() => ({ colleagues: [] }));
  const online = colleagues.filter((c) => c.online);
  listEl.replaceChildren();
  if (!online.length) {
    const item = document.createElement("li");
    item.textContent = listEl.dataset.empty;
    listEl.append(item);
  }
  for (const colleague of online) {
    const item = document.createElement("li");
    const name = document.createElement("span");
    name.textContent = colleague.display_name;
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = listEl.dataset.invite;
    button.addEventListener("click", () => {
      client.trySend({ type: "invite", call_id: callId, user_id: String(colleague.staff_id) });
      button.disabled = true;
      button.textContent = listEl.dataset.invited;
    });
    item.append(name, button);
    listEl.append(item);
  }
}

// -- start ---------------------------------------------------------------------------------

async function start() {
  setupControls();
  setupOutcome(document.getElementById("outcome"), root.dataset.visitType || "");
  if (root.dataset.documentOnly === "true") {
    setState("ended");
    finish(false);
    return;
  }
  setState("connecting");
  await openMedia();
  if (root.dataset.cameraOff === "true") document.getElementById("remote-camera-off").hidden = false;
  client = new SignalingClient({ agent: "screenvisit-console/1" });
  let asked = takeRing(citizenId, visitId);
  client.on("welcome", () => {
    if (asked) {
      asked = false;
      ring();
    } else if (callState === "connecting") {
      setState("ready"); // opened or reloaded without a fresh "Ring op": wait for a press
    }
  });
  ringBtn.addEventListener("click", () => {
    ringBtn.hidden = true;
    ring();
  });
  client.on("call-state", onCallState);
  client.on("message", (message) => mesh?.handle(message));
  client.on("call-ended", (message) => {
    if (message.call_id === callId) finish();
  });
  client.on("resume-failed", () => finish());
  statsTimer = setInterval(() => pollStats().catch(() => {}), STATS_EVERY_MS);
  client.start();
}

start();
