"""EGNO: Equivariant Graph Neural Operators for 3D dynamics (model, datasets, training, evaluation).

The small public API the app and the command line use:
  load_checkpoint(path) / resolve_checkpoint(dataset, model)  -> LoadedModel (model, config, card)
  get_dataset(name)                                            -> a dataset family (load, read_file)
  predict / evaluate                                           -> positions, F-MSE / A-MSE
"""
from .checkpoint import CheckpointError, LoadedModel, load_checkpoint, resolve_checkpoint
from .config import ModelConfig, TrainConfig, preset
from .data import get_dataset
from .evaluate import evaluate, predict

__all__ = ["CheckpointError", "LoadedModel", "load_checkpoint", "resolve_checkpoint", "ModelConfig",
           "TrainConfig", "preset", "get_dataset", "evaluate", "predict"]
