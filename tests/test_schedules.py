"""steepest.schedules: torch's sequences, properties, errors and reprs.

The sequences in tests/data/schedules.json come from scripts/make_schedule_references.py:
torch's ``param_groups[0]["lr"]`` before the first ``scheduler.step()`` and after each
later one. Measured: bit-identical where torch computes each rate afresh (cyclic,
one-cycle, warm restarts), within 6e-15 relative where it multiplies the previous rate by
a factor (the closed forms here round differently); the tolerance leaves a margin.
"""

from __future__ import annotations

import json
import math
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from steepest import optim, schedules
from steepest.errors import ParameterError
from steepest.plateau import ReduceLROnPlateau

DATA = json.loads((Path(__file__).parent / "data" / "schedules.json").read_text())
CASES = DATA["cases"]


def build(spec):
    """The steepest schedule a stored case names (nested schedules are built first)."""
    if isinstance(spec, dict):
        kwargs = {key: build(value) for key, value in spec["kwargs"].items()}
        return getattr(schedules, spec["schedule"])(**kwargs)
    if isinstance(spec, list):
        return [build(value) for value in spec]
    return spec


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['schedule']}{c['kwargs']}")
def test_sequence_matches_torch(case):
    schedule = build(case)
    got = [schedule(t) for t in range(len(case["lr"]))]
    assert all(type(rate) is float for rate in got)
    assert got[0] == case["lr"][0]
    if case["exact"]:
        assert got == case["lr"]
    else:
        assert got == pytest.approx(case["lr"], rel=1e-12, abs=0.0)


def test_every_schedule_has_reference_cases():
    assert {case["schedule"] for case in CASES} == set(schedules.__all__)


# -- properties ----------------------------------------------------------------------

rates = st.floats(0.0, 10.0)
counts = st.integers(1, 400)
fractions = st.floats(0.0, 1.0)
decays = st.floats(1e-3, 1.0)  # gamma in (0, 1]: a decaying rate
increasing = st.lists(counts, max_size=5, unique=True).map(sorted)


@st.composite
def one_cycles(draw):
    total_steps, pct_start = draw(counts), draw(fractions)
    if pct_start * total_steps == 1:
        pct_start = 0.5 * pct_start
    return schedules.one_cycle(draw(rates), total_steps, pct_start,
                               draw(st.sampled_from(["cos", "linear"])), draw(st.floats(1, 100)),
                               draw(st.floats(1, 1e4)), draw(st.booleans()))


BASIC = {
    "constant": st.builds(schedules.constant, rates),
    "exponential": st.builds(schedules.exponential, rates, decays),
    "step": st.builds(schedules.step, rates, counts, decays),
    "multistep": st.builds(schedules.multistep, rates, increasing, decays),
    "inverse_time": st.builds(schedules.inverse_time, rates, st.floats(0.0, 10.0)),
    "polynomial": st.builds(schedules.polynomial, rates, counts, st.floats(0.0, 5.0)),
    "linear": st.builds(schedules.linear, rates, st.floats(0.0, 2.0), st.floats(0.0, 2.0),
                        counts),
    "cosine": st.builds(lambda lr, n, f: schedules.cosine(lr, n, lr * f), rates, counts,
                        fractions),
    "cosine_warm_restarts": st.builds(
        lambda lr, n, m, f: schedules.cosine_warm_restarts(lr, n, m, lr * f),
        rates, counts, st.integers(1, 3), fractions),
    "one_cycle": one_cycles(),
    "cyclic": st.builds(
        lambda base, extra, up, down, mode, gamma: schedules.cyclic(
            base, base + extra, up, down, mode, gamma),
        rates, rates, counts, st.none() | st.integers(0, 400),
        st.sampled_from(["triangular", "triangular2", "exp_range"]), decays),
}
any_basic = st.one_of(*BASIC.values())
ALL = {
    **BASIC,
    "warmup": st.builds(schedules.warmup, any_basic | rates, st.integers(0, 400), fractions),
    "join": st.lists(any_basic | rates, min_size=1, max_size=4).flatmap(
        lambda parts: st.builds(schedules.join, st.just(parts), st.lists(
            counts, min_size=len(parts) - 1, max_size=len(parts) - 1, unique=True).map(sorted))),
}
times = st.integers(0, 10**6)
property_settings = settings(max_examples=60, deadline=None)


