// The host's side of a meeting in the call view (PROTOCOL.md "Guests and the lobby"): who waits
// in the lobby (the name they gave, the invite they used, another device), a knock sound and a
// spoken announcement, admit / deny, the guests' pictures, remove, and every party's
// connection quality. The call view creates it only on a meeting's page (#lobby present).

import { api } from "/static/js/console.js";

const QUALITY_EVERY_MS = 2000;

/** A short two-note knock from WebAudio (no sound file); silent where audio is locked. */
function knockSound() {
  try {
    const context = new AudioContext();
    for (const [at, hz] of [[0, 660], [0.18, 880]]) {
      const osc = context.createOscillator();
      const gain = context.createGain();
      osc.frequency.value = hz;
      gain.gain.setValueAtTime(0.2, context.currentTime + at);
      gain.gain.exponentialRampToValueAtTime(0.001, context.currentTime + at + 0.15);
      osc.connect(gain).connect(context.destination);
      osc.start(context.currentTime + at);
      osc.stop(context.currentTime + at + 0.16);
    }
    setTimeout(() => context.close().catch(() => {}), 600);
  } catch {
    // no audio: the announcement and the list still say it
  }
}

/** "{name}" in a translated text. */
function fill(text, values) {
  return (text ?? "").replace(/\{(\w+)\}/g, (_, key) => values[key] ?? "");
}

export class MeetingHost {
  /**
   * @param {HTMLElement} panel the #lobby section
   * @param {import("./signaling.js").SignalingClient} client
   * @param {() => any} getMesh the call's CallMesh, when there is one
   */
  constructor(panel, client, getMesh) {
    this.panel = panel;
    this.client = client;
    this.getMesh = getMesh;
    this.list = panel.querySelector("#lobby-list");
    this.parties = panel.querySelector("#party-list");
    this.videos = panel.querySelector("#guest-videos");
    this.announce = panel.querySelector("#lobby-announce");
    /** @type {Map<string, any>} lobby id → knock */
    this.waiting = new Map();
    /** @type {Map<string, any>} peer id → peer info (everyone in the call but us) */
    this.peers = new Map();
    this.callId = null;
    this.you = null;
    this.render();
    client.on("knock", (m) => this.onKnock(m));
    client.on("lobby-left", (m) => this.drop(m.lobby_id));
    client.on("call-state", (m) => this.onCallState(m));
    client.on("peer-joined", (m) => this.addPeer(m.peer));
    client.on("peer-reconnected", (m) => {
      this.removePeer(m.old_peer_id);
      this.addPeer(m.peer);
    });
    client.on("peer-disconnected", (m) => this.markReconnecting(m.peer_id));
    client.on("peer-left", (m) => this.removePeer(m.peer_id));
    client.on("call-ended", () => {
      this.waiting.clear();
      this.peers.clear();
      this.render();
    });
    this._timer = setInterval(() => this.pollQuality().catch(() => {}), QUALITY_EVERY_MS);
    const view = document.getElementById("callview").dataset;
    this.invites = new InviteForm(panel, view.citizenId, view.visitId);
  }

  /** The panel of this page, or null when the page is not a meeting's. */
  static attach(client, getMesh) {
    const panel = document.getElementById("lobby");
    return panel ? new MeetingHost(panel, client, getMesh) : null;
  }

  onKnock(knock) {
    const fresh = !this.waiting.has(knock.lobby_id);
    this.waiting.set(knock.lobby_id, knock);
    this.render();
    if (!fresh) return;
    knockSound();
    this.announce.textContent = fill(this.list.dataset.knock, { name: knock.name });
  }

  drop(lobbyId) {
    this.waiting.delete(lobbyId);
    this.render();
  }

  onCallState(snapshot) {
    this.callId = snapshot.call_id;
    this.you = snapshot.you;
    this.peers = new Map(snapshot.peers.filter((p) => p.peer_id !== snapshot.you).map((p) => [p.peer_id, p]));
    this.render();
  }

  addPeer(peer) {
    if (peer) this.peers.set(peer.peer_id, peer);
    this.render();
  }

  /** A party's socket dropped: its seat waits out the grace, so it shows as reconnecting
   *  until `peer-reconnected` (back under a new id) or `peer-left` (gone). */
  markReconnecting(peerId) {
    const peer = this.peers.get(peerId);
    if (peer) this.peers.set(peerId, { ...peer, connected: false });
    this.render();
  }

