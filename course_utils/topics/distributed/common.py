"""What the notebook and the torchrun workers share: the data, the models and flat views of a model.

Both sides build the same tensors from the same seed, so the notebook can recompute on one process what
the workers computed on two. Kept free of plotting and widget imports: every worker imports this module.
"""

from __future__ import annotations

import torch
from torch import nn

from course_utils import models, runtime

FEATURES, CLASSES = 16, 4
DEMO_SIZES = (FEATURES, 32, CLASSES)  # the small MLP of the DDP demos
TIMING_SIZES = (64, 512, 512, 10)  # a wider MLP for the timing, so that compute outweighs start-up costs
BATCH = 64  # the global batch of the DDP gradient demo (32 per rank on 2 ranks)
MICRO_BATCHES = 4  # gradient accumulation: micro-batches per optimizer step and rank
MICRO_BATCH = 16
CHECKPOINT_DATA = 256  # samples in the checkpoint demo's data set
CHECKPOINT_BATCH = 32  # per rank
CHECKPOINT_EPOCHS, CHECKPOINT_AT = 4, 2  # train 4 epochs; the interrupted run saves after epoch 2
RING_SIZE = 1000  # floats per rank in the hand-written ring all-reduce between the processes


def make_data(n: int, seed: int, features: int = FEATURES, classes: int = CLASSES) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` Gaussian points labelled by a random linear teacher: inputs (n, features), labels (n,)."""
    if n < 1 or features < 1 or classes < 2:
        raise ValueError(f"make_data needs n ≥ 1, features ≥ 1 and classes ≥ 2; got n={n}, features={features}, "
                         f"classes={classes}.")
    g = runtime.torch_generator(seed)
    X = torch.randn(n, features, generator=g)
    teacher = torch.randn(features, classes, generator=g)
    return X, (X @ teacher).argmax(dim=1)


def make_model(seed: int, sizes: tuple[int, ...] = DEMO_SIZES) -> nn.Sequential:
    """An MLP with tanh between its linear layers, initialised from ``seed`` (the global RNG is untouched)."""
    if len(sizes) < 2:
        raise ValueError(f"sizes needs at least an input and an output size; got {sizes!r}.")
    model = models.mlp(list(sizes), "tanh")
    g = runtime.torch_generator(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_((torch.rand(p.shape, generator=g) * 2 - 1) / p.shape[-1] ** 0.5)
    return model


def flat_grads(model: nn.Module) -> torch.Tensor:
    """All gradients of ``model`` as one vector (a copy)."""
    return torch.cat([p.grad.detach().flatten() for p in model.parameters()])


def flat_params(model: nn.Module) -> torch.Tensor:
    """All parameters of ``model`` as one vector (a copy)."""
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def loss_of(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The mean cross-entropy of ``model`` on a batch: the loss every demo uses."""
    return nn.functional.cross_entropy(model(X), y)


def full_batch_gradient(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The gradient of the mean loss over the whole batch, on one process: the reference for DDP."""
    model.zero_grad(set_to_none=True)
    loss_of(model, X, y).backward()
    return flat_grads(model)