def test_every_schedule_has_a_strategy():
    assert set(ALL) == set(schedules.__all__)


@property_settings
@pytest.mark.parametrize("name", sorted(ALL))
@given(data=st.data(), t=times)
def test_rates_are_finite_nonnegative_floats(name, data, t):
    rate = data.draw(ALL[name])(t)
    assert type(rate) is float
    assert math.isfinite(rate) and rate >= 0


@settings(max_examples=20, deadline=None)
@pytest.mark.parametrize("name", sorted(ALL))
@given(data=st.data(), start=times, count=st.integers(0, 300))
def test_rates_ahead_are_the_rates_one_by_one(name, data, start, count):
    schedule = data.draw(ALL[name])
    ahead = schedule.rates(start, count)
    assert ahead.dtype == np.float64 and ahead.shape == (count,)
    assert ahead.tolist() == [schedule(t) for t in range(start, start + count)]


@property_settings
@pytest.mark.parametrize("name", ["exponential", "step", "multistep", "inverse_time",
                                  "polynomial", "cosine"])
@given(data=st.data(), t1=times, t2=times)
def test_decaying_schedules_never_rise(name, data, t1, t2):
    schedule = data.draw(BASIC[name])
    early, late = sorted((t1, t2))
    assert schedule(early) >= schedule(late)


@property_settings
@given(lr=rates, start=st.floats(0.0, 2.0), end=st.floats(0.0, 2.0), n=counts, t1=times,
       t2=times)
def test_linear_moves_monotonically_from_start_to_end_factor(lr, start, end, n, t1, t2):
    schedule = schedules.linear(lr, start, end, n)
    early, late = sorted((t1, t2))
    assert (schedule(late) - schedule(early)) * (end - start) >= 0
    assert schedule(0) == lr * start
    assert schedule(n + t1) == pytest.approx(lr * end, rel=1e-15)


@property_settings
@given(lr=rates, n=counts, fraction=fractions, extra=times)
def test_cosine_holds_min_lr_from_total_steps_on(lr, n, fraction, extra):
    min_lr = lr * fraction
    schedule = schedules.cosine(lr, n, min_lr)
    assert schedule(0) == pytest.approx(lr, rel=1e-15)
    assert schedule(n) == schedule(n + extra) == min_lr


@property_settings
@given(lr=rates, n=counts, mult=st.integers(1, 3), fraction=fractions, cycle=st.integers(0, 8))
def test_warm_restarts_start_every_cycle_at_lr(lr, n, mult, fraction, cycle):
    schedule = schedules.cosine_warm_restarts(lr, n, mult, lr * fraction)
    start = sum(n * mult**i for i in range(cycle))
    length = n * mult**cycle
    assert schedule(start) == pytest.approx(lr, rel=1e-15)
    values = [schedule(start + u) for u in range(min(length, 50))]
    assert values == sorted(values, reverse=True)


@property_settings
@given(data=st.data(), steps=st.integers(0, 400), start_factor=fractions, t=times)
def test_warmup_ramps_up_to_the_wrapped_schedule_then_hands_over(data, steps, start_factor, t):
    inner = data.draw(any_basic)
    schedule = schedules.warmup(inner, steps, start_factor)
    assert schedule(steps + t) == inner(t)
    ramp = [schedule(u) for u in range(min(steps, 50))]
    assert ramp == sorted(ramp)
    assert all(rate <= inner(0) for rate in ramp)
    if steps:
        assert schedule(0) == inner(0) * start_factor


@property_settings
@given(data=st.data(), t=times)
def test_join_runs_each_schedule_from_its_boundary(data, t):
    parts = data.draw(st.lists(any_basic, min_size=1, max_size=4))
    boundaries = data.draw(st.lists(counts, min_size=len(parts) - 1, max_size=len(parts) - 1,
                                    unique=True).map(sorted))
    starts = (0, *boundaries)
    k = sum(b <= t for b in boundaries)
    assert schedules.join(parts, boundaries)(t) == parts[k](t - starts[k])


