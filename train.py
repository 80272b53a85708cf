"""Train a digit model on MNIST and save it: the lesson's softmax unless told otherwise, or the
next lesson's hidden layer or small CNN.

    python train.py                      # the classic lesson: softmax, SGD 0.01, batch 100, 5 epochs
    python train.py --preset best --out model/trained/digits.keras   # the shipped model
    python train.py --preset "next lesson: hidden layer"   # 128 ReLU units before the softmax
    python train.py --preset "next lesson: CNN"            # two convolutions (~11 s an epoch on 2 cores)
    python train.py --architecture mlp --hidden-units 256  # any model, any other setting
    python train.py --architecture cnn --filters 16 --epochs 2
    python train.py --help               # every flag, generated from model.config.TrainConfig
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from pathlib import Path

from classroom import paths
from model.config import PRESETS, ConfigError, TrainConfig, fields
from model.data import DataError, load_mnist


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", choices=sorted(PRESETS), default="the lesson",
                        help="start from these settings; other flags override them (default: %(default)s)")
    for f in fields():
        meta, kind = f.metadata, {"int": int, "float": float, "str": str, "bool": bool}[f.type]
        bounds = f" [{meta['low']:g} .. {meta['high']:g}]" if meta["low"] is not None else ""
        kwargs = {"default": None, "help": f"{meta['help']}{bounds} (lesson: {f.default})"}
        if kind is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        else:
            kwargs["type"] = kind
            if meta["choices"]:
                kwargs["choices"] = meta["choices"]
        parser.add_argument(f"--{f.name.replace('_', '-')}", dest=f.name, **kwargs)
    parser.add_argument("--data", help="Keras-format mnist.npz (default: $MNIST_PATH, else Keras's cache)")
    parser.add_argument("--out", help="where to save the model, a .keras file "
                                      "(default: a new file under $DIGITS_DATA_DIR/models)")
    parser.add_argument("--json", action="store_true", help="end with one line of JSON: scores and config")
    parser.add_argument("--list-runs", action="store_true",
                        help="print every recorded training (page and train.py) and exit")
    return parser


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The preset, with every flag that was given laid over it; raises ConfigError."""
    given = {f.name: getattr(args, f.name) for f in fields() if getattr(args, f.name) is not None}
    return PRESETS[args.preset].replace(**given)


def unusable_output(out: Path) -> str | None:
    """Why a model cannot be saved at `out`, or None: checked before training."""
    if out.suffix != ".keras":
        return f"--out must name a .keras file (the format the page reads), got {out.name}"
    if out.is_dir():
        return f"--out {out} is a folder; name a .keras file in it"
    folder = next((p for p in [out.parent, *out.parent.parents] if p.exists()), None)
    if folder is None or not folder.is_dir() or not os.access(folder, os.W_OK):
        return f"--out {out}: cannot write in {folder or out.parent}"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.list_runs:
        from classroom import runs
        try:
            print(runs.format_table(runs.list_runs()))
        except runs.RunsError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        return 0
    try:
        config = config_from_args(args)
    except ConfigError as e:
        parser.error(str(e))
    out = Path(args.out) if args.out else paths.new_model_path()
    problem = unusable_output(out)
    if problem:  # said before minutes of training, not after
        parser.error(problem)
    try:
        data = load_mnist(args.data or paths.mnist_path())
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1

    from model import store, training  # imports TensorFlow: only once the input is known good

    result = training.fit(config, data, verbose=1)
    if result.diverged:
        print(f"error: training diverged (the loss grew instead of falling: train loss "
              f"{result.train_loss:.3g}, where a model that knows nothing has 2.3) with learning rate "
              f"{config.learning_rate:g} and {config.optimizer}; try a smaller --learning-rate. "
              "Nothing was saved.", file=sys.stderr)
        return 1
    print(f"Train: loss {result.train_loss:.4f} - accuracy {result.train_accuracy:.4f}")
    print(f"Test:  loss {result.test_loss:.4f} - accuracy {result.test_accuracy:.4f}")
    print(f"Fit time: {result.fit_seconds:.2f} s")
    try:
        path = store.save(result, out)
    except (store.ModelFileError, OSError) as e:
        print(f"error: could not save the model: {e}", file=sys.stderr)
        return 1
    print(f"Saved to {path}")
    from classroom import runs
    try:
        run_id = runs.record_training(result, "train.py", path)
        print(f"Recorded as run {run_id} in {runs.db_path()} (python train.py --list-runs)")
    except runs.RunsError as e:
        print(f"warning: the run was not recorded: {e}", file=sys.stderr)
    if args.json:
        print(json.dumps({**result.scores(), "config": config.to_dict(), "model": str(path)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
