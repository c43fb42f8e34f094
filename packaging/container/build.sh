#!/usr/bin/env bash
# Builds Porch's container image FROM scratch with buildah, from a porch binary built on this
# machine (a Debian): the binary (debug info stripped), the shared libraries ldd finds for it
# at the same paths, their copyright files, CA certificates, and passwd/group naming uid 65532.
#
#   packaging/container/build.sh BINARY [TAG]     (TAG defaults to localhost/porch:VERSION)
#
# Base images cannot be pulled here, and need not be: the image is what porch links, no more.
# Uses CONTAINERS_CONF=packaging/container/containers.conf unless CONTAINERS_CONF is set.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="${1:?usage: build.sh BINARY [TAG]}"
version="$("$bin" --version | awk '{print $2}')"
tag="${2:-localhost/porch:$version}"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$here/containers.conf}"

ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
rootfs="$ctx/rootfs"
mkdir -p "$rootfs/usr/bin" "$rootfs/etc/ssl/certs" "$rootfs/usr/share/doc/porch" "$ctx/data"
install -d -m 1777 "$rootfs/tmp"
chmod 0700 "$ctx/data"

strip --strip-debug -o "$rootfs/usr/bin/porch" "$bin"
cp "$root/LICENSE" "$rootfs/usr/share/doc/porch/LICENSE"

# Every library the dynamic loader would map, and the loader itself, at the path ldd names.
libs="$(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}')"
for lib in $libs; do
  mkdir -p "$rootfs$(dirname "$lib")"
  cp -L "$lib" "$rootfs$lib"
  # The Debian package that ships it, for its copyright file.
  pkg="$(dpkg -S "$(readlink -f "$lib")" 2>/dev/null | head -1 | cut -d: -f1)" || true
  if [ -n "$pkg" ] && [ -f "/usr/share/doc/$pkg/copyright" ]; then
    mkdir -p "$rootfs/usr/share/doc/$pkg"
    cp "/usr/share/doc/$pkg/copyright" "$rootfs/usr/share/doc/$pkg/copyright"
  fi
done

# For `porch doctor` over https:// and, later, TLS to PostgreSQL and NATS.
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/"
fi
printf 'root:x:0:0:root:/root:/sbin/nologin\nporch:x:65532:65532:porch:/data:/sbin/nologin\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\nporch:x:65532:\n' >"$rootfs/etc/group"
printf 'hosts: files dns\n' >"$rootfs/etc/nsswitch.conf"

cp "$here/Containerfile" "$ctx/Containerfile"
# docker format: OCI images have no HEALTHCHECK.
buildah bud --quiet --format docker --build-arg "VERSION=$version" -t "$tag" "$ctx" >/dev/null
echo "$tag"
