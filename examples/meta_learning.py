"""Meta-learning: MAML, first-order MAML and Reptile on Finn et al.'s sine waves, and
few-shot digits. Writes out/meta.html (see steepest/examples/meta.py).

    python examples/meta_learning.py [OUT_DIR] [--quick] [--overwrite]
"""

import argparse

from steepest.examples import meta

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", nargs="?", default="out")
    parser.add_argument("--quick", action="store_true", help="seconds, not the full protocol")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing report")
    arguments = parser.parse_args()
    print(meta.run(arguments.out_dir, quick=arguments.quick, overwrite=arguments.overwrite))
