"""Compile recorded CUDA kernel signatures to PTX: ``python ptx_compile.py SIGS.pkl``.

Run WITHOUT the simulator.  It needs NVVM (``pip install "numba-cuda[cu12]"``
ships it) but no GPU: ``cuda.compile_ptx`` types and compiles each kernel for
the argument types the simulator run recorded, which catches what the
simulator cannot (it runs the kernels as plain Python): typing errors,
unsupported constructs, mismatched shared-memory dtypes.  Prints one line per
failure and exits 1 if any; exits 3 when numba-cuda or NVVM is not installed.
"""
from __future__ import annotations

import pickle
import sys

TARGETS = ((9, 0), (7, 5))
"""Hopper (H100/H200) and Turing, the oldest architecture numba-cuda's NVVM still targets
by default; the kernels need float64 atomics (>= 6.0)."""


def main(path: str) -> int:
    import importlib.util

    if importlib.util.find_spec("numba_cuda") is None:  # Numba's deprecated built-in target
        print("PTX check needs the numba-cuda package (Numba's built-in numba.cuda is not "
              "checked)")
        return 3
    from numba import cuda

    try:
        from numba.cuda.cudadrv import nvvm

        nvvm.NVVM()
    except Exception as exc:  # no libNVVM: nothing to compile with
        print(f"NVVM not available: {exc}")
        return 3
    # Device functions are compiled for "the current device"; without a GPU there is
    # none, so name the compute capability the kernels are compiled for instead.
    import types

    from numba.cuda import dispatcher

    with open(path, "rb") as f:
        records = pickle.load(f)
    failures = 0
    for cc in TARGETS:
        dispatcher.get_current_device = lambda cc=cc: types.SimpleNamespace(compute_capability=cc)
        for module, name, sig in sorted(records, key=str):
            fn = getattr(importlib.import_module(module), name)
            try:
                cuda.compile_ptx(fn.py_func, sig, cc=cc)
            except Exception as exc:
                failures += 1
                print(f"FAIL sm_{cc[0]}{cc[1]} {module}.{name}{sig}: {type(exc).__name__}: "
                      f"{exc}".splitlines()[0])
    targets = ", ".join(f"sm_{a}{b}" for a, b in TARGETS)
    print(f"compiled {len(TARGETS) * len(records) - failures} of {len(TARGETS) * len(records)} "
          f"kernel signatures ({targets})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
