// The guest's page (/join/<token>): name, camera and microphone check, the lobby, then the call.
// The socket says `hello` with `invite` (PROTOCOL.md "Guests and the lobby"); the server keeps
// the guest in the lobby until the host admits, denies or removes her.
import { SignalingClient } from "/static/js/signaling.js";
import { CallMesh } from "/static/js/webrtc.js";
import { openDevices, showStep } from "/static/js/devicecheck.js";

const root = document.getElementById("join");
const token = root.dataset.token;
const nameInput = /** @type {HTMLInputElement} */ (document.getElementById("guest-name"));
const preview = /** @type {HTMLVideoElement} */ (document.getElementById("preview"));
const selfVideo = /** @type {HTMLVideoElement} */ (document.getElementById("self-video"));
const statusEl = document.getElementById("device-status");
const knockBtn = /** @type {HTMLButtonElement} */ (document.getElementById("btn-knock"));
const remoteVideos = document.getElementById("remote-videos");
const connectionEl = document.getElementById("join-connection");

let stream = null;
let client = null;
let mesh = null;
let callId = null;
const videos = new Map();

const step = (name) => showStep(root, name);

/** Camera and microphone (or less), with a preview and a level meter. */
async function openMedia() {
  stream = await openDevices({
    status: statusEl,
    preview,
    selfVideo,
    meter: document.getElementById("mic-level"),
    unlockOn: knockBtn,
  });
}

function over(why) {
  const title = document.getElementById("over-title");
  const text = document.getElementById("over-text");
  title.textContent = title.dataset[why] ?? "";
  text.textContent = text.dataset[why] ?? "";
  root.dataset.over = why;
  mesh?.close();
  mesh = null;
  for (const track of stream?.getTracks() ?? []) track.stop();
  client?.forgetCall();
  client?.stop();
  step("over");
}

function showRemote(peerId, remote) {
  let video = videos.get(peerId);
  if (!video) {
    video = document.createElement("video");
    video.autoplay = true;
    video.playsInline = true;
    video.dataset.peer = peerId;
    video.dataset.kind = mesh?.others.get(peerId)?.kind ?? "";
    videos.set(peerId, video);
    remoteVideos.append(video);
  }
  video.srcObject = remote;
  video.play().catch(() => {});
}

function dropRemote(peerId) {
  videos.get(peerId)?.remove();
  videos.delete(peerId);
}

/** Our seat's grace ran out before we were back (PROTOCOL.md "Reconnect and resume"): the
 *  server has put us in the lobby again, so the page waits there for the host. */
function backToLobby() {
  mesh?.close();
  mesh = null;
  callId = null;
  for (const peerId of [...videos.keys()]) dropRemote(peerId);
  step("waiting");
}

/** A dropped socket (phone locked, network blip) reconnects by itself: say so meanwhile. */
function showConnection({ state }) {
  const lost = state === "reconnecting";
  connectionEl.hidden = !lost;
  connectionEl.textContent = lost ? connectionEl.dataset.reconnecting : "";
  root.dataset.connection = lost ? "reconnecting" : "open";
}

function onCallState(snapshot) {
  if (callId && snapshot.call_id !== callId) return;
  callId = snapshot.call_id;
  client.trackCall(callId);
  step("call");
  if (mesh) {
    mesh.update(snapshot);
    return;
  }
  mesh = new CallMesh({ client, snapshot, stream });
  mesh.on("track", ({ peerId, stream: remote }) => showRemote(peerId, remote));
  mesh.offerToAll().catch(() => {}); // the joiner offers to everybody (mesh)
}

function knock() {
  const name = nameInput.value.trim();
  if (!name) {
    nameInput.focus();
    return;
  }
  knockBtn.disabled = true;
  client = new SignalingClient({ invite: token, name, agent: "screenvisit-guest/1" });
  client.on("welcome", (welcome) => {
    if (welcome.resumed && mesh) mesh.resume(welcome.resumed).catch(() => {});
    else if (!callId) step("waiting");
  });
  client.on("call-state", onCallState);
  client.on("message", (message) => {
    mesh?.handle(message);
    if (message.type === "peer-left") dropRemote(message.peer_id);
    if (message.type === "peer-reconnected") dropRemote(message.old_peer_id);
  });
  client.on("denied", () => over("denied"));
  client.on("removed", () => over("removed"));
  client.on("call-ended", (message) => {
    if (message.call_id === callId) over("ended");
  });
  client.on("resume-failed", backToLobby);
  client.on("state", showConnection);
  client.on("refused", () => over("refused"));
  client.start();
}

function toggle(button, on) {
  button.setAttribute("aria-pressed", String(on));
  button.textContent = on ? button.dataset.on : button.dataset.off;
}

function setupControls() {
  const muteBtn = document.getElementById("btn-mute");
  const cameraBtn = document.getElementById("btn-camera");
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
  document.getElementById("btn-leave").addEventListener("click", () => {
    if (callId) client?.trySend({ type: "hangup", call_id: callId });
    over("left");
  });
  knockBtn.addEventListener("click", knock);
}

setupControls();
step("ready");
openMedia();
