"""Recurrent layers as ``torch.nn``: ``RNN``, ``LSTM``, ``GRU`` and the cells ``RNNCell``,
``LSTMCell``, ``GRUCell``.

The input projection of every time step is one GEMM (``F.linear`` over the
whole sequence; for RNN and LSTM without b_ih, which the cell kernel adds with
b_hh, so both biases cost one add and one gradient sum).  Each family then runs
its recurrence in one Function per layer and direction (``ops/rnn.py``): per
step one GEMM and one fused cell kernel, forward and backward.  PyTorch's gate
order, parameter names (``weight_ih_l0``, ``bias_hh_l1_reverse``, ...) and init
U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), so a PyTorch state_dict loads.
"""
from __future__ import annotations

import math

from ..ops.rnn import gru_layer, lstm_layer, rnn_layer
from ..ops.shape import cat, stack
from ..tensor import Tensor, zeros
from . import functional as F
from . import init
from ._construct import new_parameter, positive_int, unsupported
from .module import Module

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _check_input(name: str, input, input_size: int) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: expected a Tensor input, got {type(input).__name__}")
    if input.ndim not in (2, 3):
        raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.ndim}D input "
                         f"of shape {tuple(input.shape)}")
    if input.shape[-1] != input_size:
        raise ValueError(f"{name}: input.size(-1) must be equal to input_size. Expected "
                         f"{input_size}, got {input.shape[-1]}")
    if not input.dtype.is_floating_point:
        raise TypeError(f"{name}: expected a floating point input, got {input.dtype}")


def _state(name: str, what: str, h, shape: tuple, unbatched: bool, like: Tensor) -> Tensor:
    """An initial state as (.., N, H): zeros when None; a clear error when misshapen."""
    if h is None:
        return zeros(*shape, dtype=like.dtype, device=like.device)
    if not isinstance(h, Tensor):
        raise TypeError(f"{name}: {what} must be a Tensor, got {type(h).__name__}")
    if unbatched:
        if h.ndim != len(shape) - 1:
            raise ValueError(f"{name}: for unbatched {len(shape) - 1}-D input, {what} should "
                             f"also be {len(shape) - 1}-D but got {h.ndim}-D tensor")
        h = h.unsqueeze(-2)
    if tuple(h.shape) != shape:
        want = shape[:-2] + shape[-1:] if unbatched else shape
        got = tuple(h.shape[:-2]) + tuple(h.shape[-1:]) if unbatched else tuple(h.shape)
        raise ValueError(f"{name}: Expected {what} size {want}, got {got}")
    if h.dtype is not like.dtype:
        raise TypeError(f"{name}: input is {like.dtype} but {what} is {h.dtype}")
    return h


