"""Film recommendations from MovieLens 100K: matrix factorisation by per-rating SGD and by
mini-batch Adam, RMSE per epoch against Surprise's SVD, top films for a few users.

    python examples/recommendation.py [OUT_DIR] [--quick]

Writes OUT_DIR/report.html (default ``steepest-recommend``); see
:mod:`steepest.examples.recommend`.
"""

import sys

from steepest.examples import recommend

if __name__ == "__main__":
    arguments = [a for a in sys.argv[1:] if a != "--quick"]
    path = recommend.run(arguments[0] if arguments else "steepest-recommend",
                         quick="--quick" in sys.argv[1:])
    print(f"Report: {path}")
