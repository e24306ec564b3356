"""``jn.save`` / ``jn.load``: checkpoints in the safetensors format, never pickle.

A checkpoint holds any nesting of dicts, lists and tuples whose leaves are
Tensors, NumPy arrays, numbers, strings, bools or None: a model's
``state_dict()``, an optimizer's, or a dict bundling them with an epoch count.
Tensors are safetensors entries (so other safetensors tools can read them; a
flat ``state_dict`` keeps its own key names); the nesting and every
non-tensor value are JSON in the safetensors metadata under ``"jitnet"``.
Loading never executes code from the file.

Saving is atomic: the bytes go to a temporary file in the same directory,
which is flushed, fsync'ed and then renamed over the target with
``os.replace``, so a crash mid-save leaves the previous checkpoint intact.
"""
from __future__ import annotations

import json
import math
import os
import tempfile
from typing import Any

import numpy as np

from .device import Device, to_device
from .tensor import Tensor

__all__ = ["load", "save"]

FORMAT_KEY = "jitnet"
FORMAT_VERSION = 1


def _import_safetensors():
    try:
        import safetensors.numpy as stn
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("jn.save/jn.load need the safetensors package: "
                          "pip install 'jitnet[train]'") from exc
    return stn


# ---------------------------------------------------------------------- encoding

def _contiguous(a: np.ndarray) -> np.ndarray:
    # not np.ascontiguousarray: it turns a 0-d array into a 1-d one
    return a if a.flags.c_contiguous else a.copy(order="C")


class _Encoder:
    """Walks an object into a JSON tree plus a flat dict of named arrays."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def _name(self, path: str) -> str:
        name = path or "tensor"
        if name in self.arrays:
            i = 1
            while f"{name}#{i}" in self.arrays:
                i += 1
            name = f"{name}#{i}"
        return name

    def encode(self, obj: Any, path: str) -> Any:
        if isinstance(obj, Tensor):
            host = obj.detach()._k().to_host(obj.detach()._data)
            name = self._name(path)
            self.arrays[name] = _contiguous(host)
            node = {"t": name, "dev": str(obj.device)}
            if obj.requires_grad:
                node["rg"] = True
            return node
        if isinstance(obj, np.ndarray):
            if obj.dtype.kind not in "biuf":
                raise TypeError(f"save: cannot store a NumPy array of dtype {obj.dtype} "
                                f"(at {path or 'the top level'})")
            name = self._name(path)
            self.arrays[name] = _contiguous(obj)
            return {"a": name}
        if obj is None or isinstance(obj, (bool, str)):
            return {"v": obj}
        if isinstance(obj, (int, np.integer)):
            return {"v": int(obj)}
        if isinstance(obj, (float, np.floating)):
            x = float(obj)
            return {"v": x} if math.isfinite(x) else {"f": repr(x)}
        if isinstance(obj, dict):
            items = []
            for key, value in obj.items():
                if not isinstance(key, (str, int, float, bool)) and key is not None:
                    raise TypeError(f"save: dict keys must be str, int, float, bool or None, "
                                    f"got {type(key).__name__} (at {path or 'the top level'})")
                sub = f"{path}.{key}" if path else str(key)
                items.append([self.encode(key, ""), self.encode(value, sub)])
            return {"d": items}
        if isinstance(obj, (list, tuple)):
            nodes = [self.encode(v, f"{path}.{i}" if path else str(i)) for i, v in enumerate(obj)]
            return {"u": nodes} if isinstance(obj, tuple) else {"l": nodes}
        raise TypeError(f"save: cannot store an object of type {type(obj).__name__} "
                        f"(at {path or 'the top level'}); jitnet checkpoints hold tensors, "
                        "arrays, numbers, strings, None and dicts/lists/tuples of them "
                        "(never pickled objects)")


def _decode(node: Any, arrays: dict[str, np.ndarray], location) -> Any:
    if not isinstance(node, dict) or len(node) == 0:
        raise ValueError(f"malformed node {node!r}")
    if "t" in node:
        arr = arrays[node["t"]]
        if callable(location) and not isinstance(location, (dict, str, Device)):
            t = _call_location(location, Tensor(arr, Device("cpu")), node.get("dev", "cpu"))
        else:
            dev = _map_device(node.get("dev", "cpu"), location)
            t = Tensor(arr, Device("cpu")) if dev.type == "cpu" else Tensor(arr).to(dev)
        if node.get("rg"):
            t.requires_grad_(True)
        return t
    if "a" in node:
        return arrays[node["a"]]
    if "v" in node:
        return node["v"]
    if "f" in node:
        return float(node["f"])
    if "d" in node:
        return {_decode(k, arrays, location): _decode(v, arrays, location) for k, v in node["d"]}
    if "l" in node:
        return [_decode(v, arrays, location) for v in node["l"]]
    if "u" in node:
        return tuple(_decode(v, arrays, location) for v in node["u"])
    raise ValueError(f"malformed node {node!r}")


class _LocationError(TypeError):
    """The caller's map_location misbehaved (not the file): never reported as corruption."""


