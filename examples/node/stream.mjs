// A facereact listener in Node, no Python: stream a wav through an export (`facereact export`)
// on onnxruntime-node, frame by frame, and print the listener and the step latency.
//
//   node stream.mjs --model EXPORT_DIR --wav speaker.wav [--seed 0] [--frames N] [--jsonl]
//                   [--speaking 4-7.5,12-15]   (seconds where the listener itself speaks: its face held)
//
// Everything the loop needs is in EXPORT_DIR/interface.json: the inputs, the state tensors and
// their starting values, K, the PCM rate. The random numbers are the host's: SplitMix64, the same
// recipe as facereact's Python runtime (facereact/export/host_random.py), so the same seed gives
// the same reactions as `facereact stream --model EXPORT_DIR`.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import ort from "onnxruntime-node";

// "4-7.5,12-15" -> [[4, 7.5], [12, 15]]: spans of seconds.
function parseSpans(text) {
  return text.split(",").map((part) => {
    const [start, end] = part.split("-").map(Number);
    if (!(start >= 0 && end > start)) throw new Error(`--speaking: START-END seconds, got ${part}`);
    return [start, end];
  });
}

function parseArgs(argv) {
  const args = { seed: 0, frames: Infinity, jsonl: false, speaking: [] };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === "--jsonl") args.jsonl = true;
    else if (flag === "--speaking" && i + 1 < argv.length) args.speaking = parseSpans(argv[++i]);
    else if (["--model", "--wav", "--seed", "--frames"].includes(flag) && i + 1 < argv.length) {
      args[flag.slice(2)] = flag === "--model" || flag === "--wav" ? argv[++i] : Number(argv[++i]);
    } else throw new Error(`unknown or incomplete flag ${flag}`);
  }
  if (!args.model || !args.wav) throw new Error("usage: node stream.mjs --model EXPORT_DIR --wav W [--seed S] [--frames N] [--jsonl]");
  return args;
}

// Mono float32 samples in [-1, 1] and the rate of a PCM16 or float32 RIFF wav (channels averaged).
function readWav(path) {
  const bytes = readFileSync(path);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (at) => bytes.toString("ascii", at, at + 4);
  if (tag(0) !== "RIFF" || tag(8) !== "WAVE") throw new Error(`${path}: not a RIFF wav`);
  let format, channels, rate, bits, data;
  for (let at = 12; at + 8 <= bytes.length; ) {
    const size = view.getUint32(at + 4, true);
    if (tag(at) === "fmt ") {
      format = view.getUint16(at + 8, true);
      channels = view.getUint16(at + 10, true);
      rate = view.getUint32(at + 12, true);
      bits = view.getUint16(at + 22, true);
      if (format === 0xfffe) format = view.getUint16(at + 32, true); // WAVE_FORMAT_EXTENSIBLE: the sub-format
    } else if (tag(at) === "data") {
      data = [at + 8, Math.min(size, bytes.length - at - 8)];
    }
    at += 8 + size + (size % 2);
  }
  if (!data || !channels) throw new Error(`${path}: no fmt or data chunk`);
  const pcm16 = format === 1 && bits === 16, float32 = format === 3 && bits === 32;
  if (!pcm16 && !float32) throw new Error(`${path}: ${bits}-bit format ${format}; PCM16 or float32 wavs only`);
  const width = bits / 8, frames = Math.floor(data[1] / (width * channels));
  const out = new Float32Array(frames);
  for (let i = 0; i < frames; i++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) {
      const at = data[0] + (i * channels + c) * width;
      sum += pcm16 ? view.getInt16(at, true) / 32768 : view.getFloat32(at, true);
    }
    out[i] = sum / channels;
  }
  return { samples: out, rate };
}

