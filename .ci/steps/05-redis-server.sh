# step: redis-server for the shared rate-limit state tests (issue 13): installed when missing (Debian package); the tests start their own on a free loopback port, and under CI=true a missing server fails them
source "$(dirname "$0")/../lib.sh"
if ! command -v redis-server >/dev/null 2>&1; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "redis-server is missing and there is no apt-get to install it" >&2
    [ "${CI:-}" = true ] && exit 1
    exit "$CI_SKIP"
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq redis-server >/dev/null
  # the package may start a system service on the default port; the tests never use it
  (command -v service >/dev/null 2>&1 && service redis-server stop >/dev/null 2>&1) || true
fi
redis-server --version
