// The one signalling client for browsers (staff console, kiosk, later guests).
// It speaks server/signaling/PROTOCOL.md version 1: hello/welcome, request/ref correlation,
// ping round-trip, reconnect with jittered exponential backoff and resume of a call seat.
//
// Usage:
//   import { SignalingClient } from "/static/js/signaling.js";
//   const client = new SignalingClient({ token });            // staff: no token (cookie)
//   client.on("welcome", (w) => …); client.on("ring", (m) => …);
//   client.on("state", ({ state }) => …);                       // connecting/open/reconnecting/…
//   client.start();
//   const reply = await client.request({ type: "ring", citizen_id: "3" });  // rejects on error
//   client.send({ type: "offer", call_id, to, sdp });
//
// Every server message is dispatched twice: as an event named by its `type` ("ring",
// "call-state", …) and as "message". `detail` is the parsed message. `on()` hands the detail
// straight to the callback and returns a function that removes the listener.

export const PROTOCOL_VERSIONS = ["1"];

/** Close codes after which reconnecting cannot help (PROTOCOL.md "Close codes"). */
const FINAL_CODES = new Set([1000, 1002, 1003, 1009, 4001]);
/** Our own code for an attempt that was not welcomed in time (never sent by the server). */
const NO_WELCOME = 4003;
const POLICY_VIOLATION = 1008;

/**
 * @typedef {"idle"|"connecting"|"open"|"reconnecting"|"refused"|"closed"} ClientState
 * idle: not started · connecting: first attempt · open: welcomed · reconnecting: lost, retrying ·
 * refused: 1008 (bad or revoked credentials), retrying slowly if `refusedRetryMs` ·
 * closed: stopped by us, or a final close code (see `closeCode`).
 */

/**
 * @typedef {object} SignalingOptions
 * @property {string} [url] WebSocket URL; default ws(s)://<this host>/ws
 * @property {string|null} [token] kiosk device token (staff use their session cookie)
 * @property {string|null} [invite] a guest's invite token (hello.invite)
 * @property {string|null} [link] a relative's call-link token (hello.link; relativecall.js)
 * @property {string|null} [name] the name a guest gave (hello.name, guests only)
 * @property {string} [agent] client name for server logs
 * @property {number} [baseDelayMs] first backoff step (default 1000)
 * @property {number} [maxDelayMs] backoff cap (default 30000)
 * @property {number|null} [refusedRetryMs] after 1008, retry after this long (null: stop)
 * @property {number|null} [pingIntervalMs] ping period; default welcome.heartbeat_s
 * @property {number} [requestTimeoutMs] how long request() waits for its reply (default 10000)
 * @property {number} [connectTimeoutMs] how long an attempt may take to be welcomed before it is
 *   given up and retried (default 15000)
 * @property {typeof WebSocket} [WebSocketImpl] for tests
 */

/** An `error` message from the server (or a local failure), with its stable `code`. */
export class SignalingError extends Error {
  /**
   * @param {string} code e.g. "forbidden", "offline", "busy", "timeout", "connection_lost"
   * @param {string} message for people and logs
   */
  constructor(code, message) {
    super(message);
    this.name = "SignalingError";
    this.code = code;
  }
}

/** Backoff delay for attempt `n` (0-based): min(cap, base·2^n) with "equal jitter". */
export function backoffDelay(n, baseMs = 1000, capMs = 30000, random = Math.random) {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(n, 20));
  return ceiling / 2 + random() * (ceiling / 2);
}

/** The default socket URL: same origin, /ws. */
export function defaultUrl(loc = window.location) {
  return `${loc.protocol === "https:" ? "wss:" : "ws:"}//${loc.host}/ws`;
}

