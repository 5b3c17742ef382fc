#!/usr/bin/env bash
# The whole suite: lint, format, types, tests (docs examples included), docs build.
# pytest's exit code 5 ("no tests collected") fails the run like any other non-zero code.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== ruff check";          ruff check .
echo "== ruff format --check"; ruff format --check .
echo "== mypy --strict src";   mypy --strict src
echo "== mypy typing_tests";   mypy --strict typing_tests
echo "== lint-imports";        lint-imports --no-cache --no-logo
echo "== pytest"
set +e
python -m pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests: failing" >&2
  exit 1
fi
[ "$status" -eq 0 ] || exit "$status"
echo "== mkdocs build --strict"; NO_MKDOCS_2_WARNING=1 mkdocs build --strict --quiet --site-dir "$(mktemp -d)"
