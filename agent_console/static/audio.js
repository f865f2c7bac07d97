// The call's audio in the browser: listen-in, and the agent's side of a takeover.
//
// - Listen: `/ws/calls/{id}/listen` sends the mix of the customer and what the customer hears, 20 ms frames at
//   the line rate (4-byte big-endian seq + s16le PCM, docs/session.md). Frames go to the "pcm-player" worklet
//   (jitter buffer, resampling to the AudioContext's rate).
// - Takeover: `getUserMedia` → "pcm-capture" worklet (downsampled to 16 kHz, 20 ms frames) → numbered here →
//   `/ws/calls/{id}/agent`. The same socket brings the customer's voice back, played like listen-in. While the
//   agent holds the call the listen socket is closed: its mix contains the agent's own voice, which would come
//   back as a delayed echo.
//
// One AudioContext per call view, created on the first click (browsers keep contexts made without a user
// gesture suspended). The microphone is opened only for a takeover and released at hand-back, so the browser's
// "recording" indicator means what it says.

import { socketUrl } from "./api.js";
import { probe } from "./hooks.js";

const HEADER_BYTES = 4;
const RATE_BY_PCM_BYTES = { 320: 8000, 640: 16000 };
const PLAYER = { targetMs: 60, maxMs: 200 }; // same depths as the server's agent jitter buffer

// Microphone constraints: agents wear headsets (issue 6), so there is no loudspeaker echo to cancel, and the
// browser's echo cancellation, noise suppression and gain control would colour the voice the customer hears and
// the recognizer transcribes.
const MIC_CONSTRAINTS = {
  audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false },
};

/** Parse one binary audio message: {seq, pcm: Int16Array, rateHz}, or null for a size that is no 20 ms frame. */
export function decodeFrame(buffer) {
  const rateHz = RATE_BY_PCM_BYTES[buffer.byteLength - HEADER_BYTES];
  if (!rateHz) return null;
  const seq = new DataView(buffer).getUint32(0, false);
  // s16le: every browser this runs on is little-endian, so a typed-array view reads it as is
  return { seq, pcm: new Int16Array(buffer, HEADER_BYTES), rateHz };
}

/** One binary audio message: seq (u32, big-endian) + the frame's s16le PCM. */
export function encodeFrame(seq, pcm) {
  const buffer = new ArrayBuffer(HEADER_BYTES + pcm.byteLength);
  new DataView(buffer).setUint32(0, seq >>> 0, false);
  new Int16Array(buffer, HEADER_BYTES).set(pcm);
  return buffer;
}

function openSocket(path, onFrame, onText, onClose) {
  const ws = new WebSocket(socketUrl(path));
  ws.binaryType = "arraybuffer";
  ws.addEventListener("message", (event) => {
    if (typeof event.data === "string") {
      let message = null;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      onText(message);
    } else {
      const frame = decodeFrame(event.data);
      if (frame) onFrame(frame);
    }
  });
  ws.addEventListener("close", (event) => onClose(event.code, event.reason));
  return ws;
}

export class CallAudio {
  /**
   * `onChange({listening, holding, error})` whenever the audio's state changes; `onLevels(levels)` ~20 times a
   * second with {hear, send} RMS values for the meters.
   */
  constructor(callId, { onChange = () => {}, onLevels = () => {} } = {}) {
    this.callId = callId;
    this.onChange = onChange;
    this.onLevels = onLevels;
    this.context = null;
    this.player = null;
    this.listenSocket = null;
    this.agentSocket = null;
    this.mic = null; // {stream, source, node}
    this.seq = 0;
    this.listening = false; // the user wants listen-in
    this.holding = false; // this page holds the call (the agent socket said taken_over)
  }

  async ensureContext() {
    if (this.context === null) {
      this.context = new AudioContext({ latencyHint: "interactive" });
      probe.contextRateHz = this.context.sampleRate;
      await Promise.all([
        this.context.audioWorklet.addModule("worklets/player.js"),
        this.context.audioWorklet.addModule("worklets/capture.js"),
      ]);
      this.player = new AudioWorkletNode(this.context, "pcm-player", {
        numberOfInputs: 0,
        outputChannelCount: [1],
        processorOptions: PLAYER,
      });
      this.player.port.onmessage = (event) => this.playerMessage(event.data);
      this.player.connect(this.context.destination);
    }
    if (this.context.state === "suspended") await this.context.resume();
    return this.context;
  }

  playerMessage(message) {
    if (message.type !== "level") return;
    probe.levels.hear = message.rms;
    probe.levels.hearPeakRms = Math.max(probe.levels.hearPeakRms, message.rms);
    probe.levels.underruns = message.underruns;
    this.onLevels(probe.levels);
  }

