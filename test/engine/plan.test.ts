// The engine stand-in in plan mode, on the fixture program. Each runProgram() is
// a fresh child process, so these runs do not share SDK state.
import { execFile } from "child_process";
import * as path from "path";
import { promisify } from "util";
import { beforeAll, describe, expect, it } from "vitest";
import { EngineError, loadStackConfig, RecordedResource, runProgram, RunResult } from "../../tools/engine";
import type { PlannedResource } from "../../tools/plan";

const FIXTURE_DIR = path.resolve(__dirname, "../fixtures/engine-program");
const PROGRAM = path.join(FIXTURE_DIR, "program.ts");
const HANDLERS = path.join(FIXTURE_DIR, "handlers.ts");
const REPO_ROOT = path.resolve(__dirname, "../..");
const { config, secretKeys } = loadStackConfig("test", { projectDir: FIXTURE_DIR });

function planFixture(handlerOptions: object, extraConfig: Record<string, unknown> = {}, timeoutMs = 30_000): Promise<RunResult> {
  return runProgram({
    programPath: PROGRAM,
    stack: "test",
    config: { ...config, ...extraConfig },
    secretKeys,
    mode: "plan",
    timeoutMs,
    handlersModule: HANDLERS,
    handlerOptions,
    onProgramOutput: () => undefined,
  });
}

async function rejection(promise: Promise<unknown>): Promise<EngineError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(EngineError);
  return err as EngineError;
}

function byName(resources: RecordedResource[], name: string): RecordedResource {
  const found = resources.find((r) => r.name === name);
  if (!found) throw new Error(`no resource ${name} in ${resources.map((r) => r.name).join(", ")}`);
  return found;
}

describe("plan mode with a slow handler", () => {
  let result: RunResult;
  const DELAY_MS = 150;
  beforeAll(async () => {
    result = await planFixture({ delayMs: DELAY_MS });
  }, 60_000);

  it("starts each resource only after everything it waits for has finished", () => {
    for (const resource of result.resources) {
      for (const dependency of resource.waitsFor) {
        expect(resource.startedAt, `${resource.name} after ${dependency}`).toBeGreaterThanOrEqual(
          byName(result.resources, dependency).finishedAt!,
        );
      }
    }
    // Children of n2 start only after n2 registered, which waited for n1's children.
    expect(byName(result.resources, "n2-install").startedAt).toBeGreaterThanOrEqual(byName(result.resources, "n1-configure").finishedAt!);
  });

  it("runs independent resources in parallel", () => {
    const starts = ["prep", "n1-install", "leaky"].map((n) => byName(result.resources, n).startedAt);
    expect(Math.max(...starts) - Math.min(...starts)).toBeLessThan(DELAY_MS);
  });

  it("captures data dependencies and dependsOn (also on a component) as waitsFor", () => {
    // data: configure's command interpolates install's stdout and the password
    expect(byName(result.resources, "n1-configure").waitsFor).toEqual(["n1-install", "db-password"]);
    // dependsOn a resource (leaky) plus data (n2's ready output)
    expect(byName(result.resources, "final").waitsFor.sort()).toEqual(["leaky", "n2-configure"]);
    // dependsOn a component means waiting for its children
    expect(byName(result.resources, "n2").waitsFor.sort()).toEqual(["n1-configure", "n1-install"]);
    expect(byName(result.resources, "n1-install").parent).toBe("n1");
    expect(byName(result.resources, "n1").custom).toBe(false);
  });

  it("records resources in registration order, with outputs flowing between them", () => {
    expect(result.resources.map((r) => r.name)).toEqual([
      "n1", "db-password", "prep", "n1-install", "leaky", "n1-configure", "n2", "n2-install", "n2-configure", "final",
    ]);
    expect(byName(result.resources, "n1-configure").inputs.create).toBe("echo configured after out-of-n1-install");
  });

  it("resolves exports and knows which are secret", () => {
    expect(result.outputs).toEqual({ finalStdout: "out-of-final", dbPassword: "plan-placeholder-db-", nodeCount: 2 });
    expect(result.secretOutputs).toEqual(["dbPassword"]);
  });
});

