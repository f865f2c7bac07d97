"""Build a tiny random-weight coqui VITS: `.venv-coqui/bin/python tests/models/coqui_tiny.py OUT_DIR`.

Runs inside the coqui virtual environment (torch, coqui-tts), never in the main one. It writes
`OUT_DIR/model.pth` ({"model": state_dict}, ≈1 MB) and `OUT_DIR/config.json`, the same layout as a trained
VITS, and prints them as JSON. The weights are random, so it speaks noise: it exists to test loading from
local files offline, framing and resampling, not voice quality. No coqui model ships in any package.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

SAMPLE_RATE_HZ = 22050  # a typical VITS rate, so the engine must resample to both line rates
LETTERS = "abcdefghijklmnopqrstuvwxyz"


def tiny_config() -> object:
    from TTS.tts.configs.shared_configs import BaseAudioConfig, CharactersConfig
    from TTS.tts.configs.vits_config import VitsArgs, VitsConfig

    args = VitsArgs(
        hidden_channels=16,
        hidden_channels_ffn_text_encoder=32,
        num_layers_text_encoder=1,
        num_layers_posterior_encoder=1,
        num_layers_flow=1,
        resblock_kernel_sizes_decoder=[3],
        resblock_dilation_sizes_decoder=[[1, 3, 5]],
        upsample_initial_channel_decoder=32,  # the upsample rates still multiply to the 256-sample hop
        use_sdp=False,
        init_discriminator=False,
    )
    characters = CharactersConfig(
        characters_class="TTS.tts.models.vits.VitsCharacters",
        pad="<PAD>",
        eos="<EOS>",
        bos="<BOS>",
        blank="<BLNK>",
        characters=LETTERS,
        punctuations=" !,.?'-",
    )
    return VitsConfig(
        model_args=args,
        audio=BaseAudioConfig(sample_rate=SAMPLE_RATE_HZ),
        characters=characters,
        use_phonemes=False,
        text_cleaner="basic_cleaners",
    )


def build(out_dir: Path) -> dict[str, str]:
    import torch
    from TTS.tts.models.vits import Vits

    torch.manual_seed(0)
    config = tiny_config()
    model = Vits(config)  # type: ignore[arg-type]
    out_dir.mkdir(parents=True, exist_ok=True)
    model_path, config_path = out_dir / "model.pth", out_dir / "config.json"
    torch.save({"model": model.state_dict()}, model_path)
    config.save_json(str(config_path))  # type: ignore[attr-defined]
    return {"model_path": str(model_path), "config_path": str(config_path)}


if __name__ == "__main__":
    print(json.dumps(build(Path(sys.argv[1]))))
