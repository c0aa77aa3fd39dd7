// The call view: rings the citizen when the nurse pressed "Ring op" (in the list or here — never
// merely because the page was opened or reloaded), shows remote video large and our own small, mute,
// camera, hang-up, invite a colleague, live connection quality, then the one-tap outcome.
import { SignalingClient } from "/static/js/signaling.js";
import { CallMesh } from "/static/js/webrtc.js";
import { api } from "/static/js/console.js";
import { setupOutcome } from "/static/js/outcome.js";
import { rememberRing, takeRing } from "/static/js/ringintent.js";
import { TabletCards } from "/static/js/tabletcards.js";
import { MeetingHost } from "/static/js/meetinghost.js";

const STATS_EVERY_MS = 2000;

const root = document.getElementById("callview");
const stateEl = document.getElementById("call-state");
const remoteVideo = /** @type {HTMLVideoElement} */ (document.getElementById("remote-video"));
const selfVideo = /** @type {HTMLVideoElement} */ (document.getElementById("self-video"));
const muteBtn = document.getElementById("btn-mute");
const cameraBtn = document.getElementById("btn-camera");
const hangupBtn = document.getElementById("btn-hangup");
const ringBtn = document.getElementById("btn-ring");
const againBtn = document.getElementById("btn-ring-again");
const endNote = document.getElementById("outcome-call-end");
const citizenId = root.dataset.citizenId;
const visitId = root.dataset.visitId || null;

let client = null;
let mesh = null;
let stream = null;
let callId = null;
let callState = "idle";
let statsTimer = 0;
let you = null;
const kioskPeers = new Set();
let outcome = { setLocked: () => {}, focusFirst: () => false };
let ringAsked = false;
/** @type {MeetingHost|null} the lobby and parties of a meeting (only on a meeting's page) */
let meeting = null;
const tablet = new TabletCards(document.getElementById("tablet-cards"), () => kioskLink()?.pc ?? null);
const lastBytes = new Map();
// States after which the nurse may ring again at once.
const AGAIN = new Set(["ended", "offline", "busy", "error"]);
// States in which a call is on: the outcome waits for its end.
const CALL_ON = new Set(["ringing", "active", "reconnecting"]);

/**
 * Show the call's state; `why` picks the ended text (a data-why-* attribute of #call-state).
 * @param {string} key
 * @param {string} [why]
 */
function setState(key, why) {
  callState = key;
  root.dataset.callState = key;
  if (why) root.dataset.endReason = why;
  else delete root.dataset.endReason;
  const text = why ? stateEl.dataset[whyKey(why)] : undefined;
  stateEl.textContent = text ?? stateEl.dataset[key] ?? stateEl.dataset.error;
  if (endNote) {
    // Beside the outcome too: the nurse documents knowing how the call ended.
    endNote.textContent = key === "ended" && text ? text : "";
    endNote.hidden = !endNote.textContent;
  }
  hangupBtn.disabled = !CALL_ON.has(key);
  outcome.setLocked(CALL_ON.has(key) || (key === "connecting" && ringAsked));
  if (key === "ringing" || key === "active") tablet.phase(key);
  else if (key !== "reconnecting") tablet.phase(["connecting", "ready"].includes(key) ? "idle" : "over");
  ringBtn.hidden = key !== "ready";
  againBtn.hidden = !(AGAIN.has(key) && root.dataset.documentOnly !== "true");
}

/** "no_answer" → "whyNoAnswer" (the dataset name of data-why-no-answer). */
function whyKey(why) {
  return "why" + why.split("_").map((w) => w[0].toUpperCase() + w.slice(1)).join("");
}

/**
 * Why a call ended, in the nurse's terms, from `call-ended` (PROTOCOL.md): who pressed what,
 * and `connection_lost` without `by` when the server itself stopped.
 */
function endedWhy(message) {
  const { reason, by } = message;
  const byCitizen = by != null && kioskPeers.has(by);
  if (reason === "hangup") return byCitizen ? "hangup_citizen" : by === you ? "hangup_self" : "hangup_other";
  if (reason === "connection_lost") return by == null ? "server_lost" : byCitizen ? "connection_lost" : "connection_lost_other";
  return reason; // declined, cancelled, no_answer
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
  you = snapshot.you;
  for (const peer of snapshot.peers ?? []) if (peer.kind === "kiosk") kioskPeers.add(peer.peer_id);
  client.trackCall(callId);
  setState(snapshot.state === "active" ? "active" : "ringing");
  if (!mesh) {
    mesh = new CallMesh({ client, snapshot, stream });
    mesh.on("track", ({ peerId, stream: remote }) => {
      if (meeting?.showVideo(peerId, remote)) return; // a guest's picture: the meeting's grid
      remoteVideo.srcObject = remote;
      remoteVideo.play().catch(() => {});
    });
  } else {
    mesh.update(snapshot);
  }
  if (snapshot.state === "active") loadColleagues();
}

// A tablet whose camera is hidden sends black frames: say so instead of showing a black box
// that looks like a fault. Two dark samples in a row show the note; one lit frame hides it.
const DARK_MAX = 16; // the brightest channel value (0–255) a hidden camera's frame reaches
const cameraProbe = document.createElement("canvas");
let darkSamples = 0;

