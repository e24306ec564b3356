"""Sequence models of the ``jitnet`` CLI: digit classifiers that read an image row by row
(``--model lstm`` / ``--model transformer``) and the character-level language models of
``jitnet train --task charlm``."""
from __future__ import annotations

from . import nn
from .nn import init
from .tensor import Tensor, zeros

SEQ_MODELS = ("lstm", "transformer")


class RowLSTM(nn.Module):
    """(N, C, H, W) images as H steps of C*W features -> an LSTM -> its last state -> classes."""

    def __init__(self, in_shape: tuple[int, int, int], num_classes: int = 10,
                 hidden: int = 128) -> None:
        super().__init__()
        c, _, w = in_shape
        self.lstm = nn.LSTM(c * w, hidden, batch_first=True)
        self.head = nn.Linear(hidden, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        seq = x.permute(0, 2, 1, 3).reshape(x.shape[0], x.shape[2], -1)
        _, (h_n, _) = self.lstm(seq)
        return self.head(h_n[-1])


class PositionalEmbedding(nn.Module):
    """A learned (max_len, d_model) position table added to (N, L, d_model) input."""

    def __init__(self, max_len: int, d_model: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(zeros(max_len, d_model))
        init.normal_(self.weight, 0.0, 0.02)

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[1] > self.weight.shape[0]:
            raise ValueError(f"PositionalEmbedding: sequence of {x.shape[1]} positions, at "
                             f"most {self.weight.shape[0]}")
        return x + self.weight[:x.shape[1]]


class RowTransformer(nn.Module):
    """Image rows as tokens: a linear embedding plus learned positions, a Transformer
    encoder (``layers`` layers, post-norm), the tokens' mean, then a linear classifier."""

    def __init__(self, in_shape: tuple[int, int, int], num_classes: int = 10,
                 d_model: int = 64, nhead: int = 4, layers: int = 2, dropout: float = 0.1
                 ) -> None:
        super().__init__()
        c, h, w = in_shape
        self.embed = nn.Linear(c * w, d_model)
        self.pos = PositionalEmbedding(h, d_model)
        layer = nn.TransformerEncoderLayer(d_model, nhead, 2 * d_model, dropout=dropout,
                                           batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers)
        self.head = nn.Linear(d_model, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        seq = x.permute(0, 2, 1, 3).reshape(x.shape[0], x.shape[2], -1)
        z = self.encoder(self.pos(self.embed(seq)))
        return self.head(z.mean(1))


def digits_sequence_model(name: str, in_shape: tuple[int, int, int], num_classes: int = 10):
    """'lstm' -> ``RowLSTM``, 'transformer' -> ``RowTransformer`` for (C, H, W) images."""
    if name == "lstm":
        return RowLSTM(in_shape, num_classes)
    if name == "transformer":
        return RowTransformer(in_shape, num_classes)
    raise ValueError(f"unknown sequence model {name!r}; choose one of {SEQ_MODELS}")


# ---------------------------------------------------------------------- character LMs

class CharLSTM(nn.Module):
    """Embedding -> LSTM -> Linear over the vocabulary; ``forward(ids (N, L), state=None)
    -> (logits (N, L, V), (h, c))``, the state carried for generation."""

    def __init__(self, vocab: int, embed: int = 64, hidden: int = 256, layers: int = 1
                 ) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, embed)
        self.lstm = nn.LSTM(embed, hidden, num_layers=layers, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, ids: Tensor, state=None):
        out, state = self.lstm(self.embed(ids), state)
        return self.head(out), state


class CharTransformer(nn.Module):
    """Embedding + learned positions -> causal Transformer encoder (pre-norm) -> Linear;
    ``forward(ids (N, L), state=None) -> (logits (N, L, V), None)``."""

    def __init__(self, vocab: int, d_model: int = 128, nhead: int = 4, layers: int = 2,
                 max_len: int = 128, dropout: float = 0.0) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, d_model)
        self.pos = PositionalEmbedding(max_len, d_model)
        layer = nn.TransformerEncoderLayer(d_model, nhead, 4 * d_model, dropout=dropout,
                                           activation="gelu", batch_first=True,
                                           norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers)
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab)
        self.max_len = max_len

    def forward(self, ids: Tensor, state=None):
        length = ids.shape[1]
        mask = zeros(length, length, device=ids.device)
        if length > 1:
            mask = mask.masked_fill(_upper(length, ids.device), float("-inf"))
        z = self.encoder(self.pos(self.embed(ids)), mask=mask, is_causal=True)
        return self.head(self.norm(z)), None


def _upper(length: int, device):
    import numpy as np

    from .tensor import tensor

    return tensor(np.triu(np.ones((length, length), dtype=bool), 1), device=device)
