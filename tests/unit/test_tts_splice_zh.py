"""Mandarin recorded-voice profiles: slot rules (`tts.splice_zh`), keys, script language, matching Mandarin
lines, splicing a synthetic Mandarin profile, and enrollment naming a missing Mandarin token."""

import asyncio
import calendar
from pathlib import Path

import numpy as np
import pytest
import yaml

from tts import splice_zh as zh
from tts.audio import int16_to_float
from tts.enroll import EnrollmentError, enroll
from tts.splice import MAX_KEY_BYTES, slot_tokens, slug
from tts.voice_profile import Script, VoiceProfile, VoiceProfileEngine, plan_recording, vocabulary

from .test_tts_enroll import write

pytestmark = pytest.mark.unit
RATE = 8000


def spaced(tokens: str) -> list[str]:
    return tokens.split()


# ---- slot rules, table-driven ----


@pytest.mark.parametrize(
    ("n", "tokens"),
    [(0, "零"), (2, "二"), (7, "七"), (10, "十"), (12, "十 二"), (15, "十 五"), (20, "二 十"), (99, "九 十 九"),
     (100, "一 百"), (105, "一 百 零 五"), (110, "一 百 一 十"), (200, "两 百"), (250, "两 百 五 十"),
     (1005, "一 千 零 五"), (1050, "一 千 零 五 十"), (1200, "一 千 二 百"), (2000, "两 千"),
     (2222, "两 千 二 百 二 十 二"), (10010, "一 万 零 一 十"), (10500, "一 万 零 五 百"), (20000, "两 万"),
     (22000, "两 万 两 千"), (100000, "十 万"), (120000, "十 二 万"), (1000005, "一 百 万 零 五"),
     (20000000, "两 千 万"), (99999999, "九 千 九 百 九 十 九 万 九 千 九 百 九 十 九")],
)  # fmt: skip
def test_numbers(n: int, tokens: str) -> None:
    assert zh.number_tokens(n) == spaced(tokens)


@pytest.mark.parametrize(
    ("text", "tokens"),
    [("300元", "三 百 元"), ("¥1,200", "一 千 二 百 元"), ("\uffe588", "八 十 八 元"), ("1.5万元", "一 万 五 千 元"),
     ("300块", "三 百 块"), ("300块钱", "三 百 块"), ("2元", "两 元"), ("两百元", "两 百 元"),
     ("一千二百元", "一 千 二 百 元"),
     ("12.50元", "十 二 元 五 角"), ("12.05元", "十 二 元 零 五 分"), ("12.53元", "十 二 元 五 角 三 分"),
     ("0.5元", "五 角"), ("2.2元", "两 元 两 角"), ("3块5毛", "三 块 五 毛"), ("12元5角3分", "十 二 元 五 角 三 分"),
     ("0元", "零 元"), ("RMB 500", "五 百 元"), ("1200", "一 千 二 百 元")],
)  # fmt: skip
def test_amounts(text: str, tokens: str) -> None:
    assert zh.amount_tokens(text) == spaced(tokens)


@pytest.mark.parametrize(
    ("text", "tokens"),
    [("下午3点", "下午 三 点"), ("15:30", "下午 三 点 半"), ("15：30", "下午 三 点 半"), ("3点半", "三 点 半"),
     ("上午十点", "上午 十 点"), ("下午3点05分", "下午 三 点 零 五 分"), ("下午3点15", "下午 三 点 十 五 分"),
     ("三点十五分", "三 点 十 五 分"), ("9:05", "九 点 零 五 分"), ("9:00", "九 点"), ("3点整", "三 点"),
     ("3点钟", "三 点"), ("两点", "两 点"), ("下午2点", "下午 两 点"), ("14:00", "下午 两 点"),
     ("12:00", "十 二 点"), ("中午12点半", "中午 十 二 点 半"), ("晚上8点", "晚上 八 点"),
     ("20:45", "晚上 八 点 四 十 五 分"), ("0:15", "凌晨 零 点 十 五 分"), ("早上9点", "上午 九 点"),
     ("下午15点", "下午 三 点"), (" 下午 3 点 ", "下午 三 点"),
     ("明天下午", "明天 下午"), ("5月14日（周二）下午3点05分", "五 月 十 四 号 星期 二 下午 三 点 零 五 分")],
)  # fmt: skip
def test_times(text: str, tokens: str) -> None:
    assert zh.time_tokens(text) == spaced(tokens)


