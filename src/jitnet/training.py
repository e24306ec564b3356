"""Keras-style training loop: ``fit``, ``evaluate``, ``predict``, ``History`` and callbacks.

``fit`` runs the loop every PyTorch user writes by hand (forward, loss,
``zero_grad``, ``backward``, ``step``), with a tqdm progress bar, per-epoch
metrics on the training and validation data, learning-rate scheduling and
callbacks (``EarlyStopping``, ``ModelCheckpoint``, ``LRSchedulerCallback``).
Batches are ``(inputs, targets)`` pairs, as a ``DataLoader`` over a
``TensorDataset`` yields them.  ``fit(state_dir=...)`` writes the whole training state after
every epoch and ``fit(resume_from=...)`` continues from it, bit for bit; under
``jitnet.distributed`` the loop runs on every rank and rank 0 reports and writes.
"""
from __future__ import annotations

import math
import os
import sys
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from . import metrics as _metrics
from .autograd import no_grad
from .io import save
from .ops.shape import cat
from .tensor import Tensor

__all__ = ["Callback", "EarlyStopping", "History", "LRSchedulerCallback", "ModelCheckpoint",
           "evaluate", "fit", "predict", "training_state_path"]

# metric name -> function of (y_true labels, y_pred scores (N, C) or labels)
METRICS: dict[str, Callable] = {
    "accuracy": _metrics.accuracy,
    "acc": _metrics.accuracy,
    "precision": _metrics.precision,
    "recall": _metrics.recall,
    "f1": _metrics.f1_score,
    "f1_score": _metrics.f1_score,
}
_MAXIMISED = {"accuracy", "acc", "precision", "recall", "f1", "f1_score"}


class History(dict):
    """Per-epoch results: ``history["loss"]``, ``history["val_accuracy"]``, ``history["lr"]``
    ... each a list with one float per epoch; ``history.epochs`` the epoch numbers (from 1).
    ``history.history`` is the history itself (Keras' spelling)."""

    def __init__(self) -> None:
        super().__init__()
        self.epochs: list[int] = []

    @property
    def history(self) -> History:
        return self

    def append(self, epoch: int, logs: dict[str, float]) -> None:
        self.epochs.append(epoch)
        for key, value in logs.items():
            self.setdefault(key, []).append(float(value))

    def to_dict(self) -> dict[str, Any]:
        """A plain, JSON-ready dict: ``{"epoch": [...], "loss": [...], ...}``."""
        return {"epoch": list(self.epochs), **{k: list(v) for k, v in self.items()}}


class TrainState:
    """What callbacks see of a running ``fit``: set ``stop_training`` to end it early."""

    def __init__(self, model, optimizer, epochs: int) -> None:
        self.model, self.optimizer, self.epochs = model, optimizer, epochs
        self.stop_training = False
        self.epoch = 0


