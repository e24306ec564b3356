"""jitnet where users put it: read-only installs, several Python threads, a silent import."""
import os
import subprocess
import sys
import textwrap
import threading

import numpy as np

import jitnet as jn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(code: str, env=None) -> subprocess.CompletedProcess:
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, env=full_env, cwd=ROOT, timeout=600)


def test_read_only_install_falls_back_to_in_memory_compilation():
    # A read-only disk makes every Numba cache locator fail, exactly as patched here;
    # jitnet must still import and run (compiling in memory) instead of failing.
    code = """
        import numba.core.caching as caching
        def read_only(self):
            raise OSError(30, "Read-only file system")
        caching._CacheLocator.ensure_cache_path = read_only
        import numpy as np
        import jitnet as jn
        x = jn.tensor(np.linspace(-1, 1, 50_000).astype(np.float32), requires_grad=True)
        y = (x.relu() * 2).sum()
        y.backward()
        print("ok", round(y.item(), 3), float(x.grad.numpy().max()))
    """
    r = _run(code, {"NUMBA_CACHE_DIR": ""})
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.split()[0] == "ok" and float(r.stdout.split()[2]) == 2.0


def test_import_is_silent_and_does_not_load_numba_cuda():
    r = _run("import jitnet, sys; print('numba.cuda' in sys.modules)",
             {"NUMBA_ENABLE_CUDASIM": "0"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False" and r.stderr == ""


def test_many_threads_share_the_kernels():
    rng = np.random.default_rng(0)
    w_np = rng.standard_normal((256, 256)).astype(np.float32)
    xs = [rng.standard_normal((256, 256)).astype(np.float32) for _ in range(4)]

    def step(x_np):
        w = jn.tensor(w_np, requires_grad=True)
        y = (jn.tensor(x_np) @ w).tanh().relu()  # 65k elements: the parallel kernels
        loss = y.mean()
        loss.backward()
        return loss.item(), w.grad.numpy()

    expected = [step(x) for x in xs]
    results = [None] * 4
    errors = []

    def worker(i):
        try:
            for _ in range(5):
                results[i] = step(xs[i])
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for (l1, g1), (l2, g2) in zip(expected, results):
        assert l1 == l2 and np.array_equal(g1, g2)
