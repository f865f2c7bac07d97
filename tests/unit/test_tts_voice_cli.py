"""The functions behind `callcenter voice enroll` and `callcenter say` (recorded lines: no model loads)."""

import wave
from pathlib import Path

import pytest

from tts.cli import VOICES_DIR_ENV, enroll_cmd, say_cmd
from tts.enroll import EnrollmentError

from .test_tts_enroll import speechlike, write

pytestmark = pytest.mark.unit


@pytest.fixture
def wavs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(VOICES_DIR_ENV, str(tmp_path / "voices"))
    folder = tmp_path / "wavs"
    folder.mkdir()
    for key in ["one-moment-please", "see-you", "today", "tomorrow", *(d + "day" for d in ("mon", "tues"))]:
        write(folder / f"{key}.wav", speechlike())
    for day in ("wednesday", "thursday", "friday", "saturday", "sunday"):
        write(folder / f"{day}.wav", speechlike())
    (folder / "script.yaml").write_text('lines:\n  hold: "One moment, please."\n  bye: "See you {day}."\n')
    return folder


def test_enroll_then_say_a_spliced_line(wavs: Path, tmp_path: Path) -> None:
    summary = enroll_cmd("agent-1", wavs)
    assert summary["agent"] == "agent-1" and summary["recordings"] == 11
    out = tmp_path / "out.wav"
    result = say_cmd("agent-1", "See you Tuesday.", out)
    assert result["source"] == "recording"
    with wave.open(str(out), "rb") as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
        assert 1.0 < w.getnframes() / 8000 < 2.5


def test_enroll_errors_name_the_file(wavs: Path) -> None:
    (wavs / "friday.wav").unlink()
    with pytest.raises(EnrollmentError, match=r"friday\.wav: missing: needed for day vocabulary"):
        enroll_cmd("agent-1", wavs)


def test_say_with_an_unknown_voice_is_a_clear_error(wavs: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="run voice enroll"):
        say_cmd("nobody", "Hello.", tmp_path / "x.wav")