class Callback:
    """Base class: override any hook; ``self.state`` is the running fit's ``TrainState``."""

    state: TrainState

    def set_state(self, state: TrainState) -> None:
        self.state = state

    def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
        pass

    def on_train_end(self, logs: dict[str, float] | None = None) -> None:
        pass

    def on_epoch_begin(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        pass

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        pass

    def on_batch_end(self, batch: int, logs: dict[str, float]) -> None:
        pass


def _mode(monitor: str, mode: str, who: str) -> str:
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{who}: mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode != "auto":
        return mode
    name = monitor[4:] if monitor.startswith("val_") else monitor
    return "max" if name in _MAXIMISED else "min"


def _monitored(logs: dict[str, float], monitor: str, who: str) -> float:
    if monitor not in logs:
        raise ValueError(f"{who}: the monitored quantity {monitor!r} is not in the epoch logs "
                         f"(available: {sorted(logs)}); pass val_loader to fit to get val_* "
                         "values, or monitor another key")
    return float(logs[monitor])


class _Monitor:
    """Tracks the best value of a logged quantity."""

    def __init__(self, monitor: str, mode: str, min_delta: float, who: str) -> None:
        self.monitor, self.who = monitor, who
        self.mode = _mode(monitor, mode, who)
        self.min_delta = abs(min_delta)
        self.best = math.inf if self.mode == "min" else -math.inf

    def improved(self, value: float) -> bool:
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta


def _snapshot(model) -> dict[str, Tensor]:
    return {k: Tensor(v._k().copy(v._data), v.device) for k, v in model.state_dict().items()}


class EarlyStopping(Callback):
    """Stop when ``monitor`` (default ``val_loss``) has not improved by more than
    ``min_delta`` for ``patience`` epochs; ``restore_best_weights`` puts back the weights of
    the best epoch at the end.  ``mode='auto'`` maximises accuracy-like metrics."""

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0, patience: int = 0,
                 mode: str = "auto", restore_best_weights: bool = False,
                 verbose: bool = False) -> None:
        if patience < 0:
            raise ValueError(f"EarlyStopping: patience must be >= 0, got {patience}")
        self._tracker = _Monitor(monitor, mode, min_delta, "EarlyStopping")
        self.monitor, self.patience = monitor, patience
        self.restore_best_weights, self.verbose = restore_best_weights, verbose
        self.wait, self.stopped_epoch, self.best_epoch = 0, 0, 0
        self._best_weights = None

    @property
    def best(self) -> float:
        return self._tracker.best

    def on_train_begin(self, logs=None) -> None:
        self.wait, self.stopped_epoch, self.best_epoch = 0, 0, 0
        self._tracker.best = math.inf if self._tracker.mode == "min" else -math.inf
        self._best_weights = None

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        value = _monitored(logs, self.monitor, "EarlyStopping")
        if self._tracker.improved(value):
            self._tracker.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self._best_weights = _snapshot(self.state.model)
            return
        self.wait += 1
        if self.wait > self.patience:
            self.stopped_epoch = epoch
            self.state.stop_training = True
            if self.verbose:
                print(f"EarlyStopping: {self.monitor} has not improved for {self.wait} epochs; "
                      f"stopping after epoch {epoch} (best {self.best:.4f} at epoch "
                      f"{self.best_epoch})")

    def on_train_end(self, logs=None) -> None:
        if self.restore_best_weights and self._best_weights is not None:
            self.state.model.load_state_dict(self._best_weights)

    def state_dict(self) -> dict[str, Any]:
        """What a resumed ``fit`` needs to continue counting (best, wait, best weights)."""
        return {"best": self.best, "wait": self.wait, "best_epoch": self.best_epoch,
                "stopped_epoch": self.stopped_epoch, "best_weights": self._best_weights}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._tracker.best, self.wait = float(state["best"]), int(state["wait"])
        self.best_epoch, self.stopped_epoch = int(state["best_epoch"]), int(state["stopped_epoch"])
        self._best_weights = state.get("best_weights")


class ModelCheckpoint(Callback):
    """Save the model with ``jn.save`` after an epoch: only when ``monitor`` improved
    (``save_best_only``, default) or every epoch.  ``filepath`` may hold format fields
    (``"ckpt-{epoch:02d}-{val_accuracy:.3f}.safetensors"``).  ``save_weights_only``
    (default) writes ``model.state_dict()``; otherwise a dict with the model's and the
    optimizer's state dicts, the epoch and its logs."""

    def __init__(self, filepath: str | os.PathLike, monitor: str = "val_loss",
                 mode: str = "auto", save_best_only: bool = True, save_weights_only: bool = True,
                 verbose: bool = False) -> None:
        self.filepath = os.fspath(filepath)
        self._tracker = _Monitor(monitor, mode, 0.0, "ModelCheckpoint")
        self.monitor, self.save_best_only = monitor, save_best_only
        self.save_weights_only, self.verbose = save_weights_only, verbose
        self.best_path: str | None = None
        self.best_epoch = 0

    @property
    def best(self) -> float:
        return self._tracker.best

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        if self.save_best_only:
            value = _monitored(logs, self.monitor, "ModelCheckpoint")
            if not self._tracker.improved(value):
                return
            self._tracker.best, self.best_epoch = value, epoch
        path = self.filepath.format(epoch=epoch, **logs)
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        state = _unwrapped(self.state.model).state_dict()
        if not self.save_weights_only:
            state = {"model": state, "optimizer": self.state.optimizer.state_dict(),
                     "epoch": epoch, "logs": dict(logs)}
        save(state, path)
        self.best_path = path
        if self.verbose:
            print(f"ModelCheckpoint: saved {path} (epoch {epoch})")

    def state_dict(self) -> dict[str, Any]:
        """The best value so far and where it was saved (for a resumed ``fit``)."""
        return {"best": self.best, "best_epoch": self.best_epoch, "best_path": self.best_path}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._tracker.best, self.best_epoch = float(state["best"]), int(state["best_epoch"])
        self.best_path = state.get("best_path")


