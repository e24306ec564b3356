"""jitnet.metrics against scikit-learn, on labels and on (N, C) scores, with bad inputs."""
from __future__ import annotations

import numpy as np
import pytest

import jitnet as jn
from jitnet import metrics

skm = pytest.importorskip("sklearn.metrics")

RNG = np.random.default_rng(0)
Y_TRUE = RNG.integers(0, 5, 300)
Y_PRED = np.where(RNG.random(300) < 0.6, Y_TRUE, RNG.integers(0, 6, 300))  # class 5 is extra


@pytest.mark.parametrize("average", ["macro", "micro", "weighted", None])
def test_precision_recall_f1_match_sklearn(average):
    pairs = [(metrics.precision, skm.precision_score), (metrics.recall, skm.recall_score),
             (metrics.f1_score, skm.f1_score)]
    for mine, ref in pairs:
        got = mine(Y_TRUE, Y_PRED, average=average)
        want = ref(Y_TRUE, Y_PRED, average=average, zero_division=0)
        np.testing.assert_allclose(got, want, rtol=1e-12, err_msg=mine.__name__)
    labels = [4, 0, 2]
    np.testing.assert_allclose(metrics.f1_score(Y_TRUE, Y_PRED, average=average, labels=labels),
                               skm.f1_score(Y_TRUE, Y_PRED, average=average, labels=labels,
                                            zero_division=0), rtol=1e-12)


def test_zero_division_matches_sklearn():
    t, p = np.array([0, 0, 1, 1]), np.array([0, 0, 0, 0])  # class 1 never predicted
    for zd in (0, 1):
        assert metrics.precision(t, p, zero_division=zd) == pytest.approx(
            skm.precision_score(t, p, average="macro", zero_division=zd))
        assert metrics.f1_score(t, p, average="weighted", zero_division=zd) == pytest.approx(
            skm.f1_score(t, p, average="weighted", zero_division=zd))


def test_accuracy_and_confusion_matrix():
    assert metrics.accuracy(Y_TRUE, Y_PRED) == pytest.approx(skm.accuracy_score(Y_TRUE, Y_PRED))
    assert metrics.accuracy(Y_TRUE, Y_PRED, normalize=False) == \
        skm.accuracy_score(Y_TRUE, Y_PRED, normalize=False)
    np.testing.assert_array_equal(metrics.confusion_matrix(Y_TRUE, Y_PRED),
                                  skm.confusion_matrix(Y_TRUE, Y_PRED))
    np.testing.assert_array_equal(metrics.confusion_matrix(Y_TRUE, Y_PRED, labels=[3, 0, 9]),
                                  skm.confusion_matrix(Y_TRUE, Y_PRED, labels=[3, 0, 9]))
    cm = metrics.confusion_matrix([0, 1], [1, 1], num_classes=4)
    assert cm.shape == (4, 4) and cm[0, 1] == 1 and cm[1, 1] == 1 and cm.sum() == 2


def test_tensors_lists_and_scores():
    scores = np.eye(5)[Y_PRED % 5] + 0.01 * RNG.random((300, 5))
    assert metrics.accuracy(jn.tensor(Y_TRUE), jn.tensor(scores)) == pytest.approx(
        skm.accuracy_score(Y_TRUE, Y_PRED % 5))
    logits = jn.tensor(scores, requires_grad=True)  # grads are no obstacle
    assert metrics.f1_score(Y_TRUE.tolist(), logits) == pytest.approx(
        skm.f1_score(Y_TRUE, Y_PRED % 5, average="macro"))
    assert metrics.recall(np.array([1.0, 2.0]), [1, 2]) == 1.0


def test_bad_inputs():
    with pytest.raises(ValueError, match="different lengths"):
        metrics.accuracy([0, 1], [0])
    with pytest.raises(ValueError, match="empty input"):
        metrics.accuracy([], [])
    with pytest.raises(ValueError, match="average must be one of"):
        metrics.precision([0], [0], average="binary")
    with pytest.raises(ValueError, match="non-integer values"):
        metrics.recall([0.5, 1.0], [0, 1])
    with pytest.raises(ValueError, match="1-D class labels"):
        metrics.accuracy(np.zeros((2, 2)), [0, 1])
    with pytest.raises(TypeError, match="must hold numbers"):
        metrics.accuracy(["a", "b"], [0, 1])
    with pytest.raises(ValueError, match="zero_division"):
        metrics.f1_score([0], [0], zero_division=5)