export class SignalingClient extends EventTarget {
  /** @param {SignalingOptions} [options] */
  constructor(options = {}) {
    super();
    this.url = options.url ?? defaultUrl();
    this.token = options.token ?? null;
    this.invite = options.invite ?? null; // a guest's invite token (join.js)
    this.link = options.link ?? null; // a relative's call-link token (relativecall.js)
    this.name = options.name ?? null; // the name a guest gave
    this.agent = options.agent ?? "screenvisit-web/1";
    this.baseDelayMs = options.baseDelayMs ?? 1000;
    this.maxDelayMs = options.maxDelayMs ?? 30000;
    this.refusedRetryMs = options.refusedRetryMs ?? null;
    this.pingIntervalMs = options.pingIntervalMs ?? null;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10000;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 15000;
    this.WebSocketImpl = options.WebSocketImpl ?? WebSocket;
    /** @type {ClientState} */
    this.state = "idle";
    /** @type {any} the last welcome (peer_id, identity, ice_servers, heartbeat_s, …) */
    this.welcome = null;
    /** @type {number|null} last ping round-trip in ms */
    this.rttMs = null;
    /** @type {number|null} close code of the last socket */
    this.closeCode = null;
    /** @type {string|null} the code of the error that preceded a refusal ("forbidden" …) */
    this.lastErrorCode = null;
    /** @type {string|null} the call whose seat we would resume after a reconnect */
    this.callId = null;
    this._ws = null;
    this._nextId = 1;
    this._attempt = 0;
    this._pending = new Map();
    this._timers = { retry: 0, ping: 0, pong: 0, connect: 0 };
    this._helloId = null;
    this._stopped = true;
    this._onOnline = () => this.checkNow();
  }

  // -- public API ------------------------------------------------------------------------

  /** Connect and keep connected until stop(). */
  start() {
    if (!this._stopped) return;
    this._stopped = false;
    window.addEventListener("online", this._onOnline);
    this._connect();
  }

  /** Close for good (code 1000); pending requests fail with "closed". */
  stop() {
    this._stopped = true;
    window.removeEventListener("online", this._onOnline);
    this._clearTimers();
    const ws = this._ws;
    this._ws = null;
    if (ws) {
      this._detach(ws);
      ws.close(1000, "bye");
    }
    this._failPending("closed", "the client was stopped");
    this._setState("closed");
  }

  /** True when the socket is open and welcomed. */
  get isOpen() {
    return this.state === "open";
  }

  /** Our peer id on the current socket (changes after every reconnect). */
  get peerId() {
    return this.welcome?.peer_id ?? null;
  }

  /** The freshest ICE server list known (welcome; ring and call-state carry newer ones). */
  get iceServers() {
    return this._ice ?? this.welcome?.ice_servers ?? [];
  }

  /**
   * Send a message; returns its id. Throws SignalingError("not_connected") when not open.
   * @param {Record<string, any>} message
   */
  send(message) {
    if (!this._ws || this.state !== "open") {
      throw new SignalingError("not_connected", "signalling is not connected");
    }
    const id = message.id ?? this._nextId++;
    this._ws.send(JSON.stringify({ ...message, id }));
    return id;
  }

  /** Like send(), but returns false instead of throwing when the socket is down. */
  trySend(message) {
    try {
      this.send(message);
      return true;
    } catch (err) {
      if (err instanceof SignalingError) return false;
      throw err;
    }
  }

  /**
   * Send and wait for the message whose `ref` is this message's id.
   * Rejects with SignalingError (the server's code, "timeout" or "connection_lost").
   * @param {Record<string, any>} message
   * @param {{timeoutMs?: number}} [opts]
   * @returns {Promise<any>}
   */
  request(message, opts = {}) {
    return new Promise((resolve, reject) => {
      const id = this._nextId++;
      const timeoutMs = opts.timeoutMs ?? this.requestTimeoutMs;
      const timer = setTimeout(() => {
        this._pending.delete(id);
        reject(new SignalingError("timeout", `no reply to ${message.type}`));
      }, timeoutMs);
      this._pending.set(id, { resolve, reject, timer });
      try {
        this.send({ ...message, id });
      } catch (err) {
        clearTimeout(timer);
        this._pending.delete(id);
        reject(err);
      }
    });
  }

