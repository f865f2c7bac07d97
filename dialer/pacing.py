"""How many new calls the dialer may start now, so that handoffs to agents wait little and rarely abandon.

The robot answers every answered call, so an answered call is never dropped for want of an agent; the only risk
is the handoff queue. The `Pacer` keeps the expected rate of handoff requests within what the logged-in agents
can serve:

1. Erlang C (M/M/c) for the agents serving handoffs: the largest handoff arrival rate λ whose predicted abandon
   share stays within `target_abandon_share`. A handoff is abandoned when its wait exceeds the customer's
   patience (exponential, mean `mean_patience_s`) or the robot's give-up time `target_wait_s`. With infinitely
   patient customers this is the textbook service-level tail P(wait > target_wait_s).
2. λ → dial rate (÷ answer rate ÷ handoff share per answered call) → the number of calls the dialer should keep
   in its pipeline, ringing or with the robot before any handoff (Little's law: rate * time per dial).
3. Dials are spread at that rate (a token bucket) and never fill the pipeline beyond its target.
4. Feedback: no new call while a handoff waits (every agent is busy); a campaign-to-date abandon rate above the
   target makes Erlang C aim lower, at `min_feedback_factor` x the target share at the 3 % limit.
5. Caps: the campaign's `max_concurrent_calls` and a calls-per-second token bucket.

Inputs are estimated from observations (`on_*` methods): a running mean that starts from a prior worth
`prior_weight` observations and turns into an exponentially weighted mean (weight `min_alpha`) once data
outweighs it. Times are seconds on one monotonic clock (`now_s`); everything here is pure and synchronous.
The model, its assumptions and measured results: docs/pacing.md.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

from dialer.handoff import AgentRoster, HandoffQueue

__all__ = [
    "DialerLoad",
    "Estimate",
    "Pacer",
    "PacerConfig",
    "PacingDecision",
    "Priors",
    "TokenBucket",
    "abandon_share",
    "erlang_b",
    "erlang_c",
    "max_handoff_rate_per_s",
    "wait_tail",
]

_BISECTION_STEPS = 60


# -- queueing formulas --


def erlang_b(servers: int, load_erlangs: float) -> float:
    """Blocking probability of M/M/c/c (Erlang B), by the stable recurrence B(k) = A·B(k-1) / (k + A·B(k-1))."""
    if servers < 0 or load_erlangs < 0:
        raise ValueError(f"expected servers >= 0 and load >= 0, got {servers}, {load_erlangs}")
    b = 1.0
    for k in range(1, servers + 1):
        b = load_erlangs * b / (k + load_erlangs * b)
    return b


def erlang_c(servers: int, load_erlangs: float) -> float:
    """P(an arrival waits) in M/M/c (Erlang C); 1.0 when the load reaches the number of servers."""
    if servers <= 0 or load_erlangs >= servers:
        return 1.0
    if load_erlangs <= 0:
        return 0.0
    b = erlang_b(servers, load_erlangs)
    return servers * b / (servers - load_erlangs * (1.0 - b))


def wait_tail(servers: int, arrival_rate_per_s: float, service_s: float, wait_s: float) -> float:
    """P(wait > wait_s) in M/M/c: C · exp(-(c/service_s - λ) · wait_s)."""
    return abandon_share(servers, arrival_rate_per_s, service_s, give_up_s=wait_s, mean_patience_s=None)


def abandon_share(
    servers: int, arrival_rate_per_s: float, service_s: float, give_up_s: float, mean_patience_s: float | None
) -> float:
    """Share of handoffs abandoned in M/M/c when a caller leaves after min(patience, give_up_s).

    Waits are those of Erlang C (callers who leave do not shorten the queue, so this over-estimates: safe).
    A caller with patience X abandons iff W > min(X, give_up_s); with W | W > 0 ~ Exp(r), r = c/service_s - λ,
    and X ~ Exp(a), a = 1/mean_patience_s (0: infinitely patient), s = r + a:
    P = C · (a/s + (r/s) · exp(-s · give_up_s)).
    """
    load = arrival_rate_per_s * service_s
    if servers <= 0 or load >= servers:
        return 1.0
    r = servers / service_s - arrival_rate_per_s
    a = 0.0 if mean_patience_s is None else 1.0 / mean_patience_s
    s = r + a
    return erlang_c(servers, load) * (a / s + (r / s) * math.exp(-s * give_up_s))


@functools.lru_cache(maxsize=1024)  # pure; the pacer asks again with the same agents and service time
def max_handoff_rate_per_s(
    servers: int, service_s: float, give_up_s: float, mean_patience_s: float | None, target_share: float
) -> float:
    """The largest handoff arrival rate (per second) whose `abandon_share` is at most `target_share`."""
    if servers <= 0:
        return 0.0
    lo, hi = 0.0, servers / service_s  # share(lo) = 0, share(hi) = 1
    for _ in range(_BISECTION_STEPS):
        mid = (lo + hi) / 2
        if abandon_share(servers, mid, service_s, give_up_s, mean_patience_s) <= target_share:
            lo = mid
        else:
            hi = mid
    return lo


# -- estimation and caps --


class Estimate:
    """A mean that starts at `prior` (worth `prior_weight` observations) and becomes an EWMA (`min_alpha`)."""

    def __init__(self, prior: float, prior_weight: float = 20.0, min_alpha: float = 0.02) -> None:
        if prior_weight < 0 or not 0 < min_alpha <= 1:
            raise ValueError(f"expected prior_weight >= 0 and 0 < min_alpha <= 1, got {prior_weight}, {min_alpha}")
        self.value = prior
        self.count = 0
        self._prior_weight = prior_weight
        self._min_alpha = min_alpha

    def observe(self, x: float) -> None:
        self.count += 1
        alpha = max(1.0 / (self._prior_weight + self.count), self._min_alpha)
        self.value += alpha * (x - self.value)


class TokenBucket:
    """A rate cap: `rate_per_s` tokens a second, at most `burst` saved up; starts full."""

    def __init__(self, rate_per_s: float, burst: float, now_s: float) -> None:
        self._check(rate_per_s, burst)
        self.rate_per_s = rate_per_s
        self.burst = burst
        self._tokens = burst
        self._at_s = now_s

    def available(self, now_s: float) -> int:
        """Whole tokens that could be taken now."""
        self._refill(now_s)
        return int(self._tokens + 1e-9)

    def take(self, n: int, now_s: float) -> int:
        """Take up to `n` tokens; returns how many were taken."""
        granted = min(n, self.available(now_s))
        self._tokens -= granted
        return granted

    def set_rate(self, rate_per_s: float, burst: float, now_s: float) -> None:
        """Change the rate from `now_s` on (tokens saved so far are kept, up to the new burst)."""
        self._check(rate_per_s, burst)
        self._refill(now_s)
        self.rate_per_s, self.burst = rate_per_s, burst
        self._tokens = min(self._tokens, burst)

    def _refill(self, now_s: float) -> None:
        if now_s < self._at_s:
            raise ValueError(f"expected now_s >= {self._at_s}, got {now_s}")
        self._tokens = min(self.burst, self._tokens + (now_s - self._at_s) * self.rate_per_s)
        self._at_s = now_s

    @staticmethod
    def _check(rate_per_s: float, burst: float) -> None:
        if rate_per_s < 0 or burst < 1:
            raise ValueError(f"expected rate_per_s >= 0 and burst >= 1, got {rate_per_s}, {burst}")


# -- the pacer --


@dataclass(frozen=True, slots=True)
class Priors:
    """What the pacer assumes before it has observed enough calls of the campaign."""

    answer_rate: float = 0.3  # answered / dialed
    ring_s: float = 20.0  # dial to answer or failure, over all dials
    robot_s_to_handoff: float = 60.0  # answer to handoff request, calls that ask for a person
    robot_s_no_handoff: float = 90.0  # answer to hang-up, calls that never ask
    handoff_share: float = 0.1  # handoff requests / answered calls
    agent_talk_s: float = 180.0  # agent takeover to hang-up
    agent_wrap_up_s: float = 30.0  # after-call work


@dataclass(frozen=True, slots=True)
class PacerConfig:
    """`target_wait_s`: the longest a handoff waits (the robot then gives up and books a callback).

    `handoffs_enabled=False`: a robot-only campaign (handoff requests become callbacks), paced by the caps only.
    """

    max_concurrent_calls: int
    calls_per_second: float
    target_wait_s: float = 20.0
    mean_patience_s: float | None = 60.0
    target_abandon_share: float = 0.02
    abandon_limit_share: float = 0.03
    min_feedback_factor: float = 0.25
    abandon_prior_weight: float = 50.0  # pseudo-handoffs at the target rate that smooth the observed abandon rate
    handoffs_enabled: bool = True
    priors: Priors = field(default_factory=Priors)
    prior_weight: float = 20.0
    min_alpha: float = 0.02
    cps_burst: float | None = None  # default: one second's worth, at least 1
    pace_burst_s: float = 10.0  # dials the model's rate may save up (catch-up after a pause), in seconds of it

    def __post_init__(self) -> None:
        if self.max_concurrent_calls < 1 or self.calls_per_second <= 0 or self.target_wait_s <= 0:
            raise ValueError("expected max_concurrent_calls >= 1, calls_per_second > 0, target_wait_s > 0")
        if not 0 < self.target_abandon_share < self.abandon_limit_share < 1:
            raise ValueError("expected 0 < target_abandon_share < abandon_limit_share < 1")


@dataclass(frozen=True, slots=True)
class DialerLoad:
    """A snapshot of the campaign at the moment of a pacing decision.

    `calls_ringing` + `calls_with_robot` (answered, no handoff requested yet) form the pipeline the pacer steers;
    `calls_in_progress` counts every call holding a line (also waiting for or talking to an agent).
    `handoffs_abandoned` counts abandoned and rejected handoffs, campaign to date.
    """

    calls_ringing: int
    calls_with_robot: int
    calls_in_progress: int
    agents_logged_in: int
    handoffs_waiting: int
    handoffs_resolved: int = 0
    handoffs_abandoned: int = 0

    @classmethod
    def of(
        cls, roster: AgentRoster, queue: HandoffQueue, calls_ringing: int, calls_with_robot: int, calls_in_progress: int
    ) -> DialerLoad:
        return cls(
            calls_ringing=calls_ringing,
            calls_with_robot=calls_with_robot,
            calls_in_progress=calls_in_progress,
            agents_logged_in=roster.logged_in,
            handoffs_waiting=len(queue),
            handoffs_resolved=queue.stats.resolved,
            handoffs_abandoned=queue.stats.abandoned + queue.stats.rejected,
        )


@dataclass(frozen=True, slots=True)
class PacingDecision:
    """`allowed`: new calls the dialer may start now. `reason`: what bound it (see `Pacer.decide`)."""

    allowed: int
    reason: str
    target_pipeline: float  # calls ringing or with the robot the model aims for (inf: not bound by handoffs)
    dial_rate_per_s: float  # the model's dial rate (inf: not bound by handoffs)
    target_abandon_share: float  # the share Erlang C aimed at, after feedback


class Pacer:
    """Decides how many new calls may start now; fed observations of the campaign's calls.

    The dialer calls `allowed_new_calls` (or `decide`) whenever something changes and at least every second,
    starts at most that many calls, and reports each with `on_dial`. Dials are spread at the model's dial rate
    (a token bucket whose rate follows the model), never beyond the model's pipeline: a burst of dials would
    bring a burst of handoffs one robot conversation later.
    """

    def __init__(self, config: PacerConfig, now_s: float) -> None:
        self.config = config
        p, w, a = config.priors, config.prior_weight, config.min_alpha
        self.answer_rate = Estimate(p.answer_rate, w, a)
        self.ring_s = Estimate(p.ring_s, w, a)
        self.robot_s_to_handoff = Estimate(p.robot_s_to_handoff, w, a)
        self.robot_s_no_handoff = Estimate(p.robot_s_no_handoff, w, a)
        self.handoff_share = Estimate(p.handoff_share, w, a)
        self.agent_service_s = Estimate(p.agent_talk_s + p.agent_wrap_up_s, w, a)
        burst = config.cps_burst if config.cps_burst is not None else max(1.0, config.calls_per_second)
        self.cps_bucket = TokenBucket(config.calls_per_second, burst, now_s)
        self.pace_bucket = TokenBucket(0.0, 1.0, now_s)  # its rate follows the model in `decide`

    # -- observations --

    def on_dial(self, now_s: float) -> None:
        """A call was started; takes a calls-per-second token (the decision said one was there)."""
        if self.cps_bucket.take(1, now_s) != 1:
            raise ValueError("expected a calls-per-second token, got none: dial only what decide() allows")
        self.pace_bucket.take(1, now_s)

    def on_ring_end(self, ring_s: float, answered: bool) -> None:
        self.ring_s.observe(ring_s)
        self.answer_rate.observe(1.0 if answered else 0.0)

    def on_handoff_request(self, robot_s: float) -> None:
        """An answered call asked for a person `robot_s` after it was answered."""
        self.robot_s_to_handoff.observe(robot_s)
        self.handoff_share.observe(1.0)

    def on_robot_end(self, robot_s: float) -> None:
        """An answered call ended with the robot, never having asked for a person (report each call once)."""
        self.robot_s_no_handoff.observe(robot_s)
        self.handoff_share.observe(0.0)

    def on_agent_call_end(self, talk_s: float, wrap_up_s: float) -> None:
        self.agent_service_s.observe(talk_s + wrap_up_s)

    # -- decisions --

    def allowed_new_calls(self, now_s: float, load: DialerLoad) -> int:
        return self.decide(now_s, load).allowed

    def decide(self, now_s: float, load: DialerLoad) -> PacingDecision:
        """Reasons, in order: `handoffs_waiting` or `no_agents` (0 calls), then the bound that is lowest of
        `pipeline` (the model's calls in progress), `dial_rate` (the model's rate), `max_concurrent`,
        `calls_per_second`. A robot-only campaign (`handoffs_enabled=False`) has only the last two."""
        caps = [
            (max(0, self.config.max_concurrent_calls - load.calls_in_progress), "max_concurrent"),
            (self.cps_bucket.available(now_s), "calls_per_second"),
        ]
        share = self.target_share(load)
        if not self.config.handoffs_enabled:
            return _lowest(caps, math.inf, math.inf, share)
        if load.handoffs_waiting > 0:
            return PacingDecision(0, "handoffs_waiting", 0.0, 0.0, share)
        if load.agents_logged_in == 0:
            return PacingDecision(0, "no_agents", 0.0, 0.0, share)
        dial_rate_per_s = self.dial_rate_per_s(load.agents_logged_in, share)
        target = dial_rate_per_s * self.pipeline_s_per_dial()  # Little's law
        if math.isfinite(dial_rate_per_s):
            burst = max(1.0, dial_rate_per_s * self.config.pace_burst_s)
            self.pace_bucket.set_rate(dial_rate_per_s, burst, now_s)
            caps.append((self.pace_bucket.available(now_s), "dial_rate"))
        # at least one call may be in flight: a target below 1 (a small team) must not stop the campaign for good;
        # the dial rate still spaces those calls out
        pipeline_room = max(target, 1.0) - (load.calls_ringing + load.calls_with_robot)
        if math.isfinite(pipeline_room):
            caps.insert(0, (max(0, math.floor(pipeline_room)), "pipeline"))
        return _lowest(caps, target, dial_rate_per_s, share)

    def dial_rate_per_s(self, agents: int, target_share: float) -> float:
        """Dials per second whose handoffs `agents` serve within `target_share` abandoned (Erlang C)."""
        c = self.config
        handoff_rate_per_s = max_handoff_rate_per_s(
            agents, self.agent_service_s.value, c.target_wait_s, c.mean_patience_s, target_share
        )
        handoffs_per_dial = self.answer_rate.value * self.handoff_share.value
        return handoff_rate_per_s / handoffs_per_dial if handoffs_per_dial > 0 else math.inf

    def target_share(self, load: DialerLoad) -> float:
        """The abandon share Erlang C aims at: the target while the campaign's abandon rate (smoothed toward the
        target by `abandon_prior_weight` pseudo-handoffs) is within it, falling linearly to
        `min_feedback_factor` x target at the limit."""
        c = self.config
        prior_n = c.abandon_prior_weight
        rate = (load.handoffs_abandoned + c.target_abandon_share * prior_n) / (load.handoffs_resolved + prior_n)
        over = max(0.0, (rate - c.target_abandon_share) / (c.abandon_limit_share - c.target_abandon_share))
        factor = max(c.min_feedback_factor, 1.0 - over * (1.0 - c.min_feedback_factor))
        return c.target_abandon_share * factor

    def pipeline_s_per_dial(self) -> float:
        """Expected seconds a dialed call spends ringing or with the robot before it ends or asks for a person."""
        h = self.handoff_share.value
        robot_s = h * self.robot_s_to_handoff.value + (1 - h) * self.robot_s_no_handoff.value
        return self.ring_s.value + self.answer_rate.value * robot_s


def _lowest(caps: list[tuple[int, str]], target: float, dial_rate_per_s: float, share: float) -> PacingDecision:
    allowed, reason = min(caps, key=lambda cap: cap[0])  # the first of equal bounds names the reason
    return PacingDecision(allowed, reason, target, dial_rate_per_s, share)
