"""Fixtures for test_torchscript.sh, written from Python as a user would:
  mlp.pt        a scripted MLP (3 classes), with exported loss/metric methods
  bn.pt         the same with BatchNorm (buffers; train/eval modes matter)
  bad_out.pt    a model whose output does not fit cross_entropy (3-d output)
  train.pt, val.pt, test.pt   torch.save'd dicts {"inputs", "targets", "weight"}
  train.npz, x.npy, y.npy     the same training data for NumPy
and, with --train-reference N LR MOM BATCH OUT: trains mlp.pt in Python on train.pt in order
(no shuffle) for N steps of SGD and saves its parameters to OUT (a torch.save'd dict).
"""
import sys

import numpy as np
import torch
import torch.nn.functional as F


class Mlp(torch.nn.Module):
    def __init__(self, norm: bool):
        super().__init__()
        self.fc1 = torch.nn.Linear(10, 16)
        self.norm = torch.nn.BatchNorm1d(16) if norm else torch.nn.Identity()
        self.fc2 = torch.nn.Linear(16, 3)

    def forward(self, x):
        return self.fc2(torch.relu(self.norm(self.fc1(x))))

    @torch.jit.export
    def loss(self, outputs, targets):
        return F.cross_entropy(outputs, targets)

    @torch.jit.export
    def metric(self, outputs, targets):
        return (outputs.argmax(1) == targets).float().mean()


class BadOutput(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(10, 6)

    def forward(self, x):
        return self.fc(x).view(-1, 2, 3, 1)


class TwoInputs(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(10, 3)

    def forward(self, x, weight):
        return self.fc(x) * weight.unsqueeze(1)


def data(n, generator):
    x = torch.randn(n, 10, generator=generator)
    w = torch.randn(10, 3, generator=torch.Generator().manual_seed(5))
    y = (x @ w).argmax(1)
    return {"inputs": x, "targets": y, "weight": torch.ones(n)}


def write(out):
    torch.manual_seed(0)
    torch.jit.script(Mlp(False)).save(f"{out}/mlp.pt")
    torch.jit.script(Mlp(True)).save(f"{out}/bn.pt")
    torch.jit.script(BadOutput()).save(f"{out}/bad_out.pt")
    torch.jit.script(TwoInputs()).save(f"{out}/two_inputs.pt")
    torch.jit.trace(Mlp(False), torch.randn(4, 10)).save(f"{out}/traced.pt")
    g = torch.Generator().manual_seed(1)
    train, val, test = data(640, g), data(200, g), data(300, g)
    for name, d in (("train", train), ("val", val), ("test", test)):
        torch.save(d, f"{out}/{name}.pt")
    np.savez(f"{out}/train.npz", inputs=train["inputs"].numpy(), targets=train["targets"].numpy())
    np.save(f"{out}/x.npy", train["inputs"].numpy())
    np.save(f"{out}/y.npy", train["targets"].numpy())
    torch.save({"inputs": train["inputs"], "targets": train["targets"][:-1]}, f"{out}/unequal.pt")
    torch.save([1, 2], f"{out}/list.pt")
    np.save(f"{out}/strings.npy", np.array(["a", "b"]))
    np.save(f"{out}/x64.npy", train["inputs"].numpy().astype(np.float64))


def train_reference(out, steps, lr, momentum, batch, result):
    model = torch.jit.load(f"{out}/mlp.pt")
    d = torch.load(f"{out}/train.pt")
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    for step in range(steps):
        x = d["inputs"][step * batch:(step + 1) * batch]
        y = d["targets"][step * batch:(step + 1) * batch]
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    torch.save({k: v.detach() for k, v in model.named_parameters()}, result)


def compare(exported, reference, tolerance):
    a = dict(torch.jit.load(exported).named_parameters())
    b = torch.load(reference)
    worst = max(((a[k] - b[k]).abs().max() / b[k].abs().max().clamp_min(1e-12)).item() for k in b)
    print(f"python vs bolt: max relative difference {worst:.3e}")
    sys.exit(0 if worst <= tolerance else 1)


def accuracy(exported, test):
    model = torch.jit.load(exported).eval()
    d = torch.load(test)
    with torch.no_grad():
        print(f"python test accuracy {(model(d['inputs']).argmax(1) == d['targets']).float().mean().item():.9f}")


if __name__ == "__main__":
    command, out = sys.argv[1], sys.argv[2]
    if command == "write":
        write(out)
    elif command == "train":
        train_reference(out, int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6]), sys.argv[7])
    elif command == "compare":
        compare(sys.argv[3], sys.argv[4], float(sys.argv[5]))
    elif command == "accuracy":
        accuracy(sys.argv[3], sys.argv[4])
