"""The worked examples: each module's ``run(out_dir, *, quick=False) -> Path`` trains on a
public data set, writes a report into ``out_dir`` and returns its path; ``steepest example
NAME`` runs one. ``quick=True`` trims the data and epochs to seconds (for tests)."""

from __future__ import annotations

import importlib

from steepest._validation import lookup

__all__ = ["EXAMPLES", "run"]

EXAMPLES = {
    "image": "image classification: a CNN, an MLP and logistic regression on Fashion-MNIST",
    "sentiment": "sentiment analysis: Rotten Tomatoes reviews, TF-IDF and an embedding bag",
    "recommend": "recommendation: matrix factorisation on MovieLens 100K",
    "federated": "federated learning: McMahan et al.'s MNIST experiment, FedAvg to FedAdam",
    "meta": "meta-learning: Finn et al.'s sine waves, MAML, first-order MAML and Reptile",
}
"""Each example's name and what it shows."""


def run(name: str, out_dir, *, quick: bool = False):
    """Run the example ``name`` (a key of :data:`EXAMPLES`), writing into ``out_dir``."""
    module = lookup(name, {key: key for key in EXAMPLES}, "example")
    return importlib.import_module(f"steepest.examples.{module}").run(out_dir, quick=quick)
