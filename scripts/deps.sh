#!/usr/bin/env bash
# Installs what the tests need beyond Go, when it is missing (quick when
# everything is there): kcat (the third-party client of the interop tests),
# the OpenSSH client and tmux (the kdeck serve --ssh tests), PostgreSQL (the
# postgres connectors' tests start a real server from it: testing/pgtest),
# and the Python clients (confluent-kafka: the third-party side of the
# Schema Registry tests). Debian packages come from apt-get (run as root, as
# on the project's machines). scripts/test.sh runs this first.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== deps: tools the tests use (kcat: the third-party client of the interop tests; the OpenSSH client, ssh-keygen and tmux: the kdeck serve --ssh tests)"
missing=()
command -v kcat >/dev/null 2>&1 || missing+=(kcat)
{ command -v ssh >/dev/null 2>&1 && command -v ssh-keygen >/dev/null 2>&1; } || missing+=(openssh-client)
command -v tmux >/dev/null 2>&1 || missing+=(tmux)
if [ ${#missing[@]} -gt 0 ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}") >/tmp/kdeck-ci-apt.log 2>&1 \
    || { cat /tmp/kdeck-ci-apt.log; echo "could not install ${missing[*]}"; exit 1; }
fi

echo "== deps: PostgreSQL (the postgres connectors' tests start a real server from it: testing/pgtest)"
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >/tmp/kdeck-ci-apt-pg.log 2>&1 \
    || { cat /tmp/kdeck-ci-apt-pg.log; echo "could not install postgresql"; exit 1; }
fi
echo "== deps: python clients (confluent-kafka: the third-party side of the Schema Registry tests)"
./scripts/pyclients.sh

