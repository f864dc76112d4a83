// One deployment against a stack's state: what the engine decides for each registration (create,
// update, replace, same), how it carries the step out through the resource's provider, what it
// deletes at the end, and what it writes back. The SDK glue lives in run.ts; this file knows only
// plain values, so its rules are tested directly (test/engine/deployment.test.ts).
//
// The rules and their sources (pulumi/pulumi v3.248.0, pkg/resource/deploy/):
// - step_generator.go continueStepsFromDiff: a replacement creates the new resource first and
//   deletes the old one "later on, after all creates/updates finish" unless deleteBeforeReplace;
//   protect (on both the stored and the new resource) refuses a replacement.
// - step_generator.go GenerateDeletes + ScheduleDeletes: resources the program no longer
//   registers, and the old halves of replacements, are deleted at the end of a successful run,
//   dependents before what they depend on. Nothing is deleted when the run failed.
// - step.go DeleteStep.Apply: a protected resource cannot be deleted (the run goes on with the
//   other deletes and fails); retainOnDelete drops it from the state without calling Delete.
// - step_executor.go cancelDueToError: the first failure stops new steps; steps already running
//   finish (the provider calls take context.TODO()) and are recorded.
// - pulumi-go-provider v1.3.0 infer/resource.go Create/Update: a plain error from Create records
//   nothing; from Update the old state stays. The next `up` tries again.

import { diffResource, UNKNOWN } from "./diff";
import type { StackState, StoredOptions, StoredResource } from "./state";
import type { HandlerContext, PropertyPath, RecordedResource, ResourceHandler, ResourceProvider, ResourceResult, StepOp } from "./types";
import { mapAtPaths, secretValue } from "./values";

/** What a registration asks of the engine, secrets unwrapped (see secretInputPaths). */
export interface Registration {
  urn: string;
  name: string;
  type: string;
  custom: boolean;
  parent?: string;
  inputs: Record<string, unknown>;
  secretInputPaths: PropertyPath[];
  dependencies: string[];
  options: RegistrationOptions;
}

export interface RegistrationOptions extends StoredOptions {
  ignoreChanges?: string[];
  replaceOnChanges?: string[];
  /** URNs whose replacement replaces this resource. */
  replaceWith?: string[];
  createTimeoutMs?: number;
  updateTimeoutMs?: number;
}

export interface Decision {
  op: Exclude<StepOp, "delete">;
  changed: string[];
  replaceBecause: string[];
  /** The inputs the provider gets (ignoreChanges applied). */
  inputs: Record<string, unknown>;
  old?: StoredResource;
}

/** The outcome of a step: the id and outputs (plain), and where secrets sit in them. */
export interface StepOutcome {
  id?: string;
  outputs: Record<string, unknown>;
  secretOutputPaths: PropertyPath[];
}

/** A bare handler is a provider whose every change re-runs it and whose delete does nothing. */
export function asProvider(handler: ResourceHandler | ResourceProvider): ResourceProvider {
  return typeof handler === "function" ? { create: handler, update: handler } : handler;
}

export class Deployment {
  /** The stored resources by URN (the old halves of earlier replacements apart). */
  private readonly old = new Map<string, StoredResource>();
  /** Old halves of replacements, from earlier runs or this one, waiting for their delete. */
  private readonly pendingDeletes: StoredResource[] = [];
  /** What this run has done so far, in completion order. */
  private readonly done = new Map<string, StoredResource>();
  private readonly registered = new Set<string>();
  private readonly replaced = new Set<string>();

  constructor(
    state: StackState,
    private readonly nameOf: (urn: string) => string,
  ) {
    for (const r of state.resources) {
      if (r.pendingDelete) this.pendingDeletes.push(r);
      else this.old.set(r.urn, r);
    }
  }

