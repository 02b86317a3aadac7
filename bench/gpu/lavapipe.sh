#!/usr/bin/env bash
# Brings up Mesa's software Vulkan driver (lavapipe) >= 25 without installing
# anything system-wide, so that ONNX Runtime's WebGPU execution provider
# (Dawn, which rejects Mesa < 25) runs on a machine without a GPU.
#
#   bench/gpu/lavapipe.sh [--cache DIR] [--quiet]
#   eval "$(bench/gpu/lavapipe.sh)"       # exports the variables below
#
# What it does (idempotent; a second run reuses the cache and downloads nothing):
#   1. fetches the package lists of Debian bookworm + bookworm-backports into a
#      private apt state under the cache (the system's apt configuration and
#      lists are neither read for sources nor written);
#   2. `apt-get download`s mesa-vulkan-drivers from bookworm-backports and those
#      of its dependencies that the installed system does not satisfy (plus the
#      Vulkan loader libvulkan1 when the system has none) into DIR/debs;
#   3. unpacks them with `dpkg -x` into DIR/root (never into /);
#   4. writes DIR/root/lvp_icd.json pointing at the unpacked driver, checks
#      with ldd that the driver resolves every library, and prints
#        export VK_ICD_FILENAMES=...  VK_DRIVER_FILES=...  LD_LIBRARY_PATH=...
#      on stdout (everything else goes to stderr), and the same lines into
#      DIR/env.sh.
# Exit status: 0 ready; 1 impossible here (the reason is printed on stderr:
# not Debian/apt, not x86-64, no network to the mirror, a library missing).
# DIR defaults to .latprune-cache/lavapipe under the repository root.
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
cache="$here/.latprune-cache/lavapipe"
quiet=0
while [ $# -gt 0 ]; do
  case "$1" in
    --cache) cache=$2; shift 2 ;;
    --quiet) quiet=1; shift ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) echo "lavapipe.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
MIN_MESA=25
log() { [ "$quiet" = 1 ] || echo "lavapipe: $*" >&2; }
fail() { echo "lavapipe: cannot set up lavapipe: $*" >&2; exit 1; }

[ "$(uname -s)" = Linux ] || fail "not Linux ($(uname -s))"
[ "$(uname -m)" = x86_64 ] || fail "not x86-64 ($(uname -m)); only the amd64 packages are fetched"
command -v dpkg >/dev/null && command -v apt-get >/dev/null || fail "no dpkg/apt-get (not a Debian-based system)"
mkdir -p "$cache/debs" "$cache/root"
root="$cache/root"
lib="$root/usr/lib/x86_64-linux-gnu"

emit() {
  local icd=$root/lvp_icd.json
  local ld=$lib
  if [ -d "$cache/loader/usr/lib/x86_64-linux-gnu" ]; then ld="$ld:$cache/loader/usr/lib/x86_64-linux-gnu"; fi
  {
    echo "export VK_ICD_FILENAMES=$icd"
    echo "export VK_DRIVER_FILES=$icd"
    echo "export LD_LIBRARY_PATH=$ld\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
  } >"$cache/env.sh.tmp"
  mv "$cache/env.sh.tmp" "$cache/env.sh"
  cat "$cache/env.sh"
}

# ready from an earlier run: the driver is unpacked, its ICD file written and its libraries resolve
ready() {
  [ -f "$root/lvp_icd.json" ] && [ -f "$lib/libvulkan_lvp.so" ] || return 1
  local ld=$lib
  [ -d "$cache/loader/usr/lib/x86_64-linux-gnu" ] && ld="$ld:$cache/loader/usr/lib/x86_64-linux-gnu"
  ! LD_LIBRARY_PATH=$ld ldd "$lib/libvulkan_lvp.so" | grep 'not found' >/dev/null
}
if ready; then
  log "ready (cache $cache)"
  emit
  exit 0
fi

