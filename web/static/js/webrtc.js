// One participant's media links in one call: an RTCPeerConnection per other participant (mesh),
// driven by relayed signalling (PROTOCOL.md "Active call and media", "Reconnect and resume").
// The browser twin of kiosk/session.py; shared by the kiosk and the staff console.
//
//   const mesh = new CallMesh({ client, snapshot, stream });     // snapshot = a call-state
//   mesh.on("track", ({ peerId, stream }) => video.srcObject = stream);
//   mesh.on("peer-state", ({ peerId, state }) => …);               // RTCPeerConnectionState
//   await mesh.offerToAll();     // only when we have just entered (accepted, joined, resumed)
//   client.on("message", (m) => mesh.handle(m));
//   mesh.setVideoSending(false); mesh.close();
//
// Rules: the peer that has just entered offers to everybody; the others only answer. A pair's
// offerer stays its offerer, so it alone restarts ICE when the link fails or stays
// disconnected. Candidates are trickled; `candidate: null` ends them.

const DISCONNECTED_RESTART_MS = 4000;
const QUALITY_EVERY_MS = 2000;
// After the link (re)connects, the far end's next reports count every packet sent into the
// outage as lost: that is not congestion, and pausing the video for it froze the picture
// seconds after the network came back. Adaptation waits this many checks.
const SETTLE_CHECKS = 2;

/**
 * @typedef {object} MeshOptions
 * @property {import("./signaling.js").SignalingClient} client
 * @property {any} snapshot a call-state message (call_id, you, peers, ice_servers)
 * @property {MediaStream|null} stream our camera and microphone (may be null: receive only)
 * @property {boolean} [sendVideo] start with outgoing video on (default true)
 */

export class CallMesh extends EventTarget {
  /** @param {MeshOptions} options */
  constructor({ client, snapshot, stream, sendVideo = true }) {
    super();
    this.client = client;
    this.callId = snapshot.call_id;
    this.stream = stream;
    this.sendVideo = sendVideo;
    /** @type {Map<string, any>} peer id → peer info (others only) */
    this.others = new Map();
    /** @type {Map<string, PeerLink>} */
    this.links = new Map();
    this.iceServers = [];
    this.update(snapshot);
    this._quality = setInterval(() => this._checkQuality(), QUALITY_EVERY_MS);
    this._offClient = client.on("state", ({ state }) => {
      if (state === "open") this._flushRestarts();
    });
  }

  /** Listen; the callback gets the detail. Returns an unsubscribe function. */
  on(type, callback) {
    const listener = (event) => callback(event.detail);
    this.addEventListener(type, listener);
    return () => this.removeEventListener(type, listener);
  }

  /** Take the server's latest view of the call (participants, our id, ICE servers). */
  update(snapshot) {
    this.you = snapshot.you;
    this.others = new Map(
      snapshot.peers.filter((p) => p.peer_id !== snapshot.you).map((p) => [p.peer_id, p]),
    );
    if (snapshot.ice_servers?.length) this.iceServers = snapshot.ice_servers;
  }

  /** We have just entered (accepted, joined, resumed): offer to every connected peer. */
  async offerToAll() {
    for (const [peerId, info] of [...this.others]) {
      if (info.connected !== false) await this._offer(peerId, false);
    }
  }

  /** After our own reconnect and resume: the others dropped our old id; start every link anew. */
  async resume(snapshot) {
    for (const link of this.links.values()) link.close();
    this.links.clear();
    this.update(snapshot);
    await this.offerToAll();
  }

  /** Apply one relayed or membership message (others are ignored). */
  async handle(message) {
    if (message.call_id !== this.callId) return;
    switch (message.type) {
      case "offer":
        return this._answer(message.from, message.sdp);
      case "answer":
        return this.links.get(message.from)?.applyAnswer(message.sdp);
      case "candidate":
        return this.links.get(message.from)?.addCandidate(message.candidate);
      case "peer-joined":
        this.others.set(message.peer.peer_id, message.peer); // the joiner offers to us
        return;
      case "peer-left":
        return this._drop(message.peer_id);
      case "peer-disconnected": {
        const info = this.others.get(message.peer_id);
        if (info) this.others.set(message.peer_id, { ...info, connected: false });
        return;
      }
      case "peer-reconnected":
        this._drop(message.old_peer_id);
        this.others.set(message.peer.peer_id, message.peer); // it offers under its new id
        return;
      default:
    }
  }

  /** Turn outgoing video on or off without renegotiating (audio is untouched). */
  setVideoSending(on) {
    this.sendVideo = on;
    for (const track of this.stream?.getVideoTracks() ?? []) track.enabled = on;
    for (const link of this.links.values()) link.setVideo(on);
  }

