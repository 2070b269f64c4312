#!/usr/bin/env bash
# Fresh mutation fuzzing of every trace reader (lackey, pinatrace, pages, binary v1/v2, gzip, zstd) and the scenario
# parser, starting from the corpus in tests/corpus/. Inputs that crash, hang or allocate more than 500 MB are saved
# there as crash-<hash> (commit them once fixed: the test suite replays the corpus).
#   tests/fuzz.sh [SECONDS] [SEED] [TARGETS] [CASES]    defaults: 60 s, seed 1, every target (comma-separated
#   list), no cap on the cases per target (CASES caps them: a capped run replays a prefix of a longer one)
# Needs a Release build (dotnet build EcsMem.sln -c Release). Exit status 0 = no failure.
set -euo pipefail
cd "$(dirname "$0")/.."
export ECSMEM_FUZZ_SECONDS="${1:-60}" ECSMEM_FUZZ_SEED="${2:-1}" ECSMEM_FUZZ_TARGETS="${3:-}" ECSMEM_FUZZ_CASES="${4:-}"
# Hard wall-clock bound: the budget plus start-up, so a hang in the harness itself cannot stall CI.
limit=$(( ${ECSMEM_FUZZ_SECONDS%.*} + 120 ))
timeout --kill-after=10 "$limit" dotnet test tests/Ecs.Mem.Tests -c Release --no-build \
  --filter "FullyQualifiedName~CorpusFuzzTests.FreshMutations" --logger "console;verbosity=detailed"
