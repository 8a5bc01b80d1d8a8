#!/usr/bin/env bash
# Builds the Debian package, installs it on this machine as an IT office would
# (`apt-get install ./percorsi.deb`), sets up an installation with `percorsi-admin init`,
# serves it, checks it is ready, then removes the package and checks the data stayed.
# Needs root (it installs a package); skipped with a notice otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "package test skipped: installing a package needs root" >&2
  exit 0
fi
fail() { echo "package test FAILED: $*" >&2; exit 1; }

deb=$(scripts/build-deb.sh "${1:-dev}" | tail -n 1)
dpkg-deb --info "$deb" >/dev/null || fail "unreadable package"
apt-get remove -y -qq percorsi >/dev/null 2>&1 || true
rm -rf /var/lib/percorsi /etc/percorsi /var/lib/percorsi-anchors
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "./$deb" >/dev/null || fail "apt-get install ./$deb"

getent passwd percorsi >/dev/null || fail "no percorsi account"
[ -f /usr/lib/systemd/system/percorsi.service ] || fail "no systemd unit"
grep -q '^ProtectSystem=strict' /usr/lib/systemd/system/percorsi.service || fail "unit not hardened"
[ "$(stat -c '%a %U' /etc/percorsi/secret.key)" = "600 percorsi" ] || fail "key file is not 0600 percorsi"
[ "$(stat -c '%a %U' /var/lib/percorsi)" = "700 percorsi" ] || fail "state directory is not 0700 percorsi"
if command -v systemd-analyze >/dev/null 2>&1; then
  systemd-analyze verify /usr/lib/systemd/system/percorsi.service /usr/lib/systemd/system/percorsi-anchor.service \
    /usr/lib/systemd/system/percorsi-anchor.timer /usr/lib/systemd/system/percorsi-retention.service \
    /usr/lib/systemd/system/percorsi-retention.timer || fail "systemd-analyze verify"
fi

echo "una-password-lunga" | percorsi-admin init --organisation "Agenzia regionale di sanità" --kind agenzia_regionale \
  --admin m.rossi --name "Mario Rossi" --password-stdin || fail "percorsi-admin init"
[ "$(stat -c '%a %U' /var/lib/percorsi/percorsi.db)" = "600 percorsi" ] || fail "database file is not 0600 percorsi"
percorsi-admin audit verify | grep -q intact || fail "audit verify"
# What the daily timer runs, as the service account, with the package's settings.
[ -f /usr/lib/systemd/system/percorsi-anchor.timer ] || fail "no anchor timer"
percorsi-admin audit anchor >/dev/null || fail "audit anchor"
[ "$(stat -c '%U' /var/lib/percorsi-anchors/anchors.jsonl)" = percorsi ] || fail "anchor file not written by the service account"
percorsi-admin audit verify --anchor /var/lib/percorsi-anchors/anchors.jsonl | grep -q "agrees with 1 anchors" || fail "audit verify --anchor"
percorsi-admin retention run --dry-run | grep -q "dry run" || fail "retention run --dry-run"

port=$((20000 + RANDOM % 10000))
percorsi-admin serve --bind "127.0.0.1:$port" >/tmp/percorsi-package.log 2>&1 &
server=$!
ready=no
for _ in $(seq 1 50); do
  if curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then ready=yes; break; fi
  sleep 0.2
done
kill "$server" 2>/dev/null || true
wait "$server" 2>/dev/null || true
[ "$ready" = yes ] || { cat /tmp/percorsi-package.log >&2; fail "the installed service did not become ready"; }

apt-get remove -y -qq percorsi >/dev/null || fail "apt-get remove"
[ -f /var/lib/percorsi/percorsi.db ] && [ -f /etc/percorsi/secret.key ] || fail "removing the package lost the data"
rm -rf /var/lib/percorsi /etc/percorsi /var/lib/percorsi-anchors
echo "package test: $deb installs, serves and removes cleanly"
