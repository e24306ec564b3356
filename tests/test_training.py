"""jitnet.fit / evaluate / predict, History and the callbacks."""
from __future__ import annotations

import json

import numpy as np
import pytest

import jitnet as jn
from jitnet import nn, optim
from jitnet.data import DataLoader, TensorDataset
from jitnet.training import EarlyStopping, LRSchedulerCallback, ModelCheckpoint


def blobs(n=96, seed=0):
    """Three separable Gaussian blobs in 2-D."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    centres = np.array([[0.0, 3.0], [3.0, -2.0], [-3.0, -2.0]])
    x = (centres[y] + 0.5 * rng.standard_normal((n, 2))).astype(np.float32)
    return TensorDataset(jn.tensor(x), jn.tensor(y))


def setup(lr=0.05, seed=0):
    jn.manual_seed(seed)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
    return model, optim.Adam(model.parameters(), lr=lr), nn.CrossEntropyLoss()


def test_fit_learns_and_records_history():
    model, opt, loss_fn = setup()
    train = DataLoader(blobs(), batch_size=16, shuffle=True)
    val = DataLoader(blobs(seed=1), batch_size=32)
    hist = jn.fit(model, train, opt, loss_fn, epochs=8, val_loader=val,
                  metrics=("accuracy", "f1"), progress=False)
    assert hist.epochs == list(range(1, 9))
    assert set(hist) == {"loss", "accuracy", "f1", "val_loss", "val_accuracy", "val_f1", "lr"}
    assert all(len(v) == 8 for v in hist.values()) and hist.history is hist
    assert hist["loss"][-1] < hist["loss"][0] and hist["val_accuracy"][-1] > 0.95
    assert hist["lr"] == [0.05] * 8
    assert json.loads(json.dumps(hist.to_dict()))["epoch"] == list(range(1, 9))
    assert model.training  # fit leaves the model in training mode
    res = jn.evaluate(model, val, loss_fn)
    assert res["accuracy"] == pytest.approx(hist["val_accuracy"][-1])
    assert not jn.evaluate(model, val, metrics=()).keys()


def test_fit_with_progress_bar_and_custom_metric(capsys):
    model, opt, loss_fn = setup()

    def top_class_share(y_true, y_pred):
        return float(np.mean(np.argmax(y_pred, axis=1) == 0))

    hist = jn.fit(model, DataLoader(blobs(), batch_size=32), opt, loss_fn, epochs=1,
                  metrics=[top_class_share], progress=True)
    assert "top_class_share" in hist
    assert "Epoch 1/1" in capsys.readouterr().out


def test_scheduler_is_stepped_per_epoch_and_per_batch():
    model, opt, loss_fn = setup(lr=0.1)
    sched = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    hist = jn.fit(model, DataLoader(blobs(), batch_size=32), opt, loss_fn, epochs=3,
                  scheduler=sched, progress=False)
    assert hist["lr"] == pytest.approx([0.1, 0.05, 0.025])  # the lr each epoch trained with
    assert opt.param_groups[0]["lr"] == pytest.approx(0.0125)
    model, opt, loss_fn = setup(lr=0.1)
    loader = DataLoader(blobs(), batch_size=32)
    one = optim.lr_scheduler.OneCycleLR(opt, max_lr=0.2, epochs=2,
                                        steps_per_epoch=len(loader))
    jn.fit(model, loader, opt, loss_fn, epochs=2, scheduler=one, progress=False)
    assert one.last_epoch == 2 * len(loader)
    model, opt, loss_fn = setup(lr=0.1)
    plateau = optim.lr_scheduler.ReduceLROnPlateau(opt, mode="max", patience=0, factor=0.5)
    jn.fit(model, loader, opt, loss_fn, epochs=2, progress=False,
           callbacks=[LRSchedulerCallback(plateau, monitor="accuracy")])
    assert plateau.last_epoch == 2
    with pytest.raises(ValueError, match="steps once per epoch"):
        LRSchedulerCallback(plateau, per_batch=True)


def test_early_stopping_and_restore(tmp_path):
    model, opt, loss_fn = setup(lr=0.0)  # lr 0: nothing improves after the first epoch
    stop = EarlyStopping(monitor="loss", patience=1)
    hist = jn.fit(model, DataLoader(blobs(), batch_size=32), opt, loss_fn, epochs=10,
                  callbacks=[stop], progress=False)
    assert len(hist.epochs) == 3 and stop.stopped_epoch == 3 and stop.best_epoch == 1

    model, opt, loss_fn = setup(lr=0.05)
    stop = EarlyStopping(monitor="val_accuracy", patience=100, restore_best_weights=True)
    val = DataLoader(blobs(seed=1), batch_size=96)
    jn.fit(model, DataLoader(blobs(), batch_size=16), opt, loss_fn, epochs=4, val_loader=val,
           callbacks=[stop], progress=False)
    assert stop.best == pytest.approx(jn.evaluate(model, val, loss_fn)["accuracy"])
    with pytest.raises(ValueError, match="'val_loss' is not in the epoch logs"):
        jn.fit(model, DataLoader(blobs(), batch_size=32), opt, loss_fn, epochs=1,
               callbacks=[EarlyStopping()], progress=False)
    with pytest.raises(ValueError, match="mode must be"):
        EarlyStopping(mode="up")


def test_model_checkpoint_saves_best(tmp_path):
    model, opt, loss_fn = setup()
    val = DataLoader(blobs(seed=1), batch_size=96)
    ckpt = ModelCheckpoint(tmp_path / "best.safetensors", monitor="val_loss")
    every = ModelCheckpoint(tmp_path / "e{epoch:02d}-{loss:.2f}.safetensors",
                            save_best_only=False, save_weights_only=False)
    hist = jn.fit(model, DataLoader(blobs(), batch_size=16), opt, loss_fn, epochs=3,
                  val_loader=val, callbacks=[ckpt, every], progress=False)
    best_epoch = int(np.argmin(hist["val_loss"])) + 1
    assert ckpt.best_epoch == best_epoch and ckpt.best == min(hist["val_loss"])
    saved = jn.load(tmp_path / "best.safetensors")
    assert set(saved) == set(model.state_dict())
    full = jn.load(every.best_path)
    assert full["epoch"] == 3 and set(full) == {"model", "optimizer", "epoch", "logs"}
    assert len(list(tmp_path.glob("e0*.safetensors"))) == 3
    # the last epoch's checkpoint reloads to the same predictions as the trained model
    fresh, _, _ = setup(seed=5)
    fresh.load_state_dict(full["model"])
    x = blobs(seed=2).tensors[0]
    np.testing.assert_array_equal(jn.predict(fresh, x).numpy(), jn.predict(model, x).numpy())


def test_predict():
    model, _, _ = setup()
    ds = blobs(10)
    x = ds.tensors[0]
    out = jn.predict(model, x, batch_size=3)
    assert tuple(out.shape) == (10, 3) and not out.requires_grad
    # float32 rounding only: a BLAS may block a 3-row product differently from a 10-row one
    # (MKL on AMD Zen 4 does: 1.2e-7 apart on an output of 0.013)
    np.testing.assert_allclose(out.numpy(), model(x).detach().numpy(), rtol=1e-5, atol=1e-6)
    from_loader = jn.predict(model, DataLoader(ds, batch_size=4))
    np.testing.assert_allclose(from_loader.numpy(), out.numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="0-d tensor"):
        jn.predict(model, jn.tensor(1.0))


def test_bad_inputs():
    model, opt, loss_fn = setup()
    loader = DataLoader(blobs(), batch_size=32)
    with pytest.raises(ValueError, match="epochs must be a positive int"):
        jn.fit(model, loader, opt, loss_fn, epochs=0)
    with pytest.raises(TypeError, match="loss_fn must be callable"):
        jn.fit(model, loader, opt, "mse", progress=False)
    with pytest.raises(TypeError, match="optimizer must have step"):
        jn.fit(model, loader, object(), loss_fn, progress=False)
    with pytest.raises(ValueError, match="unknown metric 'auc'"):
        jn.fit(model, loader, opt, loss_fn, metrics=("auc",), progress=False)
    with pytest.raises(TypeError, match="expected an iterable of batches"):
        jn.fit(model, 5, opt, loss_fn, progress=False)
    triples = DataLoader(TensorDataset(jn.zeros(4, 2), jn.zeros(4), jn.zeros(4)), batch_size=2)
    with pytest.raises(ValueError, match="must be an \\(inputs, targets\\) pair"):
        jn.fit(model, triples, opt, loss_fn, progress=False)
    with pytest.raises(ValueError, match="produced no batches"):
        jn.fit(model, [], opt, loss_fn, progress=False)
