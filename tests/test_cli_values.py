"""The command line's values: flags parsed and checked, settings spelled back as flags."""

from __future__ import annotations

import pytest

from steepest.cli_values import (
    ACTIVATIONS,
    check_flag,
    flag_form,
    make_schedule,
    parse_batch_size,
    parse_hidden,
    parse_list,
    parse_lr,
)
from steepest.diagnose import Finding, add_findings, format_findings, format_suggest
from steepest.errors import ParameterError
from steepest.optim import SGD
from steepest.report import Report


@pytest.mark.parametrize(("name", "value", "flag"), [
    ("lr", 0.01, "--lr 0.01"),
    ("lr", 1e-5, "--lr 1e-05"),
    ("clip_norm", 1.0, "--clip-norm 1"),
    ("alpha", 0.001, "--alpha 0.001"),
    ("dropout", 0.2, "--dropout 0.2"),
    ("momentum", 0.9, "--momentum 0.9"),
    ("weight_decay", 1e-4, "--weight-decay 0.0001"),
    ("epochs", 10, "--epochs 10"),
    ("early_stopping", True, "--early-stopping"),
    ("early_stopping", False, None),
    ("scale", True, "--scale"),
    ("scale", False, "--no-scale"),
    ("batch_norm", True, "--batch-norm"),
    ("optimizer", "Adam", "--optimizer adam"),
    ("batch_size", None, "--batch-size full"),
    ("batch_size", 32, "--batch-size 32"),
    ("hidden_layer_sizes", (64, 32), "--hidden 64,32"),
    ("activation", "tanh", "--activation tanh"),
    ("penalty", "l1", None),
    ("tol", 1e-4, None),
])
def test_flag_form_spells_each_setting_as_the_flag_that_sets_it(name, value, flag):
    assert flag_form(name, value) == flag


ADVICE = ("start with lr=0.05 or lower (lr=0.5 already diverged), scale the inputs "
          "(scale=True or StandardScaler), or clip the gradients (clip_norm=1.0); use momentum "
          "(optimizer=steepest.optim.SGD(lr=..., momentum=0.9)) or optimizer='adam'; "
          "early_stopping=True keeps the best epoch, tol=1e-4 stops sooner.")


def finding(**extra) -> Finding:
    return Finding("diverged", "problem", "The training diverged",
                   "rolled back at epoch 2 with lr=0.5", ADVICE, **extra)


def test_advice_is_spelled_as_flags_for_the_command_line_and_kept_for_python():
    text = format_findings([finding()], width=400, spell=flag_form)
    assert text == (
        "[problem] The training diverged (diverged)\n"
        "    seen: rolled back at epoch 2 with --lr 0.5\n"
        "    do:   start with --lr 0.05 or lower (--lr 0.5 already diverged), scale the inputs "
        "(--scale or StandardScaler), or clip the gradients (--clip-norm 1); use momentum "
        "(--optimizer sgd --momentum 0.9) or --optimizer adam; --early-stopping keeps the best "
        "epoch, tol=1e-4 stops sooner.")
    assert format_findings([finding()], width=400) == (
        "[problem] The training diverged (diverged)\n"
        "    seen: rolled back at epoch 2 with lr=0.5\n"
        f"    do:   {ADVICE}")


def test_a_suggestion_is_a_try_line_in_both_forms_and_in_the_report():
    suggested = finding(suggest={"lr": 0.05, "clip_norm": 1.0})
    assert format_findings([suggested], width=400).endswith(
        "\n    try:  lr=0.05, clip_norm=1.0")
    assert format_findings([suggested], width=400, spell=flag_form).endswith(
        "\n    try:  --lr 0.05 --clip-norm 1")
    report = Report("r")
    add_findings(report, [suggested], spell=flag_form)
    page = report.to_html()
    assert '<span class="label">try</span> --lr 0.05 --clip-norm 1' in page
    assert '<span class="label">do</span> start with --lr 0.05 or lower' in page
    assert 'class="note problem"' in page
    report = Report("r")
    add_findings(report, [suggested])
    assert '<span class="label">try</span> lr=0.05, clip_norm=1.0' in report.to_html()


@pytest.mark.parametrize(("suggest", "flags"), [
    ({"optimizer": SGD(lr=0.05, momentum=0.9)}, "--optimizer sgd --lr 0.05 --momentum 0.9"),
    ({"scale": True, "lr": 0.3}, "--scale --lr 0.3"),
    ({"activation": "leaky_relu"}, "--activation leaky_relu"),
    ({"early_stopping": True, "epochs": 250}, "--early-stopping --epochs 250"),
    ({"hidden_layer_sizes": (32,), "dropout": 0.2}, "--hidden 32 --dropout 0.2"),
    ({"class_weight": "balanced"}, "class_weight='balanced'"),
])
def test_every_suggestion_the_diagnosis_makes_has_a_flag_form(suggest, flags):
    assert format_suggest(suggest, spell=flag_form) == flags


def test_the_activations_are_the_estimators():
    from steepest.estimators import _ACTIVATIONS

    # every activation the MLPs have, under one name each ('logistic' is 'sigmoid')
    assert set(ACTIVATIONS) <= set(_ACTIVATIONS)
    assert {_ACTIVATIONS[name] for name in ACTIVATIONS} == set(_ACTIVATIONS.values())


@pytest.mark.parametrize(("check", "message"), [
    (lambda: check_flag(0, "--epochs", low=1, integer=True),
     "--epochs must be a whole number >= 1; got 0."),
    (lambda: check_flag(1.5, "--epochs", low=1, integer=True),
     "--epochs must be a whole number >= 1; got 1.5."),
    (lambda: check_flag(1.0, "--validation", low=0.0, high=1.0),
     "--validation must be a number in [0, 1); got 1."),
    (lambda: check_flag(0.0, "--clip-norm", low=0.0, closed="neither"),
     "--clip-norm must be a number > 0; got 0."),
    (lambda: check_flag(float("nan"), "--alpha", low=0.0),
     "--alpha must be a number >= 0; got nan."),
    (lambda: parse_batch_size("0"),
     "--batch-size must be 'full', 1 or a whole number k >= 1; got '0'."),
    (lambda: parse_lr("fast"), "--lr must be a positive number such as 0.01, or 'auto'; "
                               "got 'fast'."),
    (lambda: parse_hidden("64,0"), "--hidden must be layer widths such as 64 or 64,32; "
                                   "got '64,0'."),
    (lambda: make_schedule("step:0", 0.1, 100, 10),
     "--schedule step:EPOCHS:GAMMA needs a whole number of epochs >= 1 and a gamma > 0; "
     "got 'step:0'."),
    (lambda: make_schedule("exponential:2", 0.1, 100, 10),
     "--schedule exponential:2: gamma must be a number in (0, 1]; got 2."),
])
def test_each_bad_value_names_its_flag(check, message):
    with pytest.raises(ParameterError) as error:
        check()
    assert str(error.value) == message


def test_values_parse_to_what_the_library_takes():
    assert parse_batch_size("full") is None and parse_batch_size("16") == 16
    assert parse_lr("auto") is None and parse_lr("0.01") == 0.01
    assert parse_hidden("64, 32") == (64, 32) and parse_hidden((8,)) == (8,)
    assert parse_list(" sgd, adam ,") == ["sgd", "adam"] and parse_list(None) is None
    assert check_flag(3, "--epochs", low=1, integer=True) == 3
