#!/usr/bin/env bash
# Builds the Debian package target/debian/percorsi_<version>_<arch>.deb with Debian's own
# dpkg-deb: the binary, the hardened systemd unit, /etc/default/percorsi, percorsi-admin and
# the maintainer scripts under packaging/. Usage: scripts/build-deb.sh [release|dev]
# (dev reuses the test build; release is what an IT office installs).
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${1:-release}
case "$profile" in
  release) cargo build --release --bin percorsi; bin=target/release/percorsi ;;
  dev) cargo build --bin percorsi; bin=target/debug/percorsi ;;
  *) echo "profile must be release or dev, not $profile" >&2; exit 2 ;;
esac
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
arch=$(dpkg --print-architecture)
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT

install -D -m 0755 "$bin" "$root/usr/bin/percorsi"
install -D -m 0755 packaging/percorsi-admin "$root/usr/sbin/percorsi-admin"
install -D -m 0644 packaging/percorsi.service "$root/usr/lib/systemd/system/percorsi.service"
install -D -m 0644 packaging/percorsi-anchor.service "$root/usr/lib/systemd/system/percorsi-anchor.service"
install -D -m 0644 packaging/percorsi-anchor.timer "$root/usr/lib/systemd/system/percorsi-anchor.timer"
install -D -m 0644 packaging/percorsi-retention.service "$root/usr/lib/systemd/system/percorsi-retention.service"
install -D -m 0644 packaging/percorsi-retention.timer "$root/usr/lib/systemd/system/percorsi-retention.timer"
install -D -m 0644 packaging/percorsi.default "$root/etc/default/percorsi"
install -D -m 0644 README.md "$root/usr/share/doc/percorsi/README.md"
install -d -m 0755 "$root/DEBIAN"
install -m 0755 packaging/debian/postinst packaging/debian/prerm packaging/debian/postrm "$root/DEBIAN/"
echo /etc/default/percorsi > "$root/DEBIAN/conffiles"
cat > "$root/DEBIAN/control" <<CONTROL
Package: percorsi
Version: $version
Architecture: $arch
Maintainer: Percorsi developers <percorsi@invalid>
Section: misc
Priority: optional
Depends: libc6, adduser, util-linux
Suggests: postgresql-client
Installed-Size: $(du -ks "$root/usr" | cut -f1)
Homepage: https://percorsi.invalid
Description: shared information system for social reintegration pathways
 One place where the addiction service, accredited entities, the municipal social
 service, the employment centre and host companies work on the same person's pathway,
 with pseudonymous codes, consent, small-cell suppression and a verifiable audit trail.
CONTROL
mkdir -p target/debian
out="target/debian/percorsi_${version}_${arch}.deb"
dpkg-deb --root-owner-group --build "$root" "$out" >/dev/null
echo "$out"
