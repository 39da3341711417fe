#!/usr/bin/env python3
"""Train a PyTorch model with Bolt without writing C++.

Writes into OUT_DIR (default: python-fashion/):
  model.pt     the Fashion-MNIST CNN, built in Python and scripted (torch.jit.script)
  train.pt     training images and labels: torch.save({"inputs": X, "targets": Y})
  test.pt      test images and labels, the same way
  config.json  a Bolt config that trains model.pt on train.pt (validation split off train)

Then:  build/bin/bolt-launch --nproc-per-node 2 -- fit --config OUT_DIR/config.json
and:   python3 fashion_torchscript.py --evaluate OUT_DIR/logs/torchscript/version_0/checkpoints/best.torchscript.pt
       (loads Bolt's exported model in Python and prints its test accuracy).
Needs python3-torch and python3-numpy (Debian) and dataset-fashion-mnist.
"""
import argparse
import gzip
import json
import os

import numpy as np
import torch
import torch.nn.functional as F

DATA = os.environ.get("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")
MEAN, STD = 0.2860, 0.3530


def read_idx(name):
    with gzip.open(os.path.join(DATA, name)) as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def tensors(prefix, limit):
    images = torch.from_numpy(read_idx(f"{prefix}-images-idx3-ubyte.gz")[:limit].copy())
    labels = torch.from_numpy(read_idx(f"{prefix}-labels-idx1-ubyte.gz")[:limit].astype(np.int64))
    # The C++ example's arithmetic: (x / 255 - mean) / std.
    inputs = images.unsqueeze(1).float().div(255.0).sub(MEAN).div(STD)
    return {"inputs": inputs, "targets": labels}


class FashionCnn(torch.nn.Module):
    """The C++ example's CNN: two conv+pool blocks, two linear layers."""

    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 32, 3)
        self.conv2 = torch.nn.Conv2d(32, 64, 3)
        self.fc1 = torch.nn.Linear(1600, 128)
        self.fc2 = torch.nn.Linear(128, 10)

    def forward(self, x):
        x = F.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = F.max_pool2d(torch.relu(self.conv2(x)), 2)
        return self.fc2(torch.relu(self.fc1(x.flatten(1))))


def write(out, limit):
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(42)
    torch.jit.script(FashionCnn()).save(os.path.join(out, "model.pt"))
    torch.save(tensors("train", limit), os.path.join(out, "train.pt"))
    torch.save(tensors("t10k", None), os.path.join(out, "test.pt"))
    config = {
        "trainer": {"max_epochs": 3, "export": True, "test_after_fit": True},
        "data": {"name": "tensors", "data_dir": os.path.abspath(out), "train": ["train.pt"],
                 "test": ["test.pt"], "batch_size": 16},
        "model": {"name": "torchscript", "path": os.path.abspath(os.path.join(out, "model.pt")),
                  "loss": "cross_entropy", "metric": "accuracy", "optimizer": "sgd", "lr": 0.02,
                  "momentum": 0.9, "lr_schedule": "step", "lr_step_size": 2, "lr_gamma": 0.5},
        "loggers": {"logs_dir": os.path.abspath(os.path.join(out, "logs"))},
    }
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    print(f"wrote {out}/model.pt, train.pt, test.pt, config.json")


def evaluate(path, test):
    model = torch.jit.load(path, map_location="cpu").eval()
    data = torch.load(test)
    with torch.no_grad():
        correct = (model(data["inputs"]).argmax(1) == data["targets"]).float().mean().item()
    print(f"python: test accuracy {correct:.6f} of {path}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", nargs="?", default="python-fashion")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N training images")
    parser.add_argument("--evaluate", metavar="EXPORTED", help="test accuracy of an exported model")
    parser.add_argument("--test", default=None, help="with --evaluate: the test.pt to use (default OUT/test.pt)")
    args = parser.parse_args()
    if args.evaluate:
        evaluate(args.evaluate, args.test or os.path.join(args.out, "test.pt"))
    else:
        write(args.out, args.limit)
