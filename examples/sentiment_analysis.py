"""Sentiment analysis of Rotten Tomatoes reviews: TF-IDF and logistic regression by batch,
mini-batch and stochastic descent, an embedding bag, and scikit-learn beside them.

    python examples/sentiment_analysis.py [OUT_DIR] [--quick]

Writes OUT_DIR/report.html (default ``steepest-sentiment``); see
:mod:`steepest.examples.sentiment`.
"""

import sys

from steepest.examples import sentiment

if __name__ == "__main__":
    arguments = [a for a in sys.argv[1:] if a != "--quick"]
    path = sentiment.run(arguments[0] if arguments else "steepest-sentiment",
                         quick="--quick" in sys.argv[1:])
    print(f"Report: {path}")
