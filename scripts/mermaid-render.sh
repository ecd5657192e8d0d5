#!/usr/bin/env bash
# Renders every Mermaid diagram `#[workflow]` generates, each example's and each of
# tests/mermaid.rs, with the real renderer: mermaid-cli (mmdc) in headless Chromium. A diagram
# that does not parse fails the script. Opt-in, not part of `cargo test`, which checks the same
# diagrams against the grammar instead (tests/mermaid.rs).
#
# Installs what it needs from the registries, once: Debian's chromium (apt, when
# /usr/bin/chromium is missing) and @mermaid-js/mermaid-cli from npm into .mermaid-cli/, with
# puppeteer's own browser download skipped. Diagrams and SVGs go to target/mermaid/.
#
# Settings (env): CHROMIUM (/usr/bin/chromium), WORKFLOW_MERMAID_TOOLS (<repo>/.mermaid-cli),
# WORKFLOW_MERMAID_OUT (<target>/mermaid), CARGO_TARGET_DIR.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
TOOLS="${WORKFLOW_MERMAID_TOOLS:-$ROOT/.mermaid-cli}"
OUT="${WORKFLOW_MERMAID_OUT:-$TARGET/mermaid}"
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
cd "$ROOT"

if [ ! -x "$CHROMIUM" ]; then
    echo "installing chromium from Debian's packages" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if [ ! -x "$TOOLS/node_modules/.bin/mmdc" ]; then
    echo "installing @mermaid-js/mermaid-cli from npm into $TOOLS" >&2
    mkdir -p "$TOOLS"
    (cd "$TOOLS" && PUPPETEER_SKIP_DOWNLOAD=1 npm install --no-audit --no-fund --silent \
        @mermaid-js/mermaid-cli@11 >/dev/null)
fi
# Chromium as root, on a machine whose network is closed: no sandbox, no background traffic.
cat > "$TOOLS/puppeteer.json" <<EOF
{"executablePath": "$CHROMIUM", "args": ["--headless", "--no-sandbox", "--disable-gpu",
 "--disable-quic", "--no-first-run", "--disable-background-networking",
 "--disable-component-update", "--disable-sync"]}
EOF

rm -rf "$OUT"
mkdir -p "$OUT"

# The diagrams of tests/mermaid.rs: keywords as step names, escaped labels, forks, maps.
WORKFLOW_MERMAID_DIR="$OUT" cargo test -q -p workflow --test mermaid >/dev/null

# Each example's diagrams, from the docs `#[workflow]` puts on the impl block.
for example in examples/*.rs; do
    name="$(basename "$example" .rs)"
    cargo rustdoc -q -p workflow --example "$name" -- --document-private-items 2>/dev/null
    python3 - "$TARGET/doc/$name" "$OUT/example-$name" <<'PY'
import html, pathlib, re, sys
docs, prefix = pathlib.Path(sys.argv[1]), sys.argv[2]
seen = set()
for page in sorted(docs.glob("*.html")):
    for block in re.findall(r'<pre class="language-mermaid"><code>(.*?)</code></pre>', page.read_text(), re.S):
        text = html.unescape(re.sub(r"<[^>]+>", "", block))
        if text not in seen:
            seen.add(text)
            pathlib.Path(f"{prefix}-{len(seen)}.mmd").write_text(text)
if not seen:
    sys.exit(f"no diagram in {docs}")
PY
done

passed=0
failed=0
for diagram in "$OUT"/*.mmd; do
    if timeout 120 "$TOOLS/node_modules/.bin/mmdc" -q -p "$TOOLS/puppeteer.json" \
        -i "$diagram" -o "${diagram%.mmd}.svg" >"${diagram%.mmd}.log" 2>&1; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAILED: $diagram" >&2
        sed 's/^/    /' "${diagram%.mmd}.log" >&2
    fi
done
echo "mermaid: rendered $((passed + failed)) diagrams into $OUT"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