@pytest.mark.parametrize(
    ("text", "tokens"),
    [("3月14日", "三 月 十 四 号"), ("3月14号", "三 月 十 四 号"), ("三月十四号", "三 月 十 四 号"),
     ("10月1日", "十 月 一 号"),
     ("12月31日", "十 二 月 三 十 一 号"), ("2月29日", "二 月 二 十 九 号"), ("星期二", "星期 二"), ("周二", "星期 二"),
     ("礼拜二", "星期 二"), ("星期日", "星期 天"), ("周日", "星期 天"), ("礼拜天", "星期 天"), ("今天", "今天"),
     ("明天", "明天"), ("后天", "后天"), ("5月14日（周二）", "五 月 十 四 号 星期 二")],
)  # fmt: skip
def test_dates(text: str, tokens: str) -> None:
    assert zh.date_tokens(text) == spaced(tokens)


@pytest.mark.parametrize(
    ("text", "tokens"),
    [("13800138000", "幺 三 八 零 零 幺 三 八 零 零 零"), ("138-0013-8000", "幺 三 八 零 零 幺 三 八 零 零 零"),
     ("201 998", "二 零 幺 九 九 八"), ("幺三八", "幺 三 八"), ("一二", "幺 二")],
)  # fmt: skip
def test_digit_strings_read_one_as_yao(text: str, tokens: str) -> None:
    assert zh.digit_tokens(text) == spaced(tokens)


@pytest.mark.parametrize(
    ("kind", "value"),
    [("amount", "1.234元"), ("amount", "元"), ("amount", "lots"), ("date", "2月30日"), ("date", "13月1日"),
     ("date", "星期八"), ("day", "Tuesday"), ("time", "25:00"), ("time", "3点70分"), ("time", "3"), ("time", "3 pm"),
     ("number", "一亿"), ("number", "100000000"), ("number", "五五"), ("number", "-5"), ("digits", "12a"),
     ("digits", "--"), ("weather", "晴")],
)  # fmt: skip
def test_bad_values_raise(kind: str, value: str) -> None:
    with pytest.raises(ValueError, match="expected"):
        slot_tokens(kind, value, "zh")


def test_number_tokens_read_back_as_the_number() -> None:
    numbers = [*range(0, 1200), *range(9990, 10030), 20000, 102030, 1000001, 12345678, 99999999]
    assert [n for n in numbers if zh.parse_number("".join(zh.number_tokens(n))) != n] == []


def test_slot_tokens_speaks_names_whole_and_dispatches_by_language() -> None:
    assert slot_tokens("first_name", "王芳", "zh") == ["王芳"]
    assert slot_tokens("number", "1,200", "zh") == spaced("一 千 二 百")
    assert slot_tokens("number", "1,200") == ["1", "thousand", "2", "hundred"]  # English unchanged
    with pytest.raises(ValueError, match="language"):
        slot_tokens("number", "12", "fr")


# ---- every token the rules can produce is in the kind's vocabulary (so enrollment asks for it) ----


def _all_values(kind: str) -> list[str]:
    days = [f"{m}月{d}日" for m in range(1, 13) for d in range(1, calendar.monthrange(2024, m)[1] + 1)]  # a leap year
    weekdays = [f"周{w}" for w in "一二三四五六日"] + ["今天", "明天", "后天"]
    if kind in ("day", "date"):
        return weekdays + (days if kind == "date" else [])
    if kind == "time":
        clock = [f"{h}:{m:02d}" for h in range(24) for m in range(60)]
        return clock + [
            f"{p}{h}点{m}分" for p in ("凌晨", "早上", "中午", "傍晚") for h in range(13) for m in (1, 30, 59)
        ]
    if kind == "amount":
        return [f"{y}.{c:02d}元" for y in (0, 2, 10, 105, 22000, 99999999) for c in range(100)] + ["3块5毛2分"]
    if kind == "number":
        return [str(n) for n in [*range(0, 10000, 7), *range(10000, 10**8, 99991)]]
    return ["0123456789", "一二两三四五六七八九\u3007"]


@pytest.mark.parametrize("kind", ["day", "date", "time", "amount", "number", "digits"])
def test_vocabulary_covers_every_value(kind: str) -> None:
    allowed = set(vocabulary(kind, (), "zh"))
    missing = {token for value in _all_values(kind) for token in slot_tokens(kind, value, "zh")} - allowed
    assert missing == set()
    assert all(slug(token) == token for token in allowed)  # each token is its own recording key
    assert len(allowed) <= 40  # small enough to record in one sitting


def test_example_values_are_sayable_with_their_vocabulary() -> None:
    for kind, value in zh.EXAMPLE_VALUES.items():
        assert set(slot_tokens(kind, value, "zh")) <= set(vocabulary(kind, (), "zh")), kind


# ---- keys ----


