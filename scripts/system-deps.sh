#!/usr/bin/env bash
# Install the Debian packages the tests need when they are missing. Idempotent and quick
# when everything is there. Needs root (or sudo) only when something must be installed.
set -euo pipefail

need=()
command -v Orthanc >/dev/null || need+=(orthanc orthanc-dicomweb)
command -v dcmqrscp >/dev/null || need+=(dcmtk)
command -v tesseract >/dev/null || need+=(tesseract-ocr tesseract-ocr-eng)
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf ] || need+=(fonts-dejavu-core)
command -v redis-server >/dev/null || need+=(redis-server)
command -v pg_ctlcluster >/dev/null || need+=(postgresql)
command -v npm >/dev/null || need+=(nodejs npm)
command -v docker-compose >/dev/null || need+=(docker-compose)

[ ${#need[@]} -eq 0 ] && exit 0

echo "Installing Debian packages: ${need[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "Need root or sudo to install: ${need[*]}" >&2; exit 1; }
  sudo="sudo"
fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
