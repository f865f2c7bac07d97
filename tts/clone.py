"""The clone hook: a coqui-tts model from local files as a voice profile's `clone=` source.

A profile's manifest may name the model (paths relative to the profile folder, or absolute):
    "clone": {"engine": "coqui", "model_path": "clone/model.pth", "config_path": "clone/config.json",
              "speaker": null, "language": null, "speaker_wav": null}
The CLI may give `--clone-model/--clone-config` instead, which win over the manifest. With a clone
configured, `VoiceProfileEngine` speaks every text it has no recording for with it, before the stock voice.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tts.coqui_engine import CoquiEngine, CoquiOptions, load_coqui_engine
from tts.voice_profile import MANIFEST, VoiceProfile

CLONE_KEY = "clone"


def clone_options(profile: VoiceProfile) -> CoquiOptions | None:
    """The coqui model the profile's manifest configures, or None; raises FileNotFoundError for a path
    that is configured but missing, naming the manifest."""
    manifest = profile.directory / MANIFEST
    data = json.loads(manifest.read_text(encoding="utf-8")).get(CLONE_KEY)
    if data is None:
        return None
    if not isinstance(data, dict) or data.get("engine", "coqui") != "coqui":
        raise ValueError(f"{manifest}: expected '{CLONE_KEY}' to be an object with engine 'coqui', got {data!r}")
    return options_from(data, profile.directory, where=str(manifest))


def options_from(data: dict[str, Any], base: Path, *, where: str) -> CoquiOptions:
    """`CoquiOptions` from a manifest's clone object; relative paths are taken from `base`."""

    def path(key: str) -> Path:
        value = data.get(key)
        if not value:
            raise ValueError(f"{where}: expected '{CLONE_KEY}.{key}', got none")
        resolved = base / str(value)  # an absolute value replaces `base`
        if not resolved.exists():
            raise FileNotFoundError(f"{where}: {CLONE_KEY}.{key} not found: {resolved}")
        return resolved

    speaker_wav = base / str(data["speaker_wav"]) if data.get("speaker_wav") else None
    return CoquiOptions(
        model_path=path("model_path"), config_path=path("config_path"), speaker=data.get("speaker"),
        language=data.get("language"), speaker_wav=speaker_wav,
    )  # fmt: skip


def cli_options(model_path: Path | None, config_path: Path | None) -> CoquiOptions | None:
    """`--clone-model M --clone-config C` from the command line (both or neither)."""
    if model_path is None and config_path is None:
        return None
    if model_path is None or config_path is None:
        raise ValueError("expected both --clone-model and --clone-config, got only one")
    data = {"model_path": str(model_path), "config_path": str(config_path)}
    return options_from(data, Path.cwd(), where="command line")


def load_clone(profile: VoiceProfile, override: CoquiOptions | None = None) -> CoquiEngine | None:
    """Blocking (starts the coqui server, seconds): the configured clone engine, or None when none is."""
    options = override or clone_options(profile)
    return load_coqui_engine(options) if options is not None else None
