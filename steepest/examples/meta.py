"""Meta-learning on sine waves (Finn, Abbeel & Levine, 2017, §5.1) and on digits.

::

    from steepest.examples import meta
    path = meta.run("out")              # out/meta.html, out/meta_adapted_curves.png
    meta.run("out", quick=True)         # seconds: the same protocol, a few iterations

The sine protocol: each task is :math:`y = A \\sin(x - \\varphi)` with
:math:`A \\sim U[0.1, 5]`, :math:`\\varphi \\sim U[0, \\pi]`, :math:`x \\sim U[-5, 5]`;
the learner sees K = 10 points of a new task. MAML (exact second order),
first-order MAML and Reptile meta-train Finn's 1-40-40-1 ReLU network; the
baseline is the same network pretrained on all tasks jointly (it can only learn
their mean, about zero) and then fine-tuned like the others. Every model is
adapted to held-out tasks with 0, 1, 5 and 10 SGD steps of rate 0.01 on the 10
points and scored by the mean squared error on 100 query points of the task. The
report has the table, the adapted curves on a few tasks (as Finn et al.'s
figure 2), the meta-training curves with their diagnosis, and 3-way 1-shot
classification of scikit-learn's digits (meta-trained on digits 0-6, tested on
7-9).

Both figures are drawn by :mod:`steepest.plot` (``plot_function_fits``,
``plot_training_curves``).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from steepest.errors import ParameterError
from steepest.plot import plot_function_fits

__all__ = ["run"]


@dataclass(frozen=True)
class _Settings:
    iterations: int              # meta-iterations of MAML and first-order MAML (Finn: 70,000)
    reptile_iterations: int
    pretrain_tasks: int          # tasks pooled for the pretrained baseline
    pretrain_epochs: int
    test_tasks: int
    validation_tasks: int        # held-out tasks that choose the baseline's fine-tuning rate
    digit_iterations: int
    digit_test_tasks: int


_FULL = _Settings(iterations=70_000, reptile_iterations=70_000, pretrain_tasks=20_000,
                  pretrain_epochs=20, test_tasks=600, validation_tasks=100, digit_iterations=3_000,
                  digit_test_tasks=600)
_QUICK = _Settings(iterations=60, reptile_iterations=60, pretrain_tasks=200, pretrain_epochs=2,
                   test_tasks=20, validation_tasks=10, digit_iterations=10, digit_test_tasks=10)

K_SHOT = 10
INNER_LR = 0.01
ADAPTATION_STEPS = (0, 1, 5, 10)
BASELINE_RATES = (0.02, 0.01, 0.005, 0.002, 0.001)
"""The fine-tuning rates tried for the pretrained baseline (its best on validation tasks is
used: the baseline gets its best shot; the meta-learned models adapt at INNER_LR)."""
QUERY_POINTS = 100
SEED = 0
# Okabe & Ito's colours, as steepest.plot's figures use them.
_COLOURS = {"MAML": "#0072B2", "first-order MAML": "#56B4E9", "Reptile": "#009E73",
            "pretrained": "#D55E00"}


def run(out_dir: str | os.PathLike, *, quick: bool = False, overwrite: bool = False) -> Path:
    """Run the whole protocol and write ``out_dir/meta.html``; return its path.

    Parameters
    ----------
    out_dir : str or path-like
        Created when missing; the report and ``meta_adapted_curves.png`` go there.
    quick : bool, default=False
        A few meta-iterations and tasks (seconds, for tests); the full run uses
        Finn et al.'s 70,000 meta-iterations (minutes: see BENCHMARKS.md).
    overwrite : bool, default=False
        Replace a report already in ``out_dir``; otherwise that is an error.

    Returns
    -------
    Path
        The report.
    """
    from steepest.report import Report

    out = Path(out_dir)
    path = out / "meta.html"
    if path.exists() and not overwrite:
        raise ParameterError(
            f"'{path}' already exists; pass overwrite=True to replace it, or another out_dir."
        )
    settings = _QUICK if quick else _FULL
    models, timings, histories = _meta_train(settings)
    rates = {name: INNER_LR for name in models}
    rates["pretrained"] = _best_rate(models["pretrained"], _held_out_tasks(
        settings.validation_tasks, seed=40_000 + SEED))
    held_out = _held_out_tasks(settings.test_tasks)
    errors = {name: _adaptation_errors(model, held_out, rates[name])
              for name, model in models.items()}
    digits = _few_shot_digits(settings)

    report = Report("Meta-learning: MAML, first-order MAML and Reptile",
                    subtitle=f"Finn et al.'s sine waves, K = {K_SHOT}"
                    + (" (quick run: a few iterations, not the paper's numbers)" if quick else ""))
    _write_sine_section(report, settings, errors, timings, rates)
    figure = _adapted_curves_figure(models, rates)
    out.mkdir(parents=True, exist_ok=True)
    from steepest.io import atomic_write_bytes

    atomic_write_bytes(out / "meta_adapted_curves.png", _png(figure))
    report.add_figure(figure, caption="Adapted curves on three held-out tasks: the true sine "
                      f"(black), the {K_SHOT} points seen, and each model after 0, 1 and 10 "
                      "SGD steps (as Finn et al., figure 2).", format="png")
    _write_training_section(report, histories)
    _write_digits_section(report, digits)
    return report.write(path)


# -- meta-training ------------------------------------------------------------------------------

def _network_estimator():
    from steepest import MLPRegressor

    return MLPRegressor((40, 40), activation="relu", random_state=SEED)


def _meta_train(settings: _Settings):
    from steepest import MLPRegressor
    from steepest.meta import MAML, Reptile, sine_tasks

    tasks = sine_tasks(K_SHOT)
    learners = {
        "MAML": (MAML(_network_estimator(), inner_lr=INNER_LR, inner_steps=1,
                      meta_optimizer="adam", meta_lr=1e-3, meta_batch_size=25,
                      random_state=SEED), settings.iterations),
        "first-order MAML": (MAML(_network_estimator(), inner_lr=INNER_LR, inner_steps=1,
                                  first_order=True, meta_lr=1e-3, meta_batch_size=25,
                                  random_state=SEED), settings.iterations),
        "Reptile": (Reptile(_network_estimator(), inner_lr=INNER_LR, inner_steps=5,
                            meta_lr=0.1, meta_batch_size=1, random_state=SEED),
                    settings.reptile_iterations),
    }
    models, timings, histories = {}, {}, {}
    for name, (learner, iterations) in learners.items():
        start = time.perf_counter()
        learner.fit(tasks, iterations)
        timings[name] = time.perf_counter() - start
        models[name], histories[name] = learner.estimator_, learner.history_
    # The baseline: one network regressing every task's points at once, then fine-tuned.
    rng = np.random.default_rng(SEED + 1)
    pool = [tasks(rng) for _ in range(settings.pretrain_tasks)]
    X = np.concatenate([task[0] for task in pool])
    y = np.concatenate([task[1] for task in pool])
    start = time.perf_counter()
    models["pretrained"] = MLPRegressor((40, 40), random_state=SEED, batch_size=250, alpha=0.0,
                                        epochs=settings.pretrain_epochs, tol=None).fit(X, y)
    timings["pretrained"] = time.perf_counter() - start
    return models, timings, histories


def _held_out_tasks(count: int, seed: int = 10_000 + SEED):
    """``count`` tasks none of the learners drew: K support and 100 query points each."""
    from steepest.meta import sine_tasks

    sampler = sine_tasks(K_SHOT, k_query=QUERY_POINTS)
    rng = np.random.default_rng(seed)
    return [sampler(rng) for _ in range(count)]


def _query_error(model, task, steps: int, lr: float) -> float:
    """The query MSE after ``steps`` SGD steps on the support set (inf when they diverge)."""
    from steepest.errors import NonFiniteError
    from steepest.meta import adapt

    X_support, y_support, X_query, y_query = task
    try:
        adapted = adapt(model, X_support, y_support, steps, lr)
    except NonFiniteError:
        return float("inf")
    with np.errstate(over="ignore", invalid="ignore"):
        error = float(np.mean((adapted.predict(X_query) - y_query) ** 2))
    return error if np.isfinite(error) else float("inf")


def _adaptation_errors(model, tasks, lr: float) -> dict[int, tuple[float, float]]:
    """Steps → (mean query MSE over the tasks, its standard error)."""
    errors = {steps: [_query_error(model, task, steps, lr) for task in tasks]
              for steps in ADAPTATION_STEPS}
    return {steps: (float(np.mean(v)), float(np.std(v) / np.sqrt(len(v))))
            for steps, v in errors.items()}


def _best_rate(model, tasks) -> float:
    """The rate of BASELINE_RATES with the least mean query MSE after 10 steps on ``tasks``."""
    scores = {lr: np.mean([_query_error(model, task, 10, lr) for task in tasks])
              for lr in BASELINE_RATES}
    return min(scores, key=scores.get)


# -- few-shot digits ----------------------------------------------------------------------------

DIGIT_STEPS = (1, 10)
"""Adaptation steps of the digit tasks: MAML's one inner step of meta-training, and ten."""


