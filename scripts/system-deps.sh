#!/usr/bin/env bash
# Install the Debian packages the tests need when they are missing. Idempotent and quick
# when everything is there. Needs root (or sudo) only when something must be installed.
set -euo pipefail

need=()
python3 -m venv --help >/dev/null 2>&1 || need+=(python3-venv)
[ -x /usr/sbin/Orthanc ] || need+=(orthanc orthanc-dicomweb)
command -v dcmqrscp >/dev/null || need+=(dcmtk)
command -v tesseract >/dev/null || need+=(tesseract-ocr tesseract-ocr-eng)
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf ] || need+=(fonts-dejavu-core)
command -v redis-server >/dev/null || need+=(redis-server)
command -v pg_ctlcluster >/dev/null || need+=(postgresql)
command -v docker-compose >/dev/null || need+=(docker-compose)

# Vite 8 needs Node.js 20.19 or newer, which Debian 12's own nodejs (18) is not.
node_major=$(node --version 2>/dev/null | sed -E 's/^v([0-9]+).*/\1/')
if [ -z "$node_major" ] || [ "$node_major" -lt 20 ]; then
  echo "Node.js 20.19 or newer (with npm) is needed to build the frontend; found: ${node_major:-none}." >&2
  echo "Install it from your distribution's backports or nodejs.org, then run this again." >&2
  exit 1
fi

[ ${#need[@]} -eq 0 ] && exit 0

echo "Installing Debian packages: ${need[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "Need root or sudo to install: ${need[*]}" >&2; exit 1; }
  sudo="sudo"
fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