def _unwrapped(model):
    """A DistributedDataParallel's module (its checkpoints hold the plain model's keys)."""
    from .nn.parallel import DistributedDataParallel

    return model.module if isinstance(model, DistributedDataParallel) else model


class LRSchedulerCallback(Callback):
    """Step an lr scheduler: after every epoch (default), or after every batch with
    ``per_batch=True`` (``OneCycleLR`` always steps per batch).  ``ReduceLROnPlateau`` gets
    the epoch's ``monitor`` value (default ``val_loss``, else ``loss``)."""

    def __init__(self, scheduler, per_batch: bool | None = None,
                 monitor: str | None = None) -> None:
        from .optim.lr_scheduler import OneCycleLR, ReduceLROnPlateau

        self.scheduler = scheduler
        self.plateau = isinstance(scheduler, ReduceLROnPlateau)
        self.per_batch = isinstance(scheduler, OneCycleLR) if per_batch is None else per_batch
        if self.plateau and self.per_batch:
            raise ValueError("LRSchedulerCallback: ReduceLROnPlateau steps once per epoch")
        self.monitor = monitor

    def on_batch_end(self, batch: int, logs: dict[str, float]) -> None:
        if self.per_batch:
            self.scheduler.step()

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        if self.per_batch:
            return
        if self.plateau:
            monitor = self.monitor or ("val_loss" if "val_loss" in logs else "loss")
            self.scheduler.step(_monitored(logs, monitor, "LRSchedulerCallback"))
        else:
            self.scheduler.step()


# ---------------------------------------------------------------------- the loops

def _split_batch(batch) -> tuple[Any, Any]:
    if isinstance(batch, (tuple, list)) and len(batch) == 2:
        return batch[0], batch[1]
    raise ValueError("fit/evaluate: each batch must be an (inputs, targets) pair, got "
                     + (f"a sequence of {len(batch)} items" if isinstance(batch, (tuple, list))
                        else type(batch).__name__))


def _to(x, device):
    return x.to(device) if device is not None and isinstance(x, Tensor) else x


def _metric_fns(metrics: Iterable) -> dict[str, Callable]:
    out = {}
    for m in metrics:
        if isinstance(m, str):
            if m not in METRICS:
                raise ValueError(f"unknown metric {m!r}; known: {sorted(METRICS)} (or pass a "
                                 "callable (y_true, y_pred) -> float)")
            out[m] = METRICS[m]
        elif callable(m):
            out[getattr(m, "__name__", type(m).__name__)] = m
        else:
            raise TypeError(f"metrics must be names or callables, got {type(m).__name__}")
    return out


def _host(t) -> np.ndarray:
    return t.detach().cpu().numpy() if isinstance(t, Tensor) else np.asarray(t)


def _score(fns: dict[str, Callable], targets: list, outputs: list, prefix: str) -> dict:
    if not fns or not outputs:
        return {}
    y_true, y_pred = np.concatenate(targets), np.concatenate(outputs)
    return {prefix + name: float(fn(y_true, y_pred)) for name, fn in fns.items()}