def _call_location(location, t: Tensor, saved: str) -> Tensor:
    """PyTorch's ``map_location(storage, location)``: a tensor back, or a device to move to."""
    out = location(t, saved)
    if isinstance(out, Tensor):
        return out
    if isinstance(out, (str, Device)):
        return t.to(to_device(out))
    raise _LocationError(f"load: map_location returned {type(out).__name__}; expected the tensor "
                    "it was given, a Tensor, or a device")


def _map_device(saved: str, location) -> Device:
    if location is None:
        return to_device(saved)
    if isinstance(location, dict):
        return to_device(location.get(saved, saved))
    if isinstance(location, (str, Device)):
        return to_device(location)
    raise TypeError(f"load: map_location must be None, a device, a device string or a dict "
                    f"of device strings, got {type(location).__name__}")


# ---------------------------------------------------------------------- files

def _write_all(fh, data: bytes) -> None:
    """Write ``data`` in chunks (a separate function so tests can simulate a crash)."""
    view = memoryview(data)
    for start in range(0, len(view), 1 << 24):
        fh.write(view[start:start + (1 << 24)])


def _fsync_dir(directory: str) -> None:
    try:  # make the rename itself durable; not possible on every platform
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _file_mode(path: str) -> int:
    """The existing checkpoint's permissions, or what a new file gets under the umask."""
    try:
        return os.stat(path).st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _is_file_object(f) -> bool:
    return hasattr(f, "write") or hasattr(f, "read")


def save(obj: Any, f, pickle_module=None, pickle_protocol=None) -> None:
    """Write ``obj`` (tensors, arrays, numbers, strings, None, nested in dicts, lists and
    tuples) to ``f`` in the safetensors format.

    ``f`` is a path (written atomically: a temporary file renamed over the
    target) or a binary file object opened for writing (``open(p, "wb")``,
    ``io.BytesIO()``), written at its current position.  Raises TypeError
    (naming the offending path) for anything else, e.g. a Module: save
    ``model.state_dict()`` instead.  PyTorch's ``pickle_module`` /
    ``pickle_protocol`` have no meaning here (nothing is pickled) and raise
    NotImplementedError when given.
    """
    if pickle_module is not None or pickle_protocol is not None:
        raise NotImplementedError("save: pickle_module/pickle_protocol are not supported; "
                                  "jitnet checkpoints are safetensors, never pickle")
    if not isinstance(f, (str, os.PathLike)) and not hasattr(f, "write"):
        raise TypeError(f"save: f must be a file path or a binary file object, "
                        f"got {type(f).__name__}")
    stn = _import_safetensors()
    encoder = _Encoder()
    tree = encoder.encode(obj, "")
    meta = {FORMAT_KEY: json.dumps({"version": FORMAT_VERSION, "tree": tree},
                                   allow_nan=False)}
    data = stn.save(encoder.arrays, metadata=meta)
    if not isinstance(f, (str, os.PathLike)):
        _write_all(f, data)
        if hasattr(f, "flush"):
            f.flush()
        return
    path = os.fspath(f)
    if os.path.isdir(path):
        raise IsADirectoryError(f"save: {path} is a directory; give a file name")
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp",
                               dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            _write_all(fh, data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _file_mode(path))  # mkstemp makes 0600; keep the usual permissions
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(directory)


READS = ("jitnet reads safetensors files: those jn.save writes, and plain safetensors "
         "files from other tools (e.g. safetensors.torch.save_file)")


