// The OpenAI-compatible server of `scripts/local-model.sh`: one GGUF model on the prebuilt
// llama.cpp of node-llama-cpp (no compiler, no network), serving what the workflow provider
// uses of the chat-completions API:
//
//   GET  /v1/models             the one model, under its alias
//   POST /v1/chat/completions   messages (system, user, assistant with tool_calls, tool),
//                               temperature, max_tokens, stop, response_format, tools +
//                               tool_choice, stream (SSE), usage
//
//   node server.mjs --model FILE.gguf [--alias NAME] [--host 127.0.0.1] [--port 8089]
//                   [--ctx 4096] [--threads 1]
//
// Tool calls are returned to the client, never executed here. A named tool_choice (or
// "required") constrains the answer to a call with a grammar built from the tools' schemas;
// "auto" lets the model choose through node-llama-cpp's function calling, which a small model
// rarely does; "none" hides the tools. response_format {"type": "json_schema", "json_schema":
// {"schema": …}} and {"type": "json_object", "schema": …} both constrain the answer to the
// schema (without a schema, to any JSON object). Requests are served one at a time.

import http from "node:http";
import { parseArgs } from "node:util";
import { getLlama, LlamaChat, LlamaLogLevel } from "node-llama-cpp";

const { values: opts } = parseArgs({
  options: {
    model: { type: "string" },
    alias: { type: "string", default: "local-model" },
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "8089" },
    ctx: { type: "string", default: "4096" },
    // One thread: on a busy 2-core machine, two spin-waiting threads are 100 times slower.
    threads: { type: "string", default: "1" },
  },
});
if (!opts.model) {
  console.error("usage: node server.mjs --model FILE.gguf [--alias NAME] [--port N] ...");
  process.exit(2);
}

/** An error that goes back to the client as `{"error": {...}}` with an HTTP status. */
class ApiError extends Error {
  constructor(status, message, type = "invalid_request_error") {
    super(message);
    this.status = status;
    this.type = type;
  }
}
const badRequest = (message) => new ApiError(400, message);

// ---- the model ----

const llama = await getLlama({
  gpu: false,
  build: "never", // the prebuilt binary or nothing: never compile, never download
  logLevel: LlamaLogLevel.warn,
  progressLogs: false,
});
const model = await llama.loadModel({ modelPath: opts.model });
const context = await model.createContext({
  contextSize: Number(opts.ctx),
  threads: Number(opts.threads),
});
const sequence = context.getSequence();
const chat = new LlamaChat({ contextSequence: sequence });

// One request at a time on the one sequence: each waits for the previous one.
let queue = Promise.resolve();
function serialized(task) {
  const run = queue.then(task);
  queue = run.catch(() => {});
  return run;
}

// ---- requests: from the OpenAI shape to node-llama-cpp's ----

/** The text of a message's content: a string, null, or an array of text parts. */
function textOf(content, where) {
  if (content === undefined || content === null) return "";
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content
      .map((part) => {
        if (part?.type !== "text" || typeof part.text !== "string") {
          throw badRequest(`${where}: only text content parts are supported`);
        }
        return part.text;
      })
      .join("");
  }
  throw badRequest(`${where}: content must be a string or an array of text parts`);
}

