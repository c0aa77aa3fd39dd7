// A relative's call link (/r/<token>, purpose call): check camera and microphone, then ring
// the citizen's tablet. The socket says `hello` with `link`; the server checks the link, the
// citizen's consent and the organisation's setting again on every ring (PROTOCOL.md "A relative
// rings the tablet"). The tablet never answers by itself; when the citizen accepts, the tablet
// offers and this page answers (webrtc.js).
import { SignalingClient } from "/static/js/signaling.js";
import { CallMesh } from "/static/js/webrtc.js";
import { openDevices, showStep } from "/static/js/devicecheck.js";

const root = document.getElementById("relative-call");
const token = root.dataset.token;
const citizenId = root.dataset.citizen;
const preview = /** @type {HTMLVideoElement} */ (document.getElementById("preview"));
const selfVideo = /** @type {HTMLVideoElement} */ (document.getElementById("self-video"));
const statusEl = document.getElementById("device-status");
const ringBtn = /** @type {HTMLButtonElement} */ (document.getElementById("btn-ring"));
const remoteVideos = document.getElementById("remote-videos");

let stream = null;
let client = null;
let mesh = null;
let callId = null;
const videos = new Map();
// How a call that ended is explained (call-ended reasons and the ring's error codes).
const ENDINGS = { declined: "declined", no_answer: "no_answer", hangup: "ended", connection_lost: "ended" };

const step = (name) => showStep(root, name);

/** Camera and microphone (or less), with a preview and a level meter. */
async function openMedia() {
  stream = await openDevices({
    status: statusEl,
    preview,
    selfVideo,
    meter: document.getElementById("mic-level"),
    unlockOn: ringBtn,
  });
}

/** The call is over (or never started): say why, and stop the socket. */
function over(why) {
  const title = document.getElementById("over-title");
  const text = document.getElementById("over-text");
  title.textContent = title.dataset[why] ?? title.dataset.ended;
  text.textContent = text.dataset[why] ?? text.dataset.ended;
  root.dataset.over = why;
  mesh?.close();
  mesh = null;
  callId = null;
  for (const video of videos.values()) video.remove();
  videos.clear();
  client?.forgetCall();
  client?.stop();
  client = null;
  step("over");
}

function showRemote(peerId, remote) {
  let video = videos.get(peerId);
  if (!video) {
    video = document.createElement("video");
    video.autoplay = true;
    video.playsInline = true;
    video.dataset.peer = peerId;
    videos.set(peerId, video);
    remoteVideos.append(video);
  }
  video.srcObject = remote;
  video.play().catch(() => {});
}

function onCallState(snapshot) {
  if (callId && snapshot.call_id !== callId) return;
  callId = snapshot.call_id;
  client.trackCall(callId);
  if (snapshot.state === "ringing") {
    step("ringing");
    return;
  }
  step("call");
  if (mesh) {
    mesh.update(snapshot);
    return;
  }
  mesh = new CallMesh({ client, snapshot, stream });
  mesh.on("track", ({ peerId, stream: remote }) => showRemote(peerId, remote));
  // The tablet has just entered the call and offers; this page only answers.
}

async function ring() {
  ringBtn.disabled = true;
  client = new SignalingClient({ link: token, agent: "screenvisit-relative/1" });
  client.on("call-state", onCallState);
  client.on("message", (message) => mesh?.handle(message));
  client.on("call-ended", (message) => {
    if (message.call_id === callId) over(ENDINGS[message.reason] ?? "ended");
  });
  client.on("resume-failed", () => over("ended"));
  client.on("refused", () => over("forbidden"));
  client.on("welcome", (welcome) => {
    if (welcome.resumed && mesh) {
      mesh.resume(welcome.resumed).catch(() => {});
      return;
    }
    if (callId) return;
    client.request({ type: "ring", citizen_id: citizenId }).catch((error) => over(error.code ?? "forbidden"));
  });
  client.start();
}

function setupControls() {
  const muteBtn = document.getElementById("btn-mute");
  muteBtn.addEventListener("click", () => {
    const muted = muteBtn.getAttribute("aria-pressed") !== "true";
    for (const track of stream?.getAudioTracks() ?? []) track.enabled = !muted;
    muteBtn.setAttribute("aria-pressed", String(muted));
    muteBtn.textContent = muted ? muteBtn.dataset.on : muteBtn.dataset.off;
  });
  for (const button of root.querySelectorAll("[data-hangup]")) {
    button.addEventListener("click", () => {
      if (callId) client?.trySend({ type: "hangup", call_id: callId });
      over("ended");
    });
  }
  document.getElementById("btn-again").addEventListener("click", () => {
    ringBtn.disabled = false;
    step("ready");
  });
  ringBtn.addEventListener("click", ring);
}

setupControls();
step("ready");
openMedia();