// SplitMix64: draw n (from 1) of seed s is mix(s + n * GAMMA) mod 2^64; its top 24 bits / 2^24.
class HostRandom {
  constructor(seed) { this.seed = BigInt.asUintN(64, BigInt(seed)); this.drawn = 0n; }
  draw(count) {
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) {
      this.drawn += 1n;
      let z = BigInt.asUintN(64, this.seed + this.drawn * 0x9e3779b97f4a7c15n);
      z = BigInt.asUintN(64, (z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n);
      z = BigInt.asUintN(64, (z ^ (z >> 27n)) * 0x94d049bb133111ebn);
      z = z ^ (z >> 31n);
      out[i] = Number(z >> 40n) / 16777216;
    }
    return out;
  }
}

function tensor(dtype, values, shape) {
  return new ort.Tensor(dtype, values, shape);
}

function startState(spec) {
  const state = {};
  for (const s of spec) {
    const size = s.shape.reduce((a, b) => a * b, 1);
    state[s.name] = s.dtype === "int64"
      ? tensor("int64", new BigInt64Array(size).fill(BigInt(s.initial)), s.shape)
      : tensor("float32", new Float32Array(size).fill(s.initial), s.shape);
  }
  return state;
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const spec = JSON.parse(readFileSync(join(args.model, "interface.json"), "utf8"));
  if (spec.kind !== "listener-step") throw new Error(`${args.model}: not a facereact export`);
  if (spec.format !== 2) throw new Error(`${args.model}: export format ${spec.format}; this example reads format 2`);
  const { samples, rate } = readWav(args.wav);
  if (rate !== spec.rate) throw new Error(`${args.wav}: ${rate} Hz, the export hears ${spec.rate} Hz`);
  const session = await ort.InferenceSession.create(join(args.model, spec.graph), {
    intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: "all", executionProviders: ["cpu"],
  });
  const per = spec.frame_samples, k = spec.samples, faceDim = spec.resting_face.length;
  const face = tensor("float32", Float32Array.from(spec.resting_face), [1, faceDim]); // no camera: absent
  const faceOn = tensor("float32", new Float32Array([0]), [1]);
  const pitch = spec.face_names.indexOf("pitch"), smile = spec.face_names.indexOf("mouthSmileLeft");
  const random = new HostRandom(args.seed);
  let state = startState(spec.state);
  const frames = Math.min(Math.floor(samples.length / per), args.frames);
  const took = [];
  console.error(`${args.model}: K = ${k}, ${frames} frames of ${args.wav} at ${rate} Hz (audio alone), onnxruntime-node`);
  for (let t = 0; t < frames; t++) {
    const start = performance.now();
    const feeds = {
      pcm: tensor("float32", samples.slice(t * per, (t + 1) * per), [per]),
      face, face_on: faceOn,
      uniforms: tensor("float32", random.draw(k * spec.digits), [k, spec.digits]),
      speaking: tensor("float32", new Float32Array([args.speaking.some(([a, b]) => t / spec.fps >= a && t / spec.fps < b) ? 1 : 0]), [1]),
    };
    for (const s of spec.state) feeds[`state.${s.name}`] = state[s.name];
    const out = await session.run(feeds);
    const next = {};
    for (const s of spec.state) next[s.name] = out[`next.${s.name}`];
    state = next;
    took.push(performance.now() - start);
    const listener = out.listener_face.data, tokens = Array.from(out.tokens.data, Number);
    if (args.jsonl) console.log(JSON.stringify({ frame: t, tokens, face: Array.from(listener.slice(0, faceDim)) }));
    else if (t % spec.fps === 0) {
      console.log(`${(t / spec.fps).toFixed(0).padStart(3)} s  token ${tokens[0]}  head pitch ${listener[pitch].toFixed(3)} rad`
        + `  smile ${listener[smile].toFixed(3)}  step ${took[t].toFixed(2)} ms`);
    }
  }
  const sorted = [...took.slice(5)].sort((a, b) => a - b);
  const mean = took.reduce((a, b) => a + b, 0) / took.length;
  console.error(`${frames} frames; step latency p50 ${percentile(sorted, 50).toFixed(2)} ms, `
    + `p99 ${percentile(sorted, 99).toFixed(2)} ms; ${(1000 / mean).toFixed(0)} frames/s`);
}

main().catch((error) => { console.error(`error: ${error.message}`); process.exit(2); });