def _batch_size(x) -> int:
    return int(x.shape[0]) if hasattr(x, "shape") and len(x.shape) else 1


def _check_loader(loader, who: str) -> None:
    if not isinstance(loader, Iterable):
        raise TypeError(f"{who}: expected an iterable of batches (a DataLoader), got "
                        f"{type(loader).__name__}")


class _Progress:
    """fit's per-epoch tqdm bar.  While Numba compiles kernels (the first run on a machine)
    it says so, and the compile time is taken out of the rate, so the ETA is the training's."""

    def __init__(self, tqdm, loader, desc: str) -> None:
        from .kernels.compile_watch import NOTICE, watch

        self.watch, self.desc, self.notice = watch(), desc, f"{desc}, {NOTICE}"
        total = len(loader) if hasattr(loader, "__len__") else None
        self.bar = tqdm(total=total, desc=desc, unit="batch", leave=True, file=sys.stdout,
                        dynamic_ncols=True)
        self.compiled = self.watch.seconds
        self.watch.on_start.append(self._compiling)

    def _compiling(self) -> None:
        self.bar.set_description_str(self.notice)  # refreshes the bar now

    def batch_done(self, loss: str | None) -> None:
        spent = self.watch.seconds - self.compiled
        if spent > 0:  # shift the bar's clocks: the compile never happened, for its rate
            self.compiled += spent
            self.bar.start_t += spent
            self.bar.last_print_t += spent
            self.bar.set_description_str(self.desc, refresh=False)
        if loss is not None:
            self.bar.set_postfix(loss=loss, refresh=False)
        self.bar.update(1)

    def close(self, logs: dict[str, str]) -> None:
        self.watch.on_start.remove(self._compiling)
        self.bar.set_description_str(self.desc, refresh=False)
        self.bar.set_postfix(logs)
        self.bar.close()


