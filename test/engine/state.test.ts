// The engine stand-in against a stack's state: each test runs a program twice (or more) with one
// thing changed, and asserts exactly which provider operations ran, in which order, and what the
// state holds afterwards — the rules `pulumi up` follows (see tools/engine/diff.ts, deployment.ts).
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { destroyInProcess, EngineError, loadState, runProgram, RunResult, stepReports } from "../../tools/engine";
import { applyIgnoreChanges, diffResource, parsePropertyPath, pathContains, UNKNOWN } from "../../tools/engine/diff";
import { createHandlers } from "../fixtures/state-program/handlers";

const FIXTURE_DIR = path.resolve(__dirname, "../fixtures/state-program");
const PROGRAM = path.join(FIXTURE_DIR, "program.ts");
const HANDLERS = path.join(FIXTURE_DIR, "handlers.ts");

interface Step {
  name: string;
  stdin?: string;
  triggers?: string[];
  after?: string[];
  readsFrom?: string;
  noDelete?: boolean;
  options?: Record<string, unknown>;
}

/** A stack: its state file and the log of provider operations. */
function newStack() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "engine-state-"));
  const stateFile = path.join(dir, "state.json");
  const log = path.join(dir, "ops.log");
  const up = async (steps: Step[], extra: { fail?: string[]; preview?: boolean; passwordLength?: number } = {}): Promise<{ result: RunResult; ops: string[] }> => {
    fs.writeFileSync(log, "");
    const result = await runProgram({
      programPath: PROGRAM,
      stack: "test",
      config: { "state-fixture:steps": steps, ...(extra.passwordLength ? { "state-fixture:passwordLength": extra.passwordLength } : {}) },
      mode: "plan",
      preview: extra.preview,
      stateFile,
      timeoutMs: 30_000,
      handlersModule: HANDLERS,
      handlerOptions: { log, fail: extra.fail },
      onProgramOutput: () => undefined,
    });
    return { result, ops: readOps() };
  };
  const readOps = () => fs.readFileSync(log, "utf8").split("\n").filter(Boolean);
  const failingUp = async (steps: Step[], fail: string[]): Promise<{ error: EngineError; ops: string[] }> => {
    const error = await up(steps, { fail }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(EngineError);
    return { error: error as EngineError, ops: readOps() };
  };
  return { dir, stateFile, log, up, failingUp, readOps };
}

const opOf = (result: RunResult, name: string) => stepReports(result).find((s) => s.name === name);
const BASE: Step[] = [
  { name: "a", stdin: "one" },
  { name: "b", stdin: "two", after: ["a"] },
  { name: "c", stdin: "three", readsFrom: "b" },
];

