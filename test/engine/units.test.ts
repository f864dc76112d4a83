// Pure pieces of the engine stand-in: config loading, secrets, random values, progress.
import * as path from "path";
import { PassThrough } from "stream";
import { describe, expect, it } from "vitest";
import { createProgressRenderer, loadStackConfig, redactSecrets, secretValue } from "../../tools/engine";
import { generateRandomString, placeholderString, randomIdOutputs } from "../../tools/engine/random";
import { findHandler } from "../../tools/engine/run";
import { tailLines } from "../../tools/engine/ssh";
import { parseDurationMs, unwrapSecrets } from "../../tools/engine/values";

const FIXTURE_DIR = path.resolve(__dirname, "../fixtures/engine-program");

describe("loadStackConfig", () => {
  it("namespaces bare keys with the project name and keeps objects", () => {
    const { config, secretKeys } = loadStackConfig("test", { projectDir: FIXTURE_DIR });
    expect(config["engine-fixture:privateKey"]).toBe("not-a-real-key");
    expect(config["engine-fixture:settings"]).toEqual({ nodes: 2, greeting: "hello" });
    expect(secretKeys).toEqual([]);
  });

  it("refuses secure: values unless given, and marks given ones secret", () => {
    expect(() => loadStackConfig("encrypted", { projectDir: FIXTURE_DIR })).toThrow(/"engine-fixture:privateKey" is encrypted/);
    const { config, secretKeys } = loadStackConfig("encrypted", {
      projectDir: FIXTURE_DIR,
      secureValues: { "engine-fixture:privateKey": "k" },
    });
    expect(config["engine-fixture:privateKey"]).toBe("k");
    expect(secretKeys).toEqual(["engine-fixture:privateKey"]);
  });

  it("stands a placeholder in for secure: values when asked (offline rendering), still marked secret", () => {
    const { config, secretKeys } = loadStackConfig("encrypted", { projectDir: FIXTURE_DIR, securePlaceholders: true });
    expect(config["engine-fixture:privateKey"]).toBe("<secret:engine-fixture:privateKey>");
    expect(config["engine-fixture:host"]).toBe("127.0.0.1");
    expect(secretKeys).toEqual(["engine-fixture:privateKey"]);
  });

  it("names the known stacks when the file is missing", () => {
    expect(() => loadStackConfig("nope", { projectDir: FIXTURE_DIR })).toThrow(/Known stacks: encrypted, test/);
  });
});

describe("secrets", () => {
  it("unwraps nested secrets and redacts exactly those paths", () => {
    const raw = { a: 1, env: { PW: secretValue("hunter2"), USER: "x" }, list: [secretValue({ deep: 1 })] };
    const { value, secretPaths } = unwrapSecrets(raw);
    expect(value).toEqual({ a: 1, env: { PW: "hunter2", USER: "x" }, list: [{ deep: 1 }] });
    expect(secretPaths).toEqual([["env", "PW"], ["list", 0]]);
    expect(redactSecrets(value, secretPaths)).toEqual({ a: 1, env: { PW: "[secret]", USER: "x" }, list: ["[secret]"] });
  });
});

describe("random values", () => {
  it("honours length, classes and minimums", () => {
    for (let i = 0; i < 50; i++) {
      const value = generateRandomString({ length: 12, special: true, overrideSpecial: "#", minSpecial: 3, minNumeric: 4, upper: false });
      expect(value).toHaveLength(12);
      expect(value).toMatch(/^[a-z0-9#]+$/);
      expect(value.replace(/[^#]/g, "").length).toBeGreaterThanOrEqual(3);
      expect(value.replace(/[^0-9]/g, "").length).toBeGreaterThanOrEqual(4);
    }
    expect(() => generateRandomString({ length: 3, minNumeric: 4 })).toThrow(/shorter than the sum/);
  });

  it("makes placeholders of the requested length", () => {
    expect(placeholderString("pw", 30)).toBe("plan-placeholder-pwxxxxxxxxxxx");
    expect(placeholderString("pw", 4)).toBe("plan");
  });

  it("computes RandomId's encodings", () => {
    expect(randomIdOutputs(Buffer.from([0xff, 0x01]), "p-")).toEqual({ b64Url: "_wE", b64Std: "/wE=", hex: "p-ff01", dec: "p-65281", id: "_wE" });
  });
});

describe("helpers", () => {
  it("matches handlers exactly first, then by the longest prefix", () => {
    const table = { "aws:*": 1, "aws:ec2/*": 2, "aws:ec2/vpc:Vpc": 3 };
    expect(findHandler(table, "aws:ec2/vpc:Vpc")).toBe(3);
    expect(findHandler(table, "aws:ec2/subnet:Subnet")).toBe(2);
    expect(findHandler(table, "aws:iam/role:Role")).toBe(1);
    expect(findHandler(table, "gcp:x:Y")).toBeUndefined();
  });

  it("parses Pulumi durations", () => {
    expect(parseDurationMs("1h30m")).toBe(90 * 60_000);
    expect(parseDurationMs("45s")).toBe(45_000);
    expect(parseDurationMs(undefined)).toBeUndefined();
    expect(() => parseDurationMs("soon")).toThrow(/Invalid duration "soon"/);
  });

  it("keeps the last lines of output", () => {
    expect(tailLines("a\nb\nc\n", 2)).toBe("b\nc");
  });
});

describe("progress renderer (not a TTY)", () => {
  it("prints one line per finished resource and a full failure report", () => {
    const stream = new PassThrough() as unknown as NodeJS.WriteStream;
    let text = "";
    (stream as unknown as PassThrough).on("data", (c: Buffer) => (text += c.toString()));
    const renderer = createProgressRenderer({ stream, live: false });
    renderer.onEvent({ kind: "start", name: "a", type: "t", at: 0 });
    renderer.onEvent({ kind: "finish", name: "a", type: "t", at: 1500, durationMs: 1500 });
    renderer.onEvent({ kind: "fail", name: "b", type: "t", at: 2000, durationMs: 2000, message: "exited with code 1", host: "root@h:22", outputTail: "x\ny" });
    renderer.stop();
    expect(text).toBe("done   a (t) in 1.5s\nFAILED b (t) on root@h:22 after 2.0s: exited with code 1\n  | x\n  | y\n");
  });
});
