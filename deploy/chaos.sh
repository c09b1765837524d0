#!/usr/bin/env bash
# The fault-injection harness (issue 11): the real services, an isolated RabbitMQ and a counting bridge that does not
# de-duplicate; one fault per scenario; a table of accepted/stored/delivered/lost/duplicated/stuck/dead-lettered.
#
#   deploy/chaos.sh --ci                     # every CI scenario, a few hundred messages (a few minutes)
#   deploy/chaos.sh --messages 100000        # the long run
#   deploy/chaos.sh --scenario kill-relay    # one scenario; --list shows them all; --help for the options
#
# Uses .build/debug (or --bin-dir; builds with `swift build` when the binaries are missing). Python 3 standard
# library only. Exit status 1 when a scenario failed; its evidence stays in the run folder printed at the start.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v python3 >/dev/null || { echo "chaos.sh: python3 is needed (apt-get install python3)" >&2; exit 2; }
exec python3 deploy/chaos/chaos.py "$@"