describe("the engine stand-in keeps state between runs, like a Pulumi stack", () => {
  it("a second run with nothing changed runs nothing and reuses every stored output", async () => {
    const stack = newStack();
    const first = await stack.up(BASE);
    expect(first.ops.sort()).toEqual(["create a", "create b", "create c"]);
    const second = await stack.up(BASE);
    expect(second.ops).toEqual([]);
    expect(stepReports(second.result).filter((s) => s.op !== "same")).toEqual([]);
    // The generated password and every stdout come back from the state.
    expect(second.result.outputs).toEqual(first.result.outputs);
    // The state is private and its secrets are not in plain text.
    expect(fs.statSync(stack.stateFile).mode & 0o777).toBe(0o600);
    expect(fs.statSync(`${stack.stateFile}.key`).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(stack.stateFile, "utf8")).not.toContain(String(first.result.outputs.passwordValue));
    expect(loadState(stack.stateFile, "test").resources.find((r) => r.name === "pw")!.outputs.result).toBe(first.result.outputs.passwordValue);
  }, 60_000);

  it("a changed input updates only that resource, and its new outputs flow to what reads them", async () => {
    const stack = newStack();
    await stack.up(BASE);
    const changed = BASE.map((s) => (s.name === "b" ? { ...s, stdin: "TWO" } : s));
    const { result, ops } = await stack.up(changed);
    // b is updated (its `update` command runs); c reads b's stdout, which changed, so c updates too;
    // a is untouched, and dependsOn alone (b after a) re-runs nothing.
    expect(ops).toEqual(["update b", "update c"]);
    expect(opOf(result, "b")).toMatchObject({ op: "update", changed: ["stdin"] });
    expect(opOf(result, "c")).toMatchObject({ op: "update", changed: ["stdin"] });
    expect(opOf(result, "a")!.op).toBe("same");
  }, 60_000);

  it("a changed trigger replaces: the new one is created, the old one deleted after every other step", async () => {
    const stack = newStack();
    await stack.up([{ name: "x", triggers: ["1"] }, { name: "y", stdin: "y" }]);
    const { result, ops } = await stack.up([{ name: "x", triggers: ["2"] }, { name: "y", stdin: "Y" }]);
    expect(ops.at(-1)).toBe("delete x");
    expect(ops.sort()).toEqual(["create x", "delete x", "update y"]);
    expect(opOf(result, "x")).toMatchObject({ op: "replace", replaceBecause: ["triggers[0]"] });
  }, 60_000);

  it("deleteBeforeReplace deletes the old one first", async () => {
    const stack = newStack();
    await stack.up([{ name: "x", triggers: ["1"], options: { deleteBeforeReplace: true } }]);
    const { ops } = await stack.up([{ name: "x", triggers: ["2"], options: { deleteBeforeReplace: true } }]);
    expect(ops).toEqual(["delete x", "create x"]);
  }, 60_000);

  it("a resource gone from the program is deleted at the end, dependents first; one without a delete command runs nothing", async () => {
    const stack = newStack();
    await stack.up([{ name: "base", stdin: "0" }, { name: "mid", after: ["base"] }, { name: "top", after: ["mid"] }, { name: "quiet", noDelete: true }, { name: "keep" }]);
    const { result, ops } = await stack.up([{ name: "keep" }]);
    expect(ops).toEqual(["delete top", "delete mid", "delete base"]);
    expect(result.deleted.map((r) => r.name).sort()).toEqual(["base", "mid", "quiet", "top"]);
    expect(loadState(stack.stateFile, "test").resources.map((r) => r.name)).not.toContain("quiet");
  }, 60_000);

  it("ignoreChanges keeps the stored value; replaceOnChanges turns an update into a replacement", async () => {
    const stack = newStack();
    await stack.up([{ name: "ign", stdin: "1", options: { ignoreChanges: ["stdin"] } }, { name: "roc", stdin: "1", options: { replaceOnChanges: ["stdin"] } }]);
    const { result, ops } = await stack.up([{ name: "ign", stdin: "2", options: { ignoreChanges: ["stdin"] } }, { name: "roc", stdin: "2", options: { replaceOnChanges: ["stdin"] } }]);
    expect(ops.sort()).toEqual(["create roc", "delete roc"]);
    expect(opOf(result, "ign")!.op).toBe("same");
    expect(opOf(result, "roc")).toMatchObject({ op: "replace", replaceBecause: ["stdin"] });
  }, 60_000);

  it("replaceWith replaces along; replacementTrigger replaces when its value changes, not when it first appears", async () => {
    const stack = newStack();
    await stack.up([{ name: "p", triggers: ["1"] }, { name: "q", options: { replaceWith: ["p"] } }, { name: "r" }]);
    const first = await stack.up([{ name: "p", triggers: ["2"] }, { name: "q", options: { replaceWith: ["p"] } }, { name: "r", options: { replacementTrigger: "v1" } }]);
    expect(first.ops.sort()).toEqual(["create p", "create q", "delete p", "delete q"]);
    expect(opOf(first.result, "q")).toMatchObject({ op: "replace", replaceBecause: ["replaceWith: p"] });
    expect(opOf(first.result, "r")!.op).toBe("same");
    const second = await stack.up([{ name: "p", triggers: ["2"] }, { name: "q", options: { replaceWith: ["p"] } }, { name: "r", options: { replacementTrigger: "v2" } }]);
    expect(second.ops.sort()).toEqual(["create r", "delete r"]);
  }, 60_000);

  it("protect refuses a replacement and a delete, naming the resource; retainOnDelete forgets without deleting", async () => {
    const stack = newStack();
    await stack.up([{ name: "safe", triggers: ["1"], options: { protect: true } }, { name: "kept", options: { retainOnDelete: true } }]);
    const replace = await stack.failingUp([{ name: "safe", triggers: ["2"], options: { protect: true } }], []);
    expect(replace.error.message).toMatch(/unable to replace resource .*safe.* protect/);
    expect(replace.ops).toEqual([]);
    const remove = await stack.failingUp([], []);
    expect(remove.error.message).toMatch(/safe.* cannot be deleted because it is protected/);
    // The other delete went ahead: retainOnDelete drops it from the state without its delete command.
    expect(remove.ops).toEqual([]);
    expect(loadState(stack.stateFile, "test").resources.filter((r) => r.type === "command:remote:Command").map((r) => r.name)).toEqual(["safe"]);
  }, 60_000);

  it("a failed create is not recorded, a failed update keeps the old state; the next run tries again and deletes nothing meanwhile", async () => {
    const stack = newStack();
    await stack.up([{ name: "old", stdin: "1" }, { name: "gone" }]);
    const failed = await stack.failingUp([{ name: "old", stdin: "2" }, { name: "new" }], ["old", "new"]);
    expect(failed.ops.sort()).toEqual(["create new", "update old"]);
    // No deletes after a failed run: "gone" is still there.
    const stored = loadState(stack.stateFile, "test").resources;
    expect(stored.map((r) => r.name)).toEqual(expect.arrayContaining(["old", "gone"]));
    expect(stored.map((r) => r.name)).not.toContain("new");
    expect(stored.find((r) => r.name === "old")!.inputs.stdin).toBe("1");
    const retry = await stack.up([{ name: "old", stdin: "2" }, { name: "new" }]);
    expect(retry.ops.sort()).toEqual(["create new", "delete gone", "update old"]);
  }, 60_000);

  it("random values stay while their inputs do, and are drawn anew (replaced) when they change", async () => {
    const stack = newStack();
    const first = await stack.up([]);
    const same = await stack.up([]);
    expect(same.result.outputs.passwordValue).toBe(first.result.outputs.passwordValue);
    const longer = await stack.up([], { passwordLength: 20 });
    expect(opOf(longer.result, "pw")).toMatchObject({ op: "replace", replaceBecause: ["length"] });
  }, 60_000);

  it("a preview reports what would run and why, runs nothing and writes nothing", async () => {
    const stack = newStack();
    await stack.up(BASE);
    const before = fs.readFileSync(stack.stateFile, "utf8");
    const { result, ops } = await stack.up([{ name: "a", stdin: "ONE" }, { name: "b", stdin: "two", after: ["a"] }], { preview: true });
    expect(ops).toEqual([]);
    expect(fs.readFileSync(stack.stateFile, "utf8")).toBe(before);
    expect(stepReports(result).filter((s) => s.op !== "same").map((s) => [s.op, s.name])).toEqual([
      ["update", "a"],
      ["delete", "c"],
    ]);
  }, 60_000);

  it("a preview of a stack output that only a create will know shows it unknown (Pulumi's output<string>), and finishes", async () => {
    const stack = newStack();
    const { result, ops } = await stack.up(BASE, { preview: true });
    expect(ops).toEqual([]);
    expect(result.outputs.passwordValue).toBe(UNKNOWN);
    expect(result.secretOutputs).toContain("passwordValue");
    expect((result.outputs.outputs as Record<string, unknown>).a).toBe(UNKNOWN);
  }, 60_000);

  it("destroy runs every delete command, dependents first, and leaves no state", async () => {
    const stack = newStack();
    await stack.up(BASE);
    fs.writeFileSync(stack.log, "");
    const deleted = await destroyInProcess({ stack: "test", stateFile: stack.stateFile, mode: "plan", handlers: createHandlers("plan", { log: stack.log }) });
    expect(stack.readOps()).toEqual(["delete c", "delete b", "delete a"]);
    expect(deleted.filter((r) => r.type === "command:remote:Command").map((r) => r.status)).toEqual(["done", "done", "done"]);
    expect(fs.existsSync(stack.stateFile)).toBe(false);
  }, 60_000);
});

