#!/usr/bin/env bash
# GPU latency tables and FPS verification through WebGPU (issue #25), and
# training throughput on tfjs' WebGPU backend (issue #26), in one call on a
# GPU machine (an NVIDIA H200 without Node or network):
#   0. the adapter: `latprune doctor --json` (GPU description, fingerprint,
#      tfjs' WebGPU adapter), nvidia-smi, the Vulkan ICD;
#   T. training (#26): `bench:train-step --backend webgpu` (ResNet-20,
#      28x28x1) at batch 128 and 512, then the same step in the machine's own
#      PyTorch with CUDA as the anchor (bench/gpu/torch_train_step.py; no
#      python3 or no torch is recorded as an error line and the run carries
#      on), all as JSON lines in train.jsonl;
#   1. ResNet-50 batch 32 table (`latprune profile --ep webgpu`: probes the
#      vec4 layout rule, measures the grid, calibrates on whole networks);
#   2. a ResNet-50 selection at 2x the dense model's GPU speed from that table
#      (bench/gpu/select.ts: random importance, coupled solver), re-solved
#      with `latprune solve`, exported dense + pruned (random weights) and
#      timed with `latprune verify --ep webgpu --baseline dense.onnx
#      --target-speedup 2 --lut`;
#   3. ResNet-50 batch 1 and MobileNet-V1 batch 1 tables;
#   4. the estimator-accuracy bench (`bench:lut-accuracy --ep webgpu`, 30
#      random selections each) on the three tables.
# Steps run in that order under one time budget (BUDGET seconds, default
# 540; the training steps take at most ~4 minutes of it, ~2 expected); a
# step that would overrun is cut (`profile` saves its partial table) and the
# ones after it are skipped. `--only train` or `--only tables` runs step 0
# and one part. Everything lands in $OUT (at most 8 files): run.log,
# steps.tsv, doctor.json, gpu.txt, train.jsonl, verify.json, bench.jsonl,
# results.tar.xz (the tables under latency-tables/<gpu fingerprint>/, the
# selection and its solve).
#
# On the device machine (after bench/gpu/pack.sh made .gpu-pack in the
# checkout the call sends):  run carry=[".gpu-pack"] timeout_s=600
#   command: bash .gpu-pack/run-h200.sh
# Here, on lavapipe (tiny models, grids and batches; timings mean nothing):
#   bench/gpu/run-h200.sh --smoke [--only train|tables]   # OUT defaults to scratch/h200-smoke
set -uo pipefail
mode=full
parts="train tables"
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) mode=smoke; shift ;;
    --only) case "${2:-}" in train|tables) parts=$2 ;; *) echo "run-h200: --only takes train or tables, not '${2:-}'"; exit 2 ;; esac; shift 2 ;;
    *) echo "run-h200: unknown argument '$1' (--smoke, --only train|tables)"; exit 2 ;;
  esac
