// "pcm-player": plays the call's 20 ms PCM frames (8 or 16 kHz, from a WebSocket) at the AudioContext's rate.
//
// Why an AudioWorklet: it runs on the audio rendering thread, so playback is clocked by the sound card and
// never stalls behind the page's JavaScript (a ScriptProcessorNode would run on the main thread, and is
// deprecated). Frames arrive through `port.postMessage` as Int16Array; nothing else is shared.
//
// Jitter buffer: playback starts (and restarts after an underrun) once `targetMs` is queued, so the network's
// jitter is absorbed without adding more delay than that; beyond `maxMs` the oldest audio is dropped so a burst
// after a stall costs audio, never latency (listen-in must stay live). Resampling to the context rate is linear
// interpolation: the audio is telephone-band (<= 4 kHz at 8 kHz), and the context runs at 44.1 or 48 kHz, so the
// images it leaves lie far above the voice and are quiet; this is a monitor, not a recording.
//
// Every ~50 ms it posts {type: "level", rms, bufferedMs, underruns} for the level meter.

const CAPACITY_S = 2; // ring buffer, in seconds at the source rate

class PcmPlayer extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const opts = options.processorOptions ?? {};
    this.targetMs = opts.targetMs ?? 60;
    this.maxMs = opts.maxMs ?? 200;
    this.sourceRateHz = 8000;
    this.ring = new Float32Array(16000 * CAPACITY_S);
    this.readPos = 0; // fractional, in source samples; ring index = floor(readPos) % length
    this.writePos = 0; // integer, in source samples
    this.playing = false;
    this.underruns = 0;
    this.levelSum = 0;
    this.levelCount = 0;
    this.levelEvery = Math.round(sampleRate / 20); // 50 ms
    this.port.onmessage = (event) => this.onMessage(event.data);
  }

  onMessage(message) {
    if (message.type === "frame") this.push(message.pcm, message.rateHz);
    else if (message.type === "reset") this.reset();
  }

  reset() {
    this.readPos = 0;
    this.writePos = 0;
    this.playing = false;
  }

  bufferedMs() {
    return ((this.writePos - Math.floor(this.readPos)) * 1000) / this.sourceRateHz;
  }

  push(pcm, rateHz) {
    if (rateHz !== this.sourceRateHz) {
      this.reset(); // a new stream at another rate: start over
      this.sourceRateHz = rateHz;
    }
    const ring = this.ring;
    for (let i = 0; i < pcm.length; i++) {
      ring[this.writePos % ring.length] = pcm[i] / 32768;
      this.writePos++;
    }
    if (this.bufferedMs() > this.maxMs) {
      // drop the oldest audio down to the target depth (latency over completeness)
      this.readPos = this.writePos - (this.targetMs * this.sourceRateHz) / 1000;
    }
    if (!this.playing && this.bufferedMs() >= this.targetMs) this.playing = true;
  }

  process(_inputs, outputs) {
    const out = outputs[0][0];
    if (!out) return true;
    const step = this.sourceRateHz / sampleRate;
    const ring = this.ring;
    for (let i = 0; i < out.length; i++) {
      let sample = 0;
      if (this.playing) {
        const base = Math.floor(this.readPos);
        if (base + 1 >= this.writePos) {
          this.playing = false; // underrun: silence until the target depth is back
          this.underruns++;
        } else {
          const frac = this.readPos - base;
          const a = ring[base % ring.length];
          const b = ring[(base + 1) % ring.length];
          sample = a + (b - a) * frac;
          this.readPos += step;
        }
      }
      out[i] = sample;
      this.levelSum += sample * sample;
    }
    for (let c = 1; c < outputs[0].length; c++) outputs[0][c].set(out);
    this.levelCount += out.length;
    if (this.levelCount >= this.levelEvery) {
      const rms = Math.sqrt(this.levelSum / this.levelCount);
      this.port.postMessage({ type: "level", rms, bufferedMs: this.bufferedMs(), underruns: this.underruns });
      this.levelSum = 0;
      this.levelCount = 0;
    }
    return true;
  }
}

registerProcessor("pcm-player", PcmPlayer);
