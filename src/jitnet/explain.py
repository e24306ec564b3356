"""``jitnet.explain``: which input pixels a classifier's decision rests on.

Four attribution methods for a model that maps a batch ``x`` (N, ...) to class
scores (N, classes), each explaining the score of ``target`` (one class for
all samples, or one per sample):

- ``saliency``: |d score / d x| (Simonyan et al. 2013);
- ``integrated_gradients``: (x - baseline) times the average gradient along
  the straight path from ``baseline`` to x (Sundararajan et al. 2017); the
  attributions of a sample sum to score(x) - score(baseline) ("completeness"),
  which ``return_convergence_delta`` checks;
- ``grad_cam``: a convolutional layer's activations weighted by their
  spatially averaged gradients, summed over channels and rectified (Selvaraju
  et al. 2017), through a forward hook on the layer;
- ``occlusion``: how much the score drops when a window of the image is
  replaced by ``baseline``, averaged over the windows covering each pixel.

Each returns a detached tensor on the model's device, of the input's shape
(``grad_cam``: the layer's (N, H', W')).  ``plot`` overlays one on an image.
The model is run as it is: call ``model.eval()`` first (batch norm in training
mode would mix the samples and the path points).  Names and arguments follow
Captum's where it has them.
"""
from __future__ import annotations

import numpy as np

from .autograd import enable_grad, grad, no_grad
from .device import Device
from .tensor import Tensor, tensor

__all__ = ["grad_cam", "integrated_gradients", "occlusion", "plot", "saliency"]


# ---------------------------------------------------------------------- shared steps

def _device(model) -> Device | None:
    for t in list(model.parameters()) + list(model.buffers()):
        return t.device
    return None


def _input(model, x, op: str) -> Tensor:
    if not isinstance(x, Tensor):
        x = tensor(np.asarray(x, dtype=np.float32))
    if not x.dtype.is_floating_point:
        raise TypeError(f"{op}: expected a floating point input, got {x.dtype}")
    if x.ndim < 2:
        raise ValueError(f"{op}: expected a batch (N, ...), got shape {tuple(x.shape)}")
    device = _device(model)
    x = x.detach()
    return x.to(device) if device is not None and device != x.device else x


def _targets(target, n: int, op: str) -> np.ndarray:
    if isinstance(target, Tensor):
        target = target.detach().cpu().numpy()
    t = np.asarray(target)
    if t.dtype.kind not in "iu" or t.ndim > 1:
        raise TypeError(f"{op}: target must be an int or a sequence of ints, got {target!r}")
    if t.ndim == 0:
        t = np.full(n, int(t))
    if len(t) != n:
        raise ValueError(f"{op}: got {len(t)} targets for a batch of {n}")
    return t.astype(np.int64)


def _scores(model, x: Tensor, targets: np.ndarray, op: str) -> Tensor:
    """The (N,) scores of each sample's target class (targets repeat over stacked copies)."""
    out = model(x)
    if not isinstance(out, Tensor) or out.ndim != 2:
        raise ValueError(f"{op}: expected the model to return scores of shape (N, classes), "
                         f"got {getattr(out, 'shape', type(out).__name__)}")
    classes = out.shape[1]
    bad = targets[(targets < 0) | (targets >= classes)]
    if bad.size:
        raise IndexError(f"{op}: target {int(bad[0])} is out of range for a model with "
                         f"{classes} outputs (expected 0..{classes - 1})")
    reps = out.shape[0] // len(targets)
    idx = tensor(np.tile(targets, reps).reshape(-1, 1), device=out.device)
    return out.gather(1, idx).reshape(-1)


def _grad_of_scores(model, x: Tensor, targets: np.ndarray, op: str) -> Tensor:
    with enable_grad():
        x = x.detach().requires_grad_(True)
        (g,) = grad(_scores(model, x, targets, op).sum(), x)
    return g


# ---------------------------------------------------------------------- methods

def saliency(model, x: Tensor, target, abs: bool = True) -> Tensor:  # noqa: A002
    """|d score[target] / d x| for each sample: a tensor of ``x``'s shape (the signed
    gradient with ``abs=False``)."""
    x = _input(model, x, "saliency")
    g = _grad_of_scores(model, x, _targets(target, x.shape[0], "saliency"), "saliency")
    return g.abs() if abs else g


