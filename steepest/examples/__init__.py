"""The seeds' worked examples, each a ``run(out_dir, *, quick=False) -> Path`` that writes
a report (``steepest example NAME``); the scripts in ``examples/`` call them."""
