// The handoff alert: two short tones made with Web Audio (no sound file to serve or cache). Browsers start an
// AudioContext suspended until the user has interacted with the page, so the first click anywhere unlocks it;
// an alert before that shows on the board but may be silent.

import { probe } from "./hooks.js";

let context = null;

function ensureContext() {
  if (context === null) context = new AudioContext();
  if (context.state === "suspended") context.resume().catch(() => {});
  return context;
}

document.addEventListener("pointerdown", () => ensureContext(), { once: true, capture: true });

export function beep() {
  probe.beeps += 1;
  const ctx = ensureContext();
  const t0 = ctx.currentTime + 0.01;
  for (const [offsetS, freqHz] of [
    [0, 880],
    [0.18, 1175],
  ]) {
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.frequency.value = freqHz;
    // a 10 ms ramp in and out: no click
    gain.gain.setValueAtTime(0, t0 + offsetS);
    gain.gain.linearRampToValueAtTime(0.2, t0 + offsetS + 0.01);
    gain.gain.setValueAtTime(0.2, t0 + offsetS + 0.12);
    gain.gain.linearRampToValueAtTime(0, t0 + offsetS + 0.13);
    osc.connect(gain).connect(ctx.destination);
    osc.start(t0 + offsetS);
    osc.stop(t0 + offsetS + 0.14);
  }
}
