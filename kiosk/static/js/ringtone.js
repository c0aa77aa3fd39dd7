// A loud, friendly ringtone made with WebAudio (no audio file, works under a strict CSP).
// Browsers only let sound start after a tap; the one-time "Tryk for at starte" unlocks it, and
// kiosk Chromium runs with --autoplay-policy=no-user-gesture-required.

let context = null;

/** Create (or resume) the audio context; call from a tap to unlock sound. */
export function unlockAudio() {
  context ??= new AudioContext();
  if (context.state === "suspended") context.resume().catch(() => {});
  return context;
}

export class Ringtone {
  constructor(volume = 1) {
    this.volume = volume;
    this.timer = 0;
    this.playing = false;
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

  stop() {
    this.playing = false;
    clearTimeout(this.timer);
  }

  _burst() {
    const ctx = unlockAudio();
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
