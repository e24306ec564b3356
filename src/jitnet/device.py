"""Devices: ``jn.device("cpu")``, ``jn.device("cuda:0")``.

``numba.cuda`` is imported lazily, the first time a CUDA device is asked for,
so ``import jitnet`` stays fast and silent on machines with no GPU.
"""
from __future__ import annotations

import os


class Device:
    """Where a tensor's data lives: ``type`` is ``"cpu"`` or ``"cuda"``, ``index`` the GPU."""

    __slots__ = ("type", "index")

    def __init__(self, spec="cpu", index: int | None = None):
        if isinstance(spec, Device):
            self.type, self.index = spec.type, spec.index
            return
        if isinstance(spec, int) and not isinstance(spec, bool):  # torch.device(0) is cuda:0
            spec, index = "cuda", spec
        if not isinstance(spec, str):
            raise TypeError(f"device must be a string or jitnet.device, got {type(spec).__name__}")
        kind, _, idx = spec.partition(":")
        if kind not in ("cpu", "cuda"):
            raise RuntimeError(
                f"unknown device {spec!r}: expected 'cpu', 'cuda' or 'cuda:N'"
            )
        if idx:
            if not idx.isdigit():
                raise RuntimeError(f"invalid device index in {spec!r}")
            index = int(idx)
        if kind == "cpu" and index not in (None, 0):
            raise RuntimeError(f"cpu device has no index {index}")
        self.type = kind
        self.index = (index or 0) if kind == "cuda" else None

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            try:
                other = Device(other)
            except RuntimeError:
                return False
        return isinstance(other, Device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __repr__(self) -> str:
        return f"device(type={self.type!r})" if self.index is None else \
            f"device(type={self.type!r}, index={self.index})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"


CPU = Device("cpu")


def to_device(spec) -> Device:
    """Resolve None / string / Device to a Device (None means the CPU)."""
    if spec is None:
        return CPU
    if isinstance(spec, Device):
        return spec
    return Device(spec)


def simulator_enabled() -> bool:
    """True when Numba's CUDA simulator is switched on (``NUMBA_ENABLE_CUDASIM=1``)."""
    return os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0")


class _Cuda:
    """``jn.cuda``: availability queries that never print and never raise."""

    _status: tuple[bool, str] | None = None

    def _probe(self) -> tuple[bool, str]:
        if self._status is None:
            try:
                from numba import cuda  # lazy on purpose: slow and may warn

                ok = bool(cuda.is_available())
                why = "" if ok else "numba.cuda found no usable GPU or driver"
            except Exception as exc:  # any import or driver failure means "no"
                ok, why = False, f"numba.cuda could not be imported ({exc})"
            self._status = (ok, why)
        return self._status

    def is_available(self) -> bool:
        """True when a CUDA GPU (or the Numba CUDA simulator) can run jitnet kernels."""
        return self._probe()[0]

    def device_count(self) -> int:
        """Number of CUDA devices (1 under the simulator, 0 without CUDA)."""
        if not self.is_available():
            return 0
        from numba import cuda

        return 1 if simulator_enabled() else len(cuda.gpus)

    def require(self) -> None:
        """Raise a RuntimeError that says how to get CUDA, unless it is available."""
        ok, why = self._probe()
        if not ok:
            raise RuntimeError(
                f"CUDA is not available: {why}. Install the CUDA extra "
                "(pip install 'jitnet[cuda]', with numba-cuda[cu12] or [cu13] matching "
                "your driver) on a machine with an NVIDIA GPU and driver, or set "
                "NUMBA_ENABLE_CUDASIM=1 before importing jitnet to use the simulator."
            )

    def manual_seed(self, seed: int) -> None:
        """Seed jitnet's one generator (CUDA tensors draw from it too)."""
        from .random import manual_seed

        manual_seed(seed)

    def manual_seed_all(self, seed: int) -> None:
        """Same as ``manual_seed``: jitnet has one generator for every device."""
        self.manual_seed(seed)

    def current_device(self) -> int:
        """Index of the current CUDA device (always 0: jitnet uses one GPU per process)."""
        self.require()
        return 0

    def synchronize(self, device=None) -> None:
        """Wait for every queued CUDA kernel to finish (a no-op without CUDA)."""
        if self.is_available():
            from numba import cuda

            cuda.synchronize()


cuda = _Cuda()