@property_settings
@given(base_lr=rates, extra=rates, up=counts, down=st.none() | st.integers(0, 400),
       mode=st.sampled_from(["triangular", "triangular2", "exp_range"]), gamma=decays, t=times)
def test_cyclic_stays_between_base_lr_and_max_lr(base_lr, extra, up, down, mode, gamma, t):
    max_lr = base_lr + extra
    rate = schedules.cyclic(base_lr, max_lr, up, down, mode, gamma)(t)
    assert base_lr <= rate <= max_lr * (1 + 1e-15)
    if mode == "triangular" and t % (up + (up if down is None else down)) == up:
        assert rate == pytest.approx(max_lr, rel=1e-15)


@property_settings
@given(max_lr=rates, total_steps=counts, pct_start=fractions, three_phase=st.booleans(),
       anneal_strategy=st.sampled_from(["cos", "linear"]), div_factor=st.floats(1, 100),
       extra=times)
def test_one_cycle_starts_at_max_lr_over_div_factor_and_holds_its_last_rate(
        max_lr, total_steps, pct_start, three_phase, anneal_strategy, div_factor, extra):
    if pct_start * total_steps == 1:
        pct_start /= 2
    schedule = schedules.one_cycle(max_lr, total_steps, pct_start, anneal_strategy, div_factor,
                                   three_phase=three_phase)
    if pct_start * total_steps > 1:
        assert schedule(0) == pytest.approx(max_lr / div_factor, rel=1e-15)
    assert schedule(total_steps - 1 + extra) == schedule(total_steps - 1)
    assert schedule(extra) <= max_lr * (1 + 1e-15)


def test_one_cycle_ends_at_its_final_rate_where_torch_raises():
    schedule = schedules.one_cycle(0.1, 100, anneal_strategy="linear")
    final = 0.1 / 25.0 / 1e4
    assert schedule(99) == pytest.approx(final, rel=1e-12)
    assert schedule(100) == schedule(10**9) == schedule(99)  # torch: negative, then an error


def test_numbers_stand_for_constant_schedules():
    assert schedules.warmup(0.1, 4, 0.5)(0) == 0.05
    assert schedules.warmup(0.1, 4, 0.5)(4) == 0.1
    joined = schedules.join([0.1, schedules.exponential(0.1, 0.5)], [3])
    assert [joined(t) for t in range(5)] == [0.1, 0.1, 0.1, 0.1, 0.05]


def test_numpy_arguments_give_python_floats():
    schedule = schedules.exponential(np.float32(0.5), np.float64(0.5))
    assert schedule(np.int64(2)) == 0.125 and type(schedule(np.int64(2))) is float
    assert repr(schedule) == "exponential(lr=0.5, gamma=0.5)"


def test_an_optimizer_uses_the_rate_for_its_update_count():
    schedule = schedules.warmup(schedules.cosine(0.1, 20), steps=5)
    opt = optim.SGD(lr=schedule)
    theta, grad = np.zeros(3), np.ones(3)
    for t in range(30):
        assert opt.current_lr == schedule(t)
        opt.step(theta, grad)


# -- reprs and copies ------------------------------------------------------------------

def test_repr_reads_like_the_call():
    assert repr(schedules.cosine(0.1, 100)) == "cosine(lr=0.1, total_steps=100, min_lr=0.0)"
    assert repr(schedules.warmup(0.1, 10, 0.5)) == (
        "warmup(schedule=constant(lr=0.1), steps=10, start_factor=0.5)")
    assert repr(schedules.multistep(1, [30, 80])) == (
        "multistep(lr=1.0, milestones=(30, 80), gamma=0.1)")


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['schedule']}{c['kwargs']}")
def test_repr_and_pickle_rebuild_the_same_schedule(case):
    schedule = build(case)
    evaluated = eval(repr(schedule), vars(schedules))
    unpickled = pickle.loads(pickle.dumps(schedule))
    assert repr(evaluated) == repr(unpickled) == repr(schedule)
    ts = range(0, 1000, 7)
    assert [evaluated(t) for t in ts] == [unpickled(t) for t in ts] == [schedule(t) for t in ts]


