#!/usr/bin/env python3
"""The anchor of bench:train-step on a GPU (issue #26): the same training step
in PyTorch with CUDA, on the machine's own PyTorch.

ResNet-20 as latprune's zoo builds it (16/32/64 channels, 3x3 convolutions
without bias, batch norm, option-B shortcuts: 1x1 stride-2 convolution + BN),
28x28x1 inputs, 10 classes; one step = forward, cross-entropy, backward, SGD
with momentum 0.9 and weight decay 5e-4, and the loss read back to the host
(latprune's trainer reads it every step too). Random inputs, as in
bench/train-step.ts. Timed with CUDA synchronisation; median over the
iterations after a warm-up (cuDNN autotuning included in the warm-up).

  python3 bench/gpu/torch_train_step.py --batch 128 512 --iterations 30

Prints one JSON line per batch size:
  {"bench":"train-step","backend":"torch-cuda","batch":...,"img_per_s":...,"ms_per_step":...}
or, when PyTorch or CUDA is missing, one line with "error" (exit 0, so that a
calling script carries on).
"""
import argparse
import json
import statistics
import sys
import time


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, nargs="+", default=[128, 512])
    ap.add_argument("--iterations", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--channels-last", action="store_true", help="NHWC memory format (as tfjs)")
    a = ap.parse_args()
    try:
        import torch
        import torch.nn as nn
        import torch.nn.functional as F
    except Exception as e:  # noqa: BLE001 - any import failure is reported the same way
        print(json.dumps({"bench": "train-step", "backend": "torch-cuda", "error": f"no PyTorch: {type(e).__name__}: {e}"}))
        return 0
    if not torch.cuda.is_available():
        print(json.dumps({"bench": "train-step", "backend": "torch-cuda", "torch": torch.__version__, "error": "torch.cuda.is_available() is False"}))
        return 0

    class Block(nn.Module):
        def __init__(self, cin: int, cout: int, stride: int):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.down = None
            if stride != 1 or cin != cout:
                self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            y = F.relu(self.bn1(self.conv1(x)))
            y = self.bn2(self.conv2(y))
            return F.relu(y + (self.down(x) if self.down is not None else x))

    class ResNet20(nn.Module):
        def __init__(self, classes: int = 10):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(1, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
            layers, cin = [], 16
            for si, w in enumerate([16, 32, 64]):
                for b in range(3):
                    layers.append(Block(cin, w, 2 if si > 0 and b == 0 else 1))
                    cin = w
            self.blocks = nn.Sequential(*layers)
            self.fc = nn.Linear(64, classes)

        def forward(self, x):
            x = self.blocks(self.stem(x))
            return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))

    dev = torch.device("cuda")
    torch.backends.cudnn.benchmark = True
    fmt = torch.channels_last if a.channels_last else torch.contiguous_format
    info = {"torch": torch.__version__, "cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version(), "gpu": torch.cuda.get_device_name(0)}
    for batch in a.batch:
        torch.manual_seed(1)
        model = ResNet20().to(dev, memory_format=fmt)
        opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
        x = torch.randn(batch, 1, 28, 28, device=dev).contiguous(memory_format=fmt)
        y = torch.randint(0, 10, (batch,), device=dev)

        def step() -> float:
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss.item()

        for _ in range(a.warmup):
            step()
        torch.cuda.synchronize()
        times = []
        for _ in range(a.iterations):
            t0 = time.perf_counter()
            step()
            torch.cuda.synchronize()
            times.append((time.perf_counter() - t0) * 1000)
        ms = statistics.median(times)
        print(json.dumps({"bench": "train-step", "backend": "torch-cuda", "model": "resnet20", "input": [28, 28, 1], "batch": batch,
                          "img_per_s": round(batch * 1000 / ms, 1), "ms_per_step": round(ms, 3), "min_ms": round(min(times), 3),
                          "iterations": a.iterations, "channels_last": a.channels_last, **info}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
