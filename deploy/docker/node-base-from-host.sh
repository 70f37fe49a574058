#!/usr/bin/env bash
# Makes a Node base image from this machine's own files, for building MeshCart where no image
# registry is reachable (air-gapped rooms, CI here). The image holds the host's `node`, the shared
# libraries it links, /bin/sh, the CA bundle and a `node` user (uid 1000), as the official image does.
#
#   deploy/docker/node-base-from-host.sh [IMAGE]     default meshcart/node:<host node version>-host
set -euo pipefail

node_bin=$(readlink -f "$(command -v node)")
version=$(node -p 'process.versions.node')
image=${1:-meshcart/node:${version}-host}
rootfs=$(mktemp -d /tmp/meshcart-node-rootfs-XXXXXX)
trap 'rm -rf "$rootfs"' EXIT

# A file at the same path inside the image, symlinks resolved (merged /usr hosts link /lib to /usr/lib).
put() { install -D -m "${2:-0755}" "$(readlink -f "$1")" "$rootfs$1"; }

put "$node_bin"
mkdir -p "$rootfs/usr/local/bin" && ln -sf "$node_bin" "$rootfs/usr/local/bin/node"
put /bin/sh
for bin in "$node_bin" /bin/sh; do
  # ldd prints "name => /path (addr)" for libraries and "/lib64/ld-linux... (addr)" for the loader
  # (which must stay executable: the kernel runs it).
  for lib in $(ldd "$bin" | awk '/=> \//{print $3} /^\t\//{print $1}'); do put "$lib"; done
done
for cert in /etc/ssl/certs/ca-certificates.crt; do [ -e "$cert" ] && put "$cert" 0644; done
mkdir -p "$rootfs/etc" "$rootfs/tmp" "$rootfs/home/node"
chmod 1777 "$rootfs/tmp"
chown 1000:1000 "$rootfs/home/node"
printf 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\n' > "$rootfs/etc/passwd"
printf 'root:x:0:\nnode:x:1000:\n' > "$rootfs/etc/group"

tar -C "$rootfs" -c . | docker import \
  --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
  --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
  --change 'CMD ["node"]' \
  --message "node ${version} from $(hostname)" - "$image" >/dev/null
echo "$image"
