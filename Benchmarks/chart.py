#!/usr/bin/env python3
"""make bench's chart: the latency distributions of one run (.bench/samples/*.txt, one sample in ms
per line) as cumulative curves on a log scale — the engine's action latency beside the hand-written
baseline's (AOF always and everysec), the parallel-gateway sync and timer lateness.

  chart.py SAMPLES_DIR OUT.png"""
import os, sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import matplotlib.ticker

SERIES = [
    ("engine_latency_always.txt", "action, engine, AOF always", "tab:red", "-"),
    ("baseline_latency_always.txt", "action, hand-written baseline, AOF always", "tab:blue", "-"),
    ("engine_latency_everysec.txt", "action, engine, AOF everysec", "tab:red", "--"),
    ("baseline_latency_everysec.txt", "action, hand-written baseline, AOF everysec", "tab:blue", "--"),
    ("gateway_sync.txt", "parallel gateway sync, 10 branches", "tab:green", "-"),
]


def read(path):
    with open(path) as handle:
        return sorted(max(float(line), 0.001) for line in handle if line.strip())


def cdf(axis, samples, label, color, style):
    n = len(samples)
    axis.plot(samples, [(i + 1) / n for i in range(n)], label=f"{label} (n={n:,})", color=color, linestyle=style)


def main():
    folder, out = sys.argv[1], sys.argv[2]
    figure, (left, right) = plt.subplots(1, 2, figsize=(14, 5.5))
    for name, label, color, style in SERIES:
        path = os.path.join(folder, name)
        if os.path.exists(path):
            cdf(left, read(path), label, color, style)
    left.set_xscale("log")
    ticks = [0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100]
    left.xaxis.set_major_locator(matplotlib.ticker.FixedLocator(ticks))
    left.xaxis.set_major_formatter(matplotlib.ticker.FixedFormatter([f"{t:g}" for t in ticks]))
    left.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    left.set_xlabel("ms (log scale)")
    left.set_ylabel("share of commands at or below")
    left.axvline(1.5, color="grey", linewidth=0.8, linestyle=":")
    left.text(1.5, 0.5, " p99 target 1.5 ms", color="grey", fontsize=8)
    left.set_title("command published → outcome readable")
    left.grid(True, which="both", alpha=0.3)
    left.legend(fontsize=8, loc="lower right")
    lateness = os.path.join(folder, "timer_lateness.txt")
    if os.path.exists(lateness):
        samples = [float(line) for line in open(lateness) if line.strip()]
        right.hist(samples, bins=60, color="tab:purple")
        right.axvline(10, color="grey", linewidth=0.8, linestyle=":")
        right.text(10, right.get_ylim()[1] * 0.9, " p99 target 10 ms", color="grey", fontsize=8)
        right.set_yscale("log")
        right.set_xlabel("ms after the due instant")
        right.set_ylabel("timers")
        right.set_title(f"timer firing lateness, {len(samples):,} timers due over 2 s")
    figure.tight_layout()
    figure.savefig(out, dpi=110)


if __name__ == "__main__":
    main()