# -- errors ------------------------------------------------------------------------------

def test_a_bad_value_gets_the_uniform_sentence():
    with pytest.raises(ParameterError) as error:
        schedules.cosine(lr=-0.1, total_steps=10)
    assert str(error.value) == (
        "The 'lr' parameter of cosine must be a float in the range [0.0, inf). "
        "Got -0.1 instead.")


def test_a_cross_parameter_rule_says_why():
    with pytest.raises(ParameterError) as error:
        schedules.cyclic(base_lr=0.1, max_lr=0.01)
    assert str(error.value) == (
        "The 'base_lr' parameter of cyclic must be at most max_lr=0.01 (the rate cycles "
        "between base_lr and max_lr). Got 0.1 instead.")


def test_a_negative_update_count_is_an_error():
    schedule = schedules.cosine(0.1, 10)
    with pytest.raises(ParameterError) as error:
        schedule(-1)
    assert str(error.value) == (
        "The 't' parameter of cosine must be an int in the range [0, inf). Got -1 instead.")
    with pytest.raises(ParameterError, match="of type float"):
        schedule(1.0)


@pytest.mark.parametrize("make, words", [
    (lambda: schedules.constant(math.inf), "'lr' parameter of constant"),
    (lambda: schedules.exponential(0.1, 0.0), "'gamma' parameter of exponential"),
    (lambda: schedules.step(0.1, 0), "'step_size' parameter of step"),
    (lambda: schedules.step(0.1, 2.5), "'step_size' parameter of step must be an int"),
    (lambda: schedules.multistep(0.1, [30, 30]), "strictly increasing"),
    (lambda: schedules.multistep(0.1, 30), "'milestones' parameter of multistep"),
    (lambda: schedules.multistep(0.1, [0, 3]), "'milestones[0]' parameter"),
    (lambda: schedules.inverse_time(0.1, -1.0), "'decay' parameter"),
    (lambda: schedules.polynomial(0.1, 0), "'total_steps' parameter of polynomial"),
    (lambda: schedules.polynomial(0.1, 10, power=-1.0), "'power' parameter"),
    (lambda: schedules.linear(0.1, start_factor=-0.5), "'start_factor' parameter of linear"),
    (lambda: schedules.cosine(0.1, 10, min_lr=0.2), "anneals from lr down to min_lr"),
    (lambda: schedules.cosine(0.1, 10, min_lr=math.nan), "'min_lr' parameter of cosine"),
    (lambda: schedules.cosine_warm_restarts(0.1, 10, cycle_mult=1.5), "'cycle_mult'"),
    (lambda: schedules.cosine_warm_restarts(0.1, 0), "'first_cycle'"),
    (lambda: schedules.one_cycle(0.1, 100, pct_start=1.5), "'pct_start' parameter"),
    (lambda: schedules.one_cycle(0.1, 10, pct_start=0.1), "warm-up phase would have no length"),
    (lambda: schedules.one_cycle(0.1, 100, anneal_strategy="exp"),
     "'anneal_strategy' parameter of one_cycle must be one of 'cos', 'linear'"),
    (lambda: schedules.one_cycle(0.1, 100, div_factor=0), "'div_factor'"),
    (lambda: schedules.cyclic(0.01, 0.1, step_size_up=0), "'step_size_up'"),
    (lambda: schedules.cyclic(0.01, 0.1, mode="exp"), "'mode' parameter of cyclic"),
    (lambda: schedules.cyclic(0.01, 0.1, gamma=1.5), "'gamma' parameter of cyclic"),
    (lambda: schedules.warmup("cosine", 10), "must be a schedule (a callable t -> lr) or"),
    (lambda: schedules.warmup(0.1, -1), "'steps' parameter of warmup"),
    (lambda: schedules.warmup(0.1, 10, start_factor=2.0), "'start_factor' parameter of warmup"),
    (lambda: schedules.join([0.1, 0.01], []), "n >= 1 schedules and n - 1 boundaries"),
    (lambda: schedules.join([], []), "n >= 1 schedules and n - 1 boundaries"),
    (lambda: schedules.join([0.1, -0.01], [5]), "'schedules[1]' parameter of join"),
    (lambda: schedules.join([0.1, 0.1, 0.1], [5, 2]), "'boundaries' parameter of join"),
])
def test_bad_arguments_raise_parameter_error(make, words):
    with pytest.raises(ParameterError, match=re.escape(words)):
        make()