describe("npm run plan", () => {
  const runPlan = (...args: string[]) =>
    promisify(execFile)(process.execPath, ["--import", "tsx", path.join(REPO_ROOT, "tools/plan.ts"), ...args], { cwd: REPO_ROOT });

  it("--json prints only a JSON array, with secrets (also interpolated ones) as [secret]", async () => {
    const { stdout } = await runPlan("--stack", "test", "--json", "--program", PROGRAM);
    const planned = JSON.parse(stdout) as PlannedResource[];
    const find = (name: string) => planned.find((r) => r.name === name)!;
    expect(planned.map((r) => r.name)[0]).toBe("n1");
    expect(Object.keys(find("n1-configure")).sort()).toEqual(["inputs", "name", "parent", "type", "waitsFor"]);
    expect(find("prep").inputs).toEqual({ connection: "[secret]", create: "echo prep" });
    // the password interpolated into a command line made the whole input secret
    expect(find("leaky").inputs.create).toBe("[secret]");
    expect(find("n1-configure").inputs.stdin).toBe("[secret]");
    expect(find("n1-configure").waitsFor).toEqual(["n1-install", "db-password"]);
    expect(find("n1-install").parent).toBe("n1");
    expect(stdout).not.toContain("plan-placeholder-db");
    expect(stdout).not.toContain("not-a-real-key");
  }, 30_000);

  it("prints one line per resource with parent and waits-for", async () => {
    const { stdout } = await runPlan("--stack", "test", "--program", PROGRAM);
    expect(stdout).toMatch(/command:remote:Command\s+n1-configure\s+parent: n1\s+waits for: n1-install, db-password/);
  }, 30_000);

  it("exits non-zero naming the key when config cannot be used", async () => {
    const failure = await runPlan("--stack", "encrypted", "--program", PROGRAM).then(
      () => undefined,
      (e: { code: number; stderr: string; stdout: string }) => e,
    );
    expect(failure?.code).toBe(1);
    expect(failure?.stderr).toContain('"engine-fixture:privateKey" is encrypted');
    expect(failure?.stdout).toBe("");
  }, 30_000);
});

describe("failures end the run promptly", () => {
  it("a resource type without a handler fails at once, naming type and resource", async () => {
    const error = await rejection(planFixture({}, { "engine-fixture:withMystery": true }));
    expect(error.kind).toBe("resource-failed");
    expect(error.message).toContain('No handler for resource type "fixture:index:Mystery" (resource "mystery")');
  }, 30_000);

  it("a failing handler rejects the run at once, with resource, host and output tail", async () => {
    const started = Date.now();
    // n1-install fails; everything after it would wait forever on the SDK side.
    const error = await rejection(planFixture({ failName: "n1-install", delayMs: 50 }, {}, 60_000));
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(error.details).toMatchObject({ kind: "resource-failed", resource: "n1-install", host: "root@10.0.0.9:22" });
    expect(error.message).toContain("n1-install (command:remote:Command) failed on root@10.0.0.9:22");
    expect(error.message).toContain("step 2: disk full");
    expect(byName(error.resources, "n1-install").status).toBe("failed");
  }, 30_000);

  it("the overall deadline fires and reports what was still running", async () => {
    const started = Date.now();
    const error = await rejection(planFixture({ hangName: "n2-install" }, {}, 3_000));
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(error.kind).toBe("timeout");
    expect(error.details.pending).toEqual(["n2-install"]);
    expect(error.message).toMatch(/did not finish within 3s\. Still running: n2-install \(command:remote:Command/);
  }, 30_000);

  it("a program that throws is reported as a program error: a RunError by its message alone, as Pulumi prints it", async () => {
    // requireObject's ConfigTypeError is a RunError: Pulumi's language host prints no stack frames for it.
    const error = await rejection(planFixture({}, { "engine-fixture:settings": "nope" }));
    expect(error.kind).toBe("program-error");
    expect(error.message).toMatch(/^The program failed: .*'engine-fixture:settings' value 'nope'/);
    expect(error.message).not.toMatch(/\n\s+at /);
    // Any other error keeps its frames, which locate the bug.
    const bug = await rejection(planFixture({}, { "engine-fixture:throw": "plain" }));
    expect(bug.message).toMatch(/^The program failed: a plain bug\n\s+at .*program\.ts/);
  }, 30_000);
});
