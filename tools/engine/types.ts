// Shared types of the in-process engine stand-in. Everything that crosses the
// parent/child process boundary (RunRequest, RunResult, EngineEvent,
// SerializedEngineError) is plain JSON on purpose.

/** "plan": offline preview with placeholder outputs. "lab": really runs commands over SSH. */
export type EngineMode = "plan" | "lab";

/** A path into an inputs/outputs object, e.g. ["environment", "PGPASSWORD"]. */
export type PropertyPath = (string | number)[];

export interface RecordedResource {
  /** Logical name given to the constructor, e.g. "pg1-install". */
  name: string;
  /** Type token, e.g. "command:remote:Command". */
  type: string;
  urn: string;
  /** Name of the parent resource, when it has one. */
  parent?: string;
  /** false for ComponentResources. */
  custom: boolean;
  /** Names of the resources this one waited for (data dependencies and dependsOn). */
  waitsFor: string[];
  /** Inputs with secrets unwrapped; see secretInputPaths. Assets appear as {asset: "string"|"file"|..., ...}. */
  inputs: Record<string, unknown>;
  /** Where in `inputs` a secret sat (a whole secret input is [key]). */
  secretInputPaths: PropertyPath[];
  /** What the handler returned, secrets unwrapped; see secretOutputPaths. */
  outputs: Record<string, unknown>;
  secretOutputPaths: PropertyPath[];
  status: "running" | "done" | "failed";
  /** Epoch milliseconds at which the registration reached the engine. */
  startedAt: number;
  finishedAt?: number;
}

export interface RunResult {
  /** Every registered resource, in the order registration reached the engine. */
  resources: RecordedResource[];
  /** The program's exports, with Outputs resolved. */
  outputs: Record<string, unknown>;
  /** Names of the exports that are secret. */
  secretOutputs: string[];
}

/** Progress of a run; components (custom=false) produce no events. */
export type EngineEvent =
  | { kind: "start"; name: string; type: string; at: number }
  | { kind: "finish"; name: string; type: string; at: number; durationMs: number }
  | {
      kind: "fail";
      name: string;
      type: string;
      at: number;
      durationMs: number;
      message: string;
      host?: string;
      outputTail?: string;
    }
  /** Free-form progress from a handler (e.g. "dialing 10.0.0.5:22, attempt 3"). */
  | { kind: "log"; name: string; message: string; at: number };

/** What a resource handler is given. */
export interface ResourceRequest {
  name: string;
  type: string;
  /** Inputs exactly as the SDK sent them: secrets still wrapped, assets as SDK Asset objects. */
  rawInputs: Record<string, unknown>;
  /** Inputs with every secret unwrapped (assets left as SDK Asset objects). */
  inputs: Record<string, unknown>;
  /** customTimeouts.create of the resource, when set. */
  createTimeoutMs?: number;
}

export interface HandlerContext {
  mode: EngineMode;
  stack: string;
  project: string;
  /** Stack config as given to the run (objects, not JSON strings). */
  config: Record<string, unknown>;
  /** Aborted when the run fails elsewhere or hits its deadline: stop work early. */
  signal: AbortSignal;
  log(message: string): void;
}

export interface ResourceResult {
  id?: string;
  /** Output state. Values may be secret-wrapped (see secretValue()) to mark them secret. */
  state: Record<string, unknown>;
}

export type ResourceHandler = (req: ResourceRequest, ctx: HandlerContext) => Promise<ResourceResult>;
export type InvokeHandler = (inputs: Record<string, unknown>, ctx: HandlerContext) => Promise<Record<string, unknown>>;

/** Handlers by exact type/invoke token. A key ending in "*" matches a prefix, e.g. "aws:*". */
export interface HandlerTable {
  resources: Record<string, ResourceHandler>;
  invokes: Record<string, InvokeHandler>;
  /** Called once when the run ends (e.g. to close SSH connections). */
  dispose?(): Promise<void>;
}

/**
 * A module that adds or overrides handlers (used by tests, and usable by the lab CLI).
 * It must export `createHandlers`.
 */
export interface HandlersModule {
  createHandlers(mode: EngineMode, options: unknown): Partial<HandlerTable>;
}

/** Options of a run that can cross a process boundary. */
export interface RunRequest {
  /** Path of the Pulumi program (a .ts or .js file). */
  programPath: string;
  stack: string;
  /** Stack config: "namespace:key" → value (objects stay objects). */
  config: Record<string, unknown>;
  /** Config keys whose values are secret. @default [] */
  secretKeys?: string[];
  mode: EngineMode;
  /** Deadline for the whole run; on expiry the run rejects naming what was still running. */
  timeoutMs: number;
  /** Pulumi project name. @default - the `name:` of the nearest Pulumi.yaml above the program, else "project" */
  project?: string;
  /** Module path whose createHandlers() adds or overrides handlers. @default - none */
  handlersModule?: string;
  /** Passed to handlersModule's createHandlers(). @default undefined */
  handlerOptions?: unknown;
  /** Cap on remote commands/copies running at once over all hosts (lab mode). @default 16 */
  maxConcurrentCommands?: number;
  /** Sessions opened at once on one SSH connection; keep below the hosts' sshd MaxSessions (lab mode). @default 8 */
  maxSessionsPerConnection?: number;
  /**
   * Where random:* results are kept between runs (lab mode), as Pulumi state keeps them: a second run
   * reuses a resource's value while its name and inputs are unchanged. @default - none: every run draws anew
   */
  randomStateFile?: string;
}

export type EngineErrorKind = "resource-failed" | "timeout" | "program-error" | "invalid-request";

/** An EngineError in JSON form, for the trip from child to parent process. */
export interface SerializedEngineError {
  kind: EngineErrorKind;
  message: string;
  resource?: string;
  resourceType?: string;
  host?: string;
  outputTail?: string;
  pending?: string[];
  resources: RecordedResource[];
}

/** Why a run failed, with whatever was recorded up to that point. */
export class EngineError extends Error {
  constructor(readonly details: SerializedEngineError) {
    super(details.message);
    this.name = "EngineError";
  }
  get kind(): EngineErrorKind {
    return this.details.kind;
  }
  get resources(): RecordedResource[] {
    return this.details.resources;
  }
}

/**
 * Thrown by handlers for a failure that has a host and output to show,
 * so the run's error can name them.
 */
export class HandlerFailure extends Error {
  constructor(
    message: string,
    readonly host?: string,
    readonly outputTail?: string,
  ) {
    super(message);
    this.name = "HandlerFailure";
  }
}
