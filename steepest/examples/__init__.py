"""The seeds' worked examples, one module each, every one a ``run(out_dir, *, quick=False)``
that writes an HTML report and returns its path.

- :mod:`steepest.examples.meta`: Finn et al.'s sine-wave protocol (MAML, first-order
  MAML and Reptile against a pretrained network) and few-shot digit classification.

Nothing is imported here: each example imports what it needs when it runs.
"""

__all__ = ["meta"]
