"""Training: seeded, resumable, early stopping on validation F-MSE, CPU/CUDA, and DDP under torchrun.

``python -m egno train --dataset nbody --model egno`` runs ``train()``. The run directory holds
``state.pt`` (everything needed to resume: weights, optimiser, epoch, best weights, RNG) written at
every validation; running the same command again continues from there. At the end the best
weights (on validation F-MSE) become the checkpoint ``<model>.pt`` with its JSON card.
"""
from __future__ import annotations

import copy
import hashlib
import math
import os
import platform
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from tqdm.auto import tqdm

from egno.run import chained as chain_training
from egno.run import uncertainty
from egno.run.checkpoint import load_checkpoint, save_checkpoint
from egno.nn.config import ModelConfig, TrainConfig
from egno.data import collate, get_dataset
from egno.run.evaluate import evaluate
from egno.paths import ROOT
from egno.nn.zoo import build_model

STATE_VERSION = 1


def git_commit() -> str:
    try:
        root = ROOT
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                             timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return out.stdout.strip() + ("+dirty" if dirty else "") if out.returncode == 0 else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def lr_at(epoch: int, cfg: TrainConfig) -> float:
    """Linear warm-up to cfg.lr, then cosine decay to cfg.lr * cfg.final_lr_ratio at cfg.epochs."""
    if epoch < cfg.warmup_epochs:
        return cfg.lr * (epoch + 1) / cfg.warmup_epochs
    progress = (epoch - cfg.warmup_epochs) / max(1, cfg.epochs - cfg.warmup_epochs)
    floor = cfg.lr * cfg.final_lr_ratio
    return floor + 0.5 * (cfg.lr - floor) * (1 + math.cos(math.pi * min(1.0, progress)))


