#!/usr/bin/python3
"""The PyTorch side of the issue-8 targets: the same models on the same mnist split, timed per epoch.

Reads the CSV files that `signet data mnist` writes (DIR/sign_mnist_train.csv, 7,996 digits, and
DIR/sign_mnist_test.csv, 2,004; header `label,pixel1..pixel784`, pixels 0..255 scaled to [0, 1])
and trains, with torch.set_num_threads(2) (the targets' thread count), Adam at 1e-3, batch 64:

  sign_cnn      Conv2d(1, 32, 3) ReLU MaxPool2d(2) Conv2d(32, 64, 3) ReLU MaxPool2d(2) Flatten
                Linear(1600, 128) ReLU Dropout(0.5) Linear(128, 10)   (models/README.md names)
  feature_lstm  LSTM(28, 256, 2 layers, batch_first) over the 28 rows of an image as 28 steps of
                28 features, last step -> Linear(256, 10)

Per model it prints the test top-1 after the last epoch and the median seconds of an epoch's
training loop (shuffle, forward, backward, step over all 7,996 images; the test pass not counted),
with the load average, since the host is shared. Signet's side of the comparison, on the same
protocol (all 7,996 images trained, no validation part held out, the test split measured once
after the last epoch): `signet train --data DIR --model sign_cnn --epochs 15 --batch 64 --lr 0.001
--val-fraction 0` (for feature_lstm add `--hidden 256 --layers 2`; `--seed N` for repeats), its
log.csv `seconds` column, and `bench_train --benchmark_filter=train/sign_cnn/step`.

usage: /usr/bin/python3 bench/torch_baselines.py DIR [--models sign_cnn,feature_lstm]
       [--epochs 15] [--seed 0]
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn


def read_csv(path):
    """(images (N, 1, 28, 28) f32 in [0, 1], labels (N) i64) of a sign_mnist CSV file."""
    a = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float32)
    x = torch.from_numpy(a[:, 1:] / 255.0).reshape(-1, 1, 28, 28).contiguous()
    y = torch.from_numpy(a[:, 0].astype(np.int64))
    return x, y


class SignCnn(nn.Module):
    """sign_cnn with Signet's parameter names (conv1, conv2, fc1, fc2)."""

    def __init__(self, classes, dropout=0.5):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3)
        self.conv2 = nn.Conv2d(32, 64, 3)
        self.pool = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(64 * 5 * 5, 128)
        self.drop = nn.Dropout(dropout)
        self.fc2 = nn.Linear(128, classes)

    def forward(self, x):
        y = self.pool(torch.relu(self.conv1(x)))
        y = self.pool(torch.relu(self.conv2(y)))
        y = self.drop(torch.relu(self.fc1(y.flatten(1))))
        return self.fc2(y)


class FeatureLstm(nn.Module):
    """feature_lstm with Signet's parameter names (lstm, fc) over an image's rows as steps."""

    def __init__(self, classes, hidden=256, layers=2):
        super().__init__()
        self.lstm = nn.LSTM(28, hidden, layers, batch_first=True)
        self.fc = nn.Linear(hidden, classes)

    def forward(self, x):
        out, _ = self.lstm(x.reshape(x.size(0), 28, 28))
        return self.fc(out[:, -1])


def accuracy(model, x, y, batch=256):
    """Top-1 of model on (x, y) in eval mode."""
    model.eval()
    hits = 0
    with torch.no_grad():
        for i in range(0, len(y), batch):
            hits += (model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    model.train()
    return hits / len(y)


def run(name, train, test, epochs, seed):
    """Trains one model; returns (test top-1, median s/epoch, every epoch's seconds)."""
    torch.manual_seed(seed)
    classes = int(max(train[1].max(), test[1].max())) + 1
    model = SignCnn(classes) if name == "sign_cnn" else FeatureLstm(classes)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(seed)
    x, y = train
    seconds = []
    for epoch in range(epochs):
        t0 = time.perf_counter()
        order = torch.randperm(len(y), generator=gen)
        total = 0.0
        for i in range(0, len(y), 64):
            idx = order[i:i + 64]
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        seconds.append(time.perf_counter() - t0)
        print(f"  {name} epoch {epoch}: loss {total / len(y):.4f} ({seconds[-1]:.2f} s)",
              flush=True)
    return accuracy(model, *test), statistics.median(seconds), seconds


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("dir")
    p.add_argument("--models", default="sign_cnn,feature_lstm")
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    torch.set_num_threads(2)
    train = read_csv(os.path.join(a.dir, "sign_mnist_train.csv"))
    test = read_csv(os.path.join(a.dir, "sign_mnist_test.csv"))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{len(train[1])} train / {len(test[1])} test, {a.epochs} epochs, Adam 1e-3, batch 64")
    for name in a.models.split(","):
        if name not in ("sign_cnn", "feature_lstm"):
            sys.exit(f"unknown model {name} (sign_cnn, feature_lstm)")
        load0 = os.getloadavg()[0]
        acc, median, _ = run(name, train, test, a.epochs, a.seed)
        load1 = os.getloadavg()[0]
        print(f"{name}: test top-1 {acc:.4f}, {median:.2f} s/epoch (median of {a.epochs}; "
              f"load {load0:.1f} -> {load1:.1f})", flush=True)


if __name__ == "__main__":
    main()
