"""A compact but complete sales script in English and in Mandarin, built in code, for the dialogue engine's tests.

Both scripts have the same node ids and the same graph, so one scripted dialogue can run in either language
with `SAY[language][what]` as the customer's words. The graph follows the shipped scripts' habits: the opening
routes "no" to the busy-now objection, the budget question routes "too expensive" to its objection, the
remove-me objection leads to the do-not-call line. Intents are this module's own (a few patterns and
examples each), so the tests do not move when the shipped intent files are tuned.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from dialogue.actions import Action, EndCall, Listen, Say, ScoreUpdate
from dialogue.engine import DialogueEngine
from dialogue.events import CustomerText, Event
from dialogue.policy import CampaignPolicy
from dialogue.understand import IntentClassifier
from scripts_library.embeddings import HashedNgramEncoder
from scripts_library.schema import (
    Expect,
    FaqEntry,
    Intent,
    Node,
    NodeKind,
    Script,
    Signal,
    Variant,
)

TZ = ZoneInfo("America/New_York")
NOW = datetime(2026, 3, 10, 10, 0, tzinfo=TZ)  # a Tuesday morning, lead-local
LEAD = {"first_name": "Dana"}

# (patterns, examples) per intent
_INTENTS_EN: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "yes": (("yes|yeah|yep|sure|ok(?:ay)?|correct|go ahead",), ("yes", "yeah sure", "that's right")),
    "no": (("no|nope|nah",), ("no", "nope", "not really")),
    "interested": (("interested|tell me more|sounds (?:good|interesting)",), ("I'm interested", "tell me more")),
    "not_interested": (("not interested|no interest|not for me",), ("not interested", "it's not for me")),
    "busy_now": (("busy|in a meeting|driving|bad time",), ("I'm busy right now", "I'm driving")),
    "already_have_one": (("already (?:have|got)(?: one)?",), ("I already have one", "we're already covered")),
    "too_expensive": (("too expensive|can'?t afford|costs too much",), ("that's too expensive", "I can't afford it")),
    "who_are_you": (("who(?:'s| is) (?:this|calling)|who are you",), ("who is this", "who are you with")),
    "how_got_number": (("(?:how|where) did you get my (?:number|details)",), ("how did you get my number",)),
    "remove_me": (("take me off|remove (?:me|my number)|stop calling|do not call",), ("take me off your list",)),
    "are_you_robot": (("robot|are you (?:a )?(?:real|human)",), ("are you a robot", "is this a real person")),
    "call_me_later": (("call (?:me )?(?:back|later)",), ("call me back later", "call me tomorrow")),
    "wrong_person": (("wrong (?:number|person)|(?:he|she)'?s not here",), ("wrong number", "she's not here")),
    "want_human": (
        ("(?:speak|talk) to (?:a )?(?:real )?(?:person|human|someone)|operator",),
        ("let me talk to a person",),
    ),
    "repeat_please": (("say (?:that|it) again|pardon|what did you say",), ("sorry, say that again", "pardon")),
    "ask_price": (("how much|price|cost",), ("how much is it", "what does it cost")),
    "ask_question": (("how does it work|do you (?:offer|cover)|what happens if",), ("how does it work",)),
    "unsure": (("not sure|maybe|don'?t know|think about it",), ("maybe", "I'm not sure", "let me think about it")),
    "goodbye": (("bye|goodbye",), ("bye", "goodbye then")),
}
_INTENTS_ZH: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "yes": (("是的|对|好的|可以|行|没问题|嗯",), ("是的", "好的没问题", "可以")),
    "no": (("不是|不用|不要|没有|^不[。！]?$",), ("不是", "没有", "不用了")),
    "interested": (("感兴趣|有兴趣|说说看|介绍一下",), ("挺感兴趣的", "你介绍一下")),
    "not_interested": (("不感兴趣|没兴趣|不需要",), ("不感兴趣", "我不需要")),
    "busy_now": (("在忙|没空|开会|开车|不方便",), ("我在忙", "正在开车")),
    "already_have_one": (("已经(?:有|买|买过)了?",), ("我已经有了", "已经买过了")),
    "too_expensive": (("太贵|买不起|负担不起",), ("太贵了", "买不起")),
    "who_are_you": (("你是谁|哪位|什么公司",), ("你是谁啊", "你们是什么公司")),
    "how_got_number": (("(?:怎么|哪里|从哪)(?:来|拿|弄|搞|有)?(?:到)?的?我的?(?:电话|号码)",), ("你怎么有我的电话",)),
    "remove_me": (("别再打|不要再打|删除我的|把我(?:的号码)?(?:删|移)",), ("以后别再打了",)),
    "are_you_robot": (("机器人|你是真人吗|是不是真人|人工智能",), ("你是机器人吗", "你是不是真人")),
    "call_me_later": (
        ("晚点再?打|(?:明天|下午|晚上|下周).{0,4}(?:打|联系)|回头再?打",),
        ("晚点再打给我", "明天再打吧"),
    ),
    "wrong_person": (("打错了|不是(?:他|她|本人)|没有这个人",), ("你打错了", "我们这没有这个人")),
    "want_human": (("转人工|人工客服|找(?:个)?真人|跟人(?:说|聊)",), ("帮我转人工", "我要找真人")),
    "repeat_please": (("再说一遍|没听清|你说什么",), ("没听清，再说一遍", "你说什么")),
    "ask_price": (("多少钱|价格|费用|贵不贵",), ("多少钱", "价格怎么样")),
    "ask_question": (("怎么理赔|保什么|包括什么|能不能",), ("怎么理赔", "都保什么")),
    "unsure": (("不确定|考虑一下|再想想|不好说|看情况",), ("我考虑一下", "不确定")),
    "goodbye": (("再见|拜拜",), ("再见", "好的拜拜")),
}

# node id: (kind, expect, signal, intent, on, next, [en texts], [zh texts])
_GRAPH: list[tuple[str, NodeKind, Expect, Signal | None, str | None, dict[str, str], str | None]] = [
    ("opening", NodeKind.OPENING, Expect.YES_NO, None, None, {"yes": "discovery", "no": "obj_busy_now"}, "discovery"),
    ("discovery", NodeKind.DISCOVERY, Expect.FREE, None, None, {}, "q_need"),
    ("q_need", NodeKind.QUALIFY, Expect.YES_NO, Signal.NEED, None, {"no": "followup"}, "q_provider"),
    ("q_provider", NodeKind.QUALIFY, Expect.YES_NO, Signal.CURRENT_PROVIDER, None, {}, "q_budget"),
    (
        "q_budget",
        NodeKind.QUALIFY,
        Expect.AMOUNT,
        Signal.BUDGET,
        None,
        {"too_expensive": "obj_too_expensive"},
        "q_authority",
    ),
    ("q_authority", NodeKind.QUALIFY, Expect.YES_NO, Signal.AUTHORITY, None, {}, "q_timeline"),
    ("q_timeline", NodeKind.QUALIFY, Expect.TIME, Signal.TIMELINE, None, {}, "booking"),
    ("booking", NodeKind.BOOKING, Expect.TIME, None, None, {"no": "followup"}, "closing"),
    ("closing", NodeKind.CLOSING, Expect.NOTHING, None, None, {}, "goodbye"),
    ("followup", NodeKind.CLOSING, Expect.YES_NO, None, None, {}, "goodbye"),
    ("goodbye", NodeKind.GOODBYE, Expect.NOTHING, None, None, {}, None),
    ("obj_busy_now", NodeKind.OBJECTION, Expect.TIME, None, "busy_now", {}, None),
    ("obj_not_interested", NodeKind.OBJECTION, Expect.YES_NO, None, "not_interested", {}, None),
    ("obj_already_have_one", NodeKind.OBJECTION, Expect.NOTHING, None, "already_have_one", {}, None),
    ("obj_too_expensive", NodeKind.OBJECTION, Expect.YES_NO, None, "too_expensive", {}, None),
    ("obj_who_are_you", NodeKind.OBJECTION, Expect.NOTHING, None, "who_are_you", {}, None),
    ("obj_how_got_number", NodeKind.OBJECTION, Expect.NOTHING, None, "how_got_number", {}, None),
    ("obj_remove_me", NodeKind.OBJECTION, Expect.NOTHING, None, "remove_me", {}, "do_not_call"),
    ("disclosure", NodeKind.DISCLOSURE, Expect.NOTHING, None, None, {}, None),
    ("do_not_call", NodeKind.DO_NOT_CALL, Expect.NOTHING, None, None, {}, None),
    ("wrong_person", NodeKind.WRONG_PERSON, Expect.NOTHING, None, None, {}, None),
    ("voicemail", NodeKind.VOICEMAIL, Expect.NOTHING, None, None, {}, None),
    ("handoff", NodeKind.HANDOFF, Expect.NOTHING, None, None, {}, None),
    ("reprompt", NodeKind.REPROMPT, Expect.NOTHING, None, None, {}, None),
    ("clarify", NodeKind.CLARIFY, Expect.YES_NO, None, None, {}, None),
]
_TEXTS: dict[str, dict[str, list[str]]] = {
    "en": {
        "opening": [
            "Hi {first_name}, this is {agent_name} from {company}. {ai_disclosure} {recording_notice} "
            "Do you have two minutes?",
            "Hello {first_name}, {agent_name} calling for {company}. {ai_disclosure} {recording_notice} Is now okay?",
        ],
        "discovery": ["What made you look into {product}?", "What would you most want the cover to take care of?"],
        "q_need": ["Would your family need help with the bills if something happened?", "Does anyone rely on you?"],
        "q_provider": ["Do you have a policy with another insurer today?", "Are you covered anywhere now?"],
        "q_budget": ["Roughly how much a month could you put toward it?", "What monthly amount feels comfortable?"],
        "q_authority": ["Are you the one who makes this decision?", "Would you decide this on your own?"],
        "q_timeline": ["When would you want the cover to start?", "How soon would you like it in place?"],
        "booking": ["Can {agent_name} call you for fifteen minutes? What day and time suit you?"],
        "closing": ["Perfect, you're booked for {time}.", "Great, {time} it is."],
        "followup": ["No problem. Can I text you a short summary?"],
        "goodbye": ["Thanks for your time, {first_name}. Goodbye!", "Take care, {first_name}. Bye!"],
        "obj_busy_now": ["No problem. When would be a better time to call back?"],
        "obj_not_interested": ["I understand. Could I take just one minute to show you the numbers?"],
        "obj_already_have_one": ["Good to hear. Many people still find gaps in their cover."],
        "obj_too_expensive": ["Cover can be scaled to any budget. Shall we see what fits?"],
        "obj_who_are_you": ["I'm {agent_name}'s assistant at {company}; we help families compare cover."],
        "obj_how_got_number": ["You left this number on a quote request on our website."],
        "obj_remove_me": ["Of course, sorry for the bother."],
        "disclosure": ["Yes, I'm an automated assistant for {company}. I can bring in a person any time."],
        "do_not_call": ["Your number is now off our list. Goodbye."],
        "wrong_person": ["Sorry, I must have the wrong person. Have a good day."],
        "voicemail": ["Hi {first_name}, {company} calling about your quote. Call us on {callback_number}."],
        "handoff": ["Let me bring in a colleague, one moment please."],
        "reprompt": ["Sorry, I didn't catch that.", "Apologies, the line broke up."],
        "clarify": ["Just to check, did you say {heard}?"],
    },
    "zh": {
        "opening": [
            "{first_name}您好，我是{company}的{agent_name}。{ai_disclosure}{recording_notice}耽误您两分钟可以吗？",
            "{first_name}您好，这里是{company}。{ai_disclosure}{recording_notice}现在方便说话吗？",
        ],
        "discovery": ["您当时了解{product}，主要是担心哪方面呢？", "您最希望保障解决什么问题呢？"],
        "q_need": ["万一住院要花十几万，对家里压力大不大？", "家里是不是主要靠您的收入？"],
        "q_provider": ["您现在有买过其他商业保险吗？", "单位有给您上补充医疗吗？"],
        "q_budget": ["您每个月大概能拿出多少预算？", "一个月多少钱您觉得比较合适？"],
        "q_authority": ["这件事是您自己就能决定吗？", "买保险是您拍板吗？"],
        "q_timeline": ["您希望什么时候开始保障？", "大概多久之内想办好？"],
        "booking": ["让{agent_name}给您打个十五分钟的电话，您看什么时间方便？"],
        "closing": ["好的，给您约在{time}。", "好嘞，那就{time}。"],
        "followup": ["没关系，我把简要资料发短信给您可以吗？"],
        "goodbye": ["谢谢{first_name}，再见！", "祝您生活愉快，再见！"],
        "obj_busy_now": ["不好意思打扰了，您看什么时候方便我再打给您？"],
        "obj_not_interested": ["理解。我就占用您一分钟，给您说个数字可以吗？"],
        "obj_already_have_one": ["那挺好的，很多客户补充之后保障更全面。"],
        "obj_too_expensive": ["保障可以按预算来定制，我们看看哪个合适好吗？"],
        "obj_who_are_you": ["我是{company}{agent_name}的智能助理，帮家庭对比保障方案。"],
        "obj_how_got_number": ["您之前在我们官网留过电话，领取过免费保障。"],
        "obj_remove_me": ["好的，非常抱歉打扰您。"],
        "disclosure": ["是的，我是{company}的智能语音助理，您随时可以转人工。"],
        "do_not_call": ["已经把您的号码移出名单了，再见。"],
        "wrong_person": ["不好意思，打错了，祝您生活愉快。"],
        "voicemail": ["{first_name}您好，{company}回访您的保障咨询，请回电{callback_number}。"],
        "handoff": ["我请同事来跟您聊，请稍等。"],
        "reprompt": ["不好意思，没听清。", "抱歉，刚才信号不太好。"],
        "clarify": ["跟您确认一下，您是说{heard}吗？"],
    },
}
_REPROMPTS = {
    "en": {"q_need": ["Sorry, I missed that. Does anyone rely on your income?"], "booking": ["What day and time?"]},
    "zh": {"q_need": ["不好意思没听清，家里是不是靠您的收入？"], "booking": ["您看哪天几点方便？"]},
}
_FAQ = {
    "en": [
        (
            "cost",
            "How much does life insurance cost?",
            ["What would my premium be?", "How much is it a month?"],
            ["Many healthy non-smokers pay thirty to sixty dollars a month."],
        ),
        (
            "medical_exam",
            "Do I need a medical exam?",
            ["Will I have to see a doctor?", "Is there a health check?"],
            ["Often not: many applicants are approved on health questions alone."],
        ),
    ],
    "zh": [
        (
            "cost",
            "保费一年多少钱？",
            ["价格贵不贵", "一个月要交多少钱"],
            ["三十岁左右一年几百元起，具体看年龄和健康情况。"],
        ),
        ("claims", "生病了怎么理赔？", ["怎么报销", "理赔麻烦吗"], ["出院后把发票和病历拍照上传就可以申请理赔。"]),
    ],
}
# What the customer says, by language, for scripted dialogues.
SAY: dict[str, dict[str, str]] = {
    "en": {
        "yes": "yes",
        "no": "no",
        "need_story": "we just bought a house and have a baby on the way",
        "amount": "about 50 dollars a month",
        "soon": "next month",
        "booking_time": "tomorrow at 3 pm",
        "callback_time": "tomorrow at 3 pm",
        "call_me_later": "call me back tomorrow at 3 pm",
        "busy_now": "sorry, I'm driving",
        "not_interested": "I'm not interested",
        "already_have_one": "I already have one",
        "too_expensive": "that's too expensive",
        "who_are_you": "who is this?",
        "how_got_number": "how did you get my number?",
        "remove_me": "take me off your list",
        "wrong_person": "you've got the wrong number",
        "are_you_robot": "wait, are you a robot?",
        "want_human": "let me talk to a real person",
        "repeat_please": "sorry, say that again?",
        "ask_price": "how much is it a month?",
        "ask_question": "do you cover a medical exam, will I have to see a doctor?",
        "goodbye": "bye",
        "gibberish": "purple elephants dance quietly",
        "interested": "tell me more",
    },
    "zh": {
        "yes": "是的",
        "no": "不是",
        "need_story": "我们刚买了房，孩子也快出生了",
        "amount": "一个月五百块左右",
        "soon": "下个月",
        "booking_time": "明天下午三点",
        "callback_time": "明天下午三点",
        "call_me_later": "明天下午三点再打给我",
        "busy_now": "我在开车",
        "not_interested": "我不感兴趣",
        "already_have_one": "我已经有了",
        "too_expensive": "太贵了",
        "who_are_you": "你是谁啊？",
        "how_got_number": "你怎么有我的电话？",
        "remove_me": "以后别再打了",
        "wrong_person": "你打错了",
        "are_you_robot": "你是机器人吗？",
        "want_human": "帮我转人工",
        "repeat_please": "没听清，你再说一遍",
        "ask_price": "保费一个月要多少钱？",
        "ask_question": "生病了怎么理赔？",
        "goodbye": "再见",
        "gibberish": "紫色大象安静跳舞",
        "interested": "挺感兴趣的，你介绍一下",
    },
}
PRODUCT = {"en": "term life cover", "zh": "百万医疗险"}


def _variants(node_id: str, texts: list[str]) -> list[Variant]:
    return [Variant(f"{node_id}.v{i + 1}", t) for i, t in enumerate(texts)]


def intents(language: str) -> dict[str, Intent]:
    table = _INTENTS_EN if language == "en" else _INTENTS_ZH
    return {name: Intent(name, patterns, examples) for name, (patterns, examples) in table.items()}


def script(language: str) -> Script:
    """A fresh script (variant stats are mutable: tests may change them)."""
    texts, reprompts = _TEXTS[language], _REPROMPTS[language]
    nodes = {
        nid: Node(
            nid,
            kind,
            _variants(nid, texts[nid]),
            expect=expect,
            signal=signal,
            intent=intent,
            on=dict(on),
            next=nxt,
            reprompts=_variants(f"{nid}.r", reprompts.get(nid, [])),
        )
        for nid, kind, expect, signal, intent, on, nxt in _GRAPH
    }
    faq = [FaqEntry(fid, q, similar, _variants(f"faq.{fid}", answers)) for fid, q, similar, answers in _FAQ[language]]
    return Script(
        id=f"fixture-{language}",
        industry="insurance",
        language=language,
        title="fixture",
        company="Harbor Life" if language == "en" else "安康保险",
        product=PRODUCT[language],
        start="opening",
        nodes=nodes,
        intents=intents(language),
        faq=faq,
    )


def policy(**overrides: object) -> CampaignPolicy:
    values: dict[str, object] = {
        "agent_name": "Sam",
        "lead": dict(LEAD),
        "lead_timezone": "America/New_York",
        "handoff_score_threshold": 101,  # off unless a test turns it on
        "callback_number": "555-0100",
    }
    values.update(overrides)
    return CampaignPolicy(**values)  # type: ignore[arg-type]


def classifier(language: str, *, with_encoder: bool = True) -> IntentClassifier:
    return IntentClassifier(intents(language), language, HashedNgramEncoder() if with_encoder else None)


def engine(language: str, seed: int = 0, sc: Script | None = None, **policy_overrides: object) -> DialogueEngine:
    return DialogueEngine(sc or script(language), policy(**policy_overrides), classifier(language), NOW, seed)


def says(actions: list[Action]) -> list[Say]:
    return [a for a in actions if isinstance(a, Say)]


def said_nodes(actions: list[Action]) -> list[str]:
    return [a.node_id for a in actions if isinstance(a, Say)]


def of_type(actions: list[Action], kind: type) -> list[Action]:
    return [a for a in actions if isinstance(a, kind)]


def ended(actions: list[Action]) -> str | None:
    ends = [a for a in actions if isinstance(a, EndCall)]
    return ends[-1].outcome if ends else None


def listens(actions: list[Action]) -> bool:
    return any(isinstance(a, Listen) for a in actions)


class Call:
    """Drives one engine through a scripted call on a virtual clock (4 s per customer turn)."""

    def __init__(self, language: str, seed: int = 0, sc: Script | None = None, **policy_overrides: object) -> None:
        self.language = language
        self.engine = engine(language, seed, sc, **policy_overrides)
        self.t_s = 0.0
        self.log: list[Action] = []

    def start(self) -> list[Action]:
        return self._keep(self.engine.start(self.t_s))

    def say(self, what: str, confidence: float = 0.9) -> list[Action]:
        """`what`: a key of SAY (the customer's words in this call's language) or the words themselves."""
        self.t_s += 4.0
        return self.send(CustomerText(SAY[self.language].get(what, what), confidence, self.t_s))

    def send(self, event: Event) -> list[Action]:
        return self._keep(self.engine.handle(event))

    def _keep(self, actions: list[Action]) -> list[Action]:
        self.log.extend(actions)
        return actions

    def walk(self, *whats: str) -> list[Action]:
        """Several customer turns; the actions of the last one."""
        out: list[Action] = []
        for what in whats:
            out = self.say(what)
        return out

    def last_score(self) -> ScoreUpdate:
        return [a for a in self.log if isinstance(a, ScoreUpdate)][-1]
