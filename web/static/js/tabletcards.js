// What the citizen's tablet is doing, as cards over the call view's video (issue 12, item 3):
// sound off (it rings silently), microphone off, and the state of the connection to it —
// unstable, lost (with the seconds since), reconnecting, back. Facts come from signalling
// (presence, peer-state, peer-disconnected, peer-reconnected) and from the tablet's
// RTCPeerConnection: its ICE state and whether inbound packets still grow.
//
//   const cards = new TabletCards(document.getElementById("tablet-cards"), () => kioskPc());
//   cards.presence(entry); cards.peerState(message); cards.signalLost(); cards.signalBack();
//   cards.phase("active"); … cards.phase("over");

const SAMPLE_EVERY_MS = 1000;
const UNSTABLE_AFTER_MS = 3000; // no packets this long: unstable
const LOST_AFTER_MS = 10000; // no packets this long: lost
const BACK_SHOWN_MS = 5000; // "Forbindelsen er tilbage" stays this long

export class TabletCards {
  /**
   * @param {HTMLElement} container #tablet-cards with one [data-card] element per card
   * @param {() => RTCPeerConnection|null} pcOf the connection to the tablet, if any
   */
  constructor(container, pcOf) {
    this.container = container;
    this.pcOf = pcOf;
    this.callPhase = "idle"; // idle, ringing, active, over
    this.sound = null; // null: unknown (old tablet, offline)
    this.microphone = null;
    this.camera = null;
    this.signalLostAt = null; // peer-disconnected, until peer-reconnected
    this.recovering = false; // the tablet is back on signalling or restarting ICE; no media yet
    this.link = { pc: null, packets: 0, flowingAt: null, ice: null, failedAt: null };
    this.health = "ok";
    this.backUntil = 0;
    this.timer = 0;
  }

  /** The call's phase: ringing, active (connection cards on), over (everything off). */
  phase(callPhase) {
    if (callPhase === this.callPhase) return;
    this.callPhase = callPhase;
    clearInterval(this.timer);
    this.timer = 0;
    if (callPhase === "active") {
      this.timer = setInterval(() => this.sample().catch(() => {}), SAMPLE_EVERY_MS);
    }
    this.render();
  }

  /** A presence entry of this citizen: `sound` false means online but ringing silently. */
  presence(entry) {
    this.sound = entry.online ? (entry.sound ?? null) : null;
    this.render();
  }

  /** A `peer-state` of the tablet. */
  peerState(message) {
    this.sound = message.sound;
    this.microphone = message.microphone;
    this.camera = message.camera;
    this.render();
  }

  /** The tablet's socket dropped (`peer-disconnected`): lost from now, unless it returns. */
  signalLost(now = performance.now()) {
    this.signalLostAt ??= now;
    this.render(now);
  }

  /** The tablet resumed its seat (`peer-reconnected`): it offers again; media follows. */
  signalBack(now = performance.now()) {
    this.signalLostAt = null;
    this.recovering = true;
    this.render(now);
  }

  /** True when the tablet said its camera is hidden. */
  get cameraOff() {
    return this.callPhase === "active" && this.camera === false;
  }

  /** Read the tablet connection's ICE state and inbound packet count, then re-render. */
  async sample(now = performance.now()) {
    const pc = this.pcOf();
    const link = this.link;
    if (pc !== link.pc) {
      // A fresh connection (ICE restart, the tablet resumed): count its packets from zero.
      if (link.pc && this.health !== "ok") this.recovering = true;
      link.pc = pc;
      link.packets = 0;
    }
    link.ice = pc?.iceConnectionState ?? null;
    link.failedAt = link.ice === "failed" ? (link.failedAt ?? now) : null;
    if (link.ice === "checking" && this.health === "lost") this.recovering = true;
    if (pc) {
      let packets = 0;
      (await pc.getStats()).forEach((s) => {
        if (s.type === "inbound-rtp") packets += s.packetsReceived ?? 0;
      });
      if (packets > link.packets) {
        link.packets = packets;
        link.flowingAt = now;
        this.recovering = false;
      }
    }
    this.render(now);
  }

  /** ok, unstable, lost or reconnecting, and since when it is lost. */
  _assess(now) {
    const link = this.link;
    const stalledMs = link.flowingAt == null ? 0 : now - link.flowingAt;
    const since = [];
    if (this.signalLostAt != null) since.push(this.signalLostAt);
    if (link.failedAt != null) since.push(link.failedAt);
    if (stalledMs >= LOST_AFTER_MS) since.push(link.flowingAt);
    if (since.length) return { health: this.recovering ? "reconnecting" : "lost", since: Math.min(...since) };
    if (this.recovering) return { health: "reconnecting", since: null };
    if (link.ice === "disconnected" || stalledMs >= UNSTABLE_AFTER_MS) return { health: "unstable", since: null };
    return { health: "ok", since: null };
  }

  render(now = performance.now()) {
    const active = this.callPhase === "active";
    const { health, since } = active ? this._assess(now) : { health: "ok", since: null };
    if (active && health === "ok" && this.health !== "ok") this.backUntil = now + BACK_SHOWN_MS;
    this.health = health;
    if (!active) this.backUntil = 0;
    const shown = health === "ok" ? (now < this.backUntil ? "back" : null) : health;
    this.container.dataset.connection = shown ?? "ok";
    this._connection(shown, since == null ? 0 : Math.floor((now - since) / 1000));
    const live = ["idle", "ringing", "active"].includes(this.callPhase);
    const soundCard = !live || this.sound !== false ? null : active ? "inCall" : "before";
    this._show("sound", soundCard);
    this._show("microphone", active && this.microphone === false ? "off" : null);
  }

  /** One card per kind, never stacked: its variant is a data attribute, its text a template's. */
  _show(name, variant) {
    const card = this.container.querySelector(`[data-card="${name}"]`);
    if (!card) return;
    card.hidden = variant == null;
    if (variant == null) return;
    const text = card.dataset[variant] ?? card.dataset.text ?? card.textContent;
    if (card.dataset.variant !== variant || card.textContent !== text) {
      card.dataset.variant = variant;
      card.textContent = text;
    }
  }

  _connection(shown, seconds) {
    const card = this.container.querySelector('[data-card="connection"]');
    if (!card) return;
    card.hidden = shown == null;
    if (shown == null) return;
    const spoken = card.querySelector("[data-spoken]");
    const seen = card.querySelector("[data-seen]");
    if (card.dataset.variant !== shown) {
      card.dataset.variant = shown;
      // The spoken line changes only with the state, so screen readers hear it once.
      spoken.textContent = card.dataset[`${shown}Spoken`] ?? card.dataset[shown];
    }
    seen.textContent = card.dataset[shown].replace("{seconds}", String(seconds));
  }

  /** The call is over or the page leaves: stop sampling. */
  close() {
    this.phase("over");
  }
}