@pytest.mark.parametrize(
    ("text", "key"),
    [("您好，请稍等。", "您好请稍等"), ("“您好”（测试）：是的；好、吗？！", "您好测试是的好吗"), ("请 稍等", "请稍等"),
     ("3月14日", "3月14日"), ("我是Acme Solar的小王", "我是acme-solar的小王"),
     ("\uff11\uff12\uff13\uff21\uff22", "123ab"), ("星期", "星期"),
     ("One moment, please.", "one-moment-please"), ("don\u2019t", "dont")],
)  # fmt: skip
def test_slug_keeps_chinese_and_drops_punctuation(text: str, key: str) -> None:
    assert slug(text) == key
    assert slug(key) == key  # a key names its own file


def test_long_lines_get_a_short_unique_key_that_is_a_valid_file_name(tmp_path: Path) -> None:
    a, b = "您" * 100 + "好", "您" * 100 + "吗"
    assert len(slug(a).encode()) <= MAX_KEY_BYTES and slug(a) != slug(b)
    assert slug(slug(a)) == slug(a) and slug(a) == slug(a + "。")
    write(tmp_path / f"{slug(a)}.wav", np.zeros(800))  # the file system takes the name
    assert slug("a b " * 100).startswith("a-b-a-b") and slug(slug("a b " * 100)) == slug("a b " * 100)


# ---- the script's language ----


ZH_SCRIPT = {
    "lines": {"appt": "您的预约在{day}{time}。", "hold": "请稍等。"},
    "first_names": ["王芳"],
    "language": "zh",
}


def test_mandarin_script_round_trip() -> None:
    script = Script.from_dict(ZH_SCRIPT)
    assert script.language == "zh"
    assert script.to_dict() == ZH_SCRIPT
    assert Script.from_dict(script.to_dict()) == script
    assert Script.from_dict({"lines": {"a": "Hi."}}).language == "en"  # older scripts and manifests
    with pytest.raises(ValueError, match="language"):
        Script.from_dict({"lines": {"a": "Hi."}, "language": "fr"})


def test_mandarin_script_needs_mandarin_vocabulary() -> None:
    keys = Script.from_dict(ZH_SCRIPT).required_keys()
    assert keys["请稍等"] == "line 'hold'"
    assert keys["您的预约在"] == "part of line 'appt'"
    assert {"星期", "天", "今天", "下午", "三", "两", "点", "半", "分"} <= set(keys)
    assert not {"3", "tuesday", "p-m"} & set(keys)


# ---- which recordings speak a Mandarin text ----

SCRIPT = Script.from_dict(
    {"language": "zh", "lines": {"appt": "您的预约在{day}{time}。", "quote": "您的报价是每月{amount}。",
     "code": "好的，您的验证码是{digits}，请勿泄露。", "hi": "{first_name}您好！", "hold": "请稍等。"},
     "first_names": ["王芳"]}
)  # fmt: skip
HAVE = {"您的预约在", "星期", "二", "今天", "下午", "三", "点", "半", "分", "零", "五", "请稍等", "您的报价是每月",
        "一", "千", "百", "元", "万", "好的", "您的验证码是", "请勿泄露", "幺", "九", "八", "王芳", "您好"}  # fmt: skip


@pytest.mark.parametrize(
    ("text", "keys"),
    [("您的预约在星期二下午三点。", "您的预约在 星期 二 下午 三 点"),
     ("您的预约在周二下午3点半", "您的预约在 星期 二 下午 三 点 半"),
     ("您的预约在 星期二，15:30！", "您的预约在 星期 二 下午 三 点 半"),
     ("您的预约在今天下午3点05分。", "您的预约在 今天 下午 三 点 零 五 分"),
     ("您的报价是每月¥1,200。", "您的报价是每月 一 千 二 百 元"),
     ("您的报价是每月1.5万元", "您的报价是每月 一 万 五 千 元"),
     ("好的。您的验证码是 201 998，请勿泄露", "好的 您的验证码是 二 零 幺 九 九 八 请勿泄露"),  # clause by clause
     ("王芳，您好", "王芳 您好"), ("请稍等！", "请稍等"), ("请 稍等", "请稍等")],
)  # fmt: skip
def test_plan_mandarin_lines(text: str, keys: str) -> None:
    assert plan_recording(text, SCRIPT, HAVE) == spaced(keys)


@pytest.mark.parametrize(
    "text",
    ["您的预约在星期六下午三点。",  # no 六
     "您的预约在星期二下午四点。",  # no 四
     "您的预约在星期二上午三点。",  # no 上午
     "您的预约在星期八下午三点。",  # not a day
     "您的报价是每月三十元。",  # no 十
     "李娜您好",  # not an enrolled name
     "别的话。"],
)  # fmt: skip
def test_plan_is_none_when_recordings_cannot_say_it(text: str) -> None:
    assert plan_recording(text, SCRIPT, HAVE) is None


def test_english_line_with_an_apostrophe_matches() -> None:
    script = Script.from_dict({"lines": {"a": "Don't forget {day}."}})
    for text in ["Don't forget Tuesday.", "Don\u2019t forget tuesday", "dont forget Tuesday"]:
        assert plan_recording(text, script, {"dont-forget", "tuesday"}) == ["dont-forget", "tuesday"], text