function watchRemoteCamera() {
  if (callState !== "active" || remoteVideo.readyState < 2 || !remoteVideo.videoWidth) return;
  cameraProbe.width = 32;
  cameraProbe.height = 18;
  const context = cameraProbe.getContext("2d", { willReadFrequently: true });
  context.drawImage(remoteVideo, 0, 0, cameraProbe.width, cameraProbe.height);
  const { data } = context.getImageData(0, 0, cameraProbe.width, cameraProbe.height);
  let brightest = 0;
  for (let i = 0; i < data.length; i += 4) brightest = Math.max(brightest, data[i], data[i + 1], data[i + 2]);
  darkSamples = brightest <= DARK_MAX ? darkSamples + 1 : 0;
  const hidden = darkSamples >= 2 || tablet.cameraOff; // the tablet may also have said so
  document.getElementById("remote-camera-off").hidden = !hidden;
  root.dataset.remoteCamera = hidden ? "hidden" : "shown";
}

/** A presence snapshot or update: this citizen's tablet online, and whether it rings aloud. */
function onPresence(message) {
  for (const entry of message.entries ?? []) if (entry.citizen_id === citizenId) tablet.presence(entry);
}

function finish(ended = true, why = undefined) {
  if (ended) setState("ended", why);
  clearInterval(statsTimer);
  mesh?.close();
  mesh = null;
  for (const track of stream?.getTracks() ?? []) track.stop();
  client?.forgetCall();
  client?.stop();
  // A visit to document: go to its outcome (the page puts it under the call's state once the
  // call is over, app.css); otherwise stay where it says why the call ended.
  if (outcome.focusFirst()) {
    // From the top, however far the nurse had scrolled: the call's title and state stay in
    // view above the outcome when both fit.
    window.scrollTo({ top: 0 });
    document.getElementById("outcome")?.scrollIntoView({ block: "nearest" });
  } else {
    stateEl.scrollIntoView({ block: "center" });
  }
}

/** The connection to the citizen's tablet (the link to a kiosk peer), if there is one. */
function kioskLink() {
  for (const [peerId, link] of mesh?.links ?? []) if (kioskPeers.has(peerId)) return link;
  return null;
}

function hangUp() {
  if (!callId) return;
  const ringing = callState === "ringing";
  client.trySend({ type: ringing ? "cancel" : "hangup", call_id: callId });
  finish(true, ringing ? "cancelled" : "hangup_self");
}

/** Ring the same citizen (and visit) again: a fresh page that rings at once. */
function ringAgain() {
  rememberRing(citizenId, visitId);
  window.location.reload();
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
  againBtn.addEventListener("click", ringAgain);
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
  outcome = setupOutcome(document.getElementById("outcome"), root.dataset.visitType || "");
  if (root.dataset.documentOnly === "true") {
    setState("ended");
    finish(false);
    return;
  }
  setState("connecting");
  await openMedia();
  if (root.dataset.cameraOff === "true") document.getElementById("remote-camera-off").hidden = false;
  client = new SignalingClient({ agent: "screenvisit-console/1" });
  meeting = MeetingHost.attach(client, () => mesh);
  let asked = takeRing(citizenId, visitId);
  ringAsked = asked;
  outcome.setLocked(asked);
  client.on("welcome", (welcome) => {
    const resumed = welcome.resumed;
    if (resumed && mesh && resumed.call_id === callId) {
      // We took our seat back under a new id: the others dropped our old links, and the peer
      // that has just entered offers to everybody (PROTOCOL.md "Reconnect and resume").
      you = resumed.you;
      mesh.resume(resumed).catch(() => {});
    }
    // The tablet's presence here too: "online, sound off" before ringing.
    client.request({ type: "presence-subscribe", citizen_ids: [citizenId] }).then(onPresence, () => {});
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
  client.on("peer-joined", (message) => {
    if (message.peer?.kind === "kiosk") kioskPeers.add(message.peer.peer_id);
  });
  client.on("peer-reconnected", (message) => {
    if (message.peer?.kind !== "kiosk" || message.call_id !== callId) return;
    kioskPeers.add(message.peer.peer_id);
    tablet.signalBack();
  });
  client.on("peer-disconnected", (message) => {
    if (message.call_id === callId && kioskPeers.has(message.peer_id)) tablet.signalLost();
  });
  client.on("peer-state", (message) => {
    if (message.call_id === callId && kioskPeers.has(message.peer_id)) tablet.peerState(message);
  });
  client.on("presence", onPresence);
  client.on("call-ended", (message) => {
    if (message.call_id === callId) finish(true, endedWhy(message));
  });
  // The server went away mid-call and came back without it (restarted): the call is over.
  client.on("resume-failed", () => finish(true, "server_lost"));
  client.on("state", ({ state }) => {
    if (state === "reconnecting" && ["ringing", "active"].includes(callState)) setState("reconnecting");
    else if (state === "open" && callState === "reconnecting") setState(client.callId ? "active" : "ready");
  });
  statsTimer = setInterval(() => pollStats().catch(() => {}), STATS_EVERY_MS);
  setInterval(watchRemoteCamera, 1000);
  client.start();
}

start();