  /**
   * Listen to an event; the callback gets the event's detail. Returns an unsubscribe function.
   * @param {string} type a server message type, or "message", "state", "welcome", "rtt",
   *   "resume-failed", "refused"
   * @param {(detail: any) => void} callback
   */
  on(type, callback) {
    const listener = (/** @type {CustomEvent} */ event) => callback(event.detail);
    this.addEventListener(type, /** @type {EventListener} */ (listener));
    return () => this.removeEventListener(type, /** @type {EventListener} */ (listener));
  }

  /** Remember the call to resume after a reconnect (set automatically on ring/call-state). */
  trackCall(callId) {
    this.callId = callId;
  }

  /** Forget the call (after hang-up or call-ended): a reconnect will not try to resume it. */
  forgetCall() {
    this.callId = null;
  }

  /** Ping now; if no pong arrives soon, treat the socket as dead and reconnect at once. */
  checkNow() {
    if (this._stopped) return;
    if (this.state === "open") {
      this._ping(3000);
    } else if (this._timers.retry) {
      clearTimeout(this._timers.retry);
      this._timers.retry = 0;
      this._connect();
    }
  }

  /** Drop the current socket as if the network had failed (tests, "reconnect now" buttons). */
  reconnectNow() {
    if (this._ws) this._lost(this._ws, 4000, "reconnect requested");
  }

  // -- connection ------------------------------------------------------------------------

  _connect() {
    this._clearTimers();
    this._setState(this._attempt === 0 && !this.welcome ? "connecting" : "reconnecting");
    let ws;
    try {
      ws = new this.WebSocketImpl(this.url);
    } catch {
      this._scheduleRetry(this._backoff());
      return;
    }
    this._ws = ws;
    // A socket can hang while opening (a network that swallows packets, a proxy that never
    // answers): no close event ever comes, so without this the tablet would wait for ever.
    this._timers.connect = setTimeout(
      () => this._lost(ws, NO_WELCOME, "no welcome in time"),
      this.connectTimeoutMs,
    );
    ws.onopen = () => this._hello(ws);
    ws.onmessage = (event) => this._receive(ws, event.data);
    ws.onclose = (event) => this._lost(ws, event.code, event.reason);
    ws.onerror = () => {}; // onclose follows and carries the code
  }

  _hello(ws) {
    const hello = { type: "hello", id: this._nextId++, version: PROTOCOL_VERSIONS };
    if (this.token) hello.token = this.token;
    if (this.invite) hello.invite = this.invite;
    if (this.link) hello.link = this.link;
    if (this.invite && this.name) hello.name = this.name.slice(0, 200);
    if (this.agent) hello.agent = this.agent.slice(0, 200);
    const resumeToken = this.welcome?.resume_token;
    if (this.callId && resumeToken) {
      hello.resume = { call_id: this.callId, resume_token: resumeToken };
    }
    this._helloId = hello.id;
    this.lastErrorCode = null;
    ws.send(JSON.stringify(hello));
  }

  _receive(ws, data) {
    if (ws !== this._ws) return;
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    if (!message || typeof message.type !== "string") return;
    this._alive();
    if (message.type === "welcome") this._welcomed(message);
    else if (message.type === "pong") this._pong(message);
    this._track(message);
    if (message.type === "error") this._error(message);
    else this._settle(message);
    this._emit(message.type, message);
    this._emit("message", message);
  }

  _welcomed(message) {
    clearTimeout(this._timers.connect);
    this._timers.connect = 0;
    this.welcome = message;
    this._ice = null;
    this._attempt = 0;
    this.closeCode = null;
    if (message.resumed) this.callId = message.resumed.call_id;
    this._setState("open");
    this._schedulePing();
  }

  _track(message) {
    if (message.ice_servers && message.type !== "welcome") this._ice = message.ice_servers;
    if (message.type === "ring" || message.type === "call-state") this.callId = message.call_id;
    if (message.type === "call-ended" && message.call_id === this.callId) this.callId = null;
  }

