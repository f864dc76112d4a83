// The engine stand-in itself: runs a Pulumi program in this process under the
// SDK's mocks, hands every resource registration to a handler, and records
// what happened.
//
// The SDK keeps global state and `require` caches the program, so a process can
// run one program once: call runProgramInProcess() at most once per process, or
// use runProgram() (index.ts), which gives each run a fresh child process.

import { setMaxListeners } from "events";
import * as fs from "fs";
import type { Input, Output } from "@pulumi/pulumi";
import * as path from "path";
import { planHandlers } from "./planHandlers";
import { createLabHandlers } from "./labHandlers";
import { findProjectDir, readProjectName, toRuntimeConfig } from "./stackConfig";
import {
  EngineError,
  Diagnostic,
  EngineEvent,
  HandlerContext,
  HandlerFailure,
  HandlersModule,
  HandlerTable,
  InvokeHandler,
  RecordedResource,
  ResourceHandler,
  ResourceProvider,
  RunRequest,
  RunResult,
  SerializedEngineError,
} from "./types";
import { isSecretWrapped, parseDurationMs, secretValue, toPlainJson, unwrapSecrets } from "./values";
import { asProvider, Decision, DeleteError, deletedRecord, DeleteObserver, Deployment, previewOutcome, Registration, RegistrationOptions } from "./deployment";
import { UNKNOWN } from "./diff";
import { emptyState, loadState, removeState, saveState, StackState, StoredResource } from "./state";

export interface InProcessOptions {
  /** Handlers that take precedence over the mode's and the handlersModule's. @default - none */
  handlers?: Partial<HandlerTable>;
  onEvent?: (event: EngineEvent) => void;
}

