"""Per-element formulas written once, compiled for both devices.

Each module here (``elementwise``, ``loss``, ``optim``, ... named after its
``ops/`` family) holds plain Python functions of scalars: a forward formula
beside its derivative, an optimizer's update of one element. They are leaf
functions: they call only ``math`` and module-level constants, never another
function, so each backend can compile them on its own terms:

- the CPU kernels wrap them with ``kernels._jit.scalar`` (``njit(inline="always")``)
  and call them from their cached top-level loops;
- the CUDA kernels wrap them with ``kernels.cuda._launch.device_fn``
  (``cuda.jit(device=True)``).

The one exception is a helper named in that wrap: ``scalar(f, h)`` /
``device_fn(f, h)`` compile ``h`` for the same backend and bind it to the name
``f`` calls (``rnn.tanh_``, used by every recurrent cell formula).

Fixing a formula here fixes it on both devices.  Under the CUDA simulator they
run as plain Python, so a formula must not rely on Numba's float semantics
where Python raises (``math.exp`` of a large argument: clamp it first).
"""
