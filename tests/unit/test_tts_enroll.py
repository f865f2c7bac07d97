import json
import re
import wave
from pathlib import Path

import numpy as np
import pytest

from tts.enroll import EnrollmentError, check_wav, enroll, load_script, validate_dir
from tts.voice_profile import MANIFEST, Script, VoiceProfile

pytestmark = pytest.mark.unit

SCRIPT_YAML = 'lines:\n  hello: "Hello there."\n  when: "See you {digits}."\n'
SCRIPT = Script.from_dict({"lines": {"hello": "Hello there.", "when": "See you {digits}."}})
KEYS = ["hello-there", "see-you", *(str(n) for n in range(10))]


def speechlike(rate: int = 8000, seconds: float = 0.6, amplitude: float = 0.1, noise: float = 1e-4) -> np.ndarray:
    """Silence, a voiced-like harmonic burst with an envelope, silence; a faint noise floor throughout."""
    rng = np.random.default_rng(7)
    t = np.arange(int(seconds * rate)) / rate
    voiced = sum(np.sin(2 * np.pi * 190 * k * t) / k for k in range(1, 6)) * np.hanning(len(t))
    pause = np.zeros(int(0.2 * rate))
    x = np.concatenate([pause, amplitude * voiced / np.max(np.abs(voiced)), pause])
    return x + noise * rng.standard_normal(len(x))


def write(path: Path, x: np.ndarray, rate: int = 8000, channels: int = 1, width: int = 2) -> Path:
    pcm = np.round(np.clip(x, -1, 1) * 32767).astype("<i2")
    if channels == 2:
        pcm = np.repeat(pcm, 2)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes() if width == 2 else (pcm // 256 + 128).astype(np.uint8).tobytes())
    return path


@pytest.fixture
def good_dir(tmp_path: Path) -> Path:
    wavs = tmp_path / "wavs"
    wavs.mkdir()
    for key in KEYS:
        write(
            wavs / f"{key}.wav",
            speechlike(16000 if key == "hello-there" else 8000),
            16000 if key == "hello-there" else 8000,
        )
    (wavs / "script.yaml").write_text(SCRIPT_YAML, encoding="utf-8")
    return wavs


def test_good_folder_enrolls_into_a_profile(good_dir: Path, tmp_path: Path) -> None:
    target = enroll("agent-7", good_dir, tmp_path / "voices")
    manifest = json.loads((target / MANIFEST).read_text(encoding="utf-8"))
    assert set(manifest["recordings"]) == set(KEYS)
    profile = VoiceProfile.load(target)
    assert profile.plan("See you 2 0 1.") == ["see-you", "2", "0", "1"]
    assert profile.median_f0_hz is None or 150 < profile.median_f0_hz < 230


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: write(p, speechlike(22050), 22050), "sample rate in (8000, 16000) Hz, got 22050 Hz"),
        (lambda p: write(p, speechlike(), channels=2), "expected 16-bit mono, got 16-bit, 2 channels"),
        (lambda p: write(p, speechlike(), width=1), "expected 16-bit mono, got 8-bit"),
        (lambda p: write(p, np.clip(speechlike() * 30, -1, 1)), "clipped"),
        (lambda p: write(p, np.zeros(8000)), "silent"),
        (lambda p: write(p, speechlike(amplitude=0.008, noise=1e-5)), "level too low"),
        (lambda p: write(p, speechlike(noise=0.02)), "too noisy"),
        (lambda p: write(p, speechlike(seconds=0.02, noise=0)[1500:1700]), "expected 0.15-30.0 s, got 0.03 s"),
        (lambda p: write(p, speechlike(seconds=31)), "got 31.40 s"),
        (lambda p: p.write_bytes(b"not a wav"), "expected a PCM WAV file"),
    ],
)
def test_bad_recordings_are_rejected_naming_the_problem(tmp_path: Path, make, message: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "hello-there.wav"
    make(path)
    problems = check_wav(path)
    assert any(message in p for p in problems), problems


def test_a_good_recording_has_no_problems(tmp_path: Path) -> None:
    assert check_wav(write(tmp_path / "x.wav", speechlike())) == []


def test_missing_lines_and_bad_files_are_all_reported_by_file(good_dir: Path, tmp_path: Path) -> None:
    (good_dir / "see-you.wav").unlink()
    (good_dir / "7.wav").unlink()
    write(good_dir / "hello-there.wav", np.zeros(8000))
    write(good_dir / "Bad Name.wav", speechlike())
    with pytest.raises(EnrollmentError) as caught:
        enroll("agent-7", good_dir, tmp_path / "voices")
    text = str(caught.value)
    assert "see-you.wav: missing: needed for part of line 'when'" in text
    assert "7.wav: missing: needed for digits vocabulary" in text
    assert "hello-there.wav: silent" in text
    assert "Bad Name.wav: expected a name like 'bad-name.wav'" in text
    assert not (tmp_path / "voices" / "agent-7").exists()  # nothing half-written


def test_partial_enrollment_is_allowed_when_asked(good_dir: Path, tmp_path: Path) -> None:
    (good_dir / "see-you.wav").unlink()
    assert validate_dir(good_dir, SCRIPT, require_all=False) == []
    profile = VoiceProfile.load(enroll("agent-7", good_dir, tmp_path / "voices", require_all=False))
    assert profile.plan("See you 1.") is None  # this line falls back


def test_bad_agent_id_and_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="agent id"):
        enroll("Agent 7", tmp_path, tmp_path / "voices")
    with pytest.raises(EnrollmentError, match="expected a folder of WAV files"):
        enroll("agent-7", tmp_path / "nope", tmp_path / "voices")


