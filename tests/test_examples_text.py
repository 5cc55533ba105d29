"""The sentiment and recommendation examples (steepest.examples), quick runs on small data
made here in the shape of the real loaders' Bunch (the tests reach no network)."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
from sklearn.utils import Bunch

from steepest.examples import recommend, sentiment

GOOD = ["great", "moving", "funny", "brilliant", "warm", "sharp"]
BAD = ["dull", "tedious", "flat", "clumsy", "bland", "boring"]
NEUTRAL = ["film", "story", "cast", "scene", "plot", "director", "the", "a", "its", "this"]


def reviews(n=1000, seed=0):
    rng = np.random.default_rng(seed)
    target = rng.integers(0, 2, n)
    texts = []
    for label in target:
        words = list(rng.choice(NEUTRAL, 6)) + list(rng.choice(GOOD if label else BAD, 2))
        rng.shuffle(words)
        texts.append(" ".join(words))
    return Bunch(data=texts, target=target, target_names=np.array(["rotten", "fresh"]),
                 feature_names=["text"], DESCR="Reviews\n=======\n\nMade up for a test.")


def ratings(n_users=60, n_items=80, n=20_000, seed=0):
    rng = np.random.default_rng(seed)
    P, Q = rng.normal(size=(n_users, 3)), rng.normal(size=(n_items, 3))
    users, items = rng.integers(1, n_users + 1, n), rng.integers(1, n_items + 1, n)
    score = 3 + (P[users - 1] * Q[items - 1]).sum(axis=1) + 0.3 * rng.normal(size=n)
    return Bunch(data=np.column_stack([users, items]), target=np.clip(np.round(score), 1, 5),
                 feature_names=["user_id", "item_id"], DESCR="Ratings\n=======\n\nMade up.")


@pytest.fixture
def quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def test_the_sentiment_report(tmp_path, monkeypatch, quiet):
    monkeypatch.setattr(sentiment, "fetch_rotten_tomatoes", lambda: reviews())
    path = sentiment.run(tmp_path / "out", quick=True)
    assert path == tmp_path / "out" / "report.html"
    page = path.read_text(encoding="utf-8")
    for name in ("steepest, batch (L-BFGS)", "steepest, mini-batch (Adam, 32)",
                 "steepest, stochastic (SGD, 1)", "scikit-learn LogisticRegression",
                 "scikit-learn SGDClassifier", "embedding bag"):
        assert name in page
    accuracies = [float(a) for a in re.findall(r'<td class="num">(0\.\d{4}|1\.0000)</td>', page)]
    # the made-up words decide it (the quick runs of 3 epochs on 150 reviews fall short)
    assert len(accuracies) == 6 and min(accuracies) > 0.75 and max(accuracies) == 1.0
    assert "steepest meets the target" in page
    top = page[page.index('<h2 id="the-words-that-weigh-most"'):]
    assert re.search(r"<td>(" + "|".join(GOOD) + r")</td>", top)
    assert re.search(r"<td>(" + "|".join(BAD) + r")</td>", top)
    assert page.count("<img") == 2


def test_the_recommendation_report(tmp_path, monkeypatch, quiet):
    monkeypatch.setattr(recommend, "fetch_movielens_100k", lambda: ratings())
    page = recommend.run(tmp_path, quick=True).read_text(encoding="utf-8")
    assert "per-rating SGD" in page and "mini-batch Adam" in page
    assert "has no titles" in page and page.count("<img") == 1
    table = page[page.index('<h2 id="top-recommendations"'):]
    assert table.count("<tr>") == 1 + recommend.USERS_SHOWN * recommend.TOP_N


def test_recommendations_are_unseen_items_in_order(quiet):
    from steepest import MatrixFactorization

    data = ratings(n=3000)
    X, y = data.data, data.target
    model = MatrixFactorization(n_factors=4, epochs=3, random_state=0).fit(X, y)
    rows = recommend._recommendations(model, X, model.users_[:2])
    for user in model.users_[:2]:
        mine = [row for row in rows if row[0] == user]
        assert [row[1] for row in mine] == list(range(1, recommend.TOP_N + 1))
        assert not {row[2] for row in mine} & set(X[X[:, 0] == user, 1].tolist())
        scores = [row[3] for row in mine]
        assert scores == sorted(scores, reverse=True)
        pairs = np.array([[user, row[2]] for row in mine])
        np.testing.assert_allclose(model.predict(pairs), scores)


def test_train_validation_curves_pair_each_run_s_lines_by_colour():
    from steepest.plot import plot_train_validation

    histories = {"a": {"rmse": [1.0, 0.9, 0.8], "val_rmse": [1.1, 1.0, 0.95]},
                 "b": {"rmse": [1.2, 1.0], "val_rmse": [1.3, 1.1]}}
    figure = plot_train_validation(histories, "rmse", "val_rmse", ylabel="RMSE",
                                   validation_label="test", references={"peer": 0.934})
    (ax,) = figure.axes
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"a: test", "a: training", "b: test", "b: training", "peer"}
    for run in histories:
        assert lines[f"{run}: test"].get_color() == lines[f"{run}: training"].get_color()
        np.testing.assert_array_equal(lines[f"{run}: test"].get_ydata(),
                                      histories[run]["val_rmse"])
    assert lines["a: test"].get_color() != lines["b: test"].get_color()
    np.testing.assert_array_equal(lines["peer"].get_ydata(), [0.934, 0.934])
    scored = plot_train_validation({"a": {"loss": [1, 0.5], "val_loss": [1, 0.7],
                                          "val_score": [0.6, 0.8]}}, score_key="val_score")
    assert len(scored.axes) == 2
    np.testing.assert_array_equal(scored.axes[1].get_lines()[0].get_ydata(), [0.6, 0.8])
