// Tells the nurse what this tablet can do right now (PROTOCOL.md "Device state"): whether a ring
// would be heard (sound unlocked), and whether the citizen's camera and microphone reach the call.
// Sent after every welcome and whenever a value changes; the server forwards it to the staff
// following this citizen (presence `sound`) and to the nurse in the call (`peer-state`).
//
//   watchDeviceState(client, calls);   // once, from app.js

import { unlockAudio } from "./ringtone.js";

const CHECK_EVERY_MS = 1000; // track `enabled` flags fire no events: look once a second

/** True when this track exists and carries what it captures to the call. */
function flowing(track) {
  return Boolean(track && track.readyState === "live" && track.enabled && !track.muted);
}

/** "on"/"off" on body[data-sound] (ringtone.js keeps it); else the audio context's own state. */
function soundOn() {
  const said = document.body.dataset.sound;
  if (said === "on" || said === "off") return said === "on";
  return unlockAudio().state === "running";
}

/** What a device permission allows outside a call ("could"): anything but a refusal. */
class Permissions {
  constructor() {
    this.denied = { camera: false, microphone: false };
    for (const name of ["camera", "microphone"]) {
      navigator.permissions
        ?.query({ name })
        .then((status) => {
          const update = () => (this.denied[name] = status.state === "denied");
          update();
          status.addEventListener("change", update);
        })
        .catch(() => {}); // a browser that cannot tell: assume it could
    }
  }
}

/**
 * @param {import("/static/js/signaling.js").SignalingClient} client
 * @param {{ mesh: any, stream: MediaStream|null, cameraOn: boolean }} calls the CallController
 */
export function watchDeviceState(client, calls) {
  const permissions = new Permissions();
  let sent = "";

  function current() {
    if (calls.mesh) {
      // In a call: what actually goes out (a hidden camera or a missing microphone is false).
      return {
        sound: soundOn(),
        camera: calls.cameraOn && flowing(calls.stream?.getVideoTracks()[0]),
        microphone: flowing(calls.stream?.getAudioTracks()[0]),
      };
    }
    return {
      sound: soundOn(),
      camera: !permissions.denied.camera,
      microphone: !permissions.denied.microphone,
    };
  }

  function report() {
    if (!client.isOpen) return;
    const state = current();
    const text = JSON.stringify(state);
    if (text === sent) return;
    if (client.trySend({ type: "device-state", ...state })) sent = text;
  }

  client.on("welcome", () => {
    sent = ""; // a new socket knows nothing yet
    report();
  });
  new MutationObserver(report).observe(document.body, {
    attributes: true,
    attributeFilter: ["data-sound", "data-camera", "data-screen"],
  });
  setInterval(report, CHECK_EVERY_MS);
}
