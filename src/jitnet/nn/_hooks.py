"""Module hooks: forward pre-hooks, forward hooks and full backward hooks (PyTorch's order).

``Module.__call__`` comes here only when a hook is registered.  A call runs the
forward pre-hooks (which may replace the arguments), then ``forward``, then the
forward hooks (which may replace the output).  Backward hooks are set up as in
PyTorch's ``BackwardHook``: every tensor argument and every tensor output is
passed through an identity ``Function``; the output identities record
``grad_output`` as the backward pass reaches them, and once the gradients of all
inputs that need one have arrived (or, with no such input, once the outputs'
have), ``hook(module, grad_input, grad_output)`` runs.
"""
from __future__ import annotations

from ..autograd import Function, is_grad_enabled
from ..tensor import Tensor
from ..utils.hooks import add_hook


def register(module, registry: str, hook, prepend: bool, with_kwargs: bool):
    """Add ``hook`` to ``module.<registry>`` and return its handle."""
    handle = add_hook(module.__dict__[registry], hook, prepend)
    if with_kwargs:
        module.__dict__["_hook_kwargs"].add(handle.id)
    return handle


def call_with_hooks(module, args: tuple, kwargs: dict):
    """``module(*args, **kwargs)`` with its hooks, in PyTorch's order."""
    d = module.__dict__
    with_kwargs = d["_hook_kwargs"]
    for hid, hook in list(d["_forward_pre_hooks"].items()):
        if hid in with_kwargs:
            res = hook(module, args, kwargs)
            if res is not None:
                if not (isinstance(res, tuple) and len(res) == 2):
                    raise RuntimeError("forward pre-hook must return None or a tuple of "
                                       f"(new_args, new_kwargs), but got {type(res).__name__}")
                args, kwargs = res
        else:
            res = hook(module, args)
            if res is not None:
                args = res if isinstance(res, tuple) else (res,)
    state = None
    if d["_backward_hooks"] and is_grad_enabled():
        state = _BackwardState(module)
        args = state.wrap_inputs(args)
    result = module.forward(*args, **kwargs)
    for hid, hook in list(d["_forward_hooks"].items()):
        res = hook(module, args, kwargs, result) if hid in with_kwargs else hook(module, args,
                                                                                 result)
        if res is not None:
            result = res
    if state is not None:
        result = state.wrap_outputs(result)
    return result


class _HookIdentity(Function):
    """Identity forward; its backward tells ``state`` the gradient that passed (and may take
    a replacement for it)."""

    @staticmethod
    def forward(ctx, x, state, role, index):
        ctx.state, ctx.role, ctx.index = state, role, index
        return x

    @staticmethod
    def backward(ctx, grad):
        return ctx.state.on_grad(ctx.role, ctx.index, grad, ctx.device), None, None, None


class _BackwardState:
    """The gradients of one module call, gathered for its backward hooks."""

    def __init__(self, module) -> None:
        self.module = module
        self.grad_inputs: list = []
        self.grad_outputs: list = []
        self.inputs_waiting = 0
        self.outputs_waiting = 0

    def wrap_inputs(self, args: tuple) -> tuple:
        out = []
        for a in args:
            if isinstance(a, Tensor):
                i = len(self.grad_inputs)
                self.grad_inputs.append(None)
                if a.requires_grad:
                    self.inputs_waiting += 1
                    a = _HookIdentity.apply(a, self, "in", i)
            out.append(a)
        return tuple(out)

    def wrap_outputs(self, result):
        single = isinstance(result, Tensor)
        items = (result,) if single else result
        if not isinstance(items, (tuple, list)):
            return result
        out = []
        for o in items:
            if isinstance(o, Tensor):
                i = len(self.grad_outputs)
                self.grad_outputs.append(None)
                if o.requires_grad:
                    self.outputs_waiting += 1
                    o = _HookIdentity.apply(o, self, "out", i)
            out.append(o)
        if single:
            return out[0]
        return type(result)(out) if isinstance(result, list) else tuple(out)

    def on_grad(self, role: str, index: int, grad, device):
        if role == "out":
            self.grad_outputs[index] = Tensor(grad, device)
            self.outputs_waiting -= 1
            if self.outputs_waiting == 0 and self.inputs_waiting == 0:
                self._call_hooks()
            return grad
        self.grad_inputs[index] = Tensor(grad, device)
        self.inputs_waiting -= 1
        if self.inputs_waiting == 0:
            new = self._call_hooks()
            if new is not None:
                return new[index]._data if new[index] is not None else None
        return grad

    def _call_hooks(self):
        """Run the module's backward hooks; the last replacement ``grad_input`` wins."""
        module = self.module
        replaced = None
        for hook in list(module.__dict__["_backward_hooks"].values()):
            res = hook(module, tuple(self.grad_inputs), tuple(self.grad_outputs))
            if res is None:
                continue
            res = tuple(res) if isinstance(res, (tuple, list)) else (res,)
            if len(res) != len(self.grad_inputs):
                raise RuntimeError(f"backward hook of {type(module).__name__} returned "
                                   f"{len(res)} gradients, but the module has "
                                   f"{len(self.grad_inputs)} tensor inputs")
            needing = [g for g in self.grad_inputs if g is not None]
            if len(needing) > 1:
                raise NotImplementedError(f"backward hook of {type(module).__name__}: "
                                          "replacing grad_input is supported for modules with "
                                          "one input that requires grad")
            for new, old in zip(res, self.grad_inputs):
                if new is not None and old is not None and tuple(new.shape) != tuple(old.shape):
                    raise RuntimeError(f"backward hook of {type(module).__name__} returned a "
                                       f"gradient of shape {tuple(new.shape)}, expected "
                                       f"{tuple(old.shape)}")
            self.grad_inputs = list(res)
            replaced = res
        return replaced
