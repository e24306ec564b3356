"""``einsum``: Einstein summation composed from differentiable tensor ops.

No kernel of its own: each operand is brought to one label per dim (repeated
labels -> a diagonal, by ``reshape`` + ``index_select``; size-1 dims that
broadcast against a larger size are squeezed away), labels no other operand
or the output needs are summed out at once, then operands are contracted left
to right, each pair as ONE batched ``matmul``:

    A -> (batch, a_only, contracted),  B -> (batch, contracted, b_only)
    (B, M, K) @ (B, K, N) -> (batch..., a_only..., b_only...)

and a final ``permute`` puts the output labels in order.  Gradients come from
those ops' backward passes.  Errors raise ``EinsumError`` (a ValueError and,
as in PyTorch, a RuntimeError), naming the equation.
"""
from __future__ import annotations

import math

import numpy as np

from ..tensor import Tensor
from .index import IndexSelect


class EinsumError(ValueError, RuntimeError):
    """A malformed einsum equation, or operands that do not fit it."""


def _error(equation: str, msg: str) -> EinsumError:
    return EinsumError(f"einsum(): {msg} (equation {equation!r})")


def _parse_term(equation: str, term: str, start: int, what: str) -> tuple[list, bool]:
    """Letters of one term, with '...' recorded as the marker None; index errors point into
    the whole equation."""
    labels, ell, i = [], False, 0
    while i < len(term):
        ch = term[i]
        if ch == ".":
            if term[i:i + 3] != "...":
                raise _error(equation, f"invalid '.' at index {start + i}: an ellipsis is "
                                       "written '...'")
            if ell:
                raise _error(equation, f"found more than one ellipsis in {what}")
            labels.append(None)
            ell, i = True, i + 3
            continue
        if not ("a" <= ch <= "z" or "A" <= ch <= "Z"):
            raise _error(equation, f"invalid subscript {ch!r} at index {start + i}, "
                                   "subscripts must be in [a-zA-Z]")
        labels.append(ch)
        i += 1
    return labels, ell


def _parse(equation: str, n_ops: int):
    """(input terms, output term or None for implicit); terms are label lists, None = '...'."""
    if not isinstance(equation, str):
        raise TypeError(f"einsum(): equation must be a str, got {type(equation).__name__}")
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    if "->" in rhs or "-" in lhs or ">" in lhs:
        raise _error(equation, "expected at most one '->'")
    terms, pos = [], 0
    for t, term in enumerate(lhs.split(",")):
        terms.append(_parse_term(equation, term, pos, f"operand {t}")[0])
        pos += len(term) + 1
    if len(terms) != n_ops:
        few = "fewer" if n_ops < len(terms) else "more"
        raise _error(equation, f"{few} operands were provided ({n_ops}) than specified in the "
                               f"equation ({len(terms)})")
    out = _parse_term(equation, rhs, len(lhs) + 2, "the output")[0] if arrow else None
    return terms, out


def _bind(equation: str, terms, operands):
    """Per operand: its label list with '...' expanded into int labels (right-aligned over the
    widest ellipsis), and the common size of every label (sizes must agree or be 1)."""
    n_ell = 0
    for t, (term, x) in enumerate(zip(terms, operands)):
        named = sum(lab is not None for lab in term)
        if None in term:
            if x.ndim < named:
                raise _error(equation, f"operand {t} has {x.ndim} dims, fewer than the {named} "
                                       "subscripts given for it")
            n_ell = max(n_ell, x.ndim - named)
        elif x.ndim != named:
            raise _error(equation, f"the number of subscripts ({named}) does not match the "
                                   f"number of dimensions ({x.ndim}) for operand {t} and no "
                                   "ellipsis was given")
    bound, sizes = [], {}
    for t, (term, x) in enumerate(zip(terms, operands)):
        labels = []
        for lab in term:
            if lab is None:
                e = x.ndim - (len(term) - 1)
                labels.extend(range(n_ell - e, n_ell))
            else:
                labels.append(lab)
        for lab, n in zip(labels, x.shape):
            seen = sizes.get(lab, 1)
            if n != 1 and seen != 1 and n != seen:
                name = "the ellipsis" if isinstance(lab, int) else f"subscript {lab}"
                raise _error(equation, f"{name} has size {n} for operand {t} which does not "
                                       f"broadcast with previously seen size {seen}")
            sizes[lab] = max(seen, n)
        bound.append(labels)
    return bound, sizes, n_ell


def _output(equation: str, out, bound, n_ell: int, any_ell: bool) -> list:
    if out is None:  # implicit: the ellipsis dims, then letters used once, in ASCII order
        counts: dict = {}
        for labels in bound:
            for lab in labels:
                if not isinstance(lab, int):
                    counts[lab] = counts.get(lab, 0) + 1
        return list(range(n_ell)) + sorted(lab for lab, c in counts.items() if c == 1)
    labels, seen = [], set()
    present = {lab for term in bound for lab in term}
    for lab in out:
        if lab is None:
            if not any_ell:
                raise _error(equation, "the output has an ellipsis but no operand has one")
            labels.extend(range(n_ell))
            continue
        if lab in seen:
            raise _error(equation, f"output subscript {lab} appears more than once in the output")
        if lab not in present:
            raise _error(equation, f"output subscript {lab} does not appear in the equation for "
                                   "any input operand")
        seen.add(lab)
        labels.append(lab)
    return labels