# -- ReduceLROnPlateau: torch's rates, with a float or a schedule --------------------------------

PLATEAU = json.loads((Path(__file__).parent / "data" / "plateau.json").read_text())["cases"]


@pytest.mark.parametrize("case", PLATEAU, ids=lambda c: repr(c["kwargs"]))
def test_reduce_on_plateau_matches_torch(case):
    opt = optim.SGD(lr=case["lr"])
    plateau = ReduceLROnPlateau(opt, **case["kwargs"])
    theta, grad = np.zeros(2), np.ones(2)
    rates = []
    for metric in case["metrics"]:
        opt.step(theta, grad)
        plateau.step(metric)
        rates.append(opt.current_lr)
    assert rates == case["rates"]
    assert len(set(rates)) > 1                       # every case reduces at least once


def test_reduce_on_plateau_lowers_a_schedule_by_the_same_factors():
    base = schedules.cosine(0.1, total_steps=100, min_lr=0.0)
    opt = optim.SGD(lr=base)
    plateau = ReduceLROnPlateau(opt, factor=0.5, patience=1, min_lr=0.01)
    theta, grad = np.zeros(1), np.ones(1)
    for metric in [1.0, 1.0, 1.0, 1.0, 1.0]:         # reductions after the 3rd and 5th
        for _ in range(4):
            opt.step(theta, grad)
        plateau.step(metric)
    assert plateau.scale == 0.25 and plateau.last_epoch == 5
    for t in (20, 50, 99, 100):
        assert opt.lr(t) == max(0.25 * base(t), min(0.01, base(t)))
    assert opt.current_lr == 0.25 * base(20)
    assert opt.lr(100) == 0.0                        # the schedule's own end is kept
    # a reduction that would not lower the next rate by more than eps is skipped
    tiny = optim.SGD(lr=schedules.constant(0.01))
    flat = ReduceLROnPlateau(tiny, patience=0, min_lr=0.01)
    flat.step(1.0), flat.step(1.0)
    assert flat.scale == 1.0 and tiny.current_lr == 0.01


def test_reduce_on_plateau_state_round_trips():
    opt = optim.Adam(lr=schedules.exponential(0.1, 0.99))
    plateau = ReduceLROnPlateau(opt, factor=0.5, patience=0)
    for metric in (1.0, 1.0, 0.5, 0.6):
        plateau.step(metric)
    state = plateau.state_dict()
    again = optim.Adam(lr=schedules.exponential(0.1, 0.99))
    restored = ReduceLROnPlateau(again, factor=0.5, patience=0)
    restored.load_state_dict(json.loads(json.dumps(state)))
    assert restored.state_dict() == state and again.lr(7) == opt.lr(7)
    plateau.step(0.7), restored.step(0.7)
    assert restored.state_dict() == plateau.state_dict() and again.lr(3) == opt.lr(3)


def test_reduce_on_plateau_refuses_bad_arguments_and_metrics():
    opt = optim.SGD(lr=0.1)
    with pytest.raises(ParameterError, match="'factor' parameter of ReduceLROnPlateau"):
        ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(ParameterError, match="'mode' parameter of ReduceLROnPlateau"):
        ReduceLROnPlateau(opt, mode="lowest")
    with pytest.raises(ParameterError, match="'threshold_mode' parameter"):
        ReduceLROnPlateau(opt, threshold_mode="relative")
    with pytest.raises(ParameterError, match="must be a steepest.optim optimizer"):
        ReduceLROnPlateau(0.1)
    with pytest.raises(ParameterError, match="needs a finite number as the metric"):
        ReduceLROnPlateau(opt).step(float("nan"))
    assert opt.lr == 0.1
