"""Classification metrics with scikit-learn's names, argument order and results.

Every function takes ``(y_true, y_pred)`` as Tensors, NumPy arrays or lists.
``y_pred`` may also be scores of shape (N, C) (logits or probabilities): the
argmax over classes is then taken, so ``accuracy(labels, model(x))`` works.
Results are Python floats (NumPy arrays for ``average=None`` and the confusion
matrix).  They are computed on the host in NumPy: metrics are bookkeeping,
not part of the graph.
"""
from __future__ import annotations

import numpy as np

from .tensor import Tensor

__all__ = ["accuracy", "confusion_matrix", "f1_score", "precision", "recall"]

_AVERAGES = ("macro", "micro", "weighted", None)


def _labels(y, name: str, op: str) -> np.ndarray:
    if isinstance(y, Tensor):
        y = y.detach().cpu().numpy()
    arr = np.asarray(y)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{op}: {name} must hold numbers, got dtype {arr.dtype}")
    if arr.ndim == 2 and name == "y_pred":
        return arr.argmax(axis=1)
    if arr.ndim != 1:
        raise ValueError(f"{op}: {name} must be 1-D class labels"
                         + (" or (N, C) scores" if name == "y_pred" else "")
                         + f", got shape {arr.shape}")
    if arr.dtype.kind == "f":
        if not np.all(arr == np.round(arr)):
            raise ValueError(f"{op}: {name} holds non-integer values; expected class labels")
        arr = arr.astype(np.int64)
    return arr


def _pair(y_true, y_pred, op: str) -> tuple[np.ndarray, np.ndarray]:
    t, p = _labels(y_true, "y_true", op), _labels(y_pred, "y_pred", op)
    if t.shape[0] != p.shape[0]:
        raise ValueError(f"{op}: y_true and y_pred have different lengths ({t.shape[0]} vs "
                         f"{p.shape[0]})")
    if t.shape[0] == 0:
        raise ValueError(f"{op}: empty input")
    return t, p


def accuracy(y_true, y_pred, normalize: bool = True) -> float:
    """Fraction of predictions equal to the labels (the count with ``normalize=False``)."""
    t, p = _pair(y_true, y_pred, "accuracy")
    hits = int(np.sum(t == p))
    return hits / t.shape[0] if normalize else float(hits)


accuracy_score = accuracy


def confusion_matrix(y_true, y_pred, labels=None, num_classes: int | None = None) -> np.ndarray:
    """C[i, j] = number of samples of class ``labels[i]`` predicted as ``labels[j]``.

    ``labels`` defaults to the sorted union of the values seen; ``num_classes``
    (jitnet's addition) uses 0..num_classes-1 instead, so absent classes keep
    their row.
    """
    t, p = _pair(y_true, y_pred, "confusion_matrix")
    if labels is None:
        labels = np.arange(num_classes) if num_classes is not None else np.union1d(t, p)
    labels = np.asarray(labels)
    if labels.size == 0:
        raise ValueError("confusion_matrix: 'labels' should contain at least one label")
    n = len(labels)
    order = np.argsort(labels, kind="stable")
    ordered = labels[order]

    def position(y):  # index of each value in ``labels`` (-1 when absent)
        pos = np.clip(np.searchsorted(ordered, y), 0, n - 1)
        return np.where(ordered[pos] == y, order[pos], -1)

    rows, cols = position(t), position(p)
    known = (rows >= 0) & (cols >= 0)
    rows, cols = rows[known], cols[known]
    out = np.zeros((n, n), dtype=np.int64)
    np.add.at(out, (rows, cols), 1)
    return out


def _prf(y_true, y_pred, average, labels, zero_division, op: str):
    if average not in _AVERAGES:
        raise ValueError(f"{op}: average must be one of {_AVERAGES}, got {average!r}")
    if zero_division not in (0, 1, 0.0, 1.0) and not (isinstance(zero_division, float)
                                                      and np.isnan(zero_division)):
        raise ValueError(f"{op}: zero_division must be 0, 1 or nan, got {zero_division!r}")
    t, p = _pair(y_true, y_pred, op)
    labels = np.union1d(t, p) if labels is None else np.asarray(labels)
    # per-label counts over all samples: a sample of a label outside ``labels`` still
    # counts as a false positive / negative of the listed ones (as scikit-learn)
    is_true, is_pred = t[:, None] == labels[None, :], p[:, None] == labels[None, :]
    tp = np.sum(is_true & is_pred, axis=0).astype(np.float64)
    pred_pos = is_pred.sum(axis=0).astype(np.float64)
    true_pos = is_true.sum(axis=0).astype(np.float64)
    return tp, pred_pos, true_pos, average, float(zero_division)


def _ratio(num, den, zero_division: float):
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(den > 0, num / np.where(den > 0, den, 1), zero_division)
    return out


def _average(per_class: np.ndarray, support: np.ndarray, average):
    if average is None:
        return per_class
    if average == "weighted":
        total = support.sum()
        return float(np.sum(per_class * support) / total) if total > 0 else 0.0
    return float(np.mean(per_class))


def precision(y_true, y_pred, average: str | None = "macro", labels=None,
              zero_division: float = 0.0):
    """tp / (tp + fp) per class, averaged: 'macro' (plain mean over classes), 'micro' (from
    the pooled counts), 'weighted' (by each class's support) or None (per class).  A class
    never predicted scores ``zero_division``."""
    tp, pred_pos, true_pos, average, zd = _prf(y_true, y_pred, average, labels, zero_division,
                                               "precision")
    if average == "micro":
        return float(_ratio(tp.sum(), pred_pos.sum(), zd))
    return _average(_ratio(tp, pred_pos, zd), true_pos, average)


def recall(y_true, y_pred, average: str | None = "macro", labels=None,
           zero_division: float = 0.0):
    """tp / (tp + fn) per class, averaged as in ``precision``."""
    tp, pred_pos, true_pos, average, zd = _prf(y_true, y_pred, average, labels, zero_division,
                                               "recall")
    if average == "micro":
        return float(_ratio(tp.sum(), true_pos.sum(), zd))
    return _average(_ratio(tp, true_pos, zd), true_pos, average)


def f1_score(y_true, y_pred, average: str | None = "macro", labels=None,
             zero_division: float = 0.0):
    """Harmonic mean of precision and recall, 2 tp / (2 tp + fp + fn) per class, averaged as
    in ``precision`` (micro: from the pooled counts)."""
    tp, pred_pos, true_pos, average, zd = _prf(y_true, y_pred, average, labels, zero_division,
                                               "f1_score")
    if average == "micro":
        return float(_ratio(2 * tp.sum(), pred_pos.sum() + true_pos.sum(), zd))
    return _average(_ratio(2 * tp, pred_pos + true_pos, zd), true_pos, average)


precision_score = precision
recall_score = recall