def _corrupt(path: str, why: str) -> ValueError:
    return ValueError(f"load: {path} is not a jitnet checkpoint ({why}); the file is corrupt, "
                      f"truncated or in another format. {READS}")


def _foreign(path: str, raw: bytes) -> ValueError | None:
    """A clear error for formats jitnet recognises but does not read (PyTorch's pickles)."""
    if raw[:4] == b"PK\x03\x04":
        what = "a zip archive, the format torch.save writes (pickle inside)"
    elif raw[:1] == b"\x80" and raw[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        what = "a Python pickle (legacy torch.save or pickle.dump)"
    else:
        return None
    return ValueError(f"load: {path} is not a jitnet checkpoint: it is {what}, which jitnet "
                      f"never unpickles. {READS}; convert it once with PyTorch: "
                      f"safetensors.torch.save_file(torch.load(path), 'model.safetensors')")


def load(f, map_location=None, pickle_module=None, *, weights_only: bool | None = None,
         mmap: bool | None = None) -> Any:
    """Read a checkpoint written by ``save`` from a path or a binary file object.

    Tensors go back to the device they were saved from, or to ``map_location``:
    a device or device string, a dict mapping saved device strings to new ones,
    or a callable ``(tensor, saved_device_str) -> tensor or device`` (PyTorch's
    callable receives a storage; here it is the loaded CPU tensor).
    ``weights_only`` is accepted with either value: jitnet never unpickles, so
    loading is always as safe as PyTorch's ``weights_only=True``.  ``mmap`` is
    accepted and ignored (the file is read whole).

    A plain safetensors file written by another tool loads as a dict of
    tensors.  A file in another format (a PyTorch pickle, a corrupt or
    truncated file) raises ValueError naming the file and what jitnet reads.
    """
    if pickle_module is not None:
        raise NotImplementedError("load: pickle_module is not supported; jitnet checkpoints "
                                  "are safetensors, never pickle")
    if isinstance(f, (str, os.PathLike)):
        path = os.fspath(f)
        with open(path, "rb") as fh:
            raw = fh.read()
    elif hasattr(f, "read"):
        path = str(getattr(f, "name", "the file object"))
        raw = f.read()
        if not isinstance(raw, (bytes, bytearray)):
            raise TypeError(f"load: {path} must be opened in binary mode ('rb'), "
                            f"got {type(raw).__name__} from read()")
        raw = bytes(raw)
    else:
        raise TypeError(f"load: f must be a file path or a binary file object, "
                        f"got {type(f).__name__}")
    if not (map_location is None or callable(map_location)
            or isinstance(map_location, (str, Device, dict))):
        raise TypeError(f"load: map_location must be None, a device, a device string, a dict "
                        f"of device strings or a callable, got {type(map_location).__name__}")
    stn = _import_safetensors()
    # a safetensors file starts with its header's length and then the JSON header itself;
    # only a file that is not one is checked for PyTorch's formats (a length such as 0x380
    # starts with the bytes of a pickle's protocol marker, 80 03)
    head = int.from_bytes(raw[:8], "little") if len(raw) >= 8 else 0
    if not (0 < head and 8 + head <= len(raw) and raw[8:9] == b"{"):
        foreign = _foreign(path, raw)
        if foreign is not None:
            raise foreign
    if len(raw) < 8:
        raise _corrupt(path, f"only {len(raw)} bytes")
    n = int.from_bytes(raw[:8], "little")
    if n <= 0 or 8 + n > len(raw):
        raise _corrupt(path, f"header length {n} does not fit in {len(raw)} bytes")
    try:
        header = json.loads(raw[8:8 + n])
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _corrupt(path, f"unreadable header: {exc}") from None
    if not isinstance(header, dict):
        raise _corrupt(path, "the header is not a JSON object")
    try:
        arrays = stn.load(raw)
    except Exception as exc:  # safetensors raises its own SafetensorError
        raise _corrupt(path, str(exc)) from None
    meta = header.get("__metadata__") or {}
    if FORMAT_KEY not in meta:
        return {name: _decode({"t": name}, arrays, map_location) for name in arrays}
    try:
        doc = json.loads(meta[FORMAT_KEY])
        return _decode(doc["tree"], arrays, map_location)
    except _LocationError:
        raise
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise _corrupt(path, f"bad jitnet metadata: {exc}") from None