def _few_shot_digits(settings: _Settings) -> dict:
    """3-way 1-shot accuracy on digits 7-9 after meta-training on digits 0-6, and from scratch."""
    from sklearn.datasets import load_digits

    from steepest import MLPClassifier
    from steepest.meta import MAML, adapt, class_tasks

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    train = class_tasks(X, y, n_way=3, k_shot=1, k_query=15, classes=range(7))
    test = class_tasks(X, y, n_way=3, k_shot=1, k_query=15, classes=range(7, 10))
    maml = MAML(MLPClassifier((64,), random_state=SEED), inner_lr=0.5, inner_steps=1,
                meta_lr=1e-3, meta_batch_size=10, random_state=SEED)
    start = time.perf_counter()
    maml.fit(train, settings.digit_iterations)
    seconds = time.perf_counter() - start
    untrained = MAML(MLPClassifier((64,), random_state=SEED), random_state=SEED).fit(train, 0)
    models = {"MAML": maml.estimator_, "same network from scratch": untrained.estimator_}
    rng = np.random.default_rng(20_000 + SEED)
    scores = {(name, steps): [] for name in models for steps in DIGIT_STEPS}
    for _ in range(settings.digit_test_tasks):
        X_support, y_support, X_query, y_query = test(rng)
        for (name, steps), values in scores.items():
            adapted = adapt(models[name], X_support, y_support, steps, 0.5)
            values.append(float(np.mean(adapted.predict(X_query) == y_query)))
    return {"accuracy": {key: float(np.mean(v)) for key, v in scores.items()},
            "iterations": settings.digit_iterations, "seconds": seconds,
            "tasks": settings.digit_test_tasks}