# private apt state: bookworm + bookworm-backports, nothing of the system's sources
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -f "$keyring" ] || fail "no $keyring (debian-archive-keyring) to check the mirror's signatures"
mirror=${LAVAPIPE_MIRROR:-http://deb.debian.org/debian}
mkdir -p "$cache/apt/lists/partial" "$cache/apt/archives/partial"
cat >"$cache/apt/sources.list" <<EOF
deb [signed-by=$keyring] $mirror bookworm main
deb [signed-by=$keyring] $mirror bookworm-backports main
EOF
apt_opts=(-o "Dir::Etc::SourceList=$cache/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null -o "Dir::State::Lists=$cache/apt/lists" -o "Dir::Cache=$cache/apt" -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= -o APT::Architecture=amd64 -o APT::Architectures=amd64 -o Debug::NoLocking=1)
if ! ls "$cache/apt/lists/"*bookworm-backports*Packages* >/dev/null 2>&1; then
  log "fetching the package lists of bookworm and bookworm-backports from $mirror"
  apt-get "${apt_opts[@]}" update -qq >"$cache/apt-update.log" 2>&1 || fail "apt-get update against $mirror failed (no network to the Debian mirror?); see $cache/apt-update.log"
fi
ver=$(apt-cache "${apt_opts[@]}" madison mesa-vulkan-drivers | awk -F'|' '/bookworm-backports/ {gsub(/ /,"",$2); print $2; exit}')
[ -n "$ver" ] || fail "bookworm-backports has no mesa-vulkan-drivers"
major=${ver%%.*}
[ "$major" -ge "$MIN_MESA" ] 2>/dev/null || fail "bookworm-backports has mesa-vulkan-drivers $ver; Dawn needs Mesa >= $MIN_MESA"

# the driver, and each dependency the installed system does not satisfy (first alternative)
want=("mesa-vulkan-drivers=$ver")
deps=$(apt-cache "${apt_opts[@]}" show "mesa-vulkan-drivers=$ver" | sed -n 's/^Depends: //p' | head -1)
IFS=',' read -ra items <<<"$deps"
for item in "${items[@]}"; do
  alt=$(echo "${item%%|*}" | xargs)
  name=${alt%% *}
  name=${name%%:*}
  cons=$(echo "$alt" | sed -n 's/.*(\(.*\)).*/\1/p')
  have=$(dpkg-query -W -f='${Status} ${Version}\n' "$name" 2>/dev/null | awk '/install ok installed/ {print $4}')
  if [ -n "$have" ]; then
    if [ -z "$cons" ] || dpkg --compare-versions "$have" "${cons%% *}" "${cons#* }"; then continue; fi
  fi
  if [ "$name" = libvulkan1 ] && ldconfig -p 2>/dev/null | grep 'libvulkan.so.1 ' >/dev/null; then continue; fi
  # the newest version either suite has (backports first when both do)
  cand=$(apt-cache "${apt_opts[@]}" madison "$name" | awk -F'|' '{gsub(/ /,"",$2); print $2}' | head -1)
  [ -n "$cand" ] || fail "no package $name in bookworm or bookworm-backports"
  want+=("$name=$cand")
done
# the Vulkan loader: the system's when present (the test only needs its library)
if ! ldconfig -p 2>/dev/null | grep 'libvulkan.so.1 ' >/dev/null; then
  case " ${want[*]} " in *" libvulkan1="*) ;; *) want+=("libvulkan1=$(apt-cache "${apt_opts[@]}" madison libvulkan1 | awk -F'|' '{gsub(/ /,"",$2); print $2; exit}')") ;; esac
fi
log "packages: ${want[*]}"
missing=()
for w in "${want[@]}"; do
  n=${w%%=*}
  v=${w#*=}
  ls "$cache/debs/${n}_${v//:/%3a}_"*.deb >/dev/null 2>&1 || missing+=("$w")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "downloading ${#missing[@]} package(s) into $cache/debs"
  (cd "$cache/debs" && apt-get "${apt_opts[@]}" download -qq "${missing[@]}" >"$cache/apt-download.log" 2>&1) || fail "apt-get download failed; see $cache/apt-download.log"
fi
for w in "${want[@]}"; do
  n=${w%%=*}
  v=${w#*=}
  for deb in "$cache/debs/${n}_${v//:/%3a}_"*.deb; do
    if [ "$n" = libvulkan1 ]; then dpkg -x "$deb" "$cache/loader"; else dpkg -x "$deb" "$root"; fi
  done
done
[ -f "$lib/libvulkan_lvp.so" ] || fail "the unpacked mesa-vulkan-drivers $ver has no $lib/libvulkan_lvp.so"
# an ICD file naming the unpacked driver by its full path (the package's names the system path)
api=$(cat "$root"/usr/share/vulkan/icd.d/lvp_icd*.json 2>/dev/null | sed -n 's/.*"api_version": *"\([^"]*\)".*/\1/p' | head -1 || true)
cat >"$root/lvp_icd.json.tmp" <<EOF
{
    "ICD": {
        "api_version": "${api:-1.4.0}",
        "library_path": "$lib/libvulkan_lvp.so"
    },
    "file_format_version": "1.0.0"
}
EOF
mv "$root/lvp_icd.json.tmp" "$root/lvp_icd.json"
ldpath=$lib
[ -d "$cache/loader/usr/lib/x86_64-linux-gnu" ] && ldpath="$ldpath:$cache/loader/usr/lib/x86_64-linux-gnu"
if LD_LIBRARY_PATH=$ldpath ldd "$lib/libvulkan_lvp.so" | grep 'not found' >/dev/null; then
  fail "the driver still misses libraries: $(LD_LIBRARY_PATH=$ldpath ldd "$lib/libvulkan_lvp.so" | grep 'not found' | awk '{print $1}' | xargs)"
fi
log "mesa-vulkan-drivers $ver unpacked in $root"
emit