/** Run a program in this process. Only once per process: see the file comment. */
export async function runProgramInProcess(request: RunRequest, options: InProcessOptions = {}): Promise<RunResult> {
  const programPath = path.resolve(request.programPath);
  if (!fs.existsSync(programPath)) {
    throw new EngineError({
      kind: "invalid-request",
      message: `Program ${programPath} does not exist.`,
      resources: [],
    });
  }
  const sdk = loadProgramSdk(programPath);
  const project = request.project ?? readProjectName(findProjectDir(path.dirname(programPath)) ?? path.dirname(programPath));
  const abort = new AbortController();
  // Every handler and SSH session listens to this one signal.
  setMaxListeners(0, abort.signal);
  const context: HandlerContext = {
    mode: request.mode,
    stack: request.stack,
    project,
    config: request.config,
    signal: abort.signal,
    log: () => undefined, // replaced per resource by the Run
  };
  const handlers = buildHandlerTable(request, options.handlers);
  const previous = request.stateFile ? loadState(request.stateFile, request.stack) : emptyState(request.stack);
  const preview = request.preview ?? false;
  const onEvent = options.onEvent ?? (() => undefined);
  const run = new Run(sdk, handlers, context, abort, onEvent, previous, preview);

  // Plan mode and previews are dry runs: the program sees isDryRun() true, as under `pulumi preview`.
  await sdk.pulumi.runtime.setMocks(run.mocks(), project, request.stack, request.mode === "plan" || preview);
  run.installMonitor(sdk.pulumi.runtime.getMonitor() as unknown as MockMonitorLike);
  sdk.pulumi.runtime.setAllConfig(toRuntimeConfig(request.config), request.secretKeys ?? []);

  const onUnhandled = (reason: unknown) => run.failProgram(reason);
  process.on("unhandledRejection", onUnhandled);
  const diagnostics = captureDiagnostics((d) => onEvent({ kind: "diagnostic", at: Date.now(), ...d }));
  const deadline = setTimeout(() => run.failTimeout(request.timeoutMs), request.timeoutMs);
  try {
    const program = (async () => {
      const exported = await resolveExports(sdk, require(programPath));
      // Resources nobody exports or depends on still have to finish.
      // waitForRPCs is internal to the SDK (absent from its typings) but is how `pulumi up` waits too.
      await (sdk.pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
      return exported;
    })().catch((err: unknown) => {
      run.failProgram(err);
      return run.failure;
    });
    const exported = await Promise.race([program, run.failure]);
    // Deletes come last, and only after a run in which everything else succeeded.
    await Promise.race([run.deleteStale(), run.failure]);
    if (request.stateFile && !preview) {
      saveState(request.stateFile, run.deployment.finalState(request.stack, exported.outputs, exported.secretOutputs));
    }
    return { resources: run.resources, deleted: run.deleted, ...exported, diagnostics: diagnostics.seen };
  } catch (err) {
    // What finished before the failure is kept, as the engine's checkpoints keep it.
    if (request.stateFile && !preview) saveState(request.stateFile, run.deployment.finalState(request.stack, previous.outputs, previous.secretOutputs));
    // The graph behind a failure never settles; the SDK's exit-time report of
    // "promises still active" would only bury the real error.
    sdk.forgetPendingPromises();
    throw err;
  } finally {
    clearTimeout(deadline);
    diagnostics.stop();
    process.off("unhandledRejection", onUnhandled);
    abort.abort();
    await handlers.dispose?.();
  }
}

/**
 * The program's pulumi.log.warn/info. Without an engine connection the SDK prints them to the
 * console as `warning: [runtime] <message>` (@pulumi/pulumi log/index.ts, warn and info); the CLI
 * shows the same messages as diagnostics of the update. They are taken off the console here and
 * reported as diagnostics; anything else written to the console passes through.
 */
function captureDiagnostics(report: (d: Diagnostic) => void): { seen: Diagnostic[]; stop(): void } {
  const seen: Diagnostic[] = [];
  const original = { warn: console.warn, log: console.log };
  const take = (severity: Diagnostic["severity"], prefix: string, passOn: (...args: unknown[]) => void) =>
    (...args: unknown[]) => {
      if (args.length === 1 && typeof args[0] === "string" && args[0].startsWith(prefix)) {
        const d = { severity, message: args[0].slice(prefix.length) };
        seen.push(d);
        report(d);
      } else passOn(...args);
    };
  console.warn = take("warning", "warning: [runtime] ", original.warn);
  console.log = take("info", "info: [runtime] ", original.log);
  return {
    seen,
    stop() {
      console.warn = original.warn;
      console.log = original.log;
    },
  };
}

// ---------------------------------------------------------------------------
// Handler table

function buildHandlerTable(request: RunRequest, overrides: Partial<HandlerTable> | undefined): HandlerTable {
  const base =
    request.mode === "plan"
      ? planHandlers()
      : createLabHandlers({
          maxConcurrentCommands: request.maxConcurrentCommands,
          maxSessionsPerConnection: request.maxSessionsPerConnection,
        });
  const fromModule = request.handlersModule ? loadHandlersModule(request) : {};
  return {
    resources: { ...base.resources, ...fromModule.resources, ...overrides?.resources },
    invokes: { ...base.invokes, ...fromModule.invokes, ...overrides?.invokes },
    dispose: async () => {
      await base.dispose?.();
      await fromModule.dispose?.();
      await overrides?.dispose?.();
    },
  };
}

function loadHandlersModule(request: RunRequest): Partial<HandlerTable> {
  const modulePath = path.resolve(request.handlersModule!);
  const loaded = require(modulePath) as Partial<HandlersModule>;
  if (typeof loaded.createHandlers !== "function") {
    throw new EngineError({
      kind: "invalid-request",
      message: `Handlers module ${modulePath} must export a function createHandlers(mode, options).`,
      resources: [],
    });
  }
  return loaded.createHandlers(request.mode, request.handlerOptions);
}

/** The provider that handles `type` (a bare handler as a provider), or undefined. */
function providerFor(table: HandlerTable, type: string): ResourceProvider | undefined {
  const handler = findHandler<ResourceHandler | ResourceProvider>(table.resources, type);
  return handler ? asProvider(handler) : undefined;
}

/** Exact token first, then the longest "prefix*" key that matches. */
export function findHandler<T>(table: Record<string, T>, token: string): T | undefined {
  if (table[token]) return table[token];
  const prefixes = Object.keys(table)
    .filter((key) => key.endsWith("*") && token.startsWith(key.slice(0, -1)))
    .sort((a, b) => b.length - a.length);
  return prefixes.length > 0 ? table[prefixes[0]] : undefined;
}

// ---------------------------------------------------------------------------
// The SDK as the program sees it

/** The pieces of @pulumi/pulumi (and its protobuf classes) the engine drives. */
interface ProgramSdk {
  pulumi: typeof import("@pulumi/pulumi");
  RegisterResourceResponse: new () => RegisterResourceResponseLike;
  Struct: { fromJavaScript(value: unknown): unknown };
  forgetPendingPromises(): void;
}

interface RegisterResourceResponseLike {
  setUrn(urn: string): void;
  setId(id: string): void;
  setObject(object: unknown): void;
}

/**
 * Load the @pulumi/pulumi that the *program* resolves: mocks set on another copy
 * of the SDK would be invisible to it.
 */
function loadProgramSdk(programPath: string): ProgramSdk {
  const entry = require.resolve("@pulumi/pulumi", { paths: [path.dirname(programPath)] });
  const sdkDir = path.dirname(entry);
  const protobufEntry = require.resolve("google-protobuf/google/protobuf/struct_pb", { paths: [sdkDir] });
  return {
    pulumi: require(entry),
    RegisterResourceResponse: require(path.join(sdkDir, "proto", "resource_pb")).RegisterResourceResponse,
    Struct: require(protobufEntry).Struct,
    forgetPendingPromises: () => {
      require(path.join(sdkDir, "runtime", "state")).getStore().leakCandidates = new Set();
    },
  };
}

/** What the SDK's MockMonitor offers that the engine uses (runtime/mocks.js). */
interface MockMonitorLike {
  resources: Map<string, { urn: string; id: string | null; state: unknown }>;
  newUrn(parent: string, type: string, name: string): string;
  registerResource(req: RegisterResourceRequestLike, callback: (err: unknown, resp?: unknown) => void): void;
}

interface RegisterResourceRequestLike {
  getType(): string;
  getName(): string;
  getParent(): string;
  getCustom(): boolean;
  getObject(): unknown;
  getDependenciesList(): string[];
  getPropertydependenciesMap(): { forEach(fn: (deps: { getUrnsList(): string[] }, key: string) => void): void };
  getCustomtimeouts(): { getCreate(): string; getUpdate(): string; getDelete(): string } | undefined;
  getAdditionalsecretoutputsList(): string[];
  getProtect(): boolean | undefined;
  getRetainondelete(): boolean | undefined;
  getDeletebeforereplace(): boolean;
  getDeletebeforereplacedefined(): boolean;
  getIgnorechangesList(): string[];
  getReplaceonchangesList(): string[];
  getReplaceWithList?(): string[];
  getReplacementTrigger?(): { toJavaScript(): unknown } | undefined;
}

async function resolveExports(
  sdk: ProgramSdk,
  programModule: unknown,
): Promise<{ outputs: Record<string, unknown>; secretOutputs: string[] }> {
  // A program may `export =` a (possibly async) function whose result holds the outputs.
  let exported = programModule as Record<string, unknown>;
  if (typeof exported === "function") exported = await (exported as () => Promise<Record<string, unknown>>)();
  else if (typeof exported?.default === "function") exported = await (exported.default as () => Promise<Record<string, unknown>>)();
  const outputs: Record<string, unknown> = {};
  const secretOutputs: string[] = [];
  for (const [key, value] of Object.entries(exported ?? {})) {
    if (key === "__esModule" || typeof value === "function") continue;
    const output: Output<unknown> = sdk.pulumi.output(value as Input<unknown>);
    outputs[key] = await resolveKnown(sdk, value);
    if (await sdk.pulumi.isSecret(output)) secretOutputs.push(key);
  }
  return { outputs, secretOutputs };
}

/**
 * An exported value with its outputs resolved. In a preview an output may depend on what only a
 * create will know: its apply never runs, and Pulumi shows it as unknown (`output<string>`), as this
 * does (the SDK's Output.isKnown), at whatever depth it sits.
 */
async function resolveKnown(sdk: ProgramSdk, value: unknown): Promise<unknown> {
  if (sdk.pulumi.Output.isInstance(value)) {
    if (!(await (value as unknown as { isKnown: Promise<boolean> }).isKnown)) return UNKNOWN;
    return resolveKnown(sdk, await new Promise<unknown>((resolve) => (value as Output<unknown>).apply((v: unknown) => (resolve(v), v))));
  }
  if (value instanceof Promise) return resolveKnown(sdk, await value);
  if (Array.isArray(value)) return Promise.all(value.map((v) => resolveKnown(sdk, v)));
  if (value !== null && typeof value === "object" && !(value as { __pulumiResource?: boolean }).__pulumiResource) {
    const entries = await Promise.all(Object.entries(value).map(async ([k, v]) => [k, await resolveKnown(sdk, v)] as const));
    return Object.fromEntries(entries);
  }
  return jsonSafe(value);
}

/** Exported resources become `{urn}`: the objects themselves are cyclic and cannot leave the process. */
async function jsonSafe(value: unknown): Promise<unknown> {
  if (value !== null && typeof value === "object" && (value as { __pulumiResource?: boolean }).__pulumiResource) {
    const urn = (value as { urn: import("@pulumi/pulumi").Output<string> }).urn;
    return { urn: await new Promise((resolve) => urn.apply((u) => (resolve(u), u))) };
  }
  if (Array.isArray(value)) return Promise.all(value.map(jsonSafe));
  if (value !== null && typeof value === "object") {
    const entries = await Promise.all(Object.entries(value).map(async ([k, v]) => [k, await jsonSafe(v)] as const));
    return Object.fromEntries(entries);
  }
  return value;
}

// ---------------------------------------------------------------------------
// One run: the registrations, the engine's decision for each, and the first failure

class Run {
  readonly resources: RecordedResource[] = [];
  readonly deleted: RecordedResource[] = [];
  private readonly nameByUrn = new Map<string, string>();
  private failed = false;
  private firstError?: EngineError;
  /** Steps whose provider call is under way: a failure waits for them, as the engine does. */
  private inFlight = 0;
  private drained?: () => void;
  private rejectRun!: (err: EngineError) => void;
  /** Rejects with the first failure (once the steps already running have finished); never resolves. */
  readonly failure: Promise<never>;
  readonly deployment: Deployment;

  constructor(
    private readonly sdk: ProgramSdk,
    private readonly handlers: HandlerTable,
    private readonly context: HandlerContext,
    private readonly abort: AbortController,
    private readonly emit: (event: EngineEvent) => void,
    readonly previous: StackState,
    private readonly preview: boolean,
  ) {
    this.failure = new Promise<never>((_, reject) => (this.rejectRun = reject));
    this.failure.catch(() => undefined); // raced, not awaited alone
    this.deployment = new Deployment(previous, (urn) => this.nameOf(urn));
  }

  /** The Mocks given to setMocks: invokes go to handlers; registrations never reach newResource (see installMonitor). */
  mocks(): import("@pulumi/pulumi").runtime.Mocks {
    return {
      call: (args) => this.invoke(args.token, args.inputs),
      newResource: async (args) => {
        // Only reads (`Resource.get`) still come here; the lab has nothing to read from.
        this.fail({
          kind: "resource-failed",
          message: `Reading an existing resource is not supported by the engine stand-in: ${args.name} (${args.type}).`,
          resource: args.name,
          resourceType: args.type,
        });
        return new Promise<never>(() => undefined);
      },
    };
  }

  /**
   * Take over the mock monitor's registerResource: the request carries what the
   * Mocks interface drops (dependencies, parent, resource options,
   * additionalSecretOutputs), and on failure the reply must be withheld rather
   * than sent as an error, because the SDK would otherwise leave dependents
   * hanging while logging noise.
   */
  installMonitor(monitor: MockMonitorLike): void {
    monitor.registerResource = (req, callback) => {
      void this.register(monitor, req, callback);
    };
  }

  private providerOf(type: string): ResourceProvider | undefined {
    return providerFor(this.handlers, type);
  }

  private async register(
    monitor: MockMonitorLike,
    req: RegisterResourceRequestLike,
    callback: (err: unknown, resp?: unknown) => void,
  ): Promise<void> {
    const type = req.getType();
    const name = req.getName();
    const urn = monitor.newUrn(req.getParent(), type, name);
    this.nameByUrn.set(urn, name);
    const rawInputs = this.sdk.pulumi.runtime.deserializeProperties(req.getObject() as never) as Record<string, unknown>;
    const unwrapped = unwrapSecrets(rawInputs);
    const inputs = markUnknowns((await toPlainJson(unwrapped.value)) as Record<string, unknown>) as Record<string, unknown>;
    const record: RecordedResource = {
      name,
      type,
      urn,
      parent: req.getParent() ? this.nameOf(req.getParent()) : undefined,
      custom: req.getCustom(),
      waitsFor: this.dependencyNames(req),
      inputs,
      secretInputPaths: unwrapped.secretPaths,
      outputs: {},
      secretOutputPaths: [],
      status: "running",
      startedAt: Date.now(),
    };
    this.resources.push(record);
    if (this.failed) return; // the run is over: start nothing new

    const provider = record.custom ? this.providerOf(type) : undefined;
    if (record.custom && !provider) {
      this.failResource(record, new Error(`No handler for resource type "${type}" (resource "${name}") in ${this.context.mode} mode.`));
      return;
    }
    let registration: Registration;
    let decision: Decision;
    try {
      registration = {
        urn,
        name,
        type,
        custom: record.custom,
        parent: req.getParent() || undefined,
        inputs,
        secretInputPaths: unwrapped.secretPaths,
        dependencies: this.dependencyUrns(req),
        options: this.optionsOf(req),
      };
      decision = this.deployment.decide(registration, provider);
    } catch (err) {
      this.failResource(record, err);
      return;
    }
    record.op = decision.op;
    if (decision.op !== "same" && decision.op !== "create") {
      record.changed = decision.changed;
      record.replaceBecause = decision.replaceBecause;
    }

    if (!record.custom) {
      // Components must be answered at once, or their children never register.
      record.status = "done";
      record.finishedAt = record.startedAt;
      if (!this.preview) this.deployment.record(registration, decision, { outputs: {}, secretOutputPaths: [] });
      await this.reply(monitor, urn, callback, { state: {} });
      return;
    }

    const runs = decision.op !== "same" && !this.preview;
    if (runs) this.emit({ kind: "start", name, type, at: record.startedAt, op: decision.op });
    this.inFlight++;
    try {
      const context = { ...this.context, log: (message: string) => this.emit({ kind: "log", name, message, at: Date.now() }) };
      // A preview runs nothing: what a change would produce is unknown until the apply.
      const result =
        this.preview
          ? { id: decision.old?.id, state: previewOutcome(decision, provider, rawInputs) }
          : await this.deployment.apply(registration, decision, provider!, rawInputs, context);
      const state = decision.op === "same" ? result.state : markSecretOutputs(result.state, req.getAdditionalsecretoutputsList());
      const outputs = unwrapSecrets(state);
      record.outputs = (await toPlainJson(outputs.value)) as Record<string, unknown>;
      record.secretOutputPaths = outputs.secretPaths;
      record.status = "done";
      record.finishedAt = Date.now();
      if (!this.preview) this.deployment.record(registration, decision, { id: result.id, outputs: record.outputs, secretOutputPaths: record.secretOutputPaths });
      if (runs) this.emit({ kind: "finish", name, type, at: record.finishedAt, durationMs: record.finishedAt - record.startedAt });
      // A step that finished after the run failed is recorded, but nothing more starts from it.
      if (!this.failed) await this.reply(monitor, urn, callback, { id: result.id, state });
    } catch (err) {
      this.failResource(record, err);
    } finally {
      this.inFlight--;
      if (this.inFlight === 0) this.drained?.();
    }
  }

  /** The resource options the engine acts on, read from the registration. */
  private optionsOf(req: RegisterResourceRequestLike): RegistrationOptions {
    const timeouts = req.getCustomtimeouts();
    const trigger = req.getReplacementTrigger?.();
    const triggerValue =
      trigger !== undefined ? unwrapSecrets(this.sdk.pulumi.runtime.deserializeProperty(trigger.toJavaScript() as never)).value : undefined;
    return {
      protect: req.getProtect() ?? undefined,
      retainOnDelete: req.getRetainondelete() ?? undefined,
      deleteBeforeReplace: req.getDeletebeforereplacedefined() ? req.getDeletebeforereplace() : undefined,
      ignoreChanges: req.getIgnorechangesList(),
      replaceOnChanges: req.getReplaceonchangesList(),
      replaceWith: req.getReplaceWithList?.() ?? [],
      replacementTrigger: markUnknowns(triggerValue),
      createTimeoutMs: parseDurationMs(timeouts?.getCreate() || undefined),
      updateTimeoutMs: parseDurationMs(timeouts?.getUpdate() || undefined),
      deleteTimeoutMs: parseDurationMs(timeouts?.getDelete() || undefined),
    };
  }

  /** After the program: delete what it no longer has and the old halves of replacements (not after a failure). */
  async deleteStale(): Promise<void> {
    const stale = this.deployment.toDelete();
    if (stale.length === 0) return;
    if (this.preview) {
      for (const r of stale) this.deleted.push(deletedRecord(r, "done", Date.now()));
      return;
    }
    const errors = await this.deployment.deleteAll(stale, (t) => this.providerOf(t), this.context, recordDeletes(this.deleted, this.emit));
    if (errors.length > 0) {
      const first = errors[0] as DeleteError;
      this.fail({
        kind: "resource-failed",
        message: errors.map((e) => e.message).join("\n"),
        resource: first.resource?.name,
        resourceType: first.resource?.type,
      });
      throw this.firstError;
    }
  }

  /** Answer the SDK the way MockMonitor does. */
  private async reply(
    monitor: MockMonitorLike,
    urn: string,
    callback: (err: unknown, resp?: unknown) => void,
    result: { id?: string; state: Record<string, unknown> },
  ): Promise<void> {
    const serialized = await this.sdk.pulumi.runtime.serializeProperties("", result.state);
    monitor.resources.set(urn, { urn, id: result.id ?? null, state: serialized });
    const response = new this.sdk.RegisterResourceResponse();
    response.setUrn(urn);
    response.setId(result.id ?? "");
    response.setObject(this.sdk.Struct.fromJavaScript(serialized));
    callback(null, response);
  }

  private async invoke(token: string, inputs: Record<string, unknown>): Promise<Record<string, unknown>> {
    const handler = findHandler<InvokeHandler>(this.handlers.invokes, token);
    try {
      if (!handler) throw new Error(`No handler for invoke "${token}" in ${this.context.mode} mode.`);
      return await handler(unwrapSecrets(inputs).value as Record<string, unknown>, this.context);
    } catch (err) {
      this.fail({ kind: "resource-failed", message: `Invoke ${token} failed: ${messageOf(err)}`, resourceType: token });
      return new Promise<never>(() => undefined);
    }
  }

  private dependencyUrns(req: RegisterResourceRequestLike): string[] {
    const urns = new Set(req.getDependenciesList());
    req.getPropertydependenciesMap().forEach((deps) => deps.getUrnsList().forEach((urn) => urns.add(urn)));
    return [...urns];
  }

  /** URNs of the request's dependencies (dependsOn and data) as resource names, in first-seen order. */
  private dependencyNames(req: RegisterResourceRequestLike): string[] {
    return [...new Set(this.dependencyUrns(req).map((urn) => this.nameOf(urn)))];
  }

  private nameOf(urn: string): string {
    return this.nameByUrn.get(urn) ?? urn.split("::").pop() ?? urn;
  }

  private failResource(record: RecordedResource, err: unknown): void {
    record.status = "failed";
    record.finishedAt = Date.now();
    const failure = err instanceof HandlerFailure ? err : undefined;
    const where = failure?.host ? ` on ${failure.host}` : "";
    const tail = failure?.outputTail ? `\n--- output (last lines) ---\n${failure.outputTail}` : "";
    this.emit({
      kind: "fail",
      name: record.name,
      type: record.type,
      at: record.finishedAt,
      durationMs: record.finishedAt - record.startedAt,
      message: messageOf(err),
      host: failure?.host,
      outputTail: failure?.outputTail,
    });
    this.fail({
      kind: "resource-failed",
      message: `${record.name} (${record.type}) failed${where}: ${messageOf(err)}${tail}`,
      resource: record.name,
      resourceType: record.type,
      host: failure?.host,
      outputTail: failure?.outputTail,
    });
  }

  failProgram(reason: unknown): void {
    // As Pulumi's language host reports an uncaught error (@pulumi/pulumi cmd/run/run.ts,
    // uncaughtHandler): a RunError, or a ResourceError asking for it, by its message alone; any
    // other error with its stack. A few frames locate the fault; the SDK's own below them do not help.
    const hideStack = this.sdk.pulumi.RunError.isInstance(reason) || (this.sdk.pulumi.ResourceError.isInstance(reason) && (reason as { hideStack?: boolean }).hideStack === true);
    const frames = !hideStack && reason instanceof Error && reason.stack ? reason.stack.split("\n").filter((l) => /^\s+at /.test(l)).slice(0, 4) : [];
    const stack = frames.length > 0 ? `\n${frames.join("\n")}` : "";
    this.fail({ kind: "program-error", message: `The program failed: ${messageOf(reason)}${stack}` });
  }

  failTimeout(timeoutMs: number): void {
    const now = Date.now();
    const running = this.resources.filter((r) => r.custom && r.status === "running" && (r.op ?? "create") !== "same");
    const pending = running.map((r) => `${r.name} (${r.type}, ${((now - r.startedAt) / 1000).toFixed(1)}s)`);
    const done = this.resources.filter((r) => r.custom && r.status === "done").length;
    const registered = this.resources.filter((r) => r.custom).length;
    const what =
      pending.length > 0
        ? `Still running: ${pending.join(", ")}.`
        : "Nothing was running: the program is waiting for something that never resolves (a promise, or an apply on a failed value).";
    this.fail(
      {
        kind: "timeout",
        message: `The run did not finish within ${timeoutMs / 1000}s. ${what} Done ${done} of ${registered} registered resources.`,
        pending: running.map((r) => r.name),
      },
      true,
    );
  }

  /**
   * The first failure ends the run: nothing new starts. Steps already running finish and are
   * recorded before the run reports it (the engine's cancelDueToError), unless `now` (the deadline).
   */
  private fail(details: Omit<SerializedEngineError, "resources">, now = false): void {
    if (this.failed && !now) return;
    this.failed = true;
    this.firstError ??= new EngineError({ ...details, resources: this.resources });
    const error = this.firstError;
    if (now || this.inFlight === 0) {
      this.abort.abort();
      this.rejectRun(error);
    } else {
      this.drained = () => {
        this.abort.abort();
        this.rejectRun(error);
      };
    }
  }
}

/** An observer of deletes that records each as a delete step in `records` and reports its progress. */
function recordDeletes(records: RecordedResource[], emit: (event: EngineEvent) => void): DeleteObserver {
  const byResource = new Map<StoredResource, RecordedResource>();
  return ({ resource, phase, error }) => {
    const now = Date.now();
    if (phase === "start") {
      const rec = deletedRecord(resource, "running", now);
      byResource.set(resource, rec);
      records.push(rec);
      if (resource.custom) emit({ kind: "start", name: resource.name, type: resource.type, at: now, op: "delete" });
      return;
    }
    const rec = byResource.get(resource)!;
    rec.status = phase === "done" ? "done" : "failed";
    rec.finishedAt = now;
    if (!resource.custom) return;
    if (phase === "done") emit({ kind: "finish", name: resource.name, type: resource.type, at: now, durationMs: now - rec.startedAt });
    else emit({ kind: "fail", name: resource.name, type: resource.type, at: now, durationMs: now - rec.startedAt, message: error!.message });
  };
}

/** The SDK's unknown marker (preview) becomes diff.ts's UNKNOWN, so that it compares as changed. */
function markUnknowns(value: unknown): unknown {
  if (value !== null && typeof value === "object" && (value as { __pulumiUnknown?: boolean }).__pulumiUnknown) return UNKNOWN;
  if (Array.isArray(value)) return value.map(markUnknowns);
  if (value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, markUnknowns(v)]));
  }
  return value;
}

