# Shared by scripts/run and scripts/test: an idempotent .venv with the project installed.
# Sourced, not executed.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "need root for: $*" >&2; return 1; fi
}

apt_updated=""
apt_install() {
  # Install Debian packages that are missing; 'apt-get update' once per run, only when needed.
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing Debian packages: ${missing[*]}"
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

ensure_venv() {
  # $1: pip extras, e.g. "" or "[test]". Reinstalls only when pyproject.toml changed.
  local extras="${1:-}"
  if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "screenvisit needs Python 3.11 or newer" >&2; exit 1
  fi
  if [ ! -x "$PY" ]; then
    python3 -m venv "$VENV" 2>/dev/null || { apt_install python3-venv; python3 -m venv "$VENV"; }
  fi
  local stamp="$VENV/.installed$extras"
  local want
  want="$(sha256sum "$ROOT/pyproject.toml" | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    "$PY" -m pip install -q --upgrade pip
    "$PY" -m pip install -q -e "$ROOT$extras"
    echo "$want" > "$stamp"
  fi
}
