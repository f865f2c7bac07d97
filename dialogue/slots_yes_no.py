"""`parse_yes_no`: the answer to a yes/no question, in English or Mandarin (code-switched "OK的" included).

Cue phrases are matched longest first, so "no problem", "why not", "没问题" and "不错" are yes, and "I don't think
so", "absolutely not" and "不需要" are no. Then:
  - any doubt ("maybe", "not sure", "我考虑一下", "看情况") → None: the engine should not book on it;
  - a yes and a no together → None. That includes "sure, but not now": a yes in principle that refuses now is
    no agreement to go on, and its intent (call_me_later, busy_now) tells the engine what to do;
  - otherwise the side that was said; with no cue, a bare negation ("we don't use that", "没用过") is no;
  - fillers ("ok", "嗯") count as yes only when nothing stronger was said ("嗯，不用了" is no).
Single-character Mandarin answers (是, 对, 有, 好, 行, 要) count only when they stand alone in a clause
("是的", "嗯，对", "有啊"), so "你是谁" or "我有点忙" are not a yes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from dialogue.slots_text import normalize
from dialogue.slots_time import language_code

YES, NO, UNCLEAR, WEAK, NEUTRAL = "yes", "no", "unclear", "weak", "neutral"


def _phrases(text: str) -> tuple[str, ...]:
    return tuple(text.split("|"))


_EN: dict[str, tuple[str, ...]] = {
    YES: _phrases(
        "yes|yeah|yea|yep|yup|ya|yah|yes please|sure|sure thing|of course|absolutely|definitely|"
        "certainly|indeed|correct|exactly|that's right|right|affirmative|totally|for sure|i do|we do|"
        "i am|we are|i have|we have|i did|i would|i will|i can|already have|i guess so|i think so|"
        "i suppose so|i believe so|guess so|probably|why not|no problem|no worries|not a problem|"
        "no doubt|please do|go ahead|sounds good|sounds great|that works|works for me|fine|good|great|"
        "perfect|uh huh|uh-huh|mhm|mm hmm|you bet|i'd love to|agreed|i don't mind|don't mind|not bad|"
        "not too bad|let's do it|go for it|count me in|i'm in|i'm interested|interested"
    ),
    NO: _phrases(
        "no|nope|nah|naw|not really|not at all|no thanks|no thank you|never|absolutely not|"
        "definitely not|certainly not|of course not|not interested|i don't think so|don't think so|"
        "i don't|we don't|i'm not|i am not|we're not|we are not|i haven't|i have not|we haven't|i didn't|"
        "i won't|i can't|i wouldn't|not now|not right now|not today|negative|no way|i'd rather not|"
        "rather not|not for me|not exactly|not yet|nothing|none|i'll pass|no need|not necessary|"
        "don't need|don't want|yeah no|probably not|i guess not|i think not|i suppose not|maybe not|"
        "not at this time|i'm not interested|i am not interested|we're not interested|i do not|we do not|"
        "i will not|i can not|i cannot|i would not|i did not"
    ),
    UNCLEAR: _phrases(
        "maybe|perhaps|not sure|i'm not sure|unsure|i don't know|dunno|don't know|no idea|not certain|"
        "possibly|it depends|depends|might|kind of|sort of|i'll think about it|let me think|hard to say|"
        "we'll see|never mind|pardon|say that again|can't hear|i can't hear|i'm good|i'm fine|we're good|"
        "we're fine|i'm ok|i'm okay"
    ),
    WEAK: _phrases("ok|okay|alright|all right|k"),
    NEUTRAL: _phrases("right now|no one|nobody|oh|well|good morning|good afternoon|good evening"),
}

_ZH: dict[str, tuple[str, ...]] = {
    YES: _phrases(
        "是的|是啊|是呀|是滴|对的|对啊|对呀|没错|好的|好啊|好呀|好吧|可以|行啊|行吧|没问题|没有问题|"
        "没什么问题|当然|那当然|有的|有啊|有呀|要的|需要|愿意|感兴趣|有兴趣|有需要|同意|还行|还可以|还好|"
        "挺好|不错|也行|那行|成啊|来吧|没关系|没事|应该吧|应该是|应该可以|是我|我是|我就是|有空|嗯嗯|"
        "对对"
    ),
    NO: _phrases(
        "不是|不对|不用|不需要|不要|没有|没兴趣|不感兴趣|算了|不太|不行|不可以|不好|不了|不想|不必|免了|"
        "没必要|没空|没时间|不方便|别打|拒绝|不愿意"
    ),
    UNCLEAR: _phrases(
        "不知道|不确定|不一定|不清楚|不太清楚|说不定|说不好|不好说|再说|考虑|想想|看情况|可能|也许|或许|"
        "随便|没听清|听不清|什么"
    ),
    WEAK: _phrases("嗯|哦|噢|ok"),
    NEUTRAL: _phrases(
        "对不起|不好意思|不客气|对了|是不是|好不好|要不要|有没有|对不对|行不行|可不可以|有点|有些|要不|"
        "要是|只要|主要|重要|好像|不过|就是说"
    ),
}

_EN_EDGE = r"(?<![a-z0-9']){}(?![a-z0-9'])"
# A single-character answer standing alone in its clause, with its particles: "是", "对啊", "嗯，有", "好好好".
_ZH_SINGLE = (
    r"(?<![^\s,.!?;:…~，。！？、；：嗯哦噢啊呃那])(?:[是对有好行要成](?:[的啊呀吧嘛哈呢])*)+"
    r"(?=$|[\s,.!?;:…~，。！？、；：])"
)
_NEGATION_EN = re.compile(
    r"\b(?:not|never|cannot|(?:do|does|did|wo|ca|is|are|was|were|have|has|had|would|could|should)n'?t)\b"
)
_NEGATION_ZH = re.compile("[不没别]")


def _canon(phrase: str) -> str:
    return re.sub(r"[\s,.!-]+", " ", phrase).replace("'", "").strip()


def _table(table: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {_canon(p): kind for kind, phrases in table.items() for p in phrases}


def _en_regex(phrases: Iterable[str]) -> str:
    parts = []
    for p in sorted(phrases, key=len, reverse=True):
        words = [re.escape(w).replace("'", "'?") for w in re.split(r"[\s-]+", p)]
        parts.append(r"[\s,.!-]+".join(words))
    return _EN_EDGE.format("(?:" + "|".join(parts) + ")")


_EN_KIND = _table(_EN)
_ZH_KIND = _table(_ZH)
_EN_CUES = re.compile(_en_regex(p for ps in _EN.values() for p in ps))
_ZH_CUES = re.compile(
    "|".join(re.escape(p) for p in sorted((p for ps in _ZH.values() for p in ps), key=len, reverse=True))
    + "|"
    + _ZH_SINGLE
)


def parse_yes_no(text: str, language: str) -> bool | None:
    """True for yes, False for no, None when unclear, doubtful or both (see the module docstring)."""
    lang = language_code(language)
    t = normalize(text).text
    kinds = {_EN_KIND.get(_canon(m.group(0)), NEUTRAL) for m in _EN_CUES.finditer(t)}
    negation = _NEGATION_EN.search(t) is not None
    if lang == "zh":
        kinds |= {_ZH_KIND.get(m.group(0), YES) for m in _ZH_CUES.finditer(t)}
        negation = negation or _NEGATION_ZH.search(_ZH_CUES.sub(" ", t)) is not None
    return _decide(kinds, negation)


def _decide(kinds: set[str], negation: bool) -> bool | None:
    if UNCLEAR in kinds or (YES in kinds and NO in kinds):
        return None
    if YES in kinds:
        return True
    if NO in kinds or negation:
        return False
    return True if WEAK in kinds else None