def integrated_gradients(model, x: Tensor, target, baseline=None, steps: int = 50,
                         method: str = "gausslegendre", internal_batch_size: int | None = None,
                         return_convergence_delta: bool = False):
    """Integrated gradients of score[target] from ``baseline`` (zeros by default) to ``x``.

    The path integral is a quadrature with ``steps`` points: ``"gausslegendre"`` (the
    default, as Captum) or ``"riemann_trapezoid"``.  Path points are run
    ``internal_batch_size`` samples at a time (default: N * steps at once).  Returns the
    attributions (``x``'s shape), and with ``return_convergence_delta`` also the (N,)
    completeness error sum(attributions) - (score(x) - score(baseline)).
    """
    op = "integrated_gradients"
    x = _input(model, x, op)
    n = x.shape[0]
    targets = _targets(target, n, op)
    if not isinstance(steps, int) or steps < 2:
        raise ValueError(f"{op}: steps must be an int >= 2, got {steps!r}")
    if baseline is None:
        base = np.zeros(tuple(x.shape), np.float32)
    else:
        base = np.broadcast_to(np.asarray(baseline.detach().cpu().numpy() if isinstance(
            baseline, Tensor) else baseline, np.float32), tuple(x.shape)).copy()
    if method == "gausslegendre":
        nodes, weights = np.polynomial.legendre.leggauss(steps)
        alphas, weights = (nodes + 1) / 2, weights / 2
    elif method == "riemann_trapezoid":
        alphas = np.linspace(0.0, 1.0, steps)
        weights = np.full(steps, 1.0 / (steps - 1))
        weights[[0, -1]] /= 2
    else:
        raise ValueError(f"{op}: method must be 'gausslegendre' or 'riemann_trapezoid', "
                         f"got {method!r}")
    xh = x.cpu().numpy().astype(np.float32)
    diff = xh - base
    total = np.zeros_like(xh, dtype=np.float64)
    chunk = max(1, (internal_batch_size or n * steps) // n)  # path points per forward
    for s0 in range(0, steps, chunk):
        a = alphas[s0:s0 + chunk].astype(np.float32)
        pts = base[None] + a.reshape((-1,) + (1,) * xh.ndim) * diff[None]
        pts_t = tensor(pts.reshape((-1,) + xh.shape[1:]), device=x.device)
        g = _grad_of_scores(model, pts_t, targets, op).cpu().numpy()
        g = g.reshape((len(a),) + xh.shape)
        total += np.tensordot(weights[s0:s0 + chunk], g, axes=1)
    attr = (diff * total).astype(np.float32)
    result = tensor(attr, device=x.device)
    if not return_convergence_delta:
        return result
    with no_grad():
        fx = _scores(model, x, targets, op).cpu().numpy()
        fb = _scores(model, tensor(base, device=x.device), targets, op).cpu().numpy()
    delta = attr.reshape(n, -1).sum(1) - (fx - fb)
    return result, tensor(delta.astype(np.float32), device=x.device)


def grad_cam(model, x: Tensor, target, layer, relu: bool = True) -> Tensor:
    """Grad-CAM of score[target] at ``layer`` (a sub-module of ``model``, or its dotted name),
    whose output must be (N, C, H', W'): relu(sum_c mean_hw(dscore/dA_c) * A_c), (N, H', W')."""
    from .nn.module import Module

    op = "grad_cam"
    if isinstance(layer, str):
        try:
            layer = model.get_submodule(layer)
        except AttributeError as exc:
            raise ValueError(f"{op}: {exc}") from None
    if not isinstance(layer, Module) or not any(m is layer for m in model.modules()):
        raise ValueError(f"{op}: layer {layer!r} is not a sub-module of "
                         f"{type(model).__name__}")
    x = _input(model, x, op)
    targets = _targets(target, x.shape[0], op)
    seen = []
    handle = layer.register_forward_hook(lambda mod, args, out: seen.append(out))
    try:
        with enable_grad():
            score = _scores(model, x, targets, op).sum()
            if not seen:
                raise ValueError(f"{op}: layer {type(layer).__name__} was not called by the "
                                 "model's forward")
            act = seen[-1]
            if not isinstance(act, Tensor) or act.ndim != 4:
                raise ValueError(f"{op}: layer {type(layer).__name__} returns shape "
                                 f"{getattr(act, 'shape', None)}, expected (N, C, H, W)")
            if not act.requires_grad:
                raise ValueError(f"{op}: the score does not depend on layer "
                                 f"{type(layer).__name__}'s output through gradients")
            (g,) = grad(score, act)
    finally:
        handle.remove()
    with no_grad():
        weights = g.mean((2, 3), keepdim=True)
        cam = (weights * act.detach()).sum(1)
        return cam.relu() if relu else cam


def occlusion(model, x: Tensor, target, window=2, stride=1, baseline: float = 0.0,
              batch_size: int = 256) -> Tensor:
    """Occlusion of images x (N, C, H, W): score(x) - score(x with a ``window`` (int or
    (h, w)) patch of every channel set to ``baseline``), the patch slid by ``stride``,
    averaged over the patches covering each pixel; (N, C, H, W), equal across channels."""
    op = "occlusion"
    x = _input(model, x, op)
    if x.ndim != 4:
        raise ValueError(f"{op}: expected images (N, C, H, W), got shape {tuple(x.shape)}")
    n, c, h, w = x.shape
    wh, ww = (window, window) if isinstance(window, int) else tuple(window)
    sh, sw = (stride, stride) if isinstance(stride, int) else tuple(stride)
    if not (0 < wh <= h and 0 < ww <= w) or sh < 1 or sw < 1:
        raise ValueError(f"{op}: window {(wh, ww)} and stride {(sh, sw)} must be positive and "
                         f"the window no larger than the image {(h, w)}")
    targets = _targets(target, n, op)
    xh = x.cpu().numpy()
    with no_grad():
        ref = _scores(model, x, targets, op).cpu().numpy()
        spots = [(i, j) for i in range(0, h - wh + 1, sh) for j in range(0, w - ww + 1, sw)]
        drops = []
        per = max(1, batch_size // n)
        for s0 in range(0, len(spots), per):
            part = spots[s0:s0 + per]
            batch = np.repeat(xh[None], len(part), axis=0)
            for b, (i, j) in enumerate(part):
                batch[b, :, :, i:i + wh, j:j + ww] = baseline
            out = _scores(model, tensor(batch.reshape(-1, c, h, w), device=x.device),
                          targets, op).cpu().numpy()
            drops.append(ref[None] - out.reshape(len(part), n))
    drops = np.concatenate(drops)
    attr = np.zeros((n, h, w))
    count = np.zeros((h, w))
    for d, (i, j) in zip(drops, spots):
        attr[:, i:i + wh, j:j + ww] += d[:, None, None]
        count[i:i + wh, j:j + ww] += 1
    attr = attr / np.maximum(count, 1)
    return tensor(np.repeat(attr[:, None], c, axis=1).astype(np.float32), device=x.device)


# ---------------------------------------------------------------------- plotting

def _host2d(a, what: str) -> np.ndarray:
    a = np.asarray(a.detach().cpu().numpy() if isinstance(a, Tensor) else a, dtype=np.float64)
    if a.ndim == 3:
        a = a.sum(0) if a.shape[0] <= 4 else a.sum(-1)
    if a.ndim != 2:
        raise ValueError(f"plot: {what} must be (H, W) or (C, H, W), got shape {a.shape}")
    return a


def plot(image, attribution, ax=None, cmap: str = "RdBu_r", alpha: float = 0.6,
         title: str | None = None):
    """Draw ``image`` (H, W) or (C, H, W) in grey with ``attribution`` overlaid (summed over
    channels; a smaller map, such as Grad-CAM's, is stretched to the image).  Returns the
    matplotlib Axes."""
    import matplotlib.pyplot as plt

    img, att = _host2d(image, "image"), _host2d(attribution, "attribution")
    if att.shape != img.shape:  # nearest-neighbour stretch to the image's pixels
        rows = np.arange(img.shape[0]) * att.shape[0] // img.shape[0]
        cols = np.arange(img.shape[1]) * att.shape[1] // img.shape[1]
        att = att[rows][:, cols]
    if ax is None:
        _, ax = plt.subplots(figsize=(3, 3))
    ax.imshow(img, cmap="gray")
    lim = float(np.abs(att).max()) or 1.0
    signed = att.min() < 0
    ax.imshow(att, cmap=cmap if signed else "hot", alpha=alpha,
              vmin=-lim if signed else 0.0, vmax=lim)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)
    return ax
