/**
 * The program (index.ts) of a stack under the engine stand-in with the slow plan-mode mock
 * (test/fixtures/slow-handlers.ts): once, or as a later `pulumi up` against a stack state kept in
 * `stateFile`.
 */
import * as path from "path";
import { expect } from "vitest";
import type { PlanStep } from "../../render/plan";
import { loadStackConfig, runProgram, type EngineEvent, type RecordedResource, type RunResult } from "../../tools/engine";

const PROGRAM = path.resolve(__dirname, "..", "..", "index.ts");
const SLOW_HANDLERS = path.resolve(__dirname, "..", "fixtures", "slow-handlers.ts");

/** The stack's program with `extraConfig` over its stack file (`secretKeys`: more config keys that are secret); `onEvent` sees the run's progress. */
export function planStack(stack: string, extraConfig: Record<string, unknown>, secretKeys: string[], delayMs: number, stateFile?: string, onEvent?: (event: EngineEvent) => void): Promise<RunResult> {
    const { config, secretKeys: stackSecretKeys } = loadStackConfig(stack);
    return runProgram({
        programPath: PROGRAM,
        stack,
        config: { ...config, ...extraConfig },
        secretKeys: [...stackSecretKeys, ...secretKeys],
        mode: "plan",
        ...(stateFile ? { stateFile } : {}),
        timeoutMs: 120_000,
        handlersModule: SLOW_HANDLERS,
        handlerOptions: { delayMs },
        onProgramOutput: () => undefined,
        ...(onEvent ? { onEvent } : {}),
    });
}

/** Stack `lab` as a later `pulumi up` against the state in `stateFile`. */
export function upLab(stateFile: string, extraConfig: Record<string, unknown> = {}, delayMs = 0): Promise<RunResult> {
    return planStack("lab", extraConfig, [], delayMs, stateFile);
}

/** The resource of that name; a missing one fails the test, listing those there are. */
export function resourceNamed(resources: RecordedResource[], name: string): RecordedResource {
    const found = resources.find((r) => r.name === name);
    if (!found) throw new Error(`no resource ${name}; have ${resources.map((r) => r.name).join(", ")}`);
    return found;
}

/** Every step of `before` finished before any of `after` started. */
export function expectStepOrder(resources: RecordedResource[], before: string[], after: string[]): void {
    for (const b of before) {
        for (const a of after) expect(resourceNamed(resources, a).startedAt, `${a} must start after ${b} finished`).toBeGreaterThanOrEqual(resourceNamed(resources, b).finishedAt!);
    }
}

/** Everything a resource waits for, directly or through what it waits for (resources of the run only). */
export function upstreamOf(resources: RecordedResource[], name: string, seen = new Set<string>()): Set<string> {
    for (const dep of resourceNamed(resources, name).waitsFor) {
        if (!seen.has(dep) && resources.some((r) => r.name === dep)) {
            seen.add(dep);
            upstreamOf(resources, dep, seen);
        }
    }
    return seen;
}

/** A plan step's resource name, by its key: `<cluster>-<name>` for the cluster's own steps, `<cluster>-<component>-<name>` for the others. */
export function stepResourceName(plan: PlanStep[], cluster: string): (key: string) => string {
    return (key) => {
        const step = plan.find((s) => s.key === key);
        if (!step) throw new Error(`no plan step ${key}`);
        return step.component === "cluster" ? `${cluster}-${step.name}` : `${cluster}-${step.component}-${step.name}`;
    };
}
