#!/usr/bin/env bash
# Regenerates the lockfiles in this folder from project/ with the real
# clients. It needs the npm registry; the tests only read the results.
# The committed files were made with npm 11.19.1 and yarn 1.22.22.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cp -r "$here/project/." "$work/"
cd "$work"
mkdir vendor
(cd vendor && npm pack left-pad@1.3.0 >/dev/null)

# A user's npmrc may set omit-lockfile-registry-resolved=true, which would
# leave out the resolved URLs that the rewrite tests need.
export npm_config_omit_lockfile_registry_resolved=false
for v in 1 2 3; do
	rm -f package-lock.json
	npm install --package-lock-only --lockfile-version "$v" --ignore-scripts
	cp package-lock.json "$here/npm-v$v/package-lock.json"
done

rm -f package-lock.json
npx --yes yarn@1.22.22 install --ignore-scripts --non-interactive \
	--registry https://registry.npmjs.org --cache-folder "$work/.yarn-cache"
cp yarn.lock "$here/yarn-v1/yarn.lock"