def _diagonal(x: Tensor, labels: list) -> tuple[Tensor, list]:
    """Merge repeated labels of one operand into one dim (the diagonal)."""
    while True:
        dup = next((lab for i, lab in enumerate(labels) if lab in labels[i + 1:]), None)
        if dup is None:
            return x, labels
        i = labels.index(dup)
        j = labels.index(dup, i + 1)
        rest = [d for d in range(x.ndim) if d not in (i, j)]
        n = x.shape[i]
        x = x.permute(*rest, i, j).reshape(*[x.shape[d] for d in rest], n * n)
        idx = x._k().from_host(np.arange(n, dtype=np.int64) * (n + 1))
        x = IndexSelect.apply(x, (slice(None),) * (x.ndim - 1) + (idx,))
        labels = [labels[d] for d in rest] + [dup]


def _reduce(x: Tensor, labels: list, keep: set) -> tuple[Tensor, list]:
    """Sum out the dims whose labels are not in ``keep``."""
    drop = [d for d, lab in enumerate(labels) if lab not in keep]
    if drop:
        x = x.sum(dim=tuple(drop))
        labels = [lab for lab in labels if lab in keep]
    return x, labels


def _contract(a: Tensor, la: list, b: Tensor, lb: list, keep: set, sizes: dict):
    """a (labels la) times b (labels lb), summing shared labels not in ``keep``, as one bmm."""
    batch = [lab for lab in la if lab in lb and lab in keep]
    inner = [lab for lab in la if lab in lb and lab not in keep]
    a_only = [lab for lab in la if lab not in lb]
    b_only = [lab for lab in lb if lab not in la]

    def size(labs):
        return math.prod(sizes[lab] for lab in labs)

    pa = a.permute(*[la.index(lab) for lab in batch + a_only + inner])
    pb = b.permute(*[lb.index(lab) for lab in batch + inner + b_only])
    y = pa.reshape(size(batch), size(a_only), size(inner)) @ \
        pb.reshape(size(batch), size(inner), size(b_only))
    labels = batch + a_only + b_only
    return y.reshape(*[sizes[lab] for lab in labels]), labels


def einsum(equation: str, *operands) -> Tensor:
    """Einstein summation over the operands' labelled dims, as ``torch.einsum``.

    ``equation`` like ``'bij,bjk->bik'``: one term of letters per operand,
    ``'...'`` for any number of broadcast dims, an explicit output after
    ``'->'`` or, without it, the implicit one (the ellipsis dims, then the
    letters used exactly once, in alphabetical order, uppercase first).  A
    repeated letter in one term takes the diagonal (``'ii->i'``,
    ``'ii'`` is the trace); letters not in the output are summed.  Operands
    may also be given as one list.  Same dtype for every operand (no
    promotion).  PyTorch's sublist format (``einsum(a, [0, 1], ...)``) is not
    supported.  Errors: ``EinsumError`` (ValueError and RuntimeError).
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if isinstance(equation, Tensor):
        raise NotImplementedError("einsum(): the sublist format is not supported by jitnet; "
                                  "pass an equation string")
    terms, out = _parse(equation, len(operands))
    for t, x in enumerate(operands):
        if not isinstance(x, Tensor):
            raise TypeError(f"einsum(): operand {t} must be a Tensor, got {type(x).__name__} "
                            f"(equation {equation!r})")
        if x.dtype is not operands[0].dtype:
            raise _error(equation, f"operand {t} is {x.dtype} but operand 0 is "
                                   f"{operands[0].dtype}; they should be the same")
        if x.device != operands[0].device:
            raise _error(equation, f"operand {t} is on {x.device} but operand 0 is on "
                                   f"{operands[0].device}")
    bound, sizes, n_ell = _bind(equation, terms, operands)
    out_labels = _output(equation, out, bound, n_ell, any(None in t for t in terms))
    xs, ls = [], []
    for x, labels in zip(operands, bound):
        # a size-1 dim broadcast against a larger one: drop it, as if the label were absent
        squeeze = [d for d, lab in enumerate(labels) if x.shape[d] == 1 and sizes[lab] > 1]
        if squeeze:
            x = x.reshape(*[n for d, n in enumerate(x.shape) if d not in squeeze])
            labels = [lab for d, lab in enumerate(labels) if d not in squeeze]
        x, labels = _diagonal(x, labels)
        xs.append(x)
        ls.append(labels)
    a, la = xs[0], ls[0]
    for t in range(len(xs)):
        later = {lab for lbs in ls[t + 1:] for lab in lbs}
        if t:
            a, la = _contract(a, la, xs[t], ls[t], set(out_labels) | later, sizes)
        else:
            a, la = _reduce(a, la, set(out_labels) | later)
        if t + 1 < len(xs):  # labels only the next operand has and nothing later needs
            after = {lab for lbs in ls[t + 2:] for lab in lbs} | set(out_labels) | set(la)
            xs[t + 1], ls[t + 1] = _reduce(xs[t + 1], ls[t + 1], after)
    a, la = _reduce(a, la, set(out_labels))
    return a.permute(*[la.index(lab) for lab in out_labels]) if out_labels else a