def fit(model, train_loader, optimizer, loss_fn, epochs: int = 1, val_loader=None,
        metrics: Sequence = ("accuracy",), callbacks: Sequence[Callback] = (), scheduler=None,
        device=None, progress: bool = True, state_dir: str | os.PathLike | None = None,
        resume_from: str | os.PathLike | None = None) -> History:
    """Train ``model`` for ``epochs`` passes over ``train_loader``; returns a ``History``.

    Each batch: ``loss = loss_fn(model(x), y)``, ``optimizer.zero_grad()``,
    ``loss.backward()``, ``optimizer.step()``.  After each epoch the history
    gets the mean training ``loss``, each metric on the training predictions
    (names from ``jitnet.metrics``: "accuracy", "precision", "recall", "f1";
    or callables ``(y_true, y_pred_scores) -> float``), ``val_loss`` and
    ``val_<metric>`` when ``val_loader`` is given, and the ``lr`` the epoch trained with.
    ``scheduler`` is stepped per epoch (per batch for OneCycleLR;
    ReduceLROnPlateau gets ``val_loss``).  ``device`` moves the model and each
    batch there.  ``progress`` shows a tqdm bar per epoch.

    ``state_dir``: after every epoch, write the full training state to
    ``state_dir/last.safetensors`` (model, optimizer, scheduler, epoch, history, the
    callbacks' ``state_dict()``, and every random stream: jitnet's global generator behind
    dropout, shuffling and transforms, and the loader's own generator), then a summary to
    ``state_dir/last.json``, each written atomically.  ``resume_from``: such a directory (or
    its ``last.safetensors``); training continues after the saved epoch and ends with the same
    parameters, bit for bit, as a run that was never interrupted (same code, data, device
    and thread count).  Build the model, optimizer, scheduler and callbacks as for the
    first run; their state is overwritten.

    Under ``jitnet.distributed`` (more than one rank) the epoch's training loss and metrics
    are computed over every rank's predictions, rank 0's logs are the ones every rank's
    callbacks see, only rank 0 shows progress and writes ``state_dir`` (pass the same
    ``state_dir`` on every rank), and a sampler with ``set_epoch`` (``DistributedSampler``)
    gets ``set_epoch(epoch - 1)`` before each epoch.
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"fit: epochs must be a positive int, got {epochs!r}")
    if not callable(loss_fn):
        raise TypeError(f"fit: loss_fn must be callable, got {type(loss_fn).__name__}")
    if not hasattr(optimizer, "step") or not hasattr(optimizer, "zero_grad"):
        raise TypeError(f"fit: optimizer must have step() and zero_grad(), got "
                        f"{type(optimizer).__name__}")
    _check_loader(train_loader, "fit")
    if val_loader is not None:
        _check_loader(val_loader, "fit")
    fns = _metric_fns(metrics)
    saved = _read_training_state(resume_from) if resume_from is not None else None
    ranks = _Ranks()
    if device is not None:
        model.to(device)
    user_callbacks = list(callbacks)
    callbacks = list(user_callbacks)
    if scheduler is not None:
        callbacks.append(LRSchedulerCallback(scheduler))
    state = TrainState(model, optimizer, epochs)
    for cb in callbacks:
        cb.set_state(state)
        cb.on_train_begin({})
    history = History()
    first = 1
    if saved is not None:
        first = _restore(saved, model, optimizer, scheduler, user_callbacks, history,
                         train_loader, ranks, state)
    tqdm = _tqdm() if progress and ranks.rank == 0 else None
    sampler = getattr(train_loader, "sampler", None)
    for epoch in range(first, epochs + 1):
        if state.stop_training:  # a resumed run that had stopped early
            break
        state.epoch = epoch
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(epoch - 1)
        for cb in callbacks:
            cb.on_epoch_begin(epoch, {})
        model.train()
        total, count, targets, outputs = 0.0, 0, [], []
        bar = _Progress(tqdm, train_loader, f"Epoch {epoch}/{epochs}") if tqdm else None
        for i, batch in enumerate(train_loader):
            x, y = _split_batch(batch)
            x, y = _to(x, device), _to(y, device)
            out = model(x)
            loss = loss_fn(out, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            value, n = float(loss.item()), _batch_size(x)
            total, count = total + value * n, count + n
            if fns:
                targets.append(_host(y))
                outputs.append(_host(out))
            for cb in callbacks:
                cb.on_batch_end(i, {"loss": value})
            if bar is not None:
                bar.batch_done(loss=f"{total / count:.4f}" if i % 10 == 0 else None)
        total, count, targets, outputs = ranks.gather_epoch(total, count, targets, outputs)
        if count == 0:
            raise ValueError("fit: train_loader produced no batches")
        logs = {"loss": total / count, **_score(fns, targets, outputs, "")}
        if val_loader is not None:
            val = evaluate(model, val_loader, loss_fn, metrics, device=device)
            logs.update({"val_" + k: v for k, v in val.items()})
        logs["lr"] = float(optimizer.param_groups[0]["lr"]) \
            if hasattr(optimizer, "param_groups") else math.nan
        logs = ranks.from_rank0(logs)
        if bar is not None:
            bar.close({k: f"{v:.4g}" for k, v in logs.items()})
        history.append(epoch, logs)
        for cb in callbacks:
            cb.on_epoch_end(epoch, logs)
        if state_dir is not None:  # last, so that nothing draws random numbers after it
            _write_training_state(state_dir, epoch, epochs, logs, model, optimizer, scheduler,
                                  user_callbacks, history, train_loader, ranks,
                                  state.stop_training)
        if state.stop_training:
            break
    final = {k: v[-1] for k, v in history.items()}
    for cb in callbacks:
        cb.on_train_end(final)
    return history


# ---------------------------------------------------------------------- ranks and state

class _Ranks:
    """fit's view of ``jitnet.distributed``: a world of one unless a group of >1 exists."""

    def __init__(self) -> None:
        from . import distributed as dist

        self.dist = dist
        on = dist.is_initialized() and dist.get_world_size() > 1
        self.rank, self.size = (dist.get_rank(), dist.get_world_size()) if on else (0, 1)

    def gather_epoch(self, total: float, count: int, targets: list, outputs: list):
        if self.size == 1:
            return total, count, targets, outputs
        parts: list = [None] * self.size
        self.dist.all_gather_object(parts, (total, count, targets, outputs))
        return (sum(p[0] for p in parts), sum(p[1] for p in parts),
                [a for p in parts for a in p[2]], [a for p in parts for a in p[3]])

    def from_rank0(self, obj):
        if self.size == 1:
            return obj
        box = [obj]
        self.dist.broadcast_object_list(box, 0)
        return box[0]

    def gather(self, obj) -> list:
        if self.size == 1:
            return [obj]
        parts: list = [None] * self.size
        self.dist.all_gather_object(parts, obj)
        return parts


