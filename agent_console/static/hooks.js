// `window.__callcenter`: a read-only window into the page for the browser tests (and for a curious supervisor's
// devtools). It carries measurements only, never call data: the audio levels the worklets report, and how often
// the handoff alert sounded.

export const probe = {
  levels: {
    hear: 0, // RMS (0..1) of what this page plays: listen-in or the customer during a takeover
    send: 0, // RMS (0..1) of the microphone audio sent to the call (16 kHz frames)
    hearPeakRms: 0, // the largest `hear` RMS since the page loaded
    sendPeakRms: 0,
    hearFrames: 0, // 20 ms frames received from the call
    sendFrames: 0, // 20 ms frames sent to the call
    underruns: 0, // the player's jitter buffer ran dry
  },
  beeps: 0,
  contextRateHz: null,
};

window.__callcenter = probe;
