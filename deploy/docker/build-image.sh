#!/usr/bin/env bash
# Builds the MeshCart image (deploy/docker/Dockerfile) from the repository root.
#
#   deploy/docker/build-image.sh [--offline] [--tag IMAGE]        default tag meshcart:local
#
# Default: a normal multi-stage build; Docker pulls node:20-bookworm and node:20-bookworm-slim.
# --offline: for machines that reach no image registry (a workshop room, CI here). The base image is
#   made from this machine's own node (node-base-from-host.sh) and the app tree is built here from the
#   installed node_modules (run `npm ci` first), so nothing is pulled or downloaded. This host must be
#   Linux on glibc, as the image is, since better-sqlite3's compiled binary is carried over.
set -euo pipefail
cd "$(dirname "$0")/../.."

offline=false
tag=meshcart:local
while [ $# -gt 0 ]; do
  case "$1" in
    --offline) offline=true ;;
    --tag) tag=${2:?--tag needs an image name}; shift ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-image: unknown option $1 (allowed: --offline, --tag IMAGE)" >&2; exit 2 ;;
  esac
  shift
done

start=$(date +%s)
if $offline; then
  [ -d node_modules/better-sqlite3/build ] || { echo "build-image: --offline needs the installed packages: run npm ci first" >&2; exit 1; }
  echo "== base image from this machine's node"
  base=$(deploy/docker/node-base-from-host.sh)
  echo "== app tree (bundles and production packages) in dist/image"
  node --import tsx deploy/docker/src/build-image-tree.ts dist/image
  echo "== docker build $tag (base $base)"
  docker build -f deploy/docker/Dockerfile -t "$tag" \
    --build-arg NODE_IMAGE="$base" --build-arg BUILD_IMAGE="$base" --build-arg APP_TREE=host .
else
  echo "== docker build $tag"
  docker build -f deploy/docker/Dockerfile -t "$tag" .
fi
echo "== $tag: $(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1/1e6}'), built in $(( $(date +%s) - start )) s"