  /** The engine's decision for one registration; throws when the options forbid it (protect). */
  decide(reg: Registration, provider: ResourceProvider | undefined): Decision {
    this.registered.add(reg.urn);
    const old = this.old.get(reg.urn);
    if (!old) return { op: "create", changed: [], replaceBecause: [], inputs: reg.inputs };
    // Components have no provider: they are the same while their inputs are.
    const diff = diffResource({
      oldInputs: old.inputs,
      newInputs: reg.inputs,
      providerReplaces: !reg.custom ? [] : provider?.update ? (provider.replaceOnChanges ?? []) : "*",
      replaceOnChanges: reg.options.replaceOnChanges,
      ignoreChanges: reg.options.ignoreChanges,
      replacedWith: (reg.options.replaceWith ?? []).filter((u) => this.replaced.has(u)).map(this.nameOf),
      replacementTrigger: { old: old.options.replacementTrigger, new: reg.options.replacementTrigger },
    });
    // The provider's own plan (from the new inputs and the stored outputs) may replace what the
    // inputs alone would keep (a certificate due for renewal).
    const providerReason = reg.custom && diff.op !== "replace" ? provider?.mustReplace?.({ inputs: reg.inputs, outputs: old.outputs }) : undefined;
    if (providerReason) {
      diff.op = "replace";
      diff.replaceBecause.push(providerReason);
    }
    const op = !reg.custom && diff.op === "replace" ? "update" : diff.op;
    if (op === "replace") {
      if (reg.options.protect && old.options.protect) {
        throw new Error(
          `unable to replace resource ${reg.urn} as it is currently marked for protection (changed: ${diff.replaceBecause.join(", ")}). ` +
            "To unprotect the resource, remove the `protect` flag from the resource in your Pulumi program and run `pulumi up`.",
        );
      }
      this.replaced.add(reg.urn);
    }
    return { op, changed: diff.changed, replaceBecause: diff.replaceBecause, inputs: diff.inputs, old };
  }

  /**
   * Carry out a decided step through the provider (not for previews). The old half of a
   * create-before-delete replacement waits for the end-of-run deletes.
   */
  async apply(reg: Registration, decision: Decision, provider: ResourceProvider, rawInputs: Record<string, unknown>, ctx: HandlerContext): Promise<ResourceResult> {
    const old = decision.old;
    const request = { name: reg.name, type: reg.type, rawInputs, inputs: decision.inputs, createTimeoutMs: reg.options.createTimeoutMs };
    switch (decision.op) {
      case "same":
        return { id: old!.id, state: withSecrets(old!.outputs, old!.secretOutputPaths) };
      case "create":
        return provider.create(request, ctx);
      case "update":
        if (!reg.custom) return { state: {} };
        return provider.update!({ ...request, id: old!.id ?? "", oldInputs: old!.inputs, oldOutputs: old!.outputs, updateTimeoutMs: reg.options.updateTimeoutMs }, ctx);
      case "replace": {
        const deleteFirst = reg.options.deleteBeforeReplace ?? old!.options.deleteBeforeReplace ?? false;
        if (deleteFirst) {
          // The engine deletes the old one first and drops it from the state (step.go DeleteStep).
          await deleteWith(provider, old!, ctx);
          this.old.delete(reg.urn);
        } else {
          this.pendingDeletes.push({ ...old!, pendingDelete: true });
        }
        return provider.create(request, ctx);
      }
    }
  }

  /** Record a finished step (a failed one is never recorded: the old state, if any, stays). */
  record(reg: Registration, decision: Decision, outcome: StepOutcome): void {
    this.done.set(reg.urn, {
      urn: reg.urn,
      name: reg.name,
      type: reg.type,
      custom: reg.custom,
      parent: reg.parent,
      id: outcome.id,
      inputs: decision.inputs,
      secretInputPaths: reg.secretInputPaths,
      outputs: outcome.outputs,
      secretOutputPaths: outcome.secretOutputPaths,
      dependencies: reg.dependencies,
      options: {
        protect: reg.options.protect,
        retainOnDelete: reg.options.retainOnDelete,
        deleteBeforeReplace: reg.options.deleteBeforeReplace,
        deleteTimeoutMs: reg.options.deleteTimeoutMs,
        replacementTrigger: reg.options.replacementTrigger,
      },
    });
    this.old.delete(reg.urn);
  }

  /** What a successful run deletes at its end: resources the program no longer has, and old halves. */
  toDelete(): StoredResource[] {
    return [...[...this.old.values()].filter((r) => !this.registered.has(r.urn)), ...this.pendingDeletes];
  }

  /**
   * Delete, dependents first, independent ones at once. Errors (a protected resource, a failing
   * delete command) do not stop the other deletes; they are returned. Deleted ones leave the state.
   */
  async deleteAll(resources: StoredResource[], providerOf: (type: string) => ResourceProvider | undefined, ctx: HandlerContext, onStep: DeleteObserver): Promise<Error[]> {
    const errors = await deleteInOrder(resources, providerOf, ctx, onStep);
    const failed = new Set(errors.map((e) => (e as DeleteError).resource));
    for (const r of resources) {
      if (failed.has(r)) continue;
      if (r.pendingDelete) this.pendingDeletes.splice(this.pendingDeletes.indexOf(r), 1);
      else this.old.delete(r.urn);
    }
    return errors;
  }

