"""The seeds' worked examples: each module's ``run(out_dir, *, quick=False)`` writes a report."""