def _distributed() -> tuple[int, int, int]:
    """(rank, world size, local rank); initialises the process group under torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    rank = dist.get_rank() if world > 1 else 0
    return rank, world, int(os.environ.get("LOCAL_RANK", "0"))


def pick_device(requested: str | None = None, local_rank: int = 0) -> torch.device:
    if requested and requested != "auto":
        return torch.device(requested)
    return torch.device(f"cuda:{local_rank}") if torch.cuda.is_available() else torch.device("cpu")


def train(dataset: str, model_cfg: ModelConfig, train_cfg: TrainConfig, out_dir: Path,
          data_dir: Path | None = None, device: str | None = None, progress: bool = True,
          command: str | None = None, checkpoint_path: Path | None = None) -> Path:
    """Train ``model_cfg.model`` on ``dataset``; return the path of the written checkpoint."""
    rank, world, local_rank = _distributed()
    dev = pick_device(device, local_rank)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(train_cfg.seed)
    family = get_dataset(dataset, data_dir)
    family.ensure(progress=progress and rank == 0)
    train_w, val_w, chain_val = _splits(family, model_cfg, train_cfg)
    data_id = fingerprint(train_w)
    model = _initial_model(model_cfg, train_cfg, dev)
    params = [p for p in model.parameters() if p.requires_grad]
    # the last EGNN layer's node update does not reach the output positions: unused under DDP
    ddp = DistributedDataParallel(model, find_unused_parameters=True) if world > 1 and params else model
    opt = make_optimizer(params, train_cfg) if params else None
    # with cfg.ema, validation and the checkpoint use an exponential moving average of the weights
    ema = copy.deepcopy(model) if train_cfg.ema and params else None
    scored = ema if ema is not None else model

    state_path = out_dir / "state.pt"
    s = {"epoch": 0, "best_val": float("inf"), "best_epoch": -1, "best_state": None,
         "history": [], "wall_s": 0.0}
    if state_path.exists():
        s = _resume(state_path, model, opt, model_cfg, train_cfg, dev, ema, data_id)
        if rank == 0:
            print(f"resuming {dataset}/{model_cfg.model} from epoch {s['epoch']} "
                  f"(best val F-MSE {s['best_val']:.5f} at epoch {s['best_epoch']})", flush=True)
    start, stop_reason, diverged = time.time() - s["wall_s"], "epochs done", False
    skipped_since = 0
    epochs, early, stopped = _epochs_left(s, train_cfg, bool(params))
    if stopped:
        stop_reason = early  # a finished run: rerunning it scores and ships it again
    bar = tqdm(epochs, initial=s["epoch"], total=train_cfg.epochs, desc=f"{dataset}/{model_cfg.model}",
               disable=not progress or rank != 0, mininterval=2.0)
    for epoch in bar:
        for group in opt.param_groups:
            group["lr"] = lr_at(epoch, train_cfg)
        loss, skipped = _train_epoch(ddp, opt, train_w, train_cfg, epoch, rank, world, dev, model, ema,
                                     family)
        s["epoch"] = epoch + 1
        skipped_since += skipped  # steps skipped since the last history entry
        if not math.isfinite(loss):  # diverged: the weights themselves give non-finite losses
            diverged, stop_reason = True, f"diverged: non-finite training loss in epoch {epoch + 1}"
            s["history"].append({"epoch": epoch + 1, "train_loss": loss, "val_f_mse": float("nan"),
                                 "lr": lr_at(epoch, train_cfg), "skipped_steps": skipped_since})
            break
        if (epoch + 1) % train_cfg.eval_every == 0 or epoch + 1 == train_cfg.epochs:
            val = _validate(scored, chain_val if chain_val is not None else val_w, dev, s, epoch,
                            loss, skipped_since, train_cfg, family)
            skipped_since = 0
            bar.set_postfix(loss=f"{loss:.5f}", val=f"{val:.5f}", best=f"{s['best_val']:.5f}")
            s["wall_s"] = time.time() - start
            if rank == 0:
                _save_state(state_path, model, opt, model_cfg, train_cfg, s, ema, data_id)
            if epoch + 1 - s["best_epoch"] >= train_cfg.patience:
                stop_reason = early
                break
            last = epoch + 1 == train_cfg.epochs  # then the schedule ended, not the clock
            if train_cfg.time_limit_min and s["wall_s"] > 60 * train_cfg.time_limit_min and not last:
                stop_reason = f"time limit {train_cfg.time_limit_min} min"
                break
    bar.close()
    s["wall_s"] = time.time() - start
    if world > 1:
        dist.barrier()
    if rank != 0:
        return out_dir / f"{model_cfg.model}.pt"
    if diverged and s["best_state"] is None:
        raise TrainingDiverged(f"{dataset}/{model_cfg.model}: {stop_reason}, before any finite "
                               "validation score; no checkpoint written (try a lower --lr or "
                               "--eval-every 1 to keep the last good weights)")
    if s["best_state"] is not None:
        model.load_state_dict(s["best_state"])
    return _finish(dataset, family, val_w, model, model_cfg, train_cfg, s, stop_reason, dev, world,
                   command, checkpoint_path or out_dir / f"{model_cfg.model}.pt")


def _splits(family, model_cfg: ModelConfig, train_cfg: TrainConfig) -> tuple:
    """The training windows (on the finest grid for any-resolution training, with K windows of
    truth for chained training; at most ``max_train``), the validation windows at the trained P
    and, for chained training, the validation windows with K windows of truth (else None)."""
    train_p = model_cfg.timesteps
    if train_cfg.time_sampling != "fixed":  # targets on the finest grid, subsets drawn per batch
        assert model_cfg.model != "egnn-s", "egnn-s emits a fixed number of frames"
        train_p = max(family.available_timesteps("train"))
    if chain_training.chained(train_cfg):
        assert train_cfg.time_sampling == "fixed", "chained training uses the fixed P"
        train_w = chain_training.train_windows(family, model_cfg.timesteps, train_cfg)
    else:
        train_w = family.load("train", train_p, starts=train_cfg.train_starts)
    if train_cfg.max_train:
        train_w = train_w.select(torch.arange(min(train_cfg.max_train, len(train_w))))
    chain_val = chain_training.val_windows(family, model_cfg.timesteps, train_cfg) \
        if chain_training.chained(train_cfg) else None
    return train_w, family.load("val", model_cfg.timesteps), chain_val


def _epochs_left(s: dict, cfg: TrainConfig, trainable: bool) -> tuple[range, str, bool]:
    """The epochs still to run, the early-stop reason, and whether the run already stopped early."""
    early = f"early stop: no validation improvement for {cfg.patience} epochs"
    if s["best_epoch"] > 0 and s["epoch"] - s["best_epoch"] >= cfg.patience:
        return range(0), early, True
    return range(s["epoch"], cfg.epochs if trainable else 0), early, False


def _initial_model(model_cfg: ModelConfig, train_cfg: TrainConfig, dev):
    """The model to train: fresh, or from ``train_cfg.init``'s weights; with ``freeze_mean`` only
    its variance head trainable."""
    model = build_model(model_cfg).to(dev)
    if train_cfg.init:
        _start_from(model, train_cfg.init, model_cfg)
    if train_cfg.freeze_mean:
        _freeze_mean(model)
    return model


def _start_from(model, path: str, model_cfg: ModelConfig) -> None:
    """Copy the weights of checkpoint ``path`` into ``model`` (the configs must agree, but for a
    variance head this run adds: it starts fresh)."""
    loaded = load_checkpoint(path)
    if replace(loaded.config, variance_head=model_cfg.variance_head) != model_cfg:
        raise ValueError(f"{path} has another model config than this run: {loaded.config} "
                         f"against {model_cfg}")
    missing, unexpected = model.load_state_dict(loaded.model.state_dict(), strict=False)
    assert not unexpected and all("var_head." in k for k in missing), (missing, unexpected)


def _freeze_mean(model) -> None:
    """Leave trainable only the variance head and the last EGNN layer's node update (the
    positions never read it), so the predicted positions stay what they were."""
    assert model.config.variance_head, "--freeze-mean trains a variance head: the model needs one"
    last = len(getattr(model, "inner", model).layers) - 1
    for name, p in model.named_parameters():
        p.requires_grad_("var_head." in name or f"layers.{last}.node_mlp." in name)


def _validate(scored, val_w, dev, s: dict, epoch: int, loss: float, skipped: int, train_cfg: TrainConfig,
              family=None) -> float:
    """Validation F-MSE of the scored weights after ``epoch`` (for a chained run the mean over its
    K chained windows), logged in the run state ``s``, which keeps the best weights so far."""
    extra = {}
    if train_cfg.nll_beta is not None:
        pred, var = uncertainty.predict_with_variance(scored, val_w, 500, dev)
        val = uncertainty.calibration(pred.numpy(), val_w.target.numpy(), var.numpy(),
                                      val_w.node_ptr.numpy())["nll"]
    elif chain_training.chained(train_cfg):
        result = chain_training.chained_val(scored, val_w, family, dev, train_cfg.val_checks)
        val, extra = result["score"], {"val_chained_f_mse": result["window_f_mse"]}
        if "diverged" in result:
            extra["val_diverged"] = result["diverged"]
    else:
        val = evaluate(scored, val_w, 500, dev)["f_mse"]
    s["history"].append({"epoch": epoch + 1, "train_loss": loss, "val_f_mse": val, "lr": lr_at(epoch, train_cfg)}
                        | extra | ({"skipped_steps": skipped} if skipped else {}))
    if val < s["best_val"]:
        s.update(best_val=val, best_epoch=epoch + 1,
                 best_state={k: v.detach().cpu().clone() for k, v in scored.state_dict().items()})
    return val


class TrainingDiverged(RuntimeError):
    """The training loss became NaN or infinite before any weights scored on validation."""


def make_optimizer(params, cfg: TrainConfig) -> torch.optim.Optimizer:
    """Adam with its fused kernel: one op per step where the plain loop runs about ten per
    weight tensor."""
    return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay, fused=True)


def train_step(model, opt, batch, grad_clip: float | None, loss_fn=None) -> torch.Tensor | None:
    """One optimisation step (forward, MSE over the P frames or ``loss_fn(model, batch)``,
    backward, gradient clipping, Adam): the step training takes and ``python -m egno bench``
    times. Returns the loss, or None where the gradient is not finite: then no update is made
    (one NaN step would make every weight NaN); under DDP the gradients are averaged before the
    check, so every rank skips alike."""
    loss = loss_fn(model, batch) if loss_fn else ((model(batch) - batch.target) ** 2).mean()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip or float("inf"))
    if not torch.isfinite(norm):  # a non-finite loss gives non-finite gradients too
        return None
    opt.step()
    return loss.detach()


TIME_SAMPLING = ("fixed", "random-p", "random-points")


def sample_times(fine: int, mode: str, timesteps: int, g: torch.Generator) -> torch.Tensor:
    """Indices into a uniform grid of ``fine`` target times for one batch: ``random-p`` a uniform
    sub-grid of P points, P a random divisor of ``fine``; ``random-points`` ``timesteps`` points
    drawn at random, sorted, the last (ΔT) always among them."""
    assert mode in TIME_SAMPLING[1:], f"time_sampling must be one of {TIME_SAMPLING}, not {mode}"
    if mode == "random-p":
        choices = [p for p in range(1, fine + 1) if fine % p == 0]
        p = choices[int(torch.randint(len(choices), (1,), generator=g))]
        return torch.arange(1, p + 1) * (fine // p) - 1
    assert 1 <= timesteps <= fine, f"cannot draw {timesteps} of {fine} times"
    rest = torch.randperm(fine - 1, generator=g)[:timesteps - 1].sort().values
    return torch.cat([rest, torch.tensor([fine - 1])])


def time_subset(batch, index: torch.Tensor):
    """``batch`` with only the target times ``index`` (and their targets)."""
    return batch.with_times(batch.t[index], batch.target[index])


def edge_length_loss(pred: torch.Tensor, target: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
    """Mean squared error of the edges' lengths (P frames × E edges) of ``pred`` against
    ``target`` (P, N, 3): zero for any rigid motion of the truth, so it penalises a shrunk or
    distorted shape, not a turn. Truth past a trajectory's end (NaN) is left out."""
    i, j = edge_index

    def lengths(x):
        return (x[:, i] - x[:, j]).norm(dim=-1)

    have = torch.isfinite(target[:, i, 0]) & torch.isfinite(target[:, j, 0])
    err = (lengths(pred) - lengths(target.nan_to_num())) ** 2 * have
    return err.sum() / have.sum().clamp(min=1)