# ---- a synthetic Mandarin profile, enrolled and spliced ----


def token_wav(i: int, rate: int = RATE) -> np.ndarray:
    """A faint-noise pause, then a tone of the token's own pitch and length that fades in over 20 ms and stops
    abruptly at its peak, so a hard cut between two pieces would click."""
    rng = np.random.default_rng(i)
    f0_hz, seconds = 150 + 10 * (i % 16), 0.25 + 0.03 * (i % 10)
    n = int(seconds * rate)
    tone = 0.3 * np.cos(2 * np.pi * f0_hz * (np.arange(n) - (n - 1)) / rate)
    tone[: rate // 50] *= np.linspace(0.0, 1.0, rate // 50)
    x = np.concatenate([np.zeros(rate // 10), tone])
    return x + 1e-4 * rng.standard_normal(len(x))


SCRIPT_YAML = 'language: zh\nlines:\n  appt: "您的预约在{day}{time}。"\n  hold: "请稍等。"\n'


@pytest.fixture
def zh_wavs(tmp_path: Path) -> Path:
    wavs = tmp_path / "wavs"
    wavs.mkdir()
    (wavs / "script.yaml").write_text(SCRIPT_YAML, encoding="utf-8")
    for i, key in enumerate(sorted(Script.from_dict(yaml.safe_load(SCRIPT_YAML)).required_keys())):
        write(wavs / f"{key}.wav", token_wav(i))
    return wavs


def max_step(x: np.ndarray) -> float:
    return float(np.max(np.abs(np.diff(x))))


def test_mandarin_sentence_is_spliced_without_discontinuities(zh_wavs: Path, tmp_path: Path) -> None:
    profile = VoiceProfile.load(enroll("wang-fang", zh_wavs, tmp_path / "voices"))
    assert profile.script.language == "zh"
    keys = profile.plan("您的预约在星期二下午三点。")
    assert keys == spaced("您的预约在 星期 二 下午 三 点")
    pieces = [profile.pieces(RATE)[k] for k in keys]
    inner = max(max_step(p) for p in pieces)
    assert max_step(np.concatenate(pieces)) > 1.5 * inner  # a hard cut would click: the check can fail
    out = int16_to_float(profile.render(keys, RATE))
    assert max_step(out) <= inner + 2 / 32768
    gap = 320  # 40 ms of silence less the two 8 ms crossfades into and out of it, at 8 kHz
    assert len(out) == sum(len(p) for p in pieces) + gap * (len(pieces) - 1)
    start = 0
    for piece in pieces:  # each piece whole and in order, apart from its crossfaded edges
        np.testing.assert_allclose(out[start + 64 : start + len(piece) - 64], piece[64:-64], atol=2 / 32768)
        start += len(piece) + gap


def test_mandarin_profile_speaks_recorded_lines_as_frames(zh_wavs: Path, tmp_path: Path) -> None:
    engine = VoiceProfileEngine(VoiceProfile.load(enroll("wang-fang", zh_wavs, tmp_path / "voices")))
    assert engine.select("请稍等！") == ("recording", ["请稍等"])

    async def frames() -> tuple[list[bytes], str]:
        stream = engine.stream("您的预约在明天（周三）下午3点05分。", 16000)
        return [f.pcm async for f in stream], stream.info.source

    pcm, source = asyncio.run(frames())
    assert source == "recording" and {len(p) for p in pcm} == {640}


def test_enrollment_names_a_missing_mandarin_token(zh_wavs: Path, tmp_path: Path) -> None:
    (zh_wavs / "半.wav").unlink()
    (zh_wavs / "星期.wav").unlink()
    (zh_wavs / "请稍等.wav").rename(zh_wavs / "请稍等。.wav")
    with pytest.raises(EnrollmentError) as caught:
        enroll("wang-fang", zh_wavs, tmp_path / "voices")
    text = str(caught.value)
    assert "半.wav: missing: needed for time vocabulary" in text
    assert "星期.wav: missing: needed for day vocabulary" in text
    assert "请稍等.wav: missing: needed for line 'hold'" in text
    assert "请稍等。.wav: expected a name like '请稍等.wav'" in text
    assert not (tmp_path / "voices" / "wang-fang").exists()


def test_voice_report_fills_mandarin_slots_with_mandarin_examples() -> None:
    from tts.match import example_text
    from tts.voice_profile import ScriptLine

    line = ScriptLine("appointment", "您的预约在{day}{time}。")
    assert example_text(line, (), "zh") == "您的预约在星期二下午3点。"
    assert example_text(ScriptLine("a", "On {day}."), ()) == "On Tuesday."