class RNNBase(Module):
    """Shared constructor, parameters and time loop of ``RNN``, ``LSTM`` and ``GRU``."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None,
                 dtype=None) -> None:
        super().__init__()
        name = type(self).__name__
        if proj_size:
            raise unsupported(name, "proj_size", proj_size)
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) \
                or not 0 <= dropout <= 1:
            raise ValueError(f"{name}: dropout should be a number in range [0, 1], got "
                             f"{dropout!r}")
        self.mode = mode
        self.input_size = positive_int(name, "input_size", input_size)
        self.hidden_size = positive_int(name, "hidden_size", hidden_size)
        self.num_layers = positive_int(name, "num_layers", num_layers)
        self.bias, self.batch_first = bool(bias), bool(batch_first)
        self.dropout, self.bidirectional = float(dropout), bool(bidirectional)
        self.proj_size = 0
        dirs = 2 if bidirectional else 1
        gate = _GATES[mode] * hidden_size
        for layer in range(num_layers):
            width = input_size if layer == 0 else hidden_size * dirs
            for suffix in ("", "_reverse")[:dirs]:
                tag = f"l{layer}{suffix}"
                setattr(self, f"weight_ih_{tag}",
                        new_parameter(gate, width, device=device, dtype=dtype))
                setattr(self, f"weight_hh_{tag}",
                        new_parameter(gate, hidden_size, device=device, dtype=dtype))
                if bias:
                    setattr(self, f"bias_ih_{tag}", new_parameter(gate, device=device, dtype=dtype))
                    setattr(self, f"bias_hh_{tag}", new_parameter(gate, device=device, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def _params(self, layer: int, reverse: bool):
        tag = f"l{layer}{'_reverse' if reverse else ''}"
        return (getattr(self, f"weight_ih_{tag}"), getattr(self, f"weight_hh_{tag}"),
                getattr(self, f"bias_ih_{tag}") if self.bias else None,
                getattr(self, f"bias_hh_{tag}") if self.bias else None)

    def _direction(self, x: Tensor, layer: int, reverse: bool, h0: Tensor | None, c0):
        """One layer, one direction: (output (L, N, H), h_n (N, H), c_n (N, H) or None);
        h0, c0 None: zeros."""
        w_ih, w_hh, b_ih, b_hh = self._params(layer, reverse)
        steps = x.shape[0]
        last = 0 if reverse else steps - 1
        if self.mode == "GRU":  # b_in sits outside r * (W_hn h + b_hn): it stays in gi
            y = gru_layer(F.linear(x, w_ih, b_ih), w_hh, b_hh, h0, reverse)
            return y, y[last], None
        # every step's input projection in one GEMM; b_ih joins b_hh in the cell kernel
        if self.mode == "LSTM":  # the layer projects x itself (ops/rnn.py: lstm_layer)
            y = lstm_layer(x, w_hh, b_hh, h0, c0, reverse, b_ih, w_ih)
            return y[:steps], y[last], y[steps]
        gi = F.linear(x, w_ih, None)
        y = rnn_layer(gi, w_hh, b_hh, h0, "tanh" if self.mode == "RNN_TANH" else "relu",
                      reverse, b_ih)
        return y, y[last], None

    def _run(self, input: Tensor, hx, cx):
        """The full stack: (output, h_n, c_n) in the caller's layout."""
        name = type(self).__name__
        _check_input(name, input, self.input_size)
        unbatched = input.ndim == 2
        x = input.unsqueeze(1) if unbatched else (
            input.transpose(0, 1) if self.batch_first else input)
        steps, batch = x.shape[0], x.shape[1]
        if steps == 0:
            raise ValueError(f"{name}: input has no time steps (shape {tuple(input.shape)})")
        dirs = 2 if self.bidirectional else 1
        shape = (self.num_layers * dirs, batch, self.hidden_size)
        lstm = self.mode == "LSTM"
        # an absent state stays None: the layers start from zeros without multiplying them
        h0 = None if hx is None else _state(name, "hidden[0]" if lstm else "hidden", hx,
                                            shape, unbatched, x)
        c0 = None if cx is None or not lstm else _state(name, "hidden[1]", cx, shape,
                                                         unbatched, x)
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            outs = []
            for d in range(dirs):
                idx = layer * dirs + d
                out, h, c = self._direction(x, layer, d == 1,
                                            None if h0 is None else h0[idx],
                                            None if c0 is None else c0[idx])
                outs.append(out)
                h_n.append(h)
                c_n.append(c)
            x = outs[0] if dirs == 1 else cat(outs, 2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True)
        h_n = stack(h_n, 0)
        c_n = stack(c_n, 0) if lstm else None
        if unbatched:
            return x.squeeze(1), h_n.squeeze(1), (c_n.squeeze(1) if lstm else None)
        return (x.transpose(0, 1) if self.batch_first else x), h_n, c_n

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.mode == "RNN_RELU":
            s += ", nonlinearity='relu'"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


_DOC = """

    Input (L, N, H_in), or (N, L, H_in) with ``batch_first``, or unbatched
    (L, H_in).  Initial state(s) (D*num_layers, N, H) (D = 2 if
    ``bidirectional``), or (D*num_layers, H) unbatched; zeros when omitted.
    ``output`` holds the last layer's h_t for every t, both directions
    concatenated on the feature dim ((L, N, D*H), batch-first if asked);
    ``h_n`` every layer's and direction's last state.  ``dropout`` is applied to
    the outputs of every layer but the last, in training mode only.
    ``proj_size`` is not supported.
"""


class RNN(RNNBase):
    """Multi-layer Elman RNN, as ``torch.nn.RNN``: h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T
    + b_hh), act = tanh or relu.  ``forward(input, hx=None) -> (output, h_n)``.""" + _DOC

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, device=None,
                 dtype=None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: unknown nonlinearity {nonlinearity!r} (expected 'tanh' "
                             "or 'relu')")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:
        out, h_n, _ = self._run(input, hx, None)
        return out, h_n


class LSTM(RNNBase):
    """Multi-layer LSTM, as ``torch.nn.LSTM``, gates (i, f, g, o):
    c_t = f * c_{t-1} + i * g, h_t = o * tanh(c_t).
    ``forward(input, (h0, c0)=None) -> (output, (h_n, c_n))``.""" + _DOC

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None,
                 dtype=None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, device=device, dtype=dtype)

    def forward(self, input: Tensor, hx=None):
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError("LSTM: hx must be a tuple (h_0, c_0) of Tensors, got "
                            f"{type(hx).__name__}")
        h0, c0 = (None, None) if hx is None else hx
        if (h0 is None) != (c0 is None):
            raise ValueError("LSTM: give both h_0 and c_0, or neither")
        out, h_n, c_n = self._run(input, h0, c0)
        return out, (h_n, c_n)