  _error(message) {
    this.lastErrorCode = message.code;
    if (message.ref != null && message.ref === this._helloId && this.callId) {
      // welcome came with resumed: null; the seat is gone (PROTOCOL.md "Reconnect and resume").
      if (message.code === "unknown_call" || message.code === "not_member") {
        const callId = this.callId;
        this.callId = null;
        this._emit("resume-failed", { call_id: callId, code: message.code });
      }
    }
    const waiter = message.ref != null ? this._pending.get(message.ref) : undefined;
    if (waiter) {
      this._pending.delete(message.ref);
      clearTimeout(waiter.timer);
      waiter.reject(new SignalingError(message.code, message.message));
    }
  }

  _settle(message) {
    const waiter = message.ref != null ? this._pending.get(message.ref) : undefined;
    if (!waiter) return;
    this._pending.delete(message.ref);
    clearTimeout(waiter.timer);
    waiter.resolve(message);
  }

  _lost(ws, code, reason) {
    if (ws !== this._ws) return;
    this._detach(ws);
    this._ws = null;
    try {
      ws.close(4000, "client gave up");
    } catch {
      // already closing
    }
    this._clearTimers();
    this.closeCode = code;
    this._failPending("connection_lost", "the connection was lost");
    if (this._stopped) return;
    if (FINAL_CODES.has(code)) {
      this._stopped = true;
      this._setState("closed", { code, reason });
      return;
    }
    if (code === POLICY_VIOLATION) {
      this._emit("refused", { code: this.lastErrorCode ?? "forbidden", closeCode: code });
      this._setState("refused", { code, reason });
      if (this.refusedRetryMs != null) this._scheduleRetry(this.refusedRetryMs);
      else this._stopped = true;
      return;
    }
    this._setState("reconnecting", { code, reason });
    this._scheduleRetry(this._backoff());
  }

  _detach(ws) {
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
  }

  _backoff() {
    return backoffDelay(this._attempt++, this.baseDelayMs, this.maxDelayMs);
  }

  _scheduleRetry(delayMs) {
    this._timers.retry = setTimeout(() => {
      this._timers.retry = 0;
      if (!this._stopped) this._connect();
    }, delayMs);
  }

  // -- liveness --------------------------------------------------------------------------

  _schedulePing() {
    clearTimeout(this._timers.ping);
    const every = this.pingIntervalMs ?? (this.welcome?.heartbeat_s ?? 20) * 1000;
    this._timers.ping = setTimeout(() => this._ping(every), every);
  }

  _ping(graceMs) {
    if (this.state !== "open" || !this._ws) return;
    const ws = this._ws;
    const sentAt = performance.now();
    this._pingSentAt = sentAt;
    this.trySend({ type: "ping" });
    clearTimeout(this._timers.pong);
    // A pong (or any message) clears this; silence means a dead socket.
    this._timers.pong = setTimeout(() => this._lost(ws, 4002, "no pong"), graceMs);
  }

  _pong() {
    if (this._pingSentAt != null) {
      this.rttMs = performance.now() - this._pingSentAt;
      this._pingSentAt = null;
      this._emit("rtt", { ms: this.rttMs });
    }
  }

  /** Any message proves the socket alive: stop the pong deadline, plan the next ping. */
  _alive() {
    clearTimeout(this._timers.pong);
    this._timers.pong = 0;
    if (this.state === "open") this._schedulePing();
  }

  /** Measure the signalling round trip now (resolves with ms). */
  async measureRtt() {
    const started = performance.now();
    await this.request({ type: "ping" }, { timeoutMs: 5000 });
    this.rttMs = performance.now() - started;
    return this.rttMs;
  }

  // -- helpers ---------------------------------------------------------------------------

  _clearTimers() {
    for (const key of Object.keys(this._timers)) {
      clearTimeout(this._timers[key]);
      this._timers[key] = 0;
    }
  }

  _failPending(code, text) {
    for (const [id, waiter] of this._pending) {
      clearTimeout(waiter.timer);
      waiter.reject(new SignalingError(code, text));
      this._pending.delete(id);
    }
  }

  _setState(state, extra = {}) {
    const changed = this.state !== state;
    this.state = state;
    if (changed) this._emit("state", { state, ...extra });
  }

  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
