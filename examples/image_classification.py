"""Image classification: a small CNN, an MLP and logistic regression on Fashion-MNIST,
each trained with Adam and with SGD+momentum. Writes out/image.html (see
steepest/examples/image.py).

    python examples/image_classification.py [OUT_DIR] [--quick] [--overwrite]
"""

import argparse

from steepest.examples import image

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", nargs="?", default="out")
    parser.add_argument("--quick", action="store_true", help="seconds: a few hundred images")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing report")
    arguments = parser.parse_args()
    print(image.run(arguments.out_dir, quick=arguments.quick, overwrite=arguments.overwrite))
