#!/usr/bin/env bash
# Runs one of nq-server's benchmark mains (test sources) with the module's classpath:
#   nq-server/run-bench.sh HttpLayerBench [MODEL] [CLIENTS] [SECONDS] [ROUNDS]
#   nq-server/run-bench.sh ServeBench MODEL TEXT KV KV_MEMORY CONVERSATIONS [CLIENTS] [PROMPT_TOKENS] [GEN] [STORE]
# from the repository root; builds what it needs first (JDK 25 found as ./nq finds it: set JAVA_HOME if not).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
main="$1"; shift
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
# one reactor build: the project's own modules resolve to their target/classes (none needs installing); the output
# file is resolved from each module's folder, so it is given absolute (nq-server comes last and writes it last)
mvn -B -ntp -q -o -pl nq-server -am test-compile dependency:build-classpath -DskipTests \
    -Dmdep.outputFile="$PWD/nq-server/target/bench.cp" -Dmdep.includeScope=test >&2
# our own modules from this tree, not from ~/.m2
cp=$(tr ':' '\n' < nq-server/target/bench.cp | grep -v '/dev/nexusquant/\|/target/classes' | paste -sd:)
cp="nq-server/target/classes:nq-server/target/test-classes:nq-kv/target/classes:nq-store/target/classes:nq-engine/target/classes:nq-codec/target/classes:nq-vector/target/classes:$cp"
case "$main" in
  HttpLayerBench) cls=dev.nexusquant.server.http.HttpLayerBench ;;
  ServeBench) cls=dev.nexusquant.server.ServeBench ;;
  *) echo "run-bench.sh: unknown benchmark $main (HttpLayerBench, ServeBench)" >&2; exit 2 ;;
esac
exec "$JAVA_HOME/bin/java" --add-modules jdk.incubator.vector -Xmx3g -cp "$cp" "$cls" "$@"