STATE_FILE, STATE_SUMMARY = "last.safetensors", "last.json"
_STATE_FORMAT = "jitnet.training_state"


def _loader_generator(loader):
    from .random import Generator

    for owner in (getattr(loader, "sampler", None), loader):
        gen = getattr(owner, "generator", None)
        if isinstance(gen, Generator):
            return gen
    return None


def _rng_states(loader) -> dict:
    from .random import get_rng_state

    gen = _loader_generator(loader)
    return {"global": get_rng_state(), "loader": gen.get_state() if gen is not None else None}


def _write_training_state(directory, epoch: int, epochs: int, logs: dict, model, optimizer,
                          scheduler, callbacks: list, history: History, loader, ranks: _Ranks,
                          stopped: bool) -> None:
    rng = ranks.gather(_rng_states(loader))  # a collective: every rank takes part
    if ranks.rank != 0:
        return
    payload = {
        "format": _STATE_FORMAT, "version": 1, "epoch": epoch, "epochs": epochs,
        "stop_training": bool(stopped), "world_size": ranks.size,
        "model": _unwrapped(model).state_dict(),  # no "module." prefix: resumable either way
        "optimizer": optimizer.state_dict() if hasattr(optimizer, "state_dict") else None,
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "callbacks": [[type(cb).__name__, cb.state_dict() if hasattr(cb, "state_dict") else None]
                      for cb in callbacks],
        "history": history.to_dict(),
        "rng": rng,
    }
    directory = os.fspath(directory)
    os.makedirs(directory, exist_ok=True)
    save(payload, os.path.join(directory, STATE_FILE))
    summary = {"epoch": epoch, "epochs": epochs, "stop_training": bool(stopped),
               "world_size": ranks.size, "logs": logs, "state": STATE_FILE}
    _write_json_atomic(os.path.join(directory, STATE_SUMMARY), summary)


def _write_json_atomic(path: str, obj) -> None:
    import json
    import tempfile

    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp",
                               dir=directory)
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(obj, fh, indent=2)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def training_state_path(run_dir: str | os.PathLike) -> str:
    """``run_dir/last.safetensors`` (or ``run_dir`` itself when it is that file)."""
    path = os.fspath(run_dir)
    return path if os.path.isfile(path) else os.path.join(path, STATE_FILE)


def _read_training_state(where) -> dict:
    from .io import load

    path = training_state_path(where)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"fit: resume_from={os.fspath(where)!r} holds no training state "
                                f"(no {STATE_FILE}); pass the state_dir of an earlier fit")
    saved = load(path, map_location="cpu")
    if not isinstance(saved, dict) or saved.get("format") != _STATE_FORMAT:
        raise ValueError(f"fit: {path} is not a training state written by fit(state_dir=...)")
    return saved


