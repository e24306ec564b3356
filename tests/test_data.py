"""jitnet.data: datasets, random_split, DataLoader and collation, transforms, and the
digits / MNIST / CIFAR-10 readers (with tiny files written here)."""
from __future__ import annotations

import gzip
import pickle

import numpy as np
import pytest

import jitnet as jn
from jitnet import data
from jitnet.data import DataLoader, Subset, TensorDataset, random_split
from jitnet.data import transforms as T
from jitnet.data.datasets import CIFAR10, MNIST, load_digits


def numbered(n=10):
    x = jn.arange(n * 2, dtype=jn.float32).reshape(n, 2)
    return TensorDataset(x, jn.arange(n))


# ---------------------------------------------------------------------- datasets

def test_tensor_dataset_and_subset():
    ds = numbered()
    assert len(ds) == 10
    x, y = ds[3]
    assert x.tolist() == [6.0, 7.0] and y.item() == 3
    sub = Subset(ds, [7, 2])
    assert len(sub) == 2 and sub[0][1].item() == 7
    arrays = TensorDataset(np.zeros((4, 2)), np.arange(4))
    assert arrays[1][1] == 1
    with pytest.raises(ValueError, match="Size mismatch between tensors"):
        TensorDataset(jn.zeros(3, 2), jn.zeros(4))
    with pytest.raises(TypeError, match="expected Tensors"):
        TensorDataset([1, 2, 3])
    both = ds + sub
    assert len(both) == 12 and both[11][1].item() == 2 and both[-1][1].item() == 2
    with pytest.raises(IndexError, match="out of range"):
        both[12]


def test_random_split():
    ds = numbered(10)
    a, b = random_split(ds, [7, 3], generator=jn.Generator().manual_seed(1))
    assert len(a) == 7 and len(b) == 3
    assert sorted(a.indices + b.indices) == list(range(10))
    a2, _ = random_split(ds, [7, 3], generator=jn.Generator().manual_seed(1))
    assert a.indices == a2.indices
    parts = random_split(ds, [0.5, 0.3, 0.2])
    assert [len(p) for p in parts] == [5, 3, 2]
    parts = random_split(numbered(11), [0.5, 0.5])
    assert [len(p) for p in parts] == [6, 5]
    with pytest.raises(ValueError, match="does not equal the length"):
        random_split(ds, [5, 4])
    with pytest.raises(ValueError, match="non-negative ints or fractions"):
        random_split(ds, [11, -1])


# ---------------------------------------------------------------------- DataLoader