done
want() { case " $parts " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
here=$(cd "$(dirname "$0")" && pwd)
start=$(date +%s)
budget=${BUDGET:-$([ $mode = smoke ] && echo 1500 || echo 540)}

if [ -f "$here/app.tar.xz" ]; then
  # the pack: Node and latprune unpacked under /tmp
  W=/tmp/latprune-gpu
  rm -rf "$W" && mkdir -p "$W/app"
  tar -xJf "$here/node.tar.xz" -C "$W" && tar -xJf "$here/app.tar.xz" -C "$W/app" || { echo "run-h200: cannot unpack $here"; exit 2; }
  export PATH=$W/bin:$PATH
  APP=$W/app
  debs=$here/debs
else
  APP=$(cd "$here/../.." && pwd)
  W=$APP/scratch/h200-work
  rm -rf "$W" && mkdir -p "$W"
  debs=
fi
OUT=${OUT:-$APP/scratch/h200-$mode}
mkdir -p "$OUT"
exec > >(tee -a "$OUT/run.log") 2>&1
cd "$APP"
command -v node >/dev/null || { echo "run-h200: no node on PATH"; exit 2; }
echo "run-h200: mode $mode ($parts), budget ${budget} s, node $(node --version), app $APP, out $OUT"

# Vulkan: the loader when the machine has none; the NVIDIA ICD where the image keeps it; lavapipe for --smoke
if [ $mode = smoke ]; then
  # a Vulkan driver already selected (e.g. lavapipe exported before running the pack) is kept
  if [ -z "${VK_ICD_FILENAMES:-}" ]; then eval "$(bench/gpu/lavapipe.sh)" || { echo "run-h200: lavapipe is not available here"; exit 2; }; fi
else
  # the device notes' recipe: the loader and GLVND unpacked into / when the image lacks them
  if ! ldconfig -p 2>/dev/null | grep 'libvulkan.so.1 ' >/dev/null || ! ldconfig -p 2>/dev/null | grep 'libGLdispatch.so.0 ' >/dev/null; then
    if ls "$debs"/*.deb >/dev/null 2>&1; then
      for f in "$debs"/*.deb; do dpkg -x "$f" /; done
      ldconfig
      echo "run-h200: Vulkan loader and GLVND from the pack ($(ls "$debs" | xargs))"
    else
      echo "run-h200: warning: no Vulkan loader/GLVND on this machine and none packed"
    fi
  fi
  if ! grep -il nvidia /usr/share/vulkan/icd.d/*.json /etc/vulkan/icd.d/*.json >/dev/null 2>&1; then
    for f in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.x86_64.json; do
      if [ -f "$f" ]; then export VK_DRIVER_FILES=$f VK_ICD_FILENAMES=$f; echo "run-h200: Vulkan ICD $f"; break; fi
    done
  fi
fi

# sizes
if [ $mode = smoke ]; then
  R50=(--model resnet20 --input 8x8x3 --classes 10); R50B=(resnet20 8x8x3); BIG=2; SMALL=1
  MN=(--model mobilenet_v1 --input 32x32x3 --classes 1000); MNB=(mobilenet_v1 32x32x3)
  GRID=(--points 1 --refine 0 --calibrate 4 --reference-every 0); SAMPLES=3; CONTROL=2; SPEEDUP=1.3
  TRAIN_BATCHES=(8 16); TRAIN_ITERS=2; TORCH_ITERS=3
else
  R50=(--model resnet50 --classes 1000); R50B=(resnet50 224x224x3); BIG=32; SMALL=1
  MN=(--model mobilenet_v1 --classes 1000); MNB=(mobilenet_v1 224x224x3)
  GRID=(--points 2 --refine 0 --calibrate 8); SAMPLES=30; CONTROL=4; SPEEDUP=2
  TRAIN_BATCHES=(128 512); TRAIN_ITERS=20; TORCH_ITERS=30
fi
lp() { node bin/latprune.js "$@"; }
printf 'step\trc\tseconds\n' >"$OUT/steps.tsv"
skipping=0
# step NAME CAP_SECONDS CMD...: runs CMD under the smaller of CAP and the time left (SIGINT first: profile saves)
step() {
  local name=$1 cap=$2
  shift 2
  local left=$((budget - ($(date +%s) - start)))
  if [ $skipping = 1 ] || [ $left -lt 15 ]; then
    echo "=== $name: skipped (${left} s left)"
    printf '%s\tskipped\t0\n' "$name" >>"$OUT/steps.tsv"
    skipping=1
    return 1
  fi
  [ $mode = smoke ] && cap=$((cap * 4))
  local lim=$((cap < left ? cap : left)) t0=$(date +%s) rc
  echo "=== $name (limit ${lim} s): $*"
  timeout -s INT -k 15 "$lim" "$@"
  rc=$?
  printf '%s\t%s\t%s\n' "$name" "$rc" "$(($(date +%s) - t0))" >>"$OUT/steps.tsv"
  echo "=== $name: exit $rc after $(($(date +%s) - t0)) s"
  [ $rc = 124 ] && echo "=== $name: cut at its limit"
  return $rc
}

# 0. the adapter
step adapter 90 bash -c "node bin/latprune.js doctor --json >'$OUT/doctor.json'; (nvidia-smi -L; nvidia-smi --query-gpu=name,driver_version,compute_cap,clocks.sm,clocks.max.sm,power.draw --format=csv; cat /proc/driver/nvidia/version; echo VK_DRIVER_FILES=\${VK_DRIVER_FILES:-}; ls /usr/share/vulkan/icd.d /etc/vulkan/icd.d 2>/dev/null) >'$OUT/gpu.txt' 2>&1; node -e 'const r=JSON.parse(require(\"fs\").readFileSync(process.argv[1],\"utf8\")); console.log(JSON.stringify(r.gpu)); if(!r.gpu||!r.gpu.available) process.exit(3)' '$OUT/doctor.json'"
fp=$(node -e 'try{const r=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));console.log(r.gpu&&r.gpu.available?r.gpu.fingerprint:"")}catch{console.log("")}' "$OUT/doctor.json")
tfjs_gpu=$(node -e 'try{const r=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));console.log(r.webgpu&&r.webgpu.available?"yes":"no: "+(r.webgpu?r.webgpu.reason:"doctor.json has no webgpu"))}catch(e){console.log("no: "+e.message)}' "$OUT/doctor.json")

# T. training throughput (#26): tfjs' WebGPU backend, then PyTorch-CUDA as the anchor (each line in train.jsonl)
if want train; then
  for b in "${TRAIN_BATCHES[@]}"; do
    if [ "$tfjs_gpu" = yes ]; then
      step train-webgpu-b$b 100 bash -c "node dist/bench/train-step.js --backend webgpu --batch $b --iterations $TRAIN_ITERS | tail -1 >>'$OUT/train.jsonl'"
    else
      echo "=== train-webgpu-b$b: skipped (tfjs webgpu $tfjs_gpu)"
      echo "{\"bench\":\"train-step\",\"backend\":\"webgpu\",\"batch\":$b,\"error\":\"no adapter\"}" >>"$OUT/train.jsonl"
    fi
  done
  # the anchor needs no Vulkan: it runs even when WebGPU did not come up
  skipping_before=$skipping
  skipping=0
  if command -v python3 >/dev/null; then
    step train-torch-cuda 90 bash -c "python3 bench/gpu/torch_train_step.py --batch ${TRAIN_BATCHES[*]} --iterations $TORCH_ITERS >>'$OUT/train.jsonl'"
  else
    echo "=== train-torch-cuda: no python3 on this machine"
    echo '{"bench":"train-step","backend":"torch-cuda","error":"no python3"}' >>"$OUT/train.jsonl"
  fi
  skipping=$skipping_before
fi
if ! want tables; then
  skipping=1
elif [ -z "$fp" ]; then
  echo "run-h200: no WebGPU adapter (see doctor.json); stopping"
  skipping=1
fi
T=$W/latency-tables/$fp
t_big=$T/${R50B[0]}$([ $mode = smoke ] && echo "-${R50B[1]}")-b$BIG-ort-webgpu.json
t_small=$T/${R50B[0]}$([ $mode = smoke ] && echo "-${R50B[1]}")-b$SMALL-ort-webgpu.json
t_mn=$T/${MNB[0]}$([ $mode = smoke ] && echo "-${MNB[1]}")-b1-ort-webgpu.json

# 1. ResNet-50 batch 32 table
step table-r50-b$BIG 170 node bin/latprune.js profile "${R50[@]}" --batch $BIG --ep webgpu "${GRID[@]}" --out "$t_big"
# 2. a selection at 2x, solved again by `latprune solve`, exported and verified on the GPU
sel=$W/select
step select 60 node dist/bench/gpu/select.js --lut "$t_big" --model "${R50B[0]}" --input "${R50B[1]}" --classes "${R50[${#R50[@]}-1]}" --speedup $SPEEDUP --margin 0.1 --out "$sel"
step solve 30 bash -c "node bin/latprune.js solve --problem '$sel/problem.json' --json >'$sel/solve.json'"
step verify 90 bash -c "node bin/latprune.js verify '$sel/pruned.onnx' --ep webgpu --baseline '$sel/dense.onnx' --target-speedup $SPEEDUP --lut '$t_big' --json >'$OUT/verify.json'; rc=\$?; cat '$OUT/verify.json'; [ \$rc -le 1 ]"
# 3. batch 1 tables
step table-r50-b$SMALL 100 node bin/latprune.js profile "${R50[@]}" --batch $SMALL --ep webgpu "${GRID[@]}" --out "$t_small"
step table-mnv1-b1 70 node bin/latprune.js profile "${MN[@]}" --batch 1 --ep webgpu "${GRID[@]}" --out "$t_mn"
# 4. the estimator's accuracy on random selections
benchcmd() { echo "node dist/bench/lut-accuracy.js --ep webgpu --samples $SAMPLES --rounds 2 --control $CONTROL --no-halp $* | tail -1 >>'$OUT/bench.jsonl'"; }
if [ $mode = smoke ]; then
  step bench-r50-b$BIG 60 bash -c "$(benchcmd --models "${R50B[0]}" --input "${R50B[1]}" --batch $BIG --lut "$t_big")"
  step bench-r50-b$SMALL 45 bash -c "$(benchcmd --models "${R50B[0]}" --input "${R50B[1]}" --batch $SMALL --lut "$t_small")"
  step bench-mnv1-b1 45 bash -c "$(benchcmd --models mobilenet_v1 --input "${MNB[1]}" --batch 1 --lut "$t_mn")"
else
  step bench-r50-b$BIG 60 bash -c "$(benchcmd --models resnet50_b32 --lut "$t_big")"
  step bench-r50-b$SMALL 45 bash -c "$(benchcmd --models resnet50 --lut "$t_small")"
  step bench-mnv1-b1 45 bash -c "$(benchcmd --models mobilenet_v1 --lut "$t_mn")"
fi

# results: the tables, the selection and its solve
mkdir -p "$W/results"
[ -n "$fp" ] && [ -d "$T" ] && mkdir -p "$W/results/latency-tables" && cp -r "$T" "$W/results/latency-tables/" 2>/dev/null
[ -d "$sel" ] && cp "$sel"/selection.json "$sel"/solve.json "$W/results/" 2>/dev/null
tar -C "$W/results" -cf - . | xz -6 >"$OUT/results.tar.xz"
echo "=== summary ($(($(date +%s) - start)) s)"
column -t "$OUT/steps.tsv" 2>/dev/null || cat "$OUT/steps.tsv"
[ -f "$OUT/train.jsonl" ] && node -e 'const L=require("fs").readFileSync(process.argv[1],"utf8").trim().split("\n").flatMap((l)=>{try{return [JSON.parse(l)]}catch{return []}}); const torch=Object.fromEntries(L.filter((r)=>r.backend==="torch-cuda"&&r.img_per_s).map((r)=>[r.batch,r.img_per_s])); for (const r of L) console.log(r.error?`train ${r.backend} b${r.batch??"-"}: ${r.error}`:`train ${r.backend} b${r.batch}: ${r.img_per_s} img/s (${r.ms_per_step} ms/step)${r.backend==="webgpu"&&torch[r.batch]?`, ${(100*r.img_per_s/torch[r.batch]).toFixed(1)}% of PyTorch-CUDA`:""}`)' "$OUT/train.jsonl"
[ -f "$OUT/verify.json" ] && node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")); console.log("verify:", r.verdict)' "$OUT/verify.json" 2>/dev/null
[ -f "$OUT/bench.jsonl" ] && node -e 'for (const l of require("fs").readFileSync(process.argv[1],"utf8").trim().split("\n")) { try { const r=JSON.parse(l); for (const [k,v] of Object.entries(r)) if (v && typeof v==="object" && "latprune_median_err" in v) console.log(`bench ${k} b${v.batch}: estimator median ${(100*v.latprune_median_err).toFixed(1)}% p90 ${(100*v.latprune_p90_err).toFixed(1)}%; noise floor ${v.noise_floor_median_err!==undefined?(100*v.noise_floor_median_err).toFixed(1)+"%":"-"}; measured median ${v.measured_ms_median} ms`) } catch {} }' "$OUT/bench.jsonl"
exit 0
