"""EGNO: Equivariant Graph Neural Operators for 3D dynamics (model, datasets, training, evaluation).

The small public API the app and the command line use:
  load_checkpoint(path) / resolve_checkpoint(dataset, model)  -> LoadedModel (model, config, card)
  get_dataset(name)                                            -> a dataset family (load, read_file)
  predict / evaluate                                           -> positions, F-MSE / A-MSE
"""
from egno.run.checkpoint import CheckpointError, LoadedModel, load_checkpoint, resolve_checkpoint
from egno.nn.config import ModelConfig, TrainConfig, preset
from egno.data import get_dataset
from egno.run.evaluate import evaluate, predict

__all__ = ["CheckpointError", "LoadedModel", "load_checkpoint", "resolve_checkpoint", "ModelConfig",
           "TrainConfig", "preset", "get_dataset", "evaluate", "predict"]
