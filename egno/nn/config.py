"""Typed configs for models and training, with a named preset per dataset family."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

MODELS = ("egno", "egnn", "egnn-r", "egnn-s", "gnn", "linear")


@dataclass
class ModelConfig:
    model: str = "egno"        # egno | egnn | egnn-r | egnn-s | gnn | linear
    node_features: int = 1     # k: invariant node features per node (nbody: ‖v‖)
    edge_features: int = 2     # d: invariant edge features (nbody: q_i q_j, ‖Δx‖²)
    hidden: int = 64           # H
    layers: int = 4            # L blocks of [temporal conv, EGNN layer]
    modes: int = 2             # K Fourier modes kept; the paper finds 2 the sweet spot
    time_emb_dim: int = 32     # sinusoidal embedding of t_p/ΔT
    timesteps: int = 5         # P the model was trained at (EGNO runs at any P; egnn-s cannot)
    time_conv: bool = True     # False: no temporal convolution (the one-shot EGNN baseline)
    norm_diff: bool = False    # True: unit-ish coordinate differences in EGNN updates (EGNN's
                               # `normalize` option): bounded steps for far-apart nodes
    still_start: bool = False  # True: velocity gates start at zero, so the untrained model
                               # predicts no motion (for noisy velocities, e.g. thermal protein
                               # motion, where constant velocity is far off)
    vector_conv_init: str = "zero"  # zero: vector temporal mixing starts at identity, so an
                               # untrained EGNO is the one-shot EGNN and learns temporal mixing as
                               # far as it helps; random: U(0, 1/4) per mode as in the reference
                               # code, which rescales x - com and adds v at every time point before
                               # the first EGNN layer (A/B: scripts/experiments/nbody_init_ab.sh)
    up_vector: bool = False    # True: the model also reads the up (anti-gravity) vector of each
                               # sample (Windows.up), as a vector that turns with the input, and the
                               # heights and vertical speeds it defines as invariant node features
                               # (motion: the floor and gravity are part of the physics)
    length_scale: float = 1.0  # the model sees positions and velocities divided by this (data
                               # units stay the family's own; e.g. mocap ASF units / 10)
    variance_head: bool = False  # egno/egnn: also one invariant log-variance per node and frame
                               # (forward_variance), from the last layer's node features

    def __post_init__(self):
        assert self.vector_conv_init in ("zero", "random"), \
            f"vector_conv_init must be 'zero' or 'random', not {self.vector_conv_init!r}"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        assert not unknown, f"unknown model config keys {sorted(unknown)}"
        if "vector_conv_init" not in d and d.get("model") == "egno" and not d.get("still_start"):
            d = {**d, "vector_conv_init": "random"}  # written before the key: the old start
        return cls(**d)


@dataclass
class TrainConfig:
    epochs: int = 2000         # upper bound; early stopping on validation F-MSE usually ends it
    batch_size: int = 100
    lr: float = 5e-4           # peak learning rate after warm-up (reference: 1e-4 constant)
    warmup_epochs: int = 10    # linear warm-up, then cosine decay to lr * final_lr_ratio
    final_lr_ratio: float = 0.01
    weight_decay: float = 1e-12
    patience: int = 200        # epochs without validation improvement before stopping
    eval_every: int = 5        # validate every this many epochs
    seed: int = 42
    max_train: int | None = None  # use only the first n training samples (tests, quick runs)
    time_limit_min: float | None = None  # stop after this much wall time (resumable)
    grad_clip: float = 1.0
    train_starts: int = 1      # input frames per training trajectory (nbody: k frames centred on
                               # frame 30); val/test always use the protocol's single window
    time_sampling: str = "fixed"  # fixed: targets at the P uniform times of the model config;
                               # random-p: per batch a P drawn from the uniform grids the training
                               # data has (divisors of its finest P), random-points: per batch P
                               # times drawn from that finest grid (sorted, ΔT always in): one
                               # model for any resolution. Validation keeps the uniform grid.
    ema: float | None = None   # e.g. 0.999: validate and ship an exponential moving average of the
                               # weights (per step), smoother and less overfit than the last weights
    chain_windows: int = 1     # pushforward: each step unrolls 0..K-1 windows without gradients
                               # and trains on the next (egno.run.chained); validation then scores
                               # the mean F-MSE over K chained windows
    input_noise: float = 0.0   # Gaussian noise on input positions (length unit), σ/(ΔT/P) on velocities
    velocity_loss: float = 0.0  # weight of the loss on the velocity handed to the next window
    pushforward_limit: float | None = None  # leave out unrolled inputs more than this (RMS,
                               # length unit) off their truth, or not finite (None: keep all)
    val_windows: int | None = None  # chained validation over this many windows (default K): a
                               # model is kept for how it chains, not for its first window
    val_checks: bool = False   # chained validation: a rollout past a physical limit counts as lost
                               # (its error from there the window's largest), so the epoch kept
                               # keeps the physics, not only the F-MSE
    start_windows: int = 1     # nbody, chained training: also train from the true state at the
                               # start of windows 2..W (the spread-out systems chaining reaches)
    init: str | None = None    # start from this checkpoint's weights (same model config; a
                               # variance head the checkpoint lacks starts fresh)
    nll_beta: float | None = None  # train the variance head with β-NLL (egno.run.uncertainty);
                               # validation then scores the Gaussian NLL
    shape_loss: float = 0.0    # weight of the error of the graph's edge lengths (molecules: bonds
                               # and 2-hop pairs): an MSE-trained model averages over turns it
                               # cannot foresee and so shrinks the molecule; this term keeps its size
    freeze_mean: bool = False  # train only the variance head (and the last layer's node update,
                               # which the positions do not read): the positions stay the init's

    def to_dict(self) -> dict:
        return asdict(self)


# Per-family defaults (docs/design.md §3 reference hyper-parameters: layers / hidden / lr / batch).
PRESETS: dict[str, dict] = {
    "nbody": dict(model=dict(node_features=1, edge_features=2, hidden=64, layers=4, timesteps=5,
                             norm_diff=False),
                  train=dict(batch_size=100, lr=5e-4)),
    # node features: [depth, leaf, chain, branch, ‖v‖ΔT/10]; edges: [bone, 2-hop, (d/10)²]
    # equivariant models also read the up vector (up_vector): gravity and the floor act on a body
    "mocap": dict(model=dict(node_features=5, edge_features=3, hidden=64, layers=4, timesteps=5,
                             length_scale=10.0, up_vector=True),
                  train=dict(batch_size=12, lr=5e-4, warmup_epochs=2, eval_every=1, patience=15)),
    # node features: [C, N, O, other, ‖v‖·100 fs]; edges: [z_i/10, z_j/10, bond, 2-hop, ‖Δx‖²]
    "md17": dict(model=dict(node_features=5, edge_features=5, hidden=64, layers=5, timesteps=8,
                            still_start=True),
                 train=dict(batch_size=25, lr=5e-4, warmup_epochs=5, eval_every=5, patience=60)),
    # node features: [atom name (4), residue (21), charge, ‖v‖ΔT/10 Å]; edges: [(d/10 Å)², near]
    "protein": dict(model=dict(node_features=27, edge_features=2, hidden=64, layers=4, timesteps=4,
                               length_scale=10.0, still_start=True),
                    train=dict(batch_size=8, lr=5e-4, warmup_epochs=2, eval_every=1, patience=20)),
}


def preset(dataset: str, model: str) -> tuple[ModelConfig, TrainConfig]:
    """The model and training configs for ``dataset`` (``family`` or ``family/variant``)."""
    family = dataset.split("/")[0]
    assert family in PRESETS, f"no preset for dataset family '{family}'"
    assert model in MODELS, f"unknown model '{model}'; choose from {MODELS}"
    p = PRESETS[family]
    mc = ModelConfig(model=model, **p["model"])
    if model == "egnn":
        mc.time_conv = False
    if model in ("gnn", "linear"):  # the gnn reads raw lab-frame coordinates; linear reads nothing
        mc.up_vector = False
    return mc, TrainConfig(**p.get("train", {}))
