"""The image example: a quick run writes the whole report."""

from __future__ import annotations

import re

import pytest

import steepest
from steepest.errors import ParameterError
from steepest.examples import image


def test_quick_run_writes_the_report(tmp_path):
    try:
        steepest.datasets.fetch_fashion_mnist(subset="test", download_if_missing=False)
    except steepest.errors.SteepestError as error:
        pytest.skip(f"Fashion-MNIST is not on this machine: {error}")
    path = image.run(tmp_path, quick=True)
    assert path == tmp_path / "image.html"
    html = path.read_text(encoding="utf-8")
    for heading in ("Test accuracy", "Training curves", "Errors of the best CNN", "Diagnosis"):
        assert heading in html
    for run in ("CNN, Adam", "CNN, SGD+momentum", "MLP, Adam", "MLP, SGD+momentum",
                "logistic regression, Adam", "logistic regression, SGD+momentum"):
        assert f">{run}<" in html                                  # its diagnosis heading
    # six rows of the accuracy table, each with an accuracy in [0, 1]
    accuracies = [float(a) for a in re.findall(r'<td class="num">(0\.\d{4}|1\.0000)</td></tr>',
                                               html)]
    assert len(accuracies) == 6 and all(0.0 <= a <= 1.0 for a in accuracies)
    # the curves, the history, the confusion matrix and the misclassified images
    assert html.count("<figure>") == 4
    with pytest.raises(ParameterError, match="already exists; pass overwrite=True"):
        image.run(tmp_path, quick=True)
