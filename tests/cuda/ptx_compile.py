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

CC = (7, 0)  # Volta: float64 atomics and everything else the kernels use


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

    dispatcher.get_current_device = lambda: types.SimpleNamespace(compute_capability=CC)
    with open(path, "rb") as f:
        records = pickle.load(f)
    failures = 0
    for module, name, sig in sorted(records, key=str):
        fn = getattr(importlib.import_module(module), name)
        try:
            cuda.compile_ptx(fn.py_func, sig, cc=CC)
        except Exception as exc:
            failures += 1
            print(f"FAIL {module}.{name}{sig}: {type(exc).__name__}: {exc}".splitlines()[0])
    print(f"compiled {len(records) - failures} of {len(records)} kernel signatures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