describe("diff rules", () => {
  const cmd = { providerReplaces: ["triggers"], replaceOnChanges: ["triggers[*]"] };
  it("no change is same; any other input change is an update; a trigger change replaces", () => {
    expect(diffResource({ ...cmd, oldInputs: { create: "x", triggers: ["1"] }, newInputs: { create: "x", triggers: ["1"] } }).op).toBe("same");
    expect(diffResource({ ...cmd, oldInputs: { create: "x" }, newInputs: { create: "y" } })).toMatchObject({ op: "update", changed: ["create"] });
    expect(diffResource({ ...cmd, oldInputs: { environment: { A: "1" } }, newInputs: { environment: { A: "2" } } }).changed).toEqual(["environment.A"]);
    expect(diffResource({ ...cmd, oldInputs: { triggers: ["1"] }, newInputs: { triggers: ["1", "2"] } })).toMatchObject({ op: "replace", replaceBecause: ["triggers[1]"] });
    // Triggers appearing for the first time replace too (the provider's replaceOnChanges on the property).
    expect(diffResource({ ...cmd, oldInputs: {}, newInputs: { triggers: ["1"] } })).toMatchObject({ op: "replace", replaceBecause: ["triggers"] });
  });

  it("a provider without Update replaces on every change", () => {
    expect(diffResource({ providerReplaces: "*", oldInputs: { length: 16 }, newInputs: { length: 20 } }).op).toBe("replace");
  });

  it("an unknown input (preview) counts as changed", () => {
    expect(diffResource({ ...cmd, oldInputs: { stdin: "a" }, newInputs: { stdin: "04da6b54-80e4-46f7-96ec-b56ff0331ba9" } }).op).toBe("update");
  });

  it("parses and matches property paths as Pulumi does", () => {
    expect(parsePropertyPath('a.b[0]["c.d"]')).toEqual(["a", "b", 0, "c.d"]);
    expect(pathContains(parsePropertyPath("triggers[*]"), ["triggers", 3])).toBe(true);
    expect(pathContains(parsePropertyPath("triggers[*]"), ["triggers"])).toBe(false);
    expect(() => parsePropertyPath("a[")).toThrow(/invalid property path/);
  });

  it("ignoreChanges puts back the old value, or removes a value the old inputs did not have", () => {
    expect(applyIgnoreChanges({ a: 1, b: { c: 2 } }, { a: 9, b: { c: 9 }, d: 4 }, ["a", "b.c", "d"])).toEqual({ a: 1, b: { c: 2 } });
  });
});