class GRU(RNNBase):
    """Multi-layer GRU, as ``torch.nn.GRU``, gates (r, z, n):
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), h_t = (1 - z) * n + z * h_{t-1}.
    ``forward(input, hx=None) -> (output, h_n)``.""" + _DOC

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, device=None, dtype=None) -> None:
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, device=device, dtype=dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:
        out, h_n, _ = self._run(input, hx, None)
        return out, h_n


# ---------------------------------------------------------------------- cells

class RNNCellBase(Module):
    """Parameters ``weight_ih`` (G*H, H_in), ``weight_hh`` (G*H, H), ``bias_ih``, ``bias_hh``
    (G*H,), initialised U(-1/sqrt(H), 1/sqrt(H)); input (N, H_in) or unbatched (H_in,)."""

    _gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__()
        name = type(self).__name__
        self.input_size = positive_int(name, "input_size", input_size)
        self.hidden_size = positive_int(name, "hidden_size", hidden_size)
        self.bias = bool(bias)
        gate = self._gates * hidden_size
        self.weight_ih = new_parameter(gate, input_size, device=device, dtype=dtype)
        self.weight_hh = new_parameter(gate, hidden_size, device=device, dtype=dtype)
        if bias:
            self.bias_ih = new_parameter(gate, device=device, dtype=dtype)
            self.bias_hh = new_parameter(gate, device=device, dtype=dtype)
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def _prepare(self, input, states):
        """(input as (N, H_in), states as (N, H) each, unbatched?) after the checks."""
        name = type(self).__name__
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: expected a Tensor input, got {type(input).__name__}")
        if input.ndim not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.ndim}D "
                             f"input of shape {tuple(input.shape)}")
        if input.shape[-1] != self.input_size:
            raise ValueError(f"{name}: input has inconsistent input_size: got "
                             f"{input.shape[-1]} expected {self.input_size}")
        if not input.dtype.is_floating_point:
            raise TypeError(f"{name}: expected a floating point input, got {input.dtype}")
        unbatched = input.ndim == 1
        x = input.unsqueeze(0) if unbatched else input
        shape = (x.shape[0], self.hidden_size)
        out = []
        for i, h in enumerate(states):
            what = "hx" if len(states) == 1 else f"hx[{i}]"
            if h is not None and isinstance(h, Tensor) and h.ndim != input.ndim:
                raise ValueError(f"{name}: {what} should be {input.ndim}-D like the input, got "
                                 f"shape {tuple(h.shape)}")
            if h is not None and unbatched and isinstance(h, Tensor):
                h = h.unsqueeze(0)
            out.append(_state(name, what, h, shape, False, x))
        return x, out, unbatched

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity!r}"
        return s


class RNNCell(RNNCellBase):
    """One Elman step, as ``torch.nn.RNNCell``: h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh),
    on the fused cell kernel.  ``forward(input, hx=None) -> h'``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: unknown nonlinearity {nonlinearity!r} (expected "
                             "'tanh' or 'relu')")
        super().__init__(input_size, hidden_size, bias, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, (h,), unbatched = self._prepare(input, [hx])
        gi = F.linear(x, self.weight_ih, None).unsqueeze(0)
        h = rnn_layer(gi, self.weight_hh, self.bias_hh, h, self.nonlinearity,
                      b_ih=self.bias_ih)[0]
        return h.squeeze(0) if unbatched else h


class LSTMCell(RNNCellBase):
    """One LSTM step, as ``torch.nn.LSTMCell`` (gates i, f, g, o), on the fused cell kernel.
    ``forward(input, (h, c)=None) -> (h', c')``."""

    _gates = 4

    def forward(self, input: Tensor, hx=None):
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError(f"LSTMCell: hx must be a tuple (h, c), got {type(hx).__name__}")
        x, (h, c), unbatched = self._prepare(input, list(hx) if hx is not None else
                                             [None, None])
        y = lstm_layer(x.unsqueeze(0), self.weight_hh, self.bias_hh, h, c, b_ih=self.bias_ih,
                       w_ih=self.weight_ih)
        h, c = y[0], y[1]
        return (h.squeeze(0), c.squeeze(0)) if unbatched else (h, c)


class GRUCell(RNNCellBase):
    """One GRU step, as ``torch.nn.GRUCell`` (gates r, z, n), on the fused cell kernel.
    ``forward(input, hx=None) -> h'``."""

    _gates = 3

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, (h,), unbatched = self._prepare(input, [hx])
        gi = F.linear(x, self.weight_ih, self.bias_ih).unsqueeze(0)
        h = gru_layer(gi, self.weight_hh, self.bias_hh, h)[0]
        return h.squeeze(0) if unbatched else h