  removePeer(peerId) {
    this.peers.delete(peerId);
    this.videos.querySelector(`video[data-peer="${CSS.escape(peerId)}"]`)?.remove();
    this.render();
  }

  /** A guest's picture goes to the meeting's grid; true when it was a guest's. */
  showVideo(peerId, stream) {
    if (this.peers.get(peerId)?.kind !== "guest") return false;
    let video = this.videos.querySelector(`video[data-peer="${CSS.escape(peerId)}"]`);
    if (!video) {
      video = document.createElement("video");
      video.autoplay = true;
      video.playsInline = true;
      video.dataset.peer = peerId;
      video.setAttribute("aria-label", this.peers.get(peerId).name);
      this.videos.append(video);
    }
    video.srcObject = stream;
    video.play().catch(() => {});
    return true;
  }

  send(message) {
    this.client.trySend(message);
  }

  render() {
    const d = this.list.dataset;
    this.list.replaceChildren();
    for (const knock of this.waiting.values()) {
      const item = document.createElement("li");
      item.dataset.lobbyId = knock.lobby_id;
      const who = document.createElement("span");
      who.className = "who";
      who.textContent = knock.name;
      const how = document.createElement("span");
      how.className = "muted small";
      how.textContent = fill(d.invitedAs, { name: knock.invited_as });
      item.append(who, " ", how);
      if (knock.another_device) {
        const warn = document.createElement("strong");
        warn.className = "another-device";
        warn.textContent = d.anotherDevice;
        item.append(" ", warn);
      }
      const admit = document.createElement("button");
      admit.type = "button";
      admit.className = "primary";
      admit.dataset.action = "admit";
      admit.textContent = d.admit;
      admit.disabled = !this.callId;
      admit.addEventListener("click", () => this.send({ type: "admit", lobby_id: knock.lobby_id }));
      const deny = document.createElement("button");
      deny.type = "button";
      deny.dataset.action = "deny";
      deny.textContent = d.deny;
      deny.addEventListener("click", () => this.send({ type: "deny", lobby_id: knock.lobby_id }));
      item.append(admit, deny);
      this.list.append(item);
    }
    if (!this.waiting.size) {
      const item = document.createElement("li");
      item.className = "muted";
      item.textContent = d.empty;
      this.list.append(item);
    }
    this.renderParties();
  }

  renderParties() {
    const d = this.parties.dataset;
    const rows = new Map([...this.parties.children].map((li) => [li.dataset.peer, li]));
    this.parties.replaceChildren();
    for (const peer of this.peers.values()) {
      const item = rows.get(peer.peer_id) ?? document.createElement("li");
      item.dataset.peer = peer.peer_id;
      item.dataset.kind = peer.kind;
      if (!item.childElementCount) {
        const name = document.createElement("span");
        name.textContent = peer.name;
        const quality = document.createElement("span");
        quality.className = "muted small";
        quality.dataset.quality = "";
        quality.textContent = "—";
        item.append(name, " ", quality);
        if (peer.kind === "guest") {
          const remove = document.createElement("button");
          remove.type = "button";
          remove.dataset.action = "remove";
          remove.textContent = d.remove;
          remove.addEventListener("click", () =>
            this.send({ type: "remove", call_id: this.callId, peer_id: peer.peer_id }),
          );
          item.append(" ", remove);
        }
      }
      const reconnecting = peer.connected === false;
      item.dataset.connection = reconnecting ? "reconnecting" : "ok";
      if (reconnecting) item.querySelector("[data-quality]").textContent = d.reconnecting;
      this.parties.append(item);
    }
  }

  /** Round-trip time and loss of every party's connection (the host sees each one). */
  async pollQuality() {
    const mesh = this.getMesh();
    for (const [peerId, link] of mesh?.links ?? []) {
      const cell = this.parties.querySelector(`li[data-peer="${CSS.escape(peerId)}"] [data-quality]`);
      if (!cell || !link.pc || this.peers.get(peerId)?.connected === false) continue;
      if (link.pc.connectionState !== "connected") {
        cell.textContent = this.parties.dataset[link.pc.connectionState] ?? "—";
        continue;
      }
      const q = summary(await link.pc.getStats());
      cell.dataset.rttMs = q.rttMs == null ? "" : String(Math.round(q.rttMs));
      cell.textContent = fill(this.parties.dataset.quality, {
        rtt: q.rttMs == null ? "—" : String(Math.round(q.rttMs)),
        loss: q.lossPct == null ? "—" : q.lossPct.toFixed(1),
      });
    }
  }
}