/** A JSON string as a value, or the string itself when it is not JSON. */
function jsonOrText(text) {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** OpenAI messages as a node-llama-cpp chat history, ending with a model turn to continue. */
function toHistory(messages) {
  if (!Array.isArray(messages) || messages.length === 0) {
    throw badRequest("messages must be a non-empty array");
  }
  const history = [];
  const pending = new Map(); // tool_call_id -> the function call awaiting its result
  messages.forEach((message, index) => {
    const where = `messages[${index}]`;
    switch (message?.role) {
      case "system":
      case "developer":
        history.push({ type: "system", text: textOf(message.content, where) });
        break;
      case "user":
        history.push({ type: "user", text: textOf(message.content, where) });
        break;
      case "assistant": {
        const response = [];
        const text = textOf(message.content, where);
        if (text) response.push(text);
        for (const call of message.tool_calls ?? []) {
          const name = call?.function?.name;
          if (typeof call?.id !== "string" || typeof name !== "string") {
            throw badRequest(`${where}: each tool call needs an id and a function name`);
          }
          const item = {
            type: "functionCall",
            name,
            params: jsonOrText(call.function.arguments ?? "{}"),
            result: "",
          };
          pending.set(call.id, item);
          response.push(item);
        }
        history.push({ type: "model", response });
        break;
      }
      case "tool": {
        const call = pending.get(message.tool_call_id);
        if (!call) {
          throw badRequest(
            `${where}: tool_call_id ${JSON.stringify(message.tool_call_id)} answers no ` +
              "tool call of an earlier assistant message",
          );
        }
        pending.delete(message.tool_call_id);
        call.result = jsonOrText(textOf(message.content, where));
        break;
      }
      default:
        throw badRequest(
          `${where}: role must be system, user, assistant or tool, not ${JSON.stringify(message?.role)}`,
        );
    }
  });
  if (history.at(-1).type !== "model") history.push({ type: "model", response: [] });
  return history;
}

/** The tools as a map from name to definition. */
function toTools(tools) {
  if (tools === undefined || tools === null) return new Map();
  if (!Array.isArray(tools)) throw badRequest("tools must be an array");
  return new Map(
    tools.map((tool, index) => {
      const fn = tool?.function;
      if (tool?.type !== "function" || typeof fn?.name !== "string") {
        throw badRequest(`tools[${index}]: expected {"type": "function", "function": {"name", ...}}`);
      }
      return [fn.name, { description: fn.description ?? "", params: fn.parameters ?? { type: "object" } }];
    }),
  );
}

/**
 * What the request asks of the answer: `{mode: "text"}`, `{mode: "json", schema}`,
 * `{mode: "call", tools}` (a call is forced) or `{mode: "auto", tools}` (the model chooses).
 */
function answerMode(body) {
  const tools = toTools(body.tools);
  const choice = body.tool_choice ?? (tools.size > 0 ? "auto" : "none");
  if (typeof choice === "object" && choice !== null) {
    const name = choice.function?.name;
    if (!tools.has(name)) {
      throw badRequest(`tool_choice names ${JSON.stringify(name)}, which is not among the tools`);
    }
    return { mode: "call", tools: new Map([[name, tools.get(name)]]) };
  }
  if (!["auto", "none", "required"].includes(choice)) {
    throw badRequest(`tool_choice must be "auto", "none", "required" or a named function`);
  }
  if (choice === "required") {
    if (tools.size === 0) throw badRequest(`tool_choice "required" needs tools`);
    return { mode: "call", tools };
  }
  const format = body.response_format;
  if (format && format.type !== "text") {
    // Structured output wins over optional tools: a grammar and function calling don't mix.
    if (format.type === "json_schema") {
      const schema = format.json_schema?.schema;
      if (typeof schema !== "object" || schema === null) {
        throw badRequest("response_format json_schema needs json_schema.schema");
      }
      return { mode: "json", schema };
    }
    if (format.type === "json_object") {
      return { mode: "json", schema: format.schema ?? { type: "object" } };
    }
    throw badRequest(`response_format type must be text, json_object or json_schema`);
  }
  if (choice === "auto" && tools.size > 0) return { mode: "auto", tools };
  return { mode: "text" };
}

/**
 * `schema` in the subset node-llama-cpp's grammar builder knows: `anyOf` becomes `oneOf`, and
 * an integer with a `minimum` and a `maximum` at most 1000 apart becomes the enum of its values
 * (the builder has no bounds, and a small model happily writes 1000000000000000 for a `u8`).
 */
function forGrammar(schema) {
  if (Array.isArray(schema)) return schema.map(forGrammar);
  if (typeof schema !== "object" || schema === null) return schema;
  const { minimum: min, maximum: max } = schema;
  if (schema.type === "integer" && Number.isInteger(min) && Number.isInteger(max) && max - min <= 1000) {
    return { enum: Array.from({ length: max - min + 1 }, (_, i) => min + i) };
  }
  const out = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === "anyOf") out.oneOf = forGrammar(value);
    else if (["properties", "$defs", "definitions"].includes(key) && typeof value === "object") {
      out[key] = Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, forGrammar(sub)]));
    } else if (["items", "prefixItems", "oneOf", "additionalProperties"].includes(key)) {
      out[key] = forGrammar(value);
    } else out[key] = value;
  }
  return out;
}

/** A JSON schema as a grammar, or a 400 naming what the grammar builder refused. */
async function grammarFor(schema) {
  try {
    return await llama.createGrammarForJsonSchema(forGrammar(schema));
  } catch (error) {
    throw badRequest(`unsupported JSON schema: ${error.message}`);
  }
}

