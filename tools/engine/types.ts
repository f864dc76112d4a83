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
  /**
   * What the engine did (or, in a preview, would do) with it against the stack's state:
   * create, update, replace, same (nothing ran), delete (not in the program any more).
   */
  op?: StepOp;
  /** Input paths that differ from the stored ones (update, replace), e.g. `stdin`, `triggers[1]`. */
  changed?: string[];
  /** What forces a replacement: input paths, `replaceWith: <name>` or `replacementTrigger`. */
  replaceBecause?: string[];
  /** Epoch milliseconds at which the registration reached the engine. */
  startedAt: number;
  finishedAt?: number;
}

/** An engine step, as `pulumi up` names them. */
export type StepOp = "create" | "update" | "replace" | "same" | "delete";

export interface RunResult {
  /** Every registered resource, in the order registration reached the engine. */
  resources: RecordedResource[];
  /** Resources of the stored state the program no longer has: deleted (or, in a preview, to delete). */
  deleted: RecordedResource[];
  /** The program's exports, with Outputs resolved. */
  outputs: Record<string, unknown>;
  /** Names of the exports that are secret. */
  secretOutputs: string[];
  /** What the program logged with pulumi.log.warn/info, in order: the CLI prints these as diagnostics. */
  diagnostics: Diagnostic[];
}

/** A message the program logged (pulumi.log), as the engine shows it. */
export interface Diagnostic {
  severity: "info" | "warning";
  message: string;
}

/** Progress of a run; components (custom=false) produce no events. */
export type EngineEvent =
  | { kind: "start"; name: string; type: string; at: number; op?: StepOp }
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
  | { kind: "log"; name: string; message: string; at: number }
  /** The program's own pulumi.log.warn/info: always shown, as the CLI shows diagnostics. */
  | ({ kind: "diagnostic"; at: number } & Diagnostic);

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

/** An in-place update: the new inputs, with what the state holds. */
export interface UpdateRequest extends ResourceRequest {
  id: string;
  oldInputs: Record<string, unknown>;
  oldOutputs: Record<string, unknown>;
  /** customTimeouts.update of the resource, when set. */
  updateTimeoutMs?: number;
}

/** A delete (destroy, removal from the program, or the old half of a replacement): only the state is known. */
export interface DeleteRequest {
  name: string;
  type: string;
  id: string;
  inputs: Record<string, unknown>;
  outputs: Record<string, unknown>;
  /** customTimeouts.delete of the resource, when set. */
  deleteTimeoutMs?: number;
}

/**
 * A resource provider as the engine drives it. A bare ResourceHandler stands for
 * `{ create: h, update: h }`: every change re-runs it, nothing runs on delete.
 */
export interface ResourceProvider {
  create: ResourceHandler;
  /** @default - none: every input change replaces (as for a provider without Update) */
  update?: (req: UpdateRequest, ctx: HandlerContext) => Promise<ResourceResult>;
  /** @default - deleting does nothing beyond dropping it from the state */
  delete?: (req: DeleteRequest, ctx: HandlerContext) => Promise<void>;
  /** Top-level inputs whose change replaces although `update` exists (the schema's replaceOnChanges). @default [] */
  replaceOnChanges?: string[];
  /** Outputs a preview cannot know for a resource it would create or replace. @default [] */
  computedOutputs?: string[];
  /**
   * A reason the provider's plan replaces the resource although no input that requires it changed
   * (its ModifyPlan, from the new inputs and the stored outputs: e.g. a certificate in its renewal
   * window), or undefined. @default - never
   */
  mustReplace?: (planned: { inputs: Record<string, unknown>; outputs: Record<string, unknown> }) => string | undefined;
}
export type InvokeHandler = (inputs: Record<string, unknown>, ctx: HandlerContext) => Promise<Record<string, unknown>>;

/** Handlers by exact type/invoke token. A key ending in "*" matches a prefix, e.g. "aws:*". */
export interface HandlerTable {
  resources: Record<string, ResourceHandler | ResourceProvider>;
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
   * The stack's state (see state.ts): read before the run, written after it, as `pulumi up` keeps a
   * stack's checkpoint. Resources are diffed against it; unchanged ones run nothing.
   * @default - none: every resource is created and nothing is kept
   */
  stateFile?: string;
  /**
   * A preview (`pulumi preview`): diff against the state and report, run nothing, write nothing.
   * No handler is called; outputs a change would produce are unknown.
   * @default false
   */
  preview?: boolean;
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
