"""``RNN``: an Elman recurrent layer, h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh),
built from existing differentiable ops (``F.linear``, tanh/relu, ``stack``), so autograd
differentiates through time with no special code."""
from __future__ import annotations

import math

from ..ops.shape import stack
from ..tensor import Tensor, zeros
from . import functional as F
from . import init
from ._util import new_parameter, positive_int, unsupported
from .module import Module


class RNN(Module):
    """Multi-layer Elman RNN, as ``torch.nn.RNN`` (unidirectional).

    Input (L, N, H_in), or (N, L, H_in) with ``batch_first``, or unbatched
    (L, H_in); ``hx`` (num_layers, N, H_out) or (num_layers, H_out), zeros
    when omitted.  Returns (output, h_n): output holds the last layer's h_t
    for every t ((L, N, H_out), batch-first if asked), h_n every layer's last
    state.  Parameters ``weight_ih_l{k}``, ``weight_hh_l{k}``, ``bias_ih_l{k}``,
    ``bias_hh_l{k}`` are initialised U(-1/sqrt(H_out), 1/sqrt(H_out)).
    ``bidirectional=True`` and ``proj_size`` are not supported.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, device=None,
                 dtype=None) -> None:
        super().__init__()
        name = "RNN"
        if bidirectional:
            raise unsupported(name, "bidirectional", bidirectional)
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"{name}: unknown nonlinearity {nonlinearity!r} (expected 'tanh' "
                             "or 'relu')")
        if isinstance(dropout, bool) or not 0 <= dropout <= 1:
            raise ValueError(f"{name}: dropout should be a number in range [0, 1], got "
                             f"{dropout!r}")
        self.input_size = positive_int(name, "input_size", input_size)
        self.hidden_size = positive_int(name, "hidden_size", hidden_size)
        self.num_layers = positive_int(name, "num_layers", num_layers)
        self.nonlinearity, self.bias = nonlinearity, bias
        self.batch_first, self.dropout, self.bidirectional = batch_first, float(dropout), False
        for layer in range(num_layers):
            width = input_size if layer == 0 else hidden_size
            setattr(self, f"weight_ih_l{layer}",
                    new_parameter(hidden_size, width, device=device, dtype=dtype))
            setattr(self, f"weight_hh_l{layer}",
                    new_parameter(hidden_size, hidden_size, device=device, dtype=dtype))
            if bias:
                setattr(self, f"bias_ih_l{layer}",
                        new_parameter(hidden_size, device=device, dtype=dtype))
                setattr(self, f"bias_hh_l{layer}",
                        new_parameter(hidden_size, device=device, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def _layer_params(self, layer: int):
        bias = self.bias
        return (getattr(self, f"weight_ih_l{layer}"), getattr(self, f"weight_hh_l{layer}"),
                getattr(self, f"bias_ih_l{layer}") if bias else None,
                getattr(self, f"bias_hh_l{layer}") if bias else None)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:
        name = "RNN"
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: expected a Tensor input, got {type(input).__name__}")
        if input.ndim not in (2, 3):
            raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.ndim}D input "
                             f"of shape {tuple(input.shape)}")
        if input.shape[-1] != self.input_size:
            raise ValueError(f"{name}: input.size(-1) must be equal to input_size. Expected "
                             f"{self.input_size}, got {input.shape[-1]}")
        unbatched = input.ndim == 2
        x = input.unsqueeze(1) if unbatched else (
            input.transpose(0, 1) if self.batch_first else input)
        steps, batch = x.shape[0], x.shape[1]
        if steps == 0:
            raise ValueError(f"{name}: input has no time steps (shape {tuple(input.shape)})")
        h_shape = (self.num_layers, batch, self.hidden_size)
        if hx is None:
            hx = zeros(*h_shape, dtype=x.dtype, device=x.device)
        else:
            if not isinstance(hx, Tensor):
                raise TypeError(f"{name}: hx must be a Tensor, got {type(hx).__name__}")
            if unbatched:
                if hx.ndim != 2:
                    raise ValueError(f"{name}: for unbatched 2-D input, hx should also be 2-D "
                                     f"but got {hx.ndim}-D tensor")
                hx = hx.unsqueeze(1)
            if tuple(hx.shape) != h_shape:
                raise ValueError(f"{name}: Expected hidden size {h_shape}, got "
                                 f"{tuple(hx.shape)}")
        act = F.tanh if self.nonlinearity == "tanh" else F.relu
        last_states = []
        for layer in range(self.num_layers):
            w_ih, w_hh, b_ih, b_hh = self._layer_params(layer)
            # the input projection of every time step in one GEMM
            proj = F.linear(x, w_ih, b_ih)
            h = hx[layer]
            outs = []
            for t in range(steps):
                h = act(proj[t] + F.linear(h, w_hh, b_hh))
                outs.append(h)
            last_states.append(h)
            x = stack(outs, 0)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True)
        h_n = stack(last_states, 0)
        if unbatched:
            return x.squeeze(1), h_n.squeeze(1)
        return (x.transpose(0, 1) if self.batch_first else x), h_n

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.nonlinearity != "tanh":
            s += f", nonlinearity={self.nonlinearity!r}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        return s