def _loss_fn(cfg: TrainConfig, chained: bool):
    """The training loss ``(model, batch) -> loss`` of ``cfg`` (None: the plain MSE)."""
    if cfg.nll_beta is not None:
        if cfg.shape_loss:
            raise ValueError("--shape-loss adds to the MSE of the positions; β-NLL (--nll-beta) has none")
        return lambda m, b: uncertainty.nll_loss(*m(b, variance=True), b.target, cfg.nll_beta)

    def loss(m, b):
        pred = m(b)
        if chained:
            value = chain_training.chained_loss(pred, b, cfg.velocity_loss)
        else:
            value = ((pred - b.target) ** 2).mean()
        if cfg.shape_loss:
            value = value + cfg.shape_loss * edge_length_loss(pred, b.target[:pred.shape[0]], b.edge_index)
        return value

    return loss if chained or cfg.shape_loss else None


def _train_epoch(model, opt, w, cfg: TrainConfig, epoch, rank, world, dev, raw=None,
                 ema=None, family=None) -> tuple[float, int]:
    """One pass over the training windows: (mean loss of the steps taken, steps skipped).

    Steps whose gradient is not finite are skipped (``train_step``); an epoch that skips more
    than half of its steps returns a NaN loss (diverged)."""
    g = torch.Generator().manual_seed(cfg.seed * 100003 + epoch)
    perm = torch.randperm(len(w), generator=g)[rank::world]
    per_rank = max(1, cfg.batch_size // world)
    model.train()
    total, count, skipped = 0.0, 0, 0
    chained = chain_training.chained(cfg)
    loss_fn = _loss_fn(cfg, chained)
    for i in range(0, len(perm), per_rank):
        if chained:
            batch, _ = chain_training.step_batch(model, family, w, perm[i:i + per_rank], cfg, g, dev)
        else:
            batch = collate(w, perm[i:i + per_rank])
        if cfg.time_sampling != "fixed":
            batch = time_subset(batch, sample_times(batch.t.shape[0], cfg.time_sampling,
                                                    chain_training.model_timesteps(model), g))
        loss = train_step(model, opt, batch.to(dev), cfg.grad_clip, loss_fn)
        if loss is None:
            skipped += 1
            continue
        if ema is not None:
            with torch.no_grad():
                for averaged, current in zip(ema.parameters(), raw.parameters()):
                    averaged.lerp_(current, 1.0 - cfg.ema)
        total, count = total + float(loss), count + 1
    if skipped > count:
        return float("nan"), skipped
    return total / max(count, 1), skipped


def fingerprint(w) -> str:
    """SHA-256 of a split's inputs and targets: a resumed run must see the same training data."""
    digest = hashlib.sha256()
    for tensor in (w.h, w.x, w.v, w.edge_index, w.edge_attr, w.target):
        if tensor is not None:
            digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def _save_state(path, model, opt, mc, tc, s, ema, data_id: str):
    blob = {"version": STATE_VERSION, "model_config": mc.to_dict(), "train_config": tc.to_dict(),
            "train_data": data_id,
            "model": model.state_dict(), "optimizer": opt.state_dict(),
            "ema": None if ema is None else ema.state_dict(), **s}
    tmp = path.with_suffix(".tmp")
    torch.save(blob, tmp)
    tmp.replace(path)


def _resume(path, model, opt, mc, tc, dev, ema, data_id: str) -> dict:
    blob = torch.load(path, map_location=dev, weights_only=True)
    # configs compare as dataclasses: a state written before a config key existed has its default
    if blob.get("version") != STATE_VERSION or ModelConfig.from_dict(blob["model_config"]) != mc:
        raise ValueError(f"{path} belongs to a different run (model config differs); "
                         f"use another --out directory or delete it")
    if blob.get("train_data") != data_id:
        why = ("written before states kept a fingerprint of their training data, so it cannot be "
               "checked" if blob.get("train_data") is None else
               "trained on other training data: regenerated, or another --max-train?")
        raise ValueError(f"{path} belongs to a different run ({why}); use another --out "
                         f"directory or delete it")
    model.load_state_dict(blob["model"])
    opt.load_state_dict(blob["optimizer"])
    if ema is not None:
        ema.load_state_dict(blob["ema"] if blob.get("ema") is not None else blob["model"])
    return {k: blob[k] for k in ("epoch", "best_val", "best_epoch", "best_state", "history", "wall_s")}


def _finish(dataset, family, val_w, model, mc, tc, s, stop_reason, dev, world, command, path) -> Path:
    val = evaluate(model, val_w, 500, dev)
    test = evaluate(model, family.load("test", mc.timesteps), 500, dev)
    card = {
        "dataset": dataset, "model": mc.model, "model_config": mc.to_dict(),
        "train_config": tc.to_dict(), "data": family.describe() | _data_card(family),
        "command": command or " ".join(["python -m egno"] + sys.argv[1:]),
        "wall_time_s": round(s["wall_s"], 1), "epochs_run": s["epoch"], "best_epoch": s["best_epoch"],
        "stop_reason": stop_reason, "device": str(dev), "world_size": world,
        "torch": str(torch.__version__), "host": platform.platform(), "git_commit": git_commit(),
        "parameters": sum(p.numel() for p in model.parameters()),
        "metrics": {"val": _short(val), "test": _short(test)}, "history": s["history"],
    }
    if uncertainty.has_variance(model):
        card["metrics"]["calibration"] = uncertainty.calibration_report(
            model, val_w, family.load("test", mc.timesteps), 500, dev)
    return save_checkpoint(path, model, mc, card)


def _short(m: dict) -> dict:
    return {k: m[k] for k in ("n_samples", "timesteps", "f_mse", "a_mse", "frame_mse", "gyration_ratio") if k in m}


def _data_card(family) -> dict:
    card = family.generation_card()
    return {"generation": card} if card else {}


__all__ = ["train", "lr_at", "pick_device"]
