// Handlers for "lab" mode: remote commands and copies really run over SSH,
// random values are really random; anything needing a cloud fails at once.
//
// The providers' own operations, from their source:
// - command:remote:Command (pulumi-command v1.2.1 provider/pkg/provider/remote/commandController.go):
//   Create runs `create` (nothing when unset); Update runs `update`, or `create` when `update` is
//   unset; Delete runs `delete` when set. Update and Delete set PULUMI_COMMAND_STDOUT/STDERR (the
//   previous outputs) as SSH env requests unless addPreviousOutputInEnv is false
//   (commandOutputs.go run: a refused request is only a warning). `triggers` is replaceOnChanges.
// - command:remote:CopyToRemote (copyController.go): Update copies again only when the source's
//   hash or remotePath changed; there is no Delete.
// - random:* (terraform-provider-random): every argument requires replacement; no Update.
// - tls:* (terraform-provider-tls v4): likewise, and a certificate in its renewal window is replaced (tls.ts).

import { randomBytes } from "crypto";
import { randomHandlers } from "./random";
import { tlsHandlers } from "./tls";
import { Semaphore } from "./semaphore";
import { describeEndpoint, endpointFromConnection, SshPool, tailLines, TimeoutError } from "./ssh";
import { HandlerContext, HandlerFailure, HandlerTable, ResourceHandler, ResourceProvider } from "./types";
import { describeAsset } from "./values";

export interface LabHandlerOptions {
  /** Remote commands and copies running at once over all hosts (the machine has 2 cores). @default 16 */
  maxConcurrentCommands?: number;
  /** @default 8 (two below sshd's MaxSessions default) */
  maxSessionsPerConnection?: number;
  /** Bound on one command when it sets no customTimeouts.create. @default 20 minutes */
  defaultCommandTimeoutMs?: number;
}

/** Lines of output shown when a command fails. */
const FAILURE_TAIL_LINES = 30;

export function createLabHandlers(options: LabHandlerOptions = {}): HandlerTable {
  const pool = new SshPool({ maxSessionsPerConnection: options.maxSessionsPerConnection });
  const slots = new Semaphore(options.maxConcurrentCommands ?? 16);
  const defaultTimeoutMs = options.defaultCommandTimeoutMs ?? 20 * 60_000;

  /** Run one of a Command's commands over SSH; throws a HandlerFailure naming host and output. */
  const runCommand = async (
    name: string,
    inputs: Record<string, unknown>,
    commandText: string,
    timeoutMs: number,
    ctx: HandlerContext,
    previous?: Record<string, unknown>,
  ): Promise<{ stdout: string; stderr: string }> => {
    const endpoint = endpointFromConnection(inputs.connection);
    const host = describeEndpoint(endpoint);
    const env = { ...environmentOf(inputs.environment) };
    if (previous && inputs.addPreviousOutputInEnv !== false) {
      env.PULUMI_COMMAND_STDOUT = String(previous.stdout ?? "");
      env.PULUMI_COMMAND_STDERR = String(previous.stderr ?? "");
    }
    const release = await slots.acquire(ctx.signal);
    try {
      let result;
      try {
        result = await pool.exec(endpoint, commandText, {
          stdin: stringOrUndefined(inputs.stdin, "stdin"),
          env: Object.keys(env).length > 0 ? env : undefined,
          timeoutMs,
          signal: ctx.signal,
          log: ctx.log,
        });
      } catch (err) {
        const tail = err instanceof TimeoutError ? tailLines(err.outputSoFar, FAILURE_TAIL_LINES) : undefined;
        throw new HandlerFailure(`command "${name}": ${(err as Error).message}`, host, tail);
      }
      if (result.exitCode !== 0) {
        const status =
          result.exitCode !== null
            ? `exited with code ${result.exitCode}`
            : result.exitSignal
              ? `ended by signal ${result.exitSignal}`
              : "lost its SSH connection twice before reporting an exit status";
        throw new HandlerFailure(`command "${name}" ${status}`, host, tailLines(result.combined, FAILURE_TAIL_LINES));
      }
      return { stdout: trimNewline(result.stdout), stderr: trimNewline(result.stderr) };
    } finally {
      release();
    }
  };

  const remoteCommand: ResourceProvider = {
    replaceOnChanges: ["triggers"],
    computedOutputs: ["stdout", "stderr"],
    create: async (req, ctx) => {
      const create = optionalCommand(req.inputs.create, "create");
      // rawInputs keeps the secret wrappers (connection, secret stdin) on the way back.
      if (create === undefined) return { id: uniqueId(req.name), state: { ...req.rawInputs, stdout: "", stderr: "" } };
      const out = await runCommand(req.name, req.inputs, create, req.createTimeoutMs ?? defaultTimeoutMs, ctx);
      return { id: uniqueId(req.name), state: { ...req.rawInputs, ...out } };
    },
    update: async (req, ctx) => {
      const command = optionalCommand(req.inputs.update, "update") ?? optionalCommand(req.inputs.create, "create");
      // Outputs not produced by this update are the previous ones (BaseOutputs: olds).
      const previous = { stdout: req.oldOutputs.stdout ?? "", stderr: req.oldOutputs.stderr ?? "" };
      if (command === undefined) return { id: req.id, state: { ...req.rawInputs, ...previous } };
      const out = await runCommand(req.name, req.inputs, command, req.updateTimeoutMs ?? defaultTimeoutMs, ctx, req.oldOutputs);
      return { id: req.id, state: { ...req.rawInputs, ...out } };
    },
    delete: async (req, ctx) => {
      const command = optionalCommand(req.inputs.delete, "delete");
      if (command === undefined) return;
      await runCommand(req.name, req.inputs, command, req.deleteTimeoutMs ?? defaultTimeoutMs, ctx, req.outputs);
    },
  };

  const copy: ResourceHandler = async (req, ctx) => {
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
  const copyToRemote: ResourceProvider = {
    replaceOnChanges: ["triggers"],
    create: copy,
    update: async (req, ctx) => {
      const changed = JSON.stringify(await describeAsset(req.inputs.source)) !== JSON.stringify(req.oldInputs.source) || req.inputs.remotePath !== req.oldInputs.remotePath;
      return changed ? { ...(await copy(req, ctx)), id: req.id } : { id: req.id, state: { ...req.rawInputs } };
    },
  };

  return {
    resources: {
      "command:remote:Command": remoteCommand,
      "command:remote:CopyToRemote": copyToRemote,
      ...randomHandlers("lab"),
      ...tlsHandlers("lab"),
      // An explicit provider resource is configuration only; it needs no cloud.
      "pulumi:providers:command": async ({ name, inputs }) => ({ id: `lab-provider-${name}`, state: { ...inputs } }),
      "pulumi:providers:random": async ({ name, inputs }) => ({ id: `lab-provider-${name}`, state: { ...inputs } }),
      "pulumi:providers:tls": async ({ name, inputs }) => ({ id: `lab-provider-${name}`, state: { ...inputs } }),
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

function optionalCommand(value: unknown, what: string): string | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value !== "string") throw new Error(`"${what}" must be a string, got ${typeof value}.`);
  return value;
}

function uniqueId(name: string): string {
  return `${name}-${randomBytes(4).toString("hex")}`;
}
