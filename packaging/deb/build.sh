#!/usr/bin/env bash
# Builds porch_VERSION-1_ARCH.deb from a porch binary built on this machine, with dpkg-deb
# (the same archive cargo-deb would make, without compiling a packaging tool in CI):
#
#   packaging/deb/build.sh BINARY OUT_DIR          prints the path of the .deb
#
# It installs /usr/bin/porch, the systemd unit (packaging/systemd/porch.service), the
# configuration /etc/porch/porch.toml and /etc/default/porch (conffiles), and the docs; the
# maintainer scripts next to this file create the `porch` system user and enable and start
# the service where systemd runs. Dependencies come from dpkg-shlibdeps.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="${1:?usage: build.sh BINARY OUT_DIR}"
out="${2:?usage: build.sh BINARY OUT_DIR}"
version="$("$bin" --version | awk '{print $2}')-1"
arch="$(dpkg --print-architecture)"
maintainer="${PORCH_DEB_MAINTAINER:-Porch maintainers <maintainers@porch.invalid>}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
pkg="$work/pkg"
doc="$pkg/usr/share/doc/porch"
install -d "$pkg/DEBIAN" "$pkg/usr/bin" "$pkg/lib/systemd/system" "$pkg/etc/porch" "$pkg/etc/default" "$doc"

install -m 0755 "$bin" "$pkg/usr/bin/porch"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$pkg/usr/bin/porch"
install -m 0644 "$root/packaging/systemd/porch.service" "$pkg/lib/systemd/system/porch.service"
install -m 0644 "$root/packaging/porch.toml" "$pkg/etc/porch/porch.toml"
install -m 0644 "$here/default" "$pkg/etc/default/porch"
install -m 0644 "$root/README.md" "$root/docs/deploy.md" "$root/docs/config.md" "$doc/"
install -m 0644 "$here/copyright" "$doc/copyright"
printf 'porch (%s) stable; urgency=medium\n\n  * Built from the repository; see its git log.\n\n -- %s  %s\n' \
  "$version" "$maintainer" "$(date -R -d "@${SOURCE_DATE_EPOCH:-$(date +%s)}")" | gzip -9n >"$doc/changelog.Debian.gz"
for script in postinst prerm postrm; do
  install -m 0755 "$here/$script" "$pkg/DEBIAN/$script"
done
printf '/etc/porch/porch.toml\n/etc/default/porch\n' >"$pkg/DEBIAN/conffiles"

# Runtime dependencies of the binary, as Debian's own packages compute them.
mkdir -p "$work/debian"
printf 'Source: porch\n\nPackage: porch\nArchitecture: any\n' >"$work/debian/control"
shlibs="$(cd "$work" && dpkg-shlibdeps -O "pkg/usr/bin/porch" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')"
rm -rf "$work/debian"

cat >"$pkg/DEBIAN/control" <<CONTROL
Package: porch
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
Depends: ${shlibs}, adduser
Section: net
Priority: optional
Description: self-hosted web messaging gateway
 Porch lets website visitors chat with agents and bots over WebSocket, with
 a browser SDK, a one-tag widget and an agent console. One binary with an
 embedded SQLite store; several nodes share PostgreSQL and NATS.
 .
 This package installs the porch binary and a hardened systemd service
 running it as the porch system user, with its store in /var/lib/porch.
CONTROL
(cd "$pkg" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | sort -z | xargs -0 md5sum) >"$pkg/DEBIAN/md5sums"

mkdir -p "$out"
deb="$out/porch_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$pkg" "$deb" >/dev/null
echo "$deb"
