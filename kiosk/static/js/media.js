// Our camera and microphone: voice processing on, mono, a modest video size for tablets.

export const CONSTRAINTS = {
  audio: {
    echoCancellation: true,
    noiseSuppression: true,
    autoGainControl: true,
    channelCount: 1,
  },
  video: { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 24 }, facingMode: "user" },
};

/** Open camera and microphone; falls back to audio only, then to nothing (receive only). */
export async function openMedia() {
  for (const constraints of [CONSTRAINTS, { audio: CONSTRAINTS.audio }]) {
    try {
      return await navigator.mediaDevices.getUserMedia(constraints);
    } catch {
      // try the next, smaller set
    }
  }
  return null;
}

/** Stop every track of a stream (the camera light goes off). */
export function stopMedia(stream) {
  for (const track of stream?.getTracks() ?? []) track.stop();
}