def test_dataloader_batches_len_and_drop_last():
    ds = numbered(10)
    loader = DataLoader(ds, batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 and [b[0].shape[0] for b in batches] == [4, 4, 2]
    assert batches[0][1].tolist() == [0, 1, 2, 3] and batches[0][0].dtype is jn.float32
    loader = DataLoader(ds, batch_size=4, drop_last=True)
    assert len(loader) == 2 and len(list(loader)) == 2
    # a Subset of a TensorDataset keeps the fast gather path
    sub = DataLoader(Subset(ds, [9, 8, 7]), batch_size=2)
    assert [b[1].tolist() for b in sub] == [[9, 8], [7]]


def test_dataloader_shuffle_is_seeded_and_complete():
    ds = numbered(20)
    jn.manual_seed(3)
    first = [b[1].tolist() for b in DataLoader(ds, batch_size=5, shuffle=True)]
    jn.manual_seed(3)
    again = [b[1].tolist() for b in DataLoader(ds, batch_size=5, shuffle=True)]
    assert first == again
    flat = sorted(i for b in first for i in b)
    assert flat == list(range(20)) and [i for b in first for i in b] != list(range(20))
    gen = jn.Generator().manual_seed(0)
    loader = DataLoader(ds, batch_size=20, shuffle=True, generator=gen)
    e1, e2 = next(iter(loader))[1].tolist(), next(iter(loader))[1].tolist()
    assert e1 != e2  # a new permutation every epoch


class Samples(data.Dataset):
    """A generic dataset (no fast path): dict samples with arrays, numbers and strings."""

    def __len__(self):
        return 5

    def __getitem__(self, i):
        return {"img": np.full((2, 2), i, dtype=np.uint8), "label": i, "w": 0.5 * i,
                "name": f"s{i}", "pair": (i, float(i))}


def test_default_collate_types():
    batch = next(iter(DataLoader(Samples(), batch_size=3)))
    assert batch["img"].dtype is jn.uint8 and tuple(batch["img"].shape) == (3, 2, 2)
    assert batch["label"].dtype is jn.int64 and batch["label"].tolist() == [0, 1, 2]
    assert batch["w"].dtype is jn.float64
    assert batch["name"] == ["s0", "s1", "s2"]
    assert isinstance(batch["pair"], list) and batch["pair"][1].dtype is jn.float64
    col = data.default_collate([(jn.ones(2), 1), (jn.zeros(2), 0)])
    assert col[0].tolist() == [[1, 1], [0, 0]] and col[1].tolist() == [1, 0]
    with pytest.raises(RuntimeError, match="equal size"):
        data.default_collate([jn.ones(2), jn.ones(3)])
    with pytest.raises(TypeError, match="found object"):
        data.default_collate([object()])
    single = list(DataLoader(Samples(), batch_size=None))
    assert len(single) == 5 and single[1]["img"].dtype is jn.uint8
    custom = DataLoader(numbered(4), batch_size=2, collate_fn=lambda b: len(b))
    assert list(custom) == [2, 2]


class Stream(data.IterableDataset):
    def __iter__(self):
        return iter(range(7))


def test_iterable_dataset_and_samplers():
    assert [b.tolist() for b in DataLoader(Stream(), batch_size=3)] == [[0, 1, 2], [3, 4, 5],
                                                                        [6]]
    with pytest.raises(ValueError, match="shuffle"):
        DataLoader(Stream(), shuffle=True)
    sampler = [3, 1]
    assert [b[1].tolist() for b in DataLoader(numbered(), batch_size=2, sampler=sampler)] == \
        [[3, 1]]
    batches = DataLoader(numbered(), batch_sampler=[[0, 5], [2]])
    assert [b[1].tolist() for b in batches] == [[0, 5], [2]] and len(batches) == 2


def test_dataloader_bad_arguments():
    ds = numbered()
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        DataLoader(ds, batch_size=0)
    with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
        DataLoader(ds, sampler=[0], shuffle=True)
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive"):
        DataLoader(ds, batch_size=4, batch_sampler=[[0]])
    with pytest.raises(ValueError, match="num_workers option should be non-negative"):
        DataLoader(ds, num_workers=-1)
    with pytest.warns(UserWarning, match="main process"):
        DataLoader(ds, num_workers=2)
    with pytest.raises(TypeError, match="must be a Dataset"):
        DataLoader(3)


def test_utils_data_alias():
    import jitnet.utils.data as tud

    assert tud.DataLoader is DataLoader and tud.TensorDataset is TensorDataset
    assert jn.utils.data.random_split is random_split


# ---------------------------------------------------------------------- transforms

def test_to_tensor_and_normalize():
    img = np.arange(12, dtype=np.uint8).reshape(2, 2, 3) * 20
    t = T.ToTensor()(img)
    assert tuple(t.shape) == (3, 2, 2) and t.dtype is jn.float32
    np.testing.assert_allclose(t.numpy(), img.transpose(2, 0, 1) / 255.0, rtol=1e-6)
    gray = T.ToTensor()(np.full((4, 5), 255, np.uint8))
    assert tuple(gray.shape) == (1, 4, 5) and gray.numpy().max() == 1.0
    kept = T.ToTensor()(np.full((2, 2), 3.0))  # non-uint8 images keep dtype and scale
    assert kept.dtype is jn.float64 and kept.numpy().max() == 3.0
    n = T.Normalize([0.5, 0.0, 1.0], [0.5, 2.0, 1.0])(t)
    expect = (img.transpose(2, 0, 1) / 255.0 - np.array([0.5, 0, 1])[:, None, None]) \
        / np.array([0.5, 2, 1])[:, None, None]
    np.testing.assert_allclose(n.numpy(), expect, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="division by zero"):
        T.Normalize([0.5], [0.0])
    with pytest.raises(TypeError, match="use ToTensor first"):
        T.Normalize([0.5], [0.5])(img)
    with pytest.raises(ValueError, match="do not match 3 channels"):
        T.Normalize([0.5, 0.5], [1, 1])(t)
    with pytest.raises(TypeError, match="pic should be a NumPy array"):
        T.ToTensor()(t)


def test_flip_crop_rotation_compose_lambda():
    img = np.arange(20, dtype=np.uint8).reshape(4, 5)
    assert np.array_equal(T.RandomHorizontalFlip(p=1.0)(img), img[:, ::-1])
    assert T.RandomHorizontalFlip(p=0.0)(img) is img
    t = jn.tensor(img.astype(np.float32)[None])
    np.testing.assert_array_equal(T.RandomHorizontalFlip(1.0)(t).numpy()[0], img[:, ::-1])
    # a crop of the full padded size is the padded image itself
    padded = T.RandomCrop((6, 7), padding=1, fill=9)(img)
    assert padded.shape == (6, 7) and padded[0, 0] == 9 and np.array_equal(padded[1:5, 1:6],
                                                                            img)
    jn.manual_seed(0)
    crops = {T.RandomCrop(2)(img).tobytes() for _ in range(30)}
    assert len(crops) > 3  # random offsets
    one = T.RandomCrop(2)(img)
    assert any(np.array_equal(one, img[i:i + 2, j:j + 2]) for i in range(3) for j in range(4))
    assert T.RandomCrop(6, pad_if_needed=True)(img).shape == (6, 6)
    with pytest.raises(ValueError, match="larger than the"):
        T.RandomCrop(6)(img)
    with pytest.raises(NotImplementedError, match="padding_mode='reflect'"):
        T.RandomCrop(2, padding_mode="reflect")
    square = np.arange(25, dtype=np.float32).reshape(5, 5)
    rot = T.RandomRotation((90, 90))(square)
    np.testing.assert_array_equal(rot, np.rot90(square))  # counter-clockwise
    rgb = np.stack([square] * 3, axis=-1)
    np.testing.assert_array_equal(T.RandomRotation((90, 90))(rgb)[..., 1], np.rot90(square))
    same = T.RandomRotation((0, 0), interpolation=T.InterpolationMode.BILINEAR)(square)
    np.testing.assert_allclose(same, square)
    tt = jn.tensor(square[None])
    np.testing.assert_array_equal(T.RandomRotation((-90, -90))(tt).numpy()[0],
                                  np.rot90(square, -1))
    turned = T.RandomRotation((45, 45), interpolation="bilinear", fill=0)(np.ones((9, 9)))
    assert turned[4, 4] == 1.0 and turned[0, 0] == 0.0  # corners come from outside
    with pytest.raises(NotImplementedError, match="expand=True"):
        T.RandomRotation(10, expand=True)
    with pytest.raises(ValueError, match="must be positive"):
        T.RandomRotation(-5)
    pipeline = T.Compose([T.ToTensor(), T.Lambda(lambda x: x * 2)])
    assert pipeline(np.full((2, 2), 255, np.uint8)).numpy().max() == 2.0
    assert "ToTensor()" in repr(pipeline)
    with pytest.raises(TypeError, match="should be callable"):
        T.Lambda(3)
    with pytest.raises(TypeError, match="expected a Tensor, a NumPy image array"):
        T.RandomHorizontalFlip(1.0)([1, 2])


# ---------------------------------------------------------------------- bundled digits

def test_load_digits():
    train, test = load_digits()
    x, y = train.tensors
    assert tuple(x.shape) == (1438, 1, 8, 8) and x.dtype is jn.float32
    assert y.dtype is jn.int64 and len(test) == 359
    xs = x.numpy()
    assert xs.min() == 0.0 and xs.max() == 1.0
    counts = np.bincount(test.tensors[1].numpy(), minlength=10)
    assert counts.min() >= 35  # stratified: every digit in the test set
    again, _ = load_digits()
    np.testing.assert_array_equal(again.tensors[1].numpy(), y.numpy())
    other, _ = load_digits(seed=1)
    assert not np.array_equal(other.tensors[1].numpy(), y.numpy())
    flat, _ = load_digits(flatten=True)
    assert tuple(flat.tensors[0].shape) == (1438, 64)
    with pytest.raises(ValueError, match="test_size must be in"):
        load_digits(test_size=1.5)


# ---------------------------------------------------------------------- MNIST / CIFAR-10 files

def write_idx(path, arr, magic, compress=False):
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in arr.shape)
    payload = header + arr.astype(np.uint8).tobytes()
    if compress:
        with gzip.open(str(path) + ".gz", "wb") as f:
            f.write(payload)
    else:
        path.write_bytes(payload)


