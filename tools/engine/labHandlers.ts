// Handlers for "lab" mode: remote commands and copies really run over SSH,
// random values are really random; anything needing a cloud fails at once.
//
// Only `create` runs: a lab run starts from no state, so there is nothing to
// update or delete (`update`, `delete` and `triggers` are ignored).

import { randomBytes } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { randomHandlers } from "./random";
import { Semaphore } from "./semaphore";
import { describeEndpoint, endpointFromConnection, SshPool, tailLines, TimeoutError } from "./ssh";
import { HandlerFailure, HandlerTable, ResourceHandler } from "./types";
import { describeAsset, isSecretWrapped, secretValue } from "./values";

export interface LabHandlerOptions {
  /** Remote commands and copies running at once over all hosts (the machine has 2 cores). @default 16 */
  maxConcurrentCommands?: number;
  /** @default 8 (two below sshd's MaxSessions default) */
  maxSessionsPerConnection?: number;
  /** Bound on one command when it sets no customTimeouts.create. @default 20 minutes */
  defaultCommandTimeoutMs?: number;
  /** Keep random:* results here between runs (see RunRequest.randomStateFile). @default - none */
  randomStateFile?: string;
}

/** Lines of output shown when a command fails. */
const FAILURE_TAIL_LINES = 30;

export function createLabHandlers(options: LabHandlerOptions = {}): HandlerTable {
  const pool = new SshPool({ maxSessionsPerConnection: options.maxSessionsPerConnection });
  const slots = new Semaphore(options.maxConcurrentCommands ?? 16);
  const defaultTimeoutMs = options.defaultCommandTimeoutMs ?? 20 * 60_000;

  const remoteCommand: ResourceHandler = async (req, ctx) => {
    const endpoint = endpointFromConnection(req.inputs.connection);
    const host = describeEndpoint(endpoint);
    const create = req.inputs.create;
    if (create === undefined || create === null || create === "") {
      return { id: uniqueId(req.name), state: { ...req.rawInputs, stdout: "", stderr: "" } };
    }
    if (typeof create !== "string") throw new Error(`"create" must be a string, got ${typeof create}.`);
    const release = await slots.acquire(ctx.signal);
    try {
      const timeoutMs = req.createTimeoutMs ?? defaultTimeoutMs;
      let result;
      try {
        result = await pool.exec(endpoint, create, {
          stdin: stringOrUndefined(req.inputs.stdin, "stdin"),
          env: environmentOf(req.inputs.environment),
          timeoutMs,
          signal: ctx.signal,
          log: ctx.log,
        });
      } catch (err) {
        const tail = err instanceof TimeoutError ? tailLines(err.outputSoFar, FAILURE_TAIL_LINES) : undefined;
        throw new HandlerFailure(`command "${req.name}": ${(err as Error).message}`, host, tail);
      }
      if (result.exitCode !== 0) {
        const status =
          result.exitCode !== null
            ? `exited with code ${result.exitCode}`
            : result.exitSignal
              ? `ended by signal ${result.exitSignal}`
              : "lost its SSH connection twice before reporting an exit status";
        throw new HandlerFailure(`command "${req.name}" ${status}`, host, tailLines(result.combined, FAILURE_TAIL_LINES));
      }
      return {
        id: uniqueId(req.name),
        // rawInputs keeps the secret wrappers (connection, secret stdin) on the way back.
        state: { ...req.rawInputs, stdout: trimNewline(result.stdout), stderr: trimNewline(result.stderr) },
      };
    } finally {
      release();
    }
  };

  const copyToRemote: ResourceHandler = async (req, ctx) => {
    const endpoint = endpointFromConnection(req.inputs.connection);
    const host = describeEndpoint(endpoint);
    const remotePath = stringOrUndefined(req.inputs.remotePath, "remotePath");
    if (!remotePath) throw new Error(`"remotePath" is required.`);
    const source = await describeAsset(req.inputs.source);
    const release = await slots.acquire(ctx.signal);
    try {
      if (source?.asset === "string") await pool.upload(endpoint, { content: source.text }, remotePath, ctx.signal);
      else if (source?.asset === "file" || source?.asset === "file-archive") {
        await pool.upload(endpoint, { localPath: source.path }, remotePath, ctx.signal);
      } else {
        throw new Error(
          `source must be a StringAsset, FileAsset or FileArchive of a directory in lab mode, got ${source ? source.asset : typeof req.inputs.source}.`,
        );
      }
    } catch (err) {
      if (err instanceof HandlerFailure) throw err;
      throw new HandlerFailure(`copy "${req.name}" to ${remotePath}: ${(err as Error).message}`, host);
    } finally {
      release();
    }
    return { id: uniqueId(req.name), state: { ...req.rawInputs } };
  };

  return {
    resources: {
      "command:remote:Command": remoteCommand,
      "command:remote:CopyToRemote": copyToRemote,
      ...(options.randomStateFile ? persistentRandomHandlers(options.randomStateFile) : randomHandlers("lab")),
      // An explicit provider resource is configuration only; it needs no cloud.
      "pulumi:providers:command": async ({ name, inputs }) => ({ id: `lab-provider-${name}`, state: { ...inputs } }),
      "pulumi:providers:random": async ({ name, inputs }) => ({ id: `lab-provider-${name}`, state: { ...inputs } }),
    },
    invokes: {},
    dispose: () => pool.close(),
  };
}

/** The provider trims one trailing newline from stdout and stderr. */
function trimNewline(text: string): string {
  return text.endsWith("\n") ? text.slice(0, -1) : text;
}

function stringOrUndefined(value: unknown, what: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw new Error(`"${what}" must be a string, got ${typeof value}.`);
  return value;
}

function environmentOf(value: unknown): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "object") throw new Error(`"environment" must be a map of strings.`);
  return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
}

function uniqueId(name: string): string {
  return `${name}-${randomBytes(4).toString("hex")}`;
}

/**
 * random:* handlers that remember their results in `file` (mode 0600: it holds passwords), so that a
 * later run gets the same value for the same resource name and inputs — what Pulumi state gives a
 * program run with `pulumi up` twice. Changed inputs draw a new value, as a replacement would.
 */
export function persistentRandomHandlers(file: string): Record<string, ResourceHandler> {
  const stored: Record<string, { state: Record<string, unknown>; secretKeys: string[]; id?: string }> = fs.existsSync(file)
    ? JSON.parse(fs.readFileSync(file, "utf8"))
    : {};
  const fresh = randomHandlers("lab");
  return Object.fromEntries(
    Object.entries(fresh).map(([type, handler]): [string, ResourceHandler] => [
      type,
      async (req, ctx) => {
        const key = `${type}::${req.name}::${JSON.stringify(req.inputs, Object.keys(req.inputs).sort())}`;
        const known = stored[key];
        if (known) {
          const state = Object.fromEntries(Object.entries(known.state).map(([k, v]) => [k, known.secretKeys.includes(k) ? secretValue(v) : v]));
          return { id: known.id, state };
        }
        const result = await handler(req, ctx);
        const secretKeys = Object.keys(result.state).filter((k) => isSecretWrapped(result.state[k]));
        const plain = Object.fromEntries(Object.entries(result.state).map(([k, v]) => [k, isSecretWrapped(v) ? v.value : v]));
        stored[key] = { state: plain, secretKeys, id: result.id };
        fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
        fs.writeFileSync(`${file}.tmp`, JSON.stringify(stored, null, 2), { mode: 0o600 });
        fs.renameSync(`${file}.tmp`, file);
        return result;
      },
    ]),
  );
}