  /** True while some link actually sends camera frames. */
  get cameraLive() {
    return this.sendVideo && [...this.links.values()].some((l) => l.sendingVideo);
  }

  /** Restart ICE on every link we offered (network came back). */
  restartAll() {
    for (const link of this.links.values()) if (link.offerer) link.wantRestart = true;
    this._flushRestarts();
  }

  /** Close every link (hang-up or end of call); our stream is the caller's to stop. */
  close() {
    clearInterval(this._quality);
    this._offClient();
    for (const link of this.links.values()) link.close();
    this.links.clear();
  }

  // -- internals -------------------------------------------------------------------------

  _link(peerId, offerer) {
    let link = this.links.get(peerId);
    if (!link) {
      link = new PeerLink(this, peerId, offerer);
      this.links.set(peerId, link);
    }
    return link;
  }

  async _offer(peerId, restart) {
    if (restart) {
      // A fresh connection rather than an in-place ICE restart: aiortc peers (the headless
      // kiosk, the self-test) cannot restart in place, and a fresh link works with everyone.
      this.links.get(peerId)?.close();
      this.links.delete(peerId);
    }
    const link = this._link(peerId, true);
    const sdp = await link.createOffer();
    if (!this.client.trySend({ type: "offer", call_id: this.callId, to: peerId, sdp })) {
      link.wantRestart = true; // signalling is down: offer again when it is back
    }
  }

  async _answer(peerId, sdp) {
    const existing = this.links.get(peerId);
    if (existing && existing.isRestart(sdp)) {
      existing.close(); // the offerer restarted on a fresh connection: so do we
      this.links.delete(peerId);
    }
    const link = this._link(peerId, false);
    const answer = await link.answerOffer(sdp);
    this.client.trySend({ type: "answer", call_id: this.callId, to: peerId, sdp: answer });
  }

  _drop(peerId) {
    this.others.delete(peerId);
    this.links.get(peerId)?.close();
    this.links.delete(peerId);
    this._emit("peer-state", { peerId, state: "closed" });
  }

  _flushRestarts() {
    for (const link of this.links.values()) {
      if (link.wantRestart && link.offerer && this.client.isOpen) {
        link.wantRestart = false;
        this._offer(link.peerId, true).catch(() => {
          link.wantRestart = true;
        });
      }
    }
  }

  async _checkQuality() {
    for (const link of this.links.values()) await link.adaptQuality();
  }

  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

/** One RTCPeerConnection to one other participant. */
export class PeerLink {
  constructor(mesh, peerId, offerer) {
    this.mesh = mesh;
    this.peerId = peerId;
    this.offerer = offerer;
    this.wantRestart = false;
    this.pendingCandidates = [];
    this.videoLevel = 0; // 0 full, 1 reduced, 2 off: video degrades first, audio is kept
    this.lastStats = null;
    this.settleChecks = SETTLE_CHECKS;
    this.pc = new RTCPeerConnection({ iceServers: mesh.iceServers });
    this._addLocalTracks();
    this._wire();
  }

  get sendingVideo() {
    const sender = this._videoSender();
    return Boolean(sender?.track?.enabled) && this.videoLevel < 2 && this.pc.connectionState === "connected";
  }

  _addLocalTracks() {
    const stream = this.mesh.stream;
    if (stream) {
      for (const track of stream.getTracks()) this.pc.addTrack(track, stream);
    }
    // Always negotiate both kinds so we can receive even when sending nothing.
    for (const kind of ["audio", "video"]) {
      if (!stream || stream.getTracks().every((t) => t.kind !== kind)) {
        this.pc.addTransceiver(kind, { direction: "recvonly" });
      }
    }
    this.setVideo(this.mesh.sendVideo);
  }

  _wire() {
    const pc = this.pc;
    pc.onicecandidate = ({ candidate }) => {
      this.mesh.client.trySend({
        type: "candidate",
        call_id: this.mesh.callId,
        to: this.peerId,
        candidate: candidate ? candidate.toJSON() : null,
      });
    };
    pc.ontrack = ({ streams, track }) => {
      const stream = streams[0] ?? new MediaStream([track]);
      this.mesh._emit("track", { peerId: this.peerId, stream, track });
    };
    pc.onconnectionstatechange = () => this._stateChanged();
    pc.oniceconnectionstatechange = () => this._iceChanged();
  }

  _stateChanged() {
    const state = this.pc.connectionState;
    this.mesh._emit("peer-state", { peerId: this.peerId, state });
    if (state === "failed" && this.offerer) {
      this.wantRestart = true;
      this.mesh._flushRestarts();
    }
  }

