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

# yarn berry and pnpm come from tools/ (make tools); pnpm 8 writes the
# lockfileVersion 6.0 format and is fetched for this run only.
tools="$here/../../../tools/node_modules"
rm -f yarn.lock
export YARN_NPM_REGISTRY_SERVER=https://registry.npmjs.org YARN_ENABLE_TELEMETRY=0 \
	YARN_ENABLE_GLOBAL_CACHE=0 YARN_CACHE_FOLDER="$work/.berry-cache" YARN_ENABLE_SCRIPTS=0 \
	YARN_NODE_LINKER=node-modules
node "$tools/@yarnpkg/cli-dist/bin/yarn.js" install --mode=skip-build
cp yarn.lock "$here/yarn-berry/yarn.lock"

printf 'packages:\n  - packages/*\n' >pnpm-workspace.yaml
pnpm_flags=(--lockfile-only --ignore-scripts --registry https://registry.npmjs.org/
	--store-dir "$work/.pnpm-store" --cache-dir "$work/.pnpm-cache")
node "$tools/pnpm/bin/pnpm.cjs" install "${pnpm_flags[@]}"
cp pnpm-lock.yaml "$here/pnpm-v9/pnpm-lock.yaml"
rm pnpm-lock.yaml
npx --yes pnpm@8.15.9 install "${pnpm_flags[@]}"
cp pnpm-lock.yaml "$here/pnpm-v6/pnpm-lock.yaml"
