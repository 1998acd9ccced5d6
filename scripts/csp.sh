#!/usr/bin/env bash
# trunk's post-build hook (Trunk.toml): writes the sha256 of each inline
# <script> of the built index.html (trunk's module loader, the only one)
# into csp.js's policy, so that it and nothing else inline may run.
set -euo pipefail
dir="${TRUNK_STAGING_DIR:?run by trunk as a post_build hook}"
html=$(<"$dir/index.html")
hashes=""
rest="$html"
while [[ "$rest" == *"<script type=\"module\">"* ]]; do
  rest=${rest#*<script type=\"module\">}
  body=${rest%%</script>*}
  rest=${rest#*</script>}
  hex=$(printf '%s' "$body" | sha256sum | cut -c1-64)
  b64=$(printf "$(sed 's/../\\x&/g' <<<"$hex")" | base64)
  hashes="$hashes'sha256-$b64' "
done
# Any other inline script would be blocked: refuse to build one.
if grep -q '<script>' "$dir/index.html"; then
  echo "csp.sh: index.html has an inline <script> the policy would block" >&2
  exit 1
fi
if [[ -z "$hashes" ]]; then
  echo "csp.sh: trunk's inline loader was not found in index.html" >&2
  exit 1
fi
sed -i "s|__INLINE_SCRIPT_HASHES__|${hashes% }|" "$dir/csp.js"