ZH_YAML = 'language: zh\nlines:\n  code: "您的验证码是{digits}。"\n'
ZH_KEYS = ["您的验证码是", "零", "幺", "二", "三", "四", "五", "六", "七", "八", "九"]


@pytest.fixture
def zh_dir(tmp_path: Path) -> Path:
    wavs = tmp_path / "zh"
    wavs.mkdir()
    for key in ZH_KEYS:
        write(wavs / f"{key}.wav", speechlike())
    (wavs / "script.yaml").write_text(ZH_YAML, encoding="utf-8")
    return wavs


def test_mandarin_folder_enrolls_with_its_language(zh_dir: Path, tmp_path: Path) -> None:
    target = enroll("agent-8", zh_dir, tmp_path / "voices")
    manifest_text = (target / MANIFEST).read_text(encoding="utf-8")
    assert '"language": "zh"' in manifest_text and "您的验证码是" in manifest_text  # readable, not \\u escapes
    assert (target / "recordings" / "幺.wav").exists()
    profile = VoiceProfile.load(target)
    assert set(profile.recordings) == set(ZH_KEYS) and profile.script.language == "zh"
    assert profile.plan("您的验证码是 201。") == ["您的验证码是", "二", "零", "幺"]


def test_a_missing_mandarin_token_is_named(zh_dir: Path, tmp_path: Path) -> None:
    (zh_dir / "幺.wav").unlink()
    missing = "幺.wav: missing: needed for digits vocabulary"
    assert [str(p) for p in validate_dir(zh_dir, load_script(zh_dir))] == [missing]
    with pytest.raises(EnrollmentError, match=re.escape(missing)):
        enroll("agent-8", zh_dir, tmp_path / "voices")


def test_a_bad_script_language_is_reported_by_file(zh_dir: Path, tmp_path: Path) -> None:
    (zh_dir / "script.yaml").write_text(ZH_YAML.replace("zh", "cantonese", 1), encoding="utf-8")
    with pytest.raises(EnrollmentError, match=r"script.yaml: expected a script language in \('en', 'zh'\)"):
        enroll("agent-8", zh_dir, tmp_path / "voices")