/**
 * The grammar and instruction that force a call of one of `tools`, and how to read the
 * answer as `{name, arguments}`. With one tool the model writes only its arguments: fewer
 * tokens for a small model to get wrong.
 */
async function callGrammar(tools) {
  if (tools.size === 1) {
    const [[name, tool]] = tools;
    return {
      grammar: await grammarFor(tool.params),
      instruction:
        `Call the tool ${name} (${tool.description}). Answer only with its arguments, ` +
        `as JSON of this schema: ${JSON.stringify(tool.params)}`,
      read: (text) => ({ name, arguments: JSON.parse(text) }),
    };
  }
  const calls = [...tools].map(([name, tool]) => ({
    type: "object",
    properties: { name: { const: name }, arguments: tool.params },
    required: ["name", "arguments"],
  }));
  const listed = [...tools].map(
    ([name, tool]) => `- ${name}: ${tool.description} Arguments: ${JSON.stringify(tool.params)}`,
  );
  return {
    grammar: await grammarFor({ oneOf: calls }),
    instruction:
      `Call one of these tools:\n${listed.join("\n")}\n` +
      'Answer only with the call as JSON: {"name": ..., "arguments": {...}}.',
    read: (text) => JSON.parse(text),
  };
}

/** The history with `text` added to its first system message (or a new one before it). */
function withInstruction(history, text) {
  const copy = history.slice();
  const index = copy.findIndex((item) => item.type === "system");
  if (index >= 0) copy[index] = { type: "system", text: `${copy[index].text}\n\n${text}` };
  else copy.unshift({ type: "system", text });
  return copy;
}

function stopTriggers(stop) {
  if (stop === undefined || stop === null) return undefined;
  const list = typeof stop === "string" ? [stop] : stop;
  if (!Array.isArray(list) || !list.every((item) => typeof item === "string")) {
    throw badRequest("stop must be a string or an array of strings");
  }
  return list.length > 0 ? list : undefined;
}

function numberOr(value, name, fallback) {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw badRequest(`${name} must be a non-negative number`);
  }
  return value;
}

// ---- generation ----

let callCount = 0;
const callId = () => `call_${Date.now().toString(36)}_${(callCount++).toString(36)}`;

/**
 * Answers `body`: `{text, toolCalls, finishReason, usage}`. `onText` receives text as it is
 * generated (not the JSON of a forced tool call).
 */
async function complete(body, onText, signal) {
  if (body.n !== undefined && body.n !== 1) throw badRequest("n must be 1");
  const answer = answerMode(body);
  let history = toHistory(body.messages);
  const options = {
    temperature: numberOr(body.temperature, "temperature", 0.8),
    maxTokens: numberOr(body.max_tokens ?? body.max_completion_tokens, "max_tokens", undefined),
    customStopTriggers: stopTriggers(body.stop),
    // llama-cpp-python's default: without it, a 135M model loops on a word until max_tokens.
    repeatPenalty: { penalty: 1.1, lastTokens: 64 },
    signal,
    stopOnAbortSignal: true,
  };
  if (options.maxTokens === 0) options.maxTokens = undefined;
  if (typeof body.seed === "number") options.seed = body.seed;
  if (typeof body.top_p === "number") options.topP = body.top_p;

  if (answer.mode === "call") {
    const { grammar, instruction, read } = await callGrammar(answer.tools);
    history = withInstruction(history, instruction);
    options.grammar = grammar;
    answer.read = read;
  } else if (answer.mode === "json") {
    options.grammar = await grammarFor(answer.schema);
    options.onTextChunk = onText;
  } else {
    if (answer.mode === "auto") {
      options.functions = Object.fromEntries(answer.tools);
      options.documentFunctionParams = true;
    }
    options.onTextChunk = onText;
  }

  return serialized(async () => {
    await sequence.clearHistory(); // every request is evaluated whole: usage counts all of it
    const before = sequence.tokenMeter.getState();
    const result = await chat.generateResponse(history, options);
    const after = sequence.tokenMeter.getState();
    const usage = {
      prompt_tokens: after.usedInputTokens - before.usedInputTokens,
      completion_tokens: after.usedOutputTokens - before.usedOutputTokens,
    };
    usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
    const reason = result.metadata.stopReason;
    let finishReason = reason === "maxTokens" ? "length" : "stop";
    let text = result.response;
    let toolCalls = [];

    if (answer.mode === "call") {
      if (reason === "maxTokens") {
        throw new ApiError(
          400,
          `max_tokens ran out before the tool call's arguments were complete: raise it ` +
            `(got ${JSON.stringify(text)})`,
        );
      }
      toolCalls = [answer.read(text)];
      text = "";
    } else if (result.functionCalls?.length) {
      toolCalls = result.functionCalls.map((call) => ({
        name: call.functionName,
        arguments: call.params ?? {},
      }));
    }
    if (toolCalls.length > 0) finishReason = "tool_calls";
    const calls = toolCalls.map((call) => ({
      id: callId(),
      type: "function",
      function: { name: call.name, arguments: JSON.stringify(call.arguments) },
    }));
    return { text, toolCalls: calls, finishReason, usage };
  });
}