  play(frame) {
    probe.levels.hearFrames += 1;
    // a copy, transferred: the socket's buffer is not ours to give away
    const pcm = frame.pcm.slice();
    this.player.port.postMessage({ type: "frame", pcm, rateHz: frame.rateHz }, [pcm.buffer]);
  }

  // -- listen-in --

  async startListening() {
    this.listening = true;
    await this.ensureContext();
    if (!this.holding) this.openListen();
    this.changed();
  }

  stopListening() {
    this.listening = false;
    this.closeListen();
    this.changed();
  }

  openListen() {
    if (this.listenSocket) return;
    this.player.port.postMessage({ type: "reset" });
    this.listenSocket = openSocket(
      `/ws/calls/${encodeURIComponent(this.callId)}/listen`,
      (frame) => this.play(frame),
      (message) => {
        if (message.type === "error") this.changed(message.detail || message.error);
      },
      (code) => {
        this.listenSocket = null;
        if (this.listening && !this.holding && code !== 1000) {
          this.listening = false;
          this.changed(code === 4403 ? "not allowed to listen to this call" : "listen-in closed");
        } else {
          this.changed();
        }
      },
    );
  }

  closeListen() {
    const ws = this.listenSocket;
    this.listenSocket = null;
    if (ws) ws.close(1000);
  }

  // -- takeover --

  /** Open the microphone and the agent socket; resolves once the socket said hello (then take over via REST). */
  async prepareTakeover() {
    await this.ensureContext();
    if (!this.mic) {
      const stream = await navigator.mediaDevices.getUserMedia(MIC_CONSTRAINTS);
      const source = this.context.createMediaStreamSource(stream);
      const node = new AudioWorkletNode(this.context, "pcm-capture", { numberOfOutputs: 0 });
      node.port.onmessage = (event) => this.captureMessage(event.data);
      source.connect(node);
      this.mic = { stream, source, node };
    }
    if (!this.agentSocket) await this.openAgent();
  }

  openAgent() {
    return new Promise((resolve, reject) => {
      const ws = openSocket(
        `/ws/calls/${encodeURIComponent(this.callId)}/agent`,
        (frame) => {
          if (this.holding) this.play(frame); // the customer, while this page holds the call
        },
        (message) => {
          if (message.type === "hello") resolve();
          else if (message.type === "state") this.agentState(message.state);
          else if (message.type === "error") this.changed(message.detail || message.error);
        },
        (code) => {
          if (this.agentSocket === ws) this.agentSocket = null;
          reject(new Error(code === 4403 ? "not allowed to take this call" : `agent socket closed (${code})`));
          if (this.holding) this.agentState("handed_back");
        },
      );
      this.agentSocket = ws;
    });
  }

  agentState(state) {
    const holding = state === "taken_over";
    if (holding === this.holding) return;
    this.holding = holding;
    this.mic?.node.port.postMessage({ type: "send", on: holding });
    this.player.port.postMessage({ type: "reset" });
    if (holding) {
      this.closeListen();
    } else {
      this.releaseTakeover();
      if (this.listening) this.openListen();
    }
    this.changed();
  }

  captureMessage(message) {
    if (!this.mic) return; // a message posted just before the microphone was released
    if (message.type === "level") {
      probe.levels.send = message.rms;
      probe.levels.sendPeakRms = Math.max(probe.levels.sendPeakRms, message.rms);
      this.onLevels(probe.levels);
    } else if (message.type === "frame" && this.holding && this.agentSocket?.readyState === WebSocket.OPEN) {
      this.seq = (this.seq + 1) >>> 0 || 1; // from 1, wrapping at 2^32
      this.agentSocket.send(encodeFrame(this.seq, message.pcm));
      probe.levels.sendFrames += 1;
    }
  }

  /** Close the agent socket and give the microphone back (after a hand-back, a refused takeover, or leaving). */
  releaseTakeover() {
    const ws = this.agentSocket;
    this.agentSocket = null;
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close(1000);
    if (this.mic) {
      this.mic.source.disconnect();
      this.mic.node.port.postMessage({ type: "send", on: false });
      this.mic.node.port.onmessage = null;
      for (const track of this.mic.stream.getTracks()) track.stop();
      this.mic = null;
    }
    probe.levels.send = 0;
  }

  changed(error = null) {
    this.onChange({ listening: this.listening, holding: this.holding, error });
  }

  close() {
    this.listening = false;
    this.closeListen();
    this.releaseTakeover(); // closing the agent socket while holding hands the call back (server side)
    this.holding = false;
    if (this.context) this.context.close().catch(() => {});
    this.context = null;
    probe.levels.hear = 0;
  }
}
