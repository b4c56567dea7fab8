# Sourced by the tests that run two `kexin serve` processes on loopback (dsp_test.sh,
# dsp_limits_test.sh) after they set T (their temp dir): the nodes' ports and URLs, and a cleanup
# on exit that stops every process in PIDS and removes T.
PP=$((20000 + RANDOM % 20000))
CP=$((PP + 1))
PURL=http://127.0.0.1:$PP
CURL_=http://127.0.0.1:$CP
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$T"
}
trap cleanup EXIT
