#!/bin/sh
# The simulator earns its keep: sim-bug is sim linked against a farm built with a broken
# single-flight (HOP_FARM_BUG_SINGLE_FLIGHT). A seed sweep must find the violation, print the
# one replay command, and that command must replay it; the correct build passes the same seed.
# usage: find_bug.sh SIM_BUG SIM
set -u
bug=$1 good=$2
out=$("$bug" --seeds 1-200 --scenario join-storm --minutes 1 2>&1)
rc=$?
echo "$out" | tail -3
[ "$rc" -eq 1 ] || { echo "FAIL: the sweep did not find the seeded bug (rc $rc)"; exit 1; }
echo "$out" | grep -q "a second start of server" || { echo "FAIL: not the single-flight check"; exit 1; }
replay=$(echo "$out" | sed -n 's/^replay: //p')
[ -n "$replay" ] || { echo "FAIL: no replay command printed"; exit 1; }
violation=$(echo "$out" | grep '^VIOLATION')
again=$($replay --quiet 2>&1)
[ $? -eq 1 ] || { echo "FAIL: '$replay' did not fail again"; exit 1; }
[ "$(echo "$again" | grep '^VIOLATION')" = "$violation" ] || {
  echo "FAIL: the replay found something else:"; echo "$again"; exit 1; }
seed=$(echo "$replay" | sed -n 's/.*--seed \([0-9]*\).*/\1/p')
"$good" --seed "$seed" --scenario join-storm --minutes 1 --quiet || {
  echo "FAIL: the correct farm fails seed $seed too"; exit 1; }
echo "ok: seeded bug found and replayed with: $replay"