  /** The state to write: this run's resources, then what it left untouched (a failed run keeps them all). */
  finalState(stack: string, outputs: Record<string, unknown>, secretOutputs: string[]): StackState {
    return { stack, resources: [...this.done.values(), ...this.old.values(), ...this.pendingDeletes], outputs, secretOutputs };
  }
}

/** The outputs a preview reports for a step it does not run. */
export function previewOutcome(decision: Decision, provider: ResourceProvider | undefined, rawInputs: Record<string, unknown>): Record<string, unknown> {
  if (decision.op === "same") return withSecrets(decision.old!.outputs, decision.old!.secretOutputPaths);
  const computed = provider?.computedOutputs ?? [];
  // An update keeps what it cannot know yet from the state (pulumi-command's Update in a preview
  // returns the old stdout/stderr); a create or replacement does not know them at all.
  const carried = decision.op === "update" && decision.old ? pick(withSecrets(decision.old.outputs, decision.old.secretOutputPaths), computed) : Object.fromEntries(computed.map((k) => [k, UNKNOWN]));
  return { ...rawInputs, ...carried };
}

export type DeleteObserver = (event: { resource: StoredResource; phase: "start" | "done" | "failed"; error?: Error }) => void;

export class DeleteError extends Error {
  constructor(
    message: string,
    readonly resource: StoredResource,
  ) {
    super(message);
  }
}

/** Dependents (and children) are deleted before what they depend on; the rest in parallel. */
export async function deleteInOrder(
  resources: StoredResource[],
  providerOf: (type: string) => ResourceProvider | undefined,
  ctx: HandlerContext,
  onStep: DeleteObserver,
): Promise<Error[]> {
  const errors: Error[] = [];
  const remaining = new Set(resources);
  const blockedBy = (r: StoredResource) =>
    [...remaining].filter((other) => other !== r && (other.dependencies.includes(r.urn) || other.parent === r.urn) && other.urn !== r.urn);
  const failed = new Set<StoredResource>();
  while (remaining.size > 0) {
    // A resource whose dependent failed to delete must stay: it is still in use.
    const ready = [...remaining].filter((r) => blockedBy(r).length === 0);
    if (ready.length === 0) break;
    await Promise.all(
      ready.map(async (r) => {
        onStep({ resource: r, phase: "start" });
        try {
          if (r.options.protect && !r.pendingDelete) {
            throw new DeleteError(
              `resource ${r.urn} cannot be deleted because it is protected. To unprotect the resource, either remove the \`protect\` flag from the resource in your Pulumi program and run \`pulumi up\`, or use the command \`pulumi state unprotect\`.`,
              r,
            );
          }
          if (r.custom && !r.options.retainOnDelete) await deleteWith(providerOf(r.type), r, ctx);
          onStep({ resource: r, phase: "done" });
        } catch (err) {
          const error = err instanceof DeleteError ? err : new DeleteError(`deleting ${r.name} (${r.type}) failed: ${(err as Error).message}`, r);
          errors.push(error);
          failed.add(r);
          onStep({ resource: r, phase: "failed", error });
        }
      }),
    );
    for (const r of ready) remaining.delete(r);
    // What a failed delete depends on stays too.
    for (const r of [...remaining]) {
      if ([...failed].some((f) => f.dependencies.includes(r.urn) || f.parent === r.urn)) {
        remaining.delete(r);
        failed.add(r);
        errors.push(new DeleteError(`${r.name} (${r.type}) was not deleted: something that depends on it could not be deleted`, r));
      }
    }
  }
  return errors;
}

async function deleteWith(provider: ResourceProvider | undefined, r: StoredResource, ctx: HandlerContext): Promise<void> {
  if (!provider?.delete) return;
  await provider.delete({ name: r.name, type: r.type, id: r.id ?? "", inputs: r.inputs, outputs: r.outputs, deleteTimeoutMs: r.options.deleteTimeoutMs }, ctx);
}

/** A stored (plain) value with its secret paths wrapped again, as the SDK expects them. */
export function withSecrets(value: Record<string, unknown>, paths: PropertyPath[]): Record<string, unknown> {
  return mapAtPaths(value, paths, secretValue);
}

function pick(value: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => k in value).map((k) => [k, value[k]]));
}

/** A stored resource as the run reports it (a delete step). */
export function deletedRecord(r: StoredResource, status: RecordedResource["status"], at: number): RecordedResource {
  return {
    name: r.name,
    type: r.type,
    urn: r.urn,
    custom: r.custom,
    waitsFor: [],
    inputs: r.inputs,
    secretInputPaths: r.secretInputPaths,
    outputs: {},
    secretOutputPaths: [],
    status,
    startedAt: at,
    op: "delete",
  };
}
