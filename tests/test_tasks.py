"""Task kernels (``kernels/cpu/tasks.py``): ``@task`` kernels run serially or fork onto the pool."""
import numba
import numpy as np
import pytest

from jitnet.kernels.cpu.tasks import forking, run_tasks, span, task


@task
def _fill_task(out, seen, scale, t, tasks):
    """Each task writes its index, scaled, over its span of ``out`` and marks ``seen[t]``."""
    lo, hi = span(t, tasks, out.shape[0])
    for i in range(lo, hi):
        out[i] = (t + 1) * scale
    seen[t] += 1


@task
def _raise_task(out, t, tasks):
    if t == tasks - 1:
        raise ValueError("the last task refuses")
    out[t] = 1.0


@pytest.mark.parametrize("tasks", [1, 2, 3, 7])
def test_every_task_runs_once_on_its_span(tasks):
    out = np.zeros(20)
    seen = np.zeros(tasks, dtype=np.int64)
    run_tasks(_fill_task, (out, seen, 0.5), tasks)
    np.testing.assert_array_equal(seen, np.ones(tasks))
    want = np.zeros(20)
    for t in range(tasks):  # span's rule: task t owns [t*n//tasks, (t+1)*n//tasks)
        want[t * 20 // tasks:(t + 1) * 20 // tasks] = (t + 1) * 0.5
    np.testing.assert_array_equal(out, want)


def test_forking_call_and_serial_call_share_one_compile():
    run_tasks(_fill_task, (np.zeros(4), np.zeros(1, dtype=np.int64), 1.0), 1)
    run_tasks(_fill_task, (np.zeros(4), np.zeros(2, dtype=np.int64), 1.0), 2)
    if hasattr(_fill_task, "signatures"):  # not under NUMBA_DISABLE_JIT
        assert len(_fill_task.signatures) == 1


def test_task_exception_serial_keeps_its_message():
    with pytest.raises(ValueError, match="the last task refuses"):
        run_tasks(_raise_task, (np.zeros(1),), 1)


def test_task_exception_in_a_thread_names_the_kernel():
    if numba.config.DISABLE_JIT:
        pytest.skip("tasks run as a Python loop: the task's own exception surfaces")
    out = np.zeros(2)
    with pytest.raises(RuntimeError, match="_raise_task: a parallel task failed"):
        run_tasks(_raise_task, (out,), 2)
    assert out[0] == 1.0  # the other task ran


def test_fork_keeps_docstring_name_and_source_lines():
    f = _fill_task.py_func if hasattr(_fill_task, "py_func") else _fill_task
    assert f.__name__ == "_fill_task" and f.__doc__.startswith("Each task writes")
    assert f.__code__.co_firstlineno == _fill_task_line()


def _fill_task_line() -> int:
    import inspect

    lines, start = inspect.findsource(test_every_task_runs_once_on_its_span)
    return next(i + 1 for i, line in enumerate(lines) if line.startswith("def _fill_task"))


def test_task_signature_must_end_in_t_tasks():
    def bad(*args):
        pass

    with pytest.raises(TypeError, match="needs plain positional arguments"):
        forking(bad)


def test_forked_source_shows_the_fork_first():
    src = forking(_fill_task.py_func if hasattr(_fill_task, "py_func") else _fill_task
                  ).forked_source
    body = src.splitlines()
    assert body[0] == "def _fill_task(out, seen, scale, t, tasks):"
    assert "if t < 0:" in body[2] and "_fork_tasks((out, seen, scale, t, tasks))" in body[3]
