// "pcm-capture": the agent's microphone → 16 kHz mono s16 frames of 20 ms (320 samples), posted to the page,
// which numbers them and sends them on the agent's WebSocket (docs/session.md, "Audio frames").
//
// Why an AudioWorklet: it sees every sample on the audio thread, clocked by the capture device, so frames come
// out every 20 ms of audio however busy the page is. Why 16 kHz: the call's side accepts 8 or 16 kHz; 16 kHz
// keeps the agent's voice wideband for the speech recognizer and a 16 kHz line, and the server's jitter buffer
// brings it to the line rate with a proper filter.
//
// Downsampling from the context rate (44.1 or 48 kHz): a 63-tap windowed-sinc low-pass (Blackman, cut-off
// 7 kHz: below the new Nyquist of 8 kHz, so nothing folds back), then linear interpolation between the filtered
// samples at the 16 kHz instants; this works for any input rate, integer ratio or not.
//
// Every ~50 ms it posts {type: "level", rms} for the send meter; frames go as {type: "frame", pcm: Int16Array}
// (transferred, not copied). Posting is switched on and off by {type: "send", on: bool}.

const OUT_RATE_HZ = 16000;
const FRAME_SAMPLES = 320; // 20 ms at 16 kHz
const TAPS = 63;
const CUTOFF_HZ = 7000;

function lowPass(rateHz) {
  const fc = CUTOFF_HZ / rateHz;
  const mid = (TAPS - 1) / 2;
  const h = new Float32Array(TAPS);
  let sum = 0;
  for (let n = 0; n < TAPS; n++) {
    const x = n - mid;
    const sinc = x === 0 ? 2 * fc : Math.sin(2 * Math.PI * fc * x) / (Math.PI * x);
    const w = 0.42 - 0.5 * Math.cos((2 * Math.PI * n) / (TAPS - 1)) + 0.08 * Math.cos((4 * Math.PI * n) / (TAPS - 1));
    h[n] = sinc * w;
    sum += h[n];
  }
  for (let n = 0; n < TAPS; n++) h[n] /= sum; // unity gain at DC
  return h;
}

class PcmCapture extends AudioWorkletProcessor {
  constructor() {
    super();
    this.filter = sampleRate > OUT_RATE_HZ ? lowPass(sampleRate) : null;
    this.history = new Float32Array(TAPS); // the last TAPS input samples, circular
    this.historyAt = 0;
    this.step = sampleRate / OUT_RATE_HZ; // input samples per output sample
    this.nextOut = 0; // position of the next output sample, in input samples relative to `prev`
    this.prev = 0; // the previous filtered sample
    this.frame = new Int16Array(FRAME_SAMPLES);
    this.filled = 0;
    this.sending = false;
    this.levelSum = 0;
    this.levelCount = 0;
    this.port.onmessage = (event) => {
      if (event.data.type === "send") {
        this.sending = Boolean(event.data.on);
        this.filled = 0;
      }
    };
  }

  filtered(x) {
    if (this.filter === null) return x;
    const hist = this.history;
    hist[this.historyAt] = x;
    this.historyAt = (this.historyAt + 1) % TAPS;
    let acc = 0;
    let k = this.historyAt; // oldest sample first
    for (let n = 0; n < TAPS; n++) {
      acc += this.filter[n] * hist[k];
      k = k + 1 === TAPS ? 0 : k + 1;
    }
    return acc;
  }

  emit(sample) {
    const clipped = Math.max(-1, Math.min(1, sample));
    this.frame[this.filled++] = Math.round(clipped * 32767);
    this.levelSum += sample * sample;
    this.levelCount++;
    if (this.filled === FRAME_SAMPLES) {
      if (this.sending) this.port.postMessage({ type: "frame", pcm: this.frame }, [this.frame.buffer]);
      this.frame = new Int16Array(FRAME_SAMPLES);
      this.filled = 0;
    }
    if (this.levelCount >= OUT_RATE_HZ / 20) {
      this.port.postMessage({ type: "level", rms: Math.sqrt(this.levelSum / this.levelCount) });
      this.levelSum = 0;
      this.levelCount = 0;
    }
  }

  process(inputs) {
    const channels = inputs[0];
    if (!channels || channels.length === 0) return true;
    const length = channels[0].length;
    for (let i = 0; i < length; i++) {
      let x = 0;
      for (let c = 0; c < channels.length; c++) x += channels[c][i];
      const y = this.filtered(x / channels.length); // a stereo device: the mean of its channels
      // output instants between the previous filtered sample (at 0) and this one (at 1)
      while (this.nextOut < 1) {
        this.emit(this.prev + (y - this.prev) * this.nextOut);
        this.nextOut += this.step;
      }
      this.nextOut -= 1;
      this.prev = y;
    }
    return true;
  }
}

registerProcessor("pcm-capture", PcmCapture);