def _restore(saved: dict, model, optimizer, scheduler, callbacks: list, history: History,
             loader, ranks: _Ranks, state: TrainState) -> int:
    """Put a saved training state back; returns the first epoch still to run."""
    from .random import set_rng_state

    _unwrapped(model).load_state_dict(saved["model"])
    if saved.get("optimizer") is not None and hasattr(optimizer, "load_state_dict"):
        optimizer.load_state_dict(saved["optimizer"])
    if scheduler is not None:
        if saved.get("scheduler") is None:
            raise ValueError("fit: the saved training state has no scheduler state, but a "
                             "scheduler was passed")
        scheduler.load_state_dict(saved["scheduler"])
    entries = saved.get("callbacks") or []
    for i, cb in enumerate(callbacks):
        if hasattr(cb, "load_state_dict") and i < len(entries) \
                and entries[i][0] == type(cb).__name__ and entries[i][1] is not None:
            cb.load_state_dict(entries[i][1])
    record = saved["history"]
    for epoch_i, e in enumerate(record.get("epoch", [])):
        history.append(int(e), {k: v[epoch_i] for k, v in record.items() if k != "epoch"})
    rng = saved["rng"]
    if len(rng) != ranks.size:
        warnings.warn(f"fit: the training state was saved by {len(rng)} ranks, resumed on "
                      f"{ranks.size}; every rank continues rank 0's random streams",
                      stacklevel=3)
    mine = rng[ranks.rank] if ranks.rank < len(rng) else rng[0]
    set_rng_state(mine["global"])
    gen = _loader_generator(loader)
    if gen is not None and mine.get("loader") is not None:
        gen.set_state(mine["loader"])
    state.stop_training = bool(saved.get("stop_training", False))
    return int(saved["epoch"]) + 1


def evaluate(model, loader, loss_fn=None, metrics: Sequence = ("accuracy",),
             device=None) -> dict[str, float]:
    """Mean ``loss`` (when ``loss_fn`` is given) and each metric over ``loader``, with the
    model in eval mode and no graph recorded; the model's previous mode is restored."""
    _check_loader(loader, "evaluate")
    fns = _metric_fns(metrics)
    was_training = model.training
    model.eval()
    total, count, targets, outputs = 0.0, 0, [], []
    try:
        with no_grad():
            for batch in loader:
                x, y = _split_batch(batch)
                x, y = _to(x, device), _to(y, device)
                out = model(x)
                n = _batch_size(x)
                if loss_fn is not None:
                    total += float(loss_fn(out, y).item()) * n
                count += n
                if fns:
                    targets.append(_host(y))
                    outputs.append(_host(out))
    finally:
        model.train(was_training)
    if count == 0:
        raise ValueError("evaluate: loader produced no batches")
    logs = {"loss": total / count} if loss_fn is not None else {}
    logs.update(_score(fns, targets, outputs, ""))
    return logs


def predict(model, data, device=None, batch_size: int = 256) -> Tensor:
    """The model's outputs for every sample, concatenated along dim 0, computed in eval mode
    without a graph.  ``data`` is a Tensor (cut into ``batch_size`` chunks) or an iterable of
    batches (a batch that is a tuple/list contributes its first element, the inputs)."""
    was_training = model.training
    model.eval()
    outs = []
    try:
        with no_grad():
            if isinstance(data, Tensor):
                if data.ndim == 0:
                    raise ValueError("predict: expected a batch of inputs, got a 0-d tensor")
                for start in range(0, data.shape[0], batch_size):
                    outs.append(model(_to(data[start:start + batch_size], device)))
            else:
                _check_loader(data, "predict")
                for batch in data:
                    x = batch[0] if isinstance(batch, (tuple, list)) else batch
                    outs.append(model(_to(x, device)))
    finally:
        model.train(was_training)
    if not outs:
        raise ValueError("predict: no inputs")
    return outs[0] if len(outs) == 1 else cat(outs, 0)


def _tqdm():
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - depends on the environment
        warnings.warn("fit: tqdm is not installed; training without a progress bar",
                      stacklevel=3)
        return None
    return tqdm

