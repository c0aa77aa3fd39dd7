// Shared by the guest's join page and a relative's call page: the page's steps, and the camera
// and microphone check with its level meter, in the words the page's status element carries.

/** Show one step of a page (its elements with data-step) and hide the others. */
export function showStep(root, name) {
  root.dataset.step = name;
  for (const el of root.querySelectorAll("[data-step]")) el.hidden = el.dataset.step !== name;
}

function say(status, key) {
  status.dataset.result = key;
  status.textContent = status.dataset[key] ?? "";
}

/** Camera and microphone, or the microphone alone, or nothing (she can still see and hear).
 *  Shows the preview and a level meter; resolves with the stream, or null. */
export async function openDevices({ status, preview, selfVideo, meter, unlockOn }) {
  say(status, "checking");
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
    say(status, "ok");
  } catch (error) {
    if (error?.name === "NotAllowedError") {
      say(status, "denied");
      return null;
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      say(status, "noCamera");
    } catch {
      say(status, "none");
      return null;
    }
  }
  preview.srcObject = stream;
  selfVideo.srcObject = stream;
  watchMicrophone(stream, meter, unlockOn);
  return stream;
}

/** A level meter, so she sees that the microphone hears her; the browser lets the audio
 *  context run after her first press of ``unlockOn``. */
function watchMicrophone(stream, meter, unlockOn) {
  if (!stream.getAudioTracks().length || !window.AudioContext) return;
  const context = new AudioContext();
  const analyser = context.createAnalyser();
  context.createMediaStreamSource(stream).connect(analyser);
  const samples = new Uint8Array(analyser.fftSize);
  const track = stream.getAudioTracks()[0];
  const timer = setInterval(() => {
    if (track.readyState === "ended") {
      // The page stopped its tracks (the call is over): the meter and its context go too.
      clearInterval(timer);
      context.close().catch(() => {});
      return;
    }
    analyser.getByteTimeDomainData(samples);
    let peak = 0;
    for (const s of samples) peak = Math.max(peak, Math.abs(s - 128));
    meter.value = peak / 128;
  }, 200);
  unlockOn.addEventListener("click", () => context.resume().catch(() => {}), { once: true });
}
