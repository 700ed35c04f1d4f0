# Shared by scripts/serve and scripts/test: make .venv with Python 3.11.
ensure_venv() {
  local python="${PYTHON:-}"
  if [[ -z "$python" ]]; then
    for candidate in python3.11 python3; do
      if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
        python="$candidate"; break
      fi
    done
  fi
  if [[ -z "$python" ]]; then
    echo "ventanilla needs Python 3.11 (set PYTHON=/path/to/python3.11)." >&2
    exit 1
  fi
  if [[ ! -x .venv/bin/python ]]; then
    "$python" -m venv .venv
  fi
}