# -- the report ---------------------------------------------------------------------------------

def _write_sine_section(report, settings, errors, timings, rates) -> None:
    report.add_heading("Sine waves: query error after adaptation")
    report.add_paragraph(
        f"Each model is adapted to {settings.test_tasks} held-out tasks with SGD on the task's "
        f"{K_SHOT} points (rate {INNER_LR} for the meta-trained models; for the pretrained "
        f"baseline the best of {', '.join(map(str, BASELINE_RATES))} on "
        f"{settings.validation_tasks} other tasks, here {rates['pretrained']}) and scored by "
        f"the mean squared error on {QUERY_POINTS} query points (mean over tasks, ± its "
        "standard error). MAML and "
        f"first-order MAML meta-trained for {settings.iterations:,} iterations of 25 tasks "
        f"(one inner step, Adam at 1e-3), Reptile for {settings.reptile_iterations:,} "
        "iterations of one task (5 inner steps, meta-rate 0.1); the baseline was pretrained on "
        f"the points of {settings.pretrain_tasks:,} tasks at once.")
    rows = []
    for name, by_steps in errors.items():
        rows.append([name, *(f"{by_steps[s][0]:.3f} ± {by_steps[s][1]:.3f}"
                             for s in ADAPTATION_STEPS), timings[name]])
    report.add_table(rows, ["model", *(f"{s} steps" for s in ADAPTATION_STEPS), "training (s)"],
                     caption="Query MSE on held-out tasks after 0, 1, 5 and 10 adaptation steps",
                     formats={"training (s)": ".1f"})
    ratio = errors["MAML"][10][0] / errors["pretrained"][10][0]
    report.add_paragraph(
        f"After 10 steps MAML's query error is {ratio:.2f}× the pretrained baseline's "
        f"(target: at most 0.5×).")