  _iceChanged() {
    clearTimeout(this._disconnectTimer);
    if (this.pc.iceConnectionState === "disconnected" && this.offerer) {
      // "disconnected" often heals by itself; restart only if it lingers.
      this._disconnectTimer = setTimeout(() => {
        if (this.pc.iceConnectionState === "disconnected") {
          this.wantRestart = true;
          this.mesh._flushRestarts();
        }
      }, DISCONNECTED_RESTART_MS);
    }
  }

  /** True when an offer carries new ICE credentials (the offerer restarted). */
  isRestart(sdp) {
    const ufrag = (text) => /a=ice-ufrag:(\S+)/.exec(text ?? "")?.[1] ?? null;
    const current = ufrag(this.pc.remoteDescription?.sdp);
    return current !== null && current !== ufrag(sdp);
  }

  async createOffer() {
    const offer = await this.pc.createOffer();
    await this.pc.setLocalDescription(offer);
    return this.pc.localDescription.sdp;
  }

  async answerOffer(sdp) {
    await this.pc.setRemoteDescription({ type: "offer", sdp });
    await this._flushCandidates();
    const answer = await this.pc.createAnswer();
    await this.pc.setLocalDescription(answer);
    return this.pc.localDescription.sdp;
  }

  async applyAnswer(sdp) {
    if (this.pc.signalingState !== "have-local-offer") return; // a stale answer
    await this.pc.setRemoteDescription({ type: "answer", sdp });
    await this._flushCandidates();
  }

  async addCandidate(candidate) {
    if (!this.pc.remoteDescription) {
      this.pendingCandidates.push(candidate);
      return;
    }
    await this._addOne(candidate);
  }

  async _flushCandidates() {
    const queued = this.pendingCandidates.splice(0);
    for (const candidate of queued) await this._addOne(candidate);
  }

  async _addOne(candidate) {
    try {
      await this.pc.addIceCandidate(candidate ?? null);
    } catch {
      // A candidate for an old ICE generation; harmless.
    }
  }

  _videoSender() {
    return this.pc.getSenders().find((s) => s.track?.kind === "video");
  }

  setVideo(on) {
    const sender = this._videoSender();
    if (sender?.track) sender.track.enabled = on;
  }

  /** Lower, then pause, outgoing video when loss or RTT climb; restore when they settle. */
  async adaptQuality() {
    const sender = this._videoSender();
    if (!sender || this.pc.connectionState !== "connected") {
      this.settleChecks = SETTLE_CHECKS;
      return;
    }
    const { lossPct, rttMs } = await this.networkStats();
    if (this.settleChecks > 0) {
      this.settleChecks -= 1; // the baseline moves on; the outage's losses are not judged
      return;
    }
    const bad = lossPct > 8 || rttMs > 600;
    const poor = lossPct > 3 || rttMs > 300;
    const target = bad ? Math.min(2, this.videoLevel + 1) : poor ? Math.max(1, this.videoLevel) : 0;
    if (target === this.videoLevel) return;
    this.videoLevel = target;
    const params = sender.getParameters();
    if (!params.encodings?.length) return;
    params.encodings[0].active = target < 2;
    params.encodings[0].scaleResolutionDownBy = target === 1 ? 2 : 1;
    params.encodings[0].maxBitrate = target === 1 ? 250_000 : 1_500_000;
    params.degradationPreference = "maintain-framerate";
    await sender.setParameters(params).catch(() => {});
    this.mesh._emit("quality", { peerId: this.peerId, level: target, lossPct, rttMs });
  }

  /** Loss (%) and round trip (ms) as the far end reports them for what we send. */
  async networkStats() {
    let lost = 0;
    let received = 0;
    let rttMs = 0;
    const report = await this.pc.getStats();
    report.forEach((s) => {
      if (s.type === "remote-inbound-rtp") {
        lost += s.packetsLost ?? 0;
        if (s.roundTripTime) rttMs = Math.max(rttMs, s.roundTripTime * 1000);
      }
      if (s.type === "outbound-rtp") received += s.packetsSent ?? 0;
    });
    const prev = this.lastStats ?? { lost: 0, received: 0 };
    this.lastStats = { lost, received };
    const dSent = received - prev.received;
    const dLost = lost - prev.lost;
    const lossPct = dSent > 0 ? Math.max(0, (100 * dLost) / (dSent + dLost)) : 0;
    return { lossPct, rttMs };
  }

  close() {
    clearTimeout(this._disconnectTimer);
    this.pc.onicecandidate = this.pc.ontrack = null;
    this.pc.onconnectionstatechange = this.pc.oniceconnectionstatechange = null;
    this.pc.close();
  }
}
