#!/usr/bin/env bash
# Compare Sluice's scan (SBOM with syft + matching with grype, as a library,
# database loaded once) with the grype CLI on the same npm tarballs and the
# same demo vulnerability database. Prints wall time per pass, the ratio and
# peak resident memory (GNU time's maximum RSS).
#
# Needs the grype CLI of the version Sluice links:
#   go install github.com/anchore/grype/cmd/grype@v0.121.3
# Runs offline: grype's update check and database download are switched off.
set -euo pipefail
cd "$(dirname "$0")/.."

grype=${GRYPE:-$(go env GOPATH)/bin/grype}
if [[ ! -x $grype ]]; then
  echo "grype CLI not found at $grype: go install github.com/anchore/grype/cmd/grype@v0.121.3" >&2
  exit 2
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# TARBALLS names a folder of npm tarballs (default: the tests' recorded
# ones; bench/.work/cache after `make bench` holds 1,213). GRYPE_LIMIT caps
# how many of them the grype CLI scans, one process each, since at about
# 2 s per tarball a thousand take over half an hour; the ratio is per
# tarball.
dir=${TARBALLS:-internal/npmfixture/testdata/registry}
dir=$(cd "$dir" && pwd)
mapfile -t tarballs < <(find "$dir" -name '*.tgz' | sort)
echo "tarballs: ${#tarballs[@]} ($dir)"
limit=${GRYPE_LIMIT:-${#tarballs[@]}}
grype_tarballs=("${tarballs[@]:0:$limit}")

archive=$(go run ./internal/grypetest/demodb -out "$work/db")
export GRYPE_DB_CACHE_DIR=$work/grype-db GRYPE_DB_AUTO_UPDATE=false GRYPE_DB_VALIDATE_AGE=false
export GRYPE_CHECK_FOR_APP_UPDATE=false
"$grype" db import "$archive" >/dev/null 2>&1

# grype catalogs package.json files only in images, so each tarball becomes
# a one-layer OCI image with the package under usr/lib/node_modules.
go run ./scanners/internal/ocitest/npmimages -out "$work/images" "${grype_tarballs[@]}"

# grype: one process per artifact, as a per-artifact gateway step would run
# it; the database is opened by every process.
/usr/bin/time -f '%e %M' -o "$work/grype-each.time" bash -c '
  for d in "$1"/images/*; do "$2" "oci-dir:$d" -o json -q >/dev/null; done' _ "$work" "$grype"
grype_s=$(cut -d' ' -f1 "$work/grype-each.time")
grype_kb=$(cut -d' ' -f2 "$work/grype-each.time")

# Sluice: go test's benchmark, one pass over all tarballs per iteration.
go test -c -o "$work/scanners.test" ./scanners
(cd scanners && SLUICE_BENCH_TARBALLS=$dir /usr/bin/time -f '%e %M' -o "$work/sluice.time" "$work/scanners.test" \
  -test.run '^$' -test.bench '^BenchmarkScanNPMTarballs$' -test.benchtime ${BENCHTIME:-3x} -test.benchmem) \
  | tee "$work/sluice.out"
sluice_ns=$(awk '/^BenchmarkScanNPMTarballs/ {print $3}' "$work/sluice.out")
sluice_kb=$(cut -d' ' -f2 "$work/sluice.time")

awk -v g="$grype_s" -v s="$sluice_ns" -v gk="$grype_kb" -v sk="$sluice_kb" -v n="${#tarballs[@]}" -v gn="$limit" 'BEGIN {
  ss = s / 1e9
  printf "grype CLI, one process per tarball: %.2f s for %d tarballs (%.0f ms per tarball), peak RSS %.0f MiB\n", g, gn, g*1000/gn, gk/1024
  printf "sluice scanners, one process:       %.2f s for %d tarballs (%.0f ms per tarball), peak RSS %.0f MiB\n", ss, n, ss*1000/n, sk/1024
  printf "ratio per tarball grype/sluice: %.1fx\n", (g/gn)/(ss/n)
}'