/** Mark additionalSecretOutputs secret, as the engine does (the SDK leaves it to the engine). */
function markSecretOutputs(state: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  const marked = { ...state };
  for (const key of keys) {
    if (marked[key] !== undefined && !isSecretWrapped(marked[key])) marked[key] = secretValue(marked[key]);
  }
  return marked;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

// ---------------------------------------------------------------------------
// Destroy: `pulumi destroy` works from the state alone (the program does not run)

export interface DestroyRequest {
  stack: string;
  stateFile: string;
  mode: RunRequest["mode"];
  /** List what would be deleted, delete nothing. @default false */
  preview?: boolean;
  maxConcurrentCommands?: number;
  maxSessionsPerConnection?: number;
  config?: Record<string, unknown>;
  /** Handlers that take precedence over the mode's. @default - none */
  handlers?: Partial<HandlerTable>;
  onEvent?: (event: EngineEvent) => void;
}

/**
 * Delete every resource of the stack's state, dependents first, running their providers' deletes
 * (a Command's `delete`); what was deleted leaves the state. Rejects with an EngineError naming
 * what could not be deleted (protected, or a failing delete), which stays in the state.
 */
export async function destroyInProcess(request: DestroyRequest): Promise<RecordedResource[]> {
  const state = loadState(request.stateFile, request.stack);
  const at = Date.now();
  if (request.preview) return [...state.resources].reverse().map((r) => deletedRecord(r, "done", at));
  const handlers = buildHandlerTable(
    { programPath: "", stack: request.stack, config: request.config ?? {}, mode: request.mode, timeoutMs: 0, maxConcurrentCommands: request.maxConcurrentCommands, maxSessionsPerConnection: request.maxSessionsPerConnection },
    request.handlers,
  );
  const abort = new AbortController();
  setMaxListeners(0, abort.signal);
  const emit = request.onEvent ?? (() => undefined);
  const context: HandlerContext = { mode: request.mode, stack: request.stack, project: "", config: request.config ?? {}, signal: abort.signal, log: () => undefined };
  const providerOf = (type: string) => providerFor(handlers, type);
  const records: RecordedResource[] = [];
  try {
    const deployment = new Deployment(state, (urn) => urn.split("::").pop() ?? urn);
    const errors = await deployment.deleteAll(state.resources, providerOf, context, recordDeletes(records, emit));
    const left = deployment.finalState(request.stack, {}, []);
    if (left.resources.length === 0) removeState(request.stateFile);
    else saveState(request.stateFile, left);
    if (errors.length > 0) {
      const first = errors[0] as DeleteError;
      throw new EngineError({ kind: "resource-failed", message: errors.map((e) => e.message).join("\n"), resource: first.resource?.name, resourceType: first.resource?.type, resources: records });
    }
    return records;
  } finally {
    abort.abort();
    await handlers.dispose?.();
  }
}
