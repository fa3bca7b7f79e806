#!/usr/bin/env node
// ONNX Runtime side of `padim bench backbones`: times the backbones that
// scripts/export_onnx.py exported, with ONNX Runtime's CPU build from the
// npm package onnxruntime-node, for comparison with the Go implementation.
//
// Prints one JSON object per (backbone, batch) on stdout, the fields
// scripts/bench_torch_backbones.py prints with "onnxruntime" in place of
// "torch":
//   {"backbone": ..., "batch": ..., "seconds": <median seconds per batch>,
//    "runs": ..., "onnxruntime": "<version>", "threads": ...}
//
// Timing protocol, the same as the Go and PyTorch sides: one untimed
// warm-up run, then timed runs until both --min-time seconds have passed
// and --min-runs runs were made; the median. Session options: CPU
// execution provider, intra-op threads --threads, one inter-op thread,
// sequential execution, graph optimisation level "all". The input is
// N x 3 x size x size float32 filled as the Go side fills its own
// (element i = (i mod 251)/125 - 1).
//
// onnxruntime-node is not a dependency of the repository: install it into
// a cache folder (see scripts/README.md) and pass that folder as --ort-dir.
//
//   node scripts/bench_ort_backbones.mjs --ort-dir ~/.cache/padim/ort \
//       --models ~/.cache/padim/onnx --threads 2 --size 224 --batches 1,8 \
//       --min-time 3 --min-runs 2 --backbones resnet18,wide_resnet50_2,efficientnet_b5
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { performance } from "node:perf_hooks";

function cacheDir() {
  if (process.env.PADIM_CACHE) return process.env.PADIM_CACHE;
  return join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "padim");
}

function fail(msg) {
  process.stderr.write(`bench_ort_backbones: ${msg}\n`);
  process.exit(1);
}

const { values: args } = parseArgs({
  options: {
    "ort-dir": { type: "string", default: join(cacheDir(), "ort") },
    models: { type: "string", default: join(cacheDir(), "onnx") },
    threads: { type: "string", default: "1" },
    size: { type: "string", default: "224" },
    batches: { type: "string", default: "1,8" },
    "min-time": { type: "string", default: "3" },
    "min-runs": { type: "string", default: "2" },
    backbones: { type: "string", default: "resnet18,wide_resnet50_2,efficientnet_b5" },
  },
});

function positive(name, v, integer) {
  const x = Number(v);
  if (!Number.isFinite(x) || x < 0 || (integer && (!Number.isInteger(x) || x < 1))) {
    fail(`--${name} ${JSON.stringify(v)}: want a ${integer ? "positive integer" : "non-negative number"}`);
  }
  return x;
}
const threads = positive("threads", args.threads, true);
const size = positive("size", args.size, true);
const minTime = positive("min-time", args["min-time"], false);
const minRuns = positive("min-runs", args["min-runs"], true);
const batches = args.batches.split(",").map((b) => positive("batches", b, true));

// createRequire resolves onnxruntime-node from ORT_DIR/node_modules, so the
// package does not have to sit next to this script.
const pkg = join(args["ort-dir"], "node_modules", "onnxruntime-node", "package.json");
if (!existsSync(pkg)) {
  fail(`no onnxruntime-node in ${args["ort-dir"]} (${pkg} is missing; see scripts/README.md)`);
}
const ort = createRequire(join(args["ort-dir"], "package.json"))("onnxruntime-node");
const version = ort.env.versions.node;

const options = {
  executionProviders: ["cpu"],
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
  executionMode: "sequential",
  graphOptimizationLevel: "all",
};

for (const name of args.backbones.split(",")) {
  const file = join(args.models, `${name}.onnx`);
  if (!existsSync(file)) fail(`${file}: no such model (run scripts/export_onnx.py)`);
  let session;
  try {
    session = await ort.InferenceSession.create(file, options);
  } catch (e) {
    fail(`${file}: ${e.message}`);
  }
  const input = session.inputNames[0];
  for (const batch of batches) {
    const data = new Float32Array(batch * 3 * size * size);
    for (let i = 0; i < data.length; i++) data[i] = (i % 251) / 125 - 1;
    const feeds = { [input]: new ort.Tensor("float32", data, [batch, 3, size, size]) };
    try {
      await session.run(feeds); // warm-up: arena allocation, kernel selection
    } catch (e) {
      fail(`${file}, batch ${batch}, ${size}x${size}: ${e.message}`);
    }
    const times = [];
    const start = performance.now();
    while (times.length < minRuns || performance.now() - start < minTime * 1000) {
      const t0 = performance.now();
      await session.run(feeds);
      times.push((performance.now() - t0) / 1000);
    }
    times.sort((a, b) => a - b);
    const n = times.length;
    const median = n % 2 === 1 ? times[(n - 1) / 2] : (times[n / 2 - 1] + times[n / 2]) / 2;
    process.stdout.write(JSON.stringify({ backbone: name, batch, seconds: median, runs: n, onnxruntime: version, threads }) + "\n");
  }
  await session.release();
}
