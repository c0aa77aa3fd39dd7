// A loud, friendly ringtone made with WebAudio (no audio file, works under a strict CSP).
// Browsers only let sound start after a tap; the one-time "Tryk for at starte" unlocks it, and
// kiosk Chromium runs with --autoplay-policy=no-user-gesture-required. While sound is locked
// the ringing screen flashes (kiosk.css, body[data-sound="off"]); the tap that unlocks it starts
// the ring at once.

let context = null;
const soundListeners = new Set();

/** Create (or resume) the audio context; call from a tap to unlock sound. The first call also
 *  starts following its state on `body[data-sound]` ("on" when sound can play, else "off"). */
export function unlockAudio() {
  if (!context) {
    context = new AudioContext();
    context.addEventListener("statechange", soundChanged);
    soundChanged();
  }
  if (context.state !== "running") context.resume().catch(() => {});
  return context;
}

/** True when sound can play now (the audio context runs). */
export function soundOn() {
  return context?.state === "running";
}

/** Call `listener(on)` whenever sound becomes playable or not. Returns an unsubscribe. */
export function onSoundChange(listener) {
  soundListeners.add(listener);
  return () => soundListeners.delete(listener);
}

function soundChanged() {
  const on = soundOn();
  document.body.dataset.sound = on ? "on" : "off";
  for (const listener of soundListeners) listener(on);
}

export class Ringtone {
  constructor(volume = 1) {
    this.volume = volume;
    this.timer = 0;
    this.playing = false;
    this.played = 0; // bursts that reached the speaker (none while sound is locked)
    // Sound unlocked while ringing: ring now rather than at the next two-second beat.
    onSoundChange((on) => {
      if (on && this.playing) this._restart();
    });
  }

  /** Ring: two rising tones every two seconds until stop(). */
  start() {
    if (this.playing) return;
    this.playing = true;
    const ring = () => {
      if (!this.playing) return;
      this._burst();
      this.timer = setTimeout(ring, 2000);
    };
    ring();
  }

  _restart() {
    this.stop();
    this.start();
  }

  stop() {
    this.playing = false;
    clearTimeout(this.timer);
  }

  _burst() {
    const ctx = unlockAudio();
    // A suspended context would queue every burst and play them all at once when unlocked.
    if (ctx.state !== "running") return;
    this.played += 1;
    const now = ctx.currentTime;
    for (const [offset, freq] of [[0, 660], [0.35, 880]]) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = "sine";
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0, now + offset);
      gain.gain.linearRampToValueAtTime(0.8 * this.volume, now + offset + 0.03);
      gain.gain.linearRampToValueAtTime(0, now + offset + 0.3);
      osc.connect(gain).connect(ctx.destination);
      osc.start(now + offset);
      osc.stop(now + offset + 0.32);
    }
  }
}