/** Round-trip time (ms) and packet loss (%) of one connection's stats report. */
function summary(report) {
  let rttMs = null;
  let lost = 0;
  let received = 0;
  report.forEach((s) => {
    if (s.type === "candidate-pair" && s.nominated && s.currentRoundTripTime != null) rttMs = s.currentRoundTripTime * 1000;
    if (s.type === "inbound-rtp") {
      lost += Math.max(0, s.packetsLost ?? 0);
      received += s.packetsReceived ?? 0;
    }
  });
  return { rttMs, lossPct: lost + received > 0 ? (100 * lost) / (lost + received) : null };
}

/** Making, listing and revoking the meeting's invites (JSON API); the link and PIN once. */
class InviteForm {
  constructor(panel, citizenId, visitId) {
    this.form = panel.querySelector("#invite-form");
    this.who = panel.querySelector("#invite-who");
    this.made = panel.querySelector("#invite-made");
    this.list = panel.querySelector("#invite-list");
    this.citizenId = citizenId;
    this.visitId = visitId;
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.create().catch((error) => this.say(error.message));
    });
    this.loadRelatives().catch(() => {});
    this.reload().catch(() => {});
  }

  async loadRelatives() {
    const { relatives } = await api(`/api/citizens/${this.citizenId}/relatives`);
    this.who.replaceChildren();
    for (const r of relatives.filter((r) => !r.removed_at && r.permissions.join_meetings)) {
      this.who.append(new Option(`${r.name} (${r.relation})`, String(r.id)));
    }
    this.who.append(new Option(this.who.dataset.guest, ""));
  }

  async create() {
    const data = new FormData(this.form);
    const relative = this.who.value;
    const body = relative
      ? { kind: "relative", relative_id: Number(relative) }
      : { kind: "guest", name: String(data.get("name") ?? "") };
    const email = String(data.get("email") ?? "").trim();
    if (email) body.email = email;
    if (data.get("pin")) body.pin = true;
    const made = await api(`/api/visits/${this.visitId}/invites`, body);
    const d = this.made.dataset;
    const link = document.createElement("input");
    link.readOnly = true;
    link.value = made.url;
    link.dataset.inviteUrl = "";
    const lines = [fill(d.link, { name: made.invite.name }), link];
    if (made.pin) lines.push(" ", fill(d.pin, { pin: made.pin }));
    lines.push(" ", made.emailed ? d.emailed : d.notEmailed);
    this.made.replaceChildren(...lines);
    this.made.hidden = false;
    this.form.reset();
    await this.reload();
  }

  say(text) {
    this.made.textContent = text;
    this.made.hidden = false;
  }

  async reload() {
    const { invites } = await api(`/api/visits/${this.visitId}/invites`);
    const d = this.list.dataset;
    this.list.replaceChildren();
    for (const invite of invites) {
      const item = document.createElement("li");
      item.dataset.inviteId = String(invite.id);
      const key = "state" + invite.state.split("_").map((w) => w[0].toUpperCase() + w.slice(1)).join("");
      item.textContent = `${invite.name} · ${d[key] ?? invite.state} `;
      if (!invite.revoked_at && invite.state !== "expired") {
        const revoke = document.createElement("button");
        revoke.type = "button";
        revoke.textContent = d.revoke;
        revoke.addEventListener("click", () => this.revoke(invite.id).catch((e) => this.say(e.message)));
        item.append(revoke);
      }
      this.list.append(item);
    }
  }

  async revoke(inviteId) {
    const csrf = document.querySelector('meta[name="csrf-token"]').content;
    const response = await fetch(`/api/invites/${inviteId}`, {
      method: "DELETE",
      headers: { Accept: "application/json", "X-CSRF-Token": csrf },
      credentials: "same-origin",
    });
    if (!response.ok) throw new Error((await response.json()).error?.message ?? response.statusText);
    await this.reload();
  }
}