def make_mnist(root, n=6, compress=False):
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for prefix, count in (("train", n), ("t10k", n // 2)):
        images = rng.integers(0, 256, (count, 28, 28)).astype(np.uint8)
        labels = np.arange(count) % 10
        write_idx(raw / f"{prefix}-images-idx3-ubyte", images, 2051, compress)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels, 2049, compress)
    return images, labels


@pytest.mark.parametrize("compress", [False, True])
def test_mnist_reads_idx_files(tmp_path, compress):
    test_images, test_labels = make_mnist(tmp_path, compress=compress)
    train = MNIST(tmp_path, train=True)
    test = MNIST(str(tmp_path), train=False, download=True,
                 transform=T.ToTensor(), target_transform=lambda t: t + 100)
    assert len(train) == 6 and len(test) == 3
    img, label = train[1]
    assert img.shape == (28, 28) and img.dtype == np.uint8 and label == 1
    timg, tlabel = test[2]
    assert tuple(timg.shape) == (1, 28, 28) and tlabel == 102
    np.testing.assert_allclose(timg.numpy()[0], test_images[2] / 255.0, rtol=1e-6)
    assert test.data.dtype is jn.uint8 and test.targets.tolist() == list(test_labels)
    batch = next(iter(DataLoader(test, batch_size=3)))
    assert tuple(batch[0].shape) == (3, 1, 28, 28) and batch[1].tolist() == [100, 101, 102]


def test_mnist_missing_and_corrupt_files(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        MNIST(tmp_path, download=True)
    msg = str(err.value)
    assert "never downloads" in msg and "train-images-idx3-ubyte" in msg
    assert str(tmp_path / "MNIST" / "raw") in msg and "train-labels-idx1-ubyte" in msg
    make_mnist(tmp_path)
    path = tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        MNIST(tmp_path)
    path.write_bytes(b"\x00\x00\x08\x01" + b"\x00" * 20)
    with pytest.raises(ValueError, match="magic number 2051"):
        MNIST(tmp_path)


def make_cifar(root, per_batch=4, protocol=2):
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in names:
        entry = {b"data": rng.integers(0, 256, (per_batch, 3072)).astype(np.uint8),
                 b"labels": list(rng.integers(0, 10, per_batch))}
        entry[b"labels"] = [int(v) for v in entry[b"labels"]]
        with open(folder / name, "wb") as f:
            pickle.dump(entry, f, protocol=protocol)
    return folder


@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_cifar10_reads_python_batches(tmp_path, protocol):
    folder = make_cifar(tmp_path, protocol=protocol)
    train = CIFAR10(tmp_path, train=True)
    test = CIFAR10(tmp_path, train=False, transform=T.ToTensor())
    assert len(train) == 20 and len(test) == 4
    img, label = train[0]
    assert img.shape == (32, 32, 3) and img.dtype == np.uint8 and 0 <= label < 10
    with open(folder / "data_batch_1", "rb") as f:
        raw = pickle.load(f, encoding="bytes")[b"data"][0]
    np.testing.assert_array_equal(img, raw.reshape(3, 32, 32).transpose(1, 2, 0))
    timg, _ = test[1]
    assert tuple(timg.shape) == (3, 32, 32)


def test_cifar10_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="data_batch_1"):
        CIFAR10(tmp_path)
    folder = make_cifar(tmp_path)
    (folder / "data_batch_3").unlink()
    with pytest.raises(FileNotFoundError) as err:
        CIFAR10(tmp_path)
    assert "data_batch_3" in str(err.value) and "data_batch_1" not in str(err.value)
    assert CIFAR10(tmp_path, train=False) is not None
    (folder / "test_batch").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="not a CIFAR-10 python batch"):
        CIFAR10(tmp_path, train=False)

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    with open(folder / "test_batch", "wb") as f:
        pickle.dump({b"data": Evil(), b"labels": []}, f)
    with pytest.raises(ValueError, match="refusing to load builtins.print"):
        CIFAR10(tmp_path, train=False)