def _write_training_section(report, histories) -> None:
    from steepest import plot
    from steepest.diagnose import diagnose

    report.add_heading("Meta-training curves and their diagnosis")
    blocks = {name: _block_means(history) for name, history in histories.items()}
    styles = {name: {"color": _COLOURS[name], "marker": "o", "linestyle": "-"}
              for name in blocks}
    report.add_figure(plot.plot_training_curves(blocks, styles=styles,
                                                title="Mean query loss after adaptation"),
                      caption="Each point is the mean over 1% of the meta-iterations (the "
                      "per-iteration loss is of new random tasks, so it is noisy by design).")
    for name, block in blocks.items():
        if len(block["loss"]) < 2:
            continue
        for finding in diagnose(block):
            report.add_note(f"{name}: {finding.title}",
                            {"seen": finding.evidence, "do": finding.advice},
                            kind=finding.severity)


def _block_means(history, blocks: int = 100) -> dict[str, list[float]]:
    """Per-iteration series averaged over ``blocks`` equal stretches (time: the last value)."""
    n = len(history["loss"])
    edges = np.linspace(0, n, min(blocks, n) + 1).astype(int)
    means = {key: [float(np.mean(history[key][a:b])) for a, b in
                   zip(edges[:-1], edges[1:], strict=True)]
             for key in ("loss", "grad_norm", "lr")}
    means["time"] = [float(history["time"][b - 1]) for b in edges[1:]]
    return means


def _write_digits_section(report, digits) -> None:
    report.add_heading("Few-shot classification: 3-way 1-shot digits")
    report.add_paragraph(
        f"MAML (one inner step of rate 0.5) meta-trained a 64-64-3 network for "
        f"{digits['iterations']:,} iterations of 10 tasks, 3-way 1-shot, over scikit-learn's "
        "digits 0-6; each test task draws one image of each of digits 7-9 (labels shuffled), "
        "adapts with SGD of rate 0.5 on those three and classifies 15 more images of each. "
        f"Mean over {digits['tasks']} test tasks; chance is 33%. The baseline is the same "
        "network from its random start, adapted the same way.")
    accuracy = digits["accuracy"]
    names = sorted({name for name, _ in accuracy}, key=lambda n: n != "MAML")
    report.add_table([[name, *(accuracy[name, steps] for steps in DIGIT_STEPS)]
                      for name in names],
                     ["model", *(f"after {steps} step{'s' if steps > 1 else ''}"
                                 for steps in DIGIT_STEPS)],
                     formats={f"after {steps} step{'s' if steps > 1 else ''}": ".1%"
                              for steps in DIGIT_STEPS})


def _adapted_curves_figure(models, rates):
    """Finn et al.'s figure 2: the true sine, the K points, and the curves after 0, 1 and
    10 adaptation steps, for MAML and the pretrained network on the same three tasks."""
    from steepest.meta import adapt, sine_tasks

    sampler = sine_tasks(K_SHOT)
    rng = np.random.default_rng(30_000 + SEED)
    shown = ("MAML", "pretrained")
    x = np.linspace(-5, 5, 300)
    rows: list[list[dict]] = [[] for _ in shown]
    for _ in range(3):
        amplitude, phase = sampler.draw(rng)
        X_support, y_support, _, _ = sampler.task(rng, amplitude, phase)
        for row, name in enumerate(shown):
            curves = [(f"after {steps} step{'s' if steps != 1 else ''}", linestyle,
                       adapt(models[name], X_support, y_support, steps,
                             rates[name]).predict(x[:, None]))
                      for steps, linestyle in ((0, ":"), (1, "--"), (10, "-"))]
            rows[row].append({"title": f"{name}: A = {amplitude:.2f}, φ = {phase:.2f}",
                              "x": x, "truth": sampler.curve(x, amplitude, phase),
                              "points": (X_support[:, 0], y_support),
                              "points_label": f"{K_SHOT} points used",
                              "colour": _COLOURS[name], "curves": curves})
    return plot_function_fits(rows, f"{K_SHOT}-shot sine regression: adapted curves")


def _png(figure) -> bytes:
    import io

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()
