// The tablet's self-test: camera and microphone, signalling round trip, and a short media
// loopback against the server's echo peer (through TURN when configured). The result goes to
// the server, where nurses see it as readiness.

import { call } from "./api.js";
import { openMedia, stopMedia } from "./media.js";

const LOOPBACK_TIMEOUT_MS = 12000;
const PINGS = 5;

/**
 * Run every part; resolves with the stored result's body.
 * @param {import("/static/js/signaling.js").SignalingClient} client
 * @param {string} token
 */
export async function runSelfTest(client, token) {
  const result = { ok: false, failed_part: null, rtt_ms: null, loss_pct: null, details: {} };
  const stream = await openMedia();
  try {
    const fail = checkDevices(stream, result.details);
    if (fail) return await report(token, { ...result, failed_part: fail });
    try {
      result.details.signalling_rtt_ms = Math.round(await client.measureRtt());
    } catch {
      return await report(token, { ...result, failed_part: "signalling" });
    }
    try {
      const loop = await loopback(stream, client.iceServers, token);
      Object.assign(result, { rtt_ms: loop.rttMs, loss_pct: loop.lossPct });
      result.details.loopback_video = loop.video;
    } catch (err) {
      result.details.loopback_error = String(err?.message ?? err).slice(0, 100);
      return await report(token, { ...result, failed_part: "media" });
    }
    return await report(token, { ...result, ok: true });
  } finally {
    stopMedia(stream);
  }
}

function checkDevices(stream, details) {
  const audio = stream?.getAudioTracks()[0];
  const video = stream?.getVideoTracks()[0];
  details.microphone = audio?.readyState === "live";
  details.camera = video?.readyState === "live";
  if (!details.microphone) return "microphone";
  if (!details.camera) return "camera";
  return null;
}

async function report(token, body) {
  try {
    await call("POST", "/api/kiosk/selftest", token, body);
  } catch {
    // Offline: the next self-test reports; readiness shows the tablet as not tested.
  }
  return body;
}

/** Send our media to the echo peer and back; RTT from data-channel echoes, loss from RTP. */
async function loopback(stream, iceServers, token) {
  const relay = iceServers.some((s) => [].concat(s.urls).some((u) => u.startsWith("turn")));
  const pc = new RTCPeerConnection({ iceServers, iceTransportPolicy: relay ? "relay" : "all" });
  try {
    for (const track of stream.getTracks()) pc.addTrack(track, stream);
    const channel = pc.createDataChannel("echo");
    const gotVideo = new Promise((resolve) => {
      pc.ontrack = ({ track }) => {
        if (track.kind === "video") resolve(track);
      };
    });
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    const answer = await call("POST", "/api/selftest/offer", token, {
      type: "offer",
      sdp: pc.localDescription.sdp,
    });
    await pc.setRemoteDescription(answer);
    const rttMs = await withTimeout(echoRtt(channel), LOOPBACK_TIMEOUT_MS, "no echo");
    await withTimeout(gotVideo, LOOPBACK_TIMEOUT_MS, "no video back");
    const video = await withTimeout(framesBack(pc), LOOPBACK_TIMEOUT_MS, "no frames back");
    return { rttMs, lossPct: await loss(pc), video };
  } finally {
    pc.close();
  }
}

function gathered(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return withTimeout(
    new Promise((resolve) => {
      pc.addEventListener("icegatheringstatechange", () => {
        if (pc.iceGatheringState === "complete") resolve();
      });
    }),
    5000,
    "ice gathering",
  ).catch(() => {}); // use what we have
}

async function echoRtt(channel) {
  if (channel.readyState !== "open") {
    await new Promise((resolve) => channel.addEventListener("open", resolve, { once: true }));
  }
  const times = [];
  for (let i = 0; i < PINGS; i += 1) {
    const sent = performance.now();
    const back = new Promise((resolve) => channel.addEventListener("message", resolve, { once: true }));
    channel.send(`ping:${i}`);
    await back;
    times.push(performance.now() - sent);
  }
  times.sort((a, b) => a - b);
  return Math.round(times[Math.floor(times.length / 2)] * 10) / 10;
}

async function framesBack(pc) {
  for (;;) {
    const stats = await pc.getStats();
    for (const s of stats.values()) {
      if (s.type === "inbound-rtp" && s.kind === "video" && (s.framesDecoded ?? 0) > 3) {
        return { frames: s.framesDecoded, width: s.frameWidth ?? null };
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function loss(pc) {
  let lost = 0;
  let received = 0;
  for (const s of (await pc.getStats()).values()) {
    if (s.type === "inbound-rtp") {
      lost += Math.max(0, s.packetsLost ?? 0);
      received += s.packetsReceived ?? 0;
    }
  }
  return received + lost > 0 ? Math.round((1000 * lost) / (received + lost)) / 10 : 0;
}

function withTimeout(promise, ms, what) {
  return Promise.race([
    promise,
    new Promise((_, reject) => setTimeout(() => reject(new Error(`timeout: ${what}`)), ms)),
  ]);
}