// ---- HTTP ----

const created = () => Math.floor(Date.now() / 1000);
let completionCount = 0;

function send(res, status, value) {
  const body = JSON.stringify(value);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

function sendError(res, error) {
  const api = error instanceof ApiError ? error : new ApiError(500, String(error?.message ?? error), "server_error");
  if (api.status === 500) console.error(error);
  send(res, api.status, { error: { message: api.message, type: api.type, code: null } });
}

async function readJson(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 8 << 20) throw new ApiError(413, "request body over 8 MiB");
    chunks.push(chunk);
  }
  try {
    const value = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error("not an object");
    return value;
  } catch (error) {
    throw badRequest(`the body is not a JSON object: ${error.message}`);
  }
}

async function chatCompletions(req, res) {
  const body = await readJson(req);
  const id = `chatcmpl-${Date.now().toString(36)}${(completionCount++).toString(36)}`;
  const head = { id, created: created(), model: opts.alias };
  const aborted = new AbortController();
  res.on("close", () => aborted.abort());

  if (!body.stream) {
    const out = await complete(body, undefined, aborted.signal);
    const message = { role: "assistant", content: out.text };
    if (out.toolCalls.length > 0) message.tool_calls = out.toolCalls;
    send(res, 200, {
      ...head,
      object: "chat.completion",
      choices: [{ index: 0, message, finish_reason: out.finishReason }],
      usage: out.usage,
    });
    return;
  }

  // Streaming: validation errors still get a status, as the stream starts with the first text.
  const chunk = (delta, finishReason = null) => ({
    ...head,
    object: "chat.completion.chunk",
    choices: [{ index: 0, delta, finish_reason: finishReason }],
  });
  const event = (value) => res.write(`data: ${JSON.stringify(value)}\n\n`);
  const start = () => {
    if (res.headersSent) return;
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    event(chunk({ role: "assistant", content: "" }));
  };
  try {
    const out = await complete(
      body,
      (text) => {
        if (text === "") return;
        start();
        event(chunk({ content: text }));
      },
      aborted.signal,
    );
    start();
    if (out.toolCalls.length > 0) {
      event(chunk({ tool_calls: out.toolCalls.map((call, index) => ({ index, ...call })) }));
    }
    event(chunk({}, out.finishReason));
    if (body.stream_options?.include_usage) {
      event({ ...head, object: "chat.completion.chunk", choices: [], usage: out.usage });
    }
    res.end("data: [DONE]\n\n");
  } catch (error) {
    if (!res.headersSent) throw error;
    event({ error: { message: String(error?.message ?? error), type: "server_error" } });
    res.end();
  }
}

const server = http.createServer(async (req, res) => {
  try {
    const path = new URL(req.url, "http://localhost").pathname.replace(/\/+$/, "");
    if (req.method === "GET" && path === "/v1/models") {
      send(res, 200, {
        object: "list",
        data: [{ id: opts.alias, object: "model", created: created(), owned_by: "local" }],
      });
    } else if (req.method === "POST" && path === "/v1/chat/completions") {
      await chatCompletions(req, res);
    } else {
      throw new ApiError(404, `no route ${req.method} ${path}: this server has GET /v1/models and POST /v1/chat/completions`, "not_found");
    }
  } catch (error) {
    if (res.headersSent) res.end();
    else sendError(res, error);
  }
});

const shutdown = () => server.close(() => process.exit(0));
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
server.listen(Number(opts.port), opts.host, () => {
  console.error(`serving ${opts.alias} on http://${opts.host}:${opts.port}/v1`);
});
