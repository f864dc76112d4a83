// A stack's state between runs, as a Pulumi checkpoint keeps it: per resource (by URN) its type,
// inputs, outputs, id, dependencies, options, and which values are secret. Secret values are
// stored encrypted (AES-256-GCM) under a key kept beside the state file (mode 0600), in the shape
// Pulumi's checkpoints use for them: {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "ciphertext": "..."}.

import { createCipheriv, createDecipheriv, randomBytes } from "crypto";
import * as fs from "fs";
import * as path from "path";
import type { PropertyPath } from "./types";
import { mapAtPaths, SECRET_SIG, SIG_KEY } from "./values";
const STATE_VERSION = 1;

/** Options the engine keeps with a resource because they govern what later runs may do to it. */
export interface StoredOptions {
  protect?: boolean;
  retainOnDelete?: boolean;
  deleteBeforeReplace?: boolean;
  /** customTimeouts.delete, in ms. */
  deleteTimeoutMs?: number;
  /** The last replacementTrigger value (compared with the next run's). */
  replacementTrigger?: unknown;
}

export interface StoredResource {
  urn: string;
  name: string;
  type: string;
  custom: boolean;
  /** URN of the parent; deleted after its children. */
  parent?: string;
  id?: string;
  /** Plain values; the paths in secretInputPaths are secret. */
  inputs: Record<string, unknown>;
  secretInputPaths: PropertyPath[];
  outputs: Record<string, unknown>;
  secretOutputPaths: PropertyPath[];
  /** URNs this resource depends on (dependsOn and data dependencies). */
  dependencies: string[];
  options: StoredOptions;
  /** Replaced in a run that did not get as far as deleting it: deleted by the next successful run. */
  pendingDelete?: boolean;
}

export interface StackState {
  stack: string;
  /** In dependency order (a resource after everything it depends on), as Pulumi's snapshots are. */
  resources: StoredResource[];
  /** The program's exports at the last successful run (secret ones listed). */
  outputs: Record<string, unknown>;
  secretOutputs: string[];
}

export function emptyState(stack: string): StackState {
  return { stack, resources: [], outputs: {}, secretOutputs: [] };
}

/** The key file beside a state file. */
export function keyFileOf(stateFile: string): string {
  return `${stateFile}.key`;
}

/** Read a stack's state; no file is an empty state (a stack never deployed). */
export function loadState(stateFile: string, stack: string): StackState {
  if (!fs.existsSync(stateFile)) return emptyState(stack);
  const key = readKey(stateFile);
  const raw = JSON.parse(fs.readFileSync(stateFile, "utf8")) as { version: number; state: StackState };
  if (raw.version !== STATE_VERSION) throw new Error(`${stateFile}: state version ${raw.version} is not ${STATE_VERSION}; remove it (lab down) to start over.`);
  return decryptSecrets(raw.state, key) as StackState;
}

/** Write a stack's state atomically, secrets encrypted; the file and its key are 0600. */
export function saveState(stateFile: string, state: StackState): void {
  fs.mkdirSync(path.dirname(stateFile), { recursive: true, mode: 0o700 });
  const key = readKey(stateFile, true);
  const sealed = {
    ...state,
    resources: state.resources.map((r) => ({
      ...r,
      inputs: mapAtPaths(r.inputs, r.secretInputPaths, (v) => seal(v, key)),
      outputs: mapAtPaths(r.outputs, r.secretOutputPaths, (v) => seal(v, key)),
    })),
    outputs: Object.fromEntries(Object.entries(state.outputs).map(([k, v]) => [k, state.secretOutputs.includes(k) ? seal(v, key) : v])),
  };
  const tmp = `${stateFile}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify({ version: STATE_VERSION, state: sealed }, null, 1) + "\n", { mode: 0o600 });
  fs.renameSync(tmp, stateFile);
}

/** Remove a stack's state and its key. */
export function removeState(stateFile: string): void {
  fs.rmSync(stateFile, { force: true });
  fs.rmSync(keyFileOf(stateFile), { force: true });
}

function readKey(stateFile: string, create = false): Buffer {
  const file = keyFileOf(stateFile);
  if (!fs.existsSync(file)) {
    if (!create) throw new Error(`${stateFile} has no key beside it (${file}): its secrets cannot be read.`);
    fs.writeFileSync(file, randomBytes(32).toString("base64") + "\n", { mode: 0o600 });
  }
  return Buffer.from(fs.readFileSync(file, "utf8").trim(), "base64");
}

function seal(value: unknown, key: Buffer): Record<string, string> {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  const body = Buffer.concat([cipher.update(JSON.stringify(value ?? null), "utf8"), cipher.final()]);
  const ciphertext = [iv, cipher.getAuthTag(), body].map((b) => b.toString("base64")).join(":");
  return { [SIG_KEY]: SECRET_SIG, ciphertext };
}

function unseal(sealed: { ciphertext: string }, key: Buffer): unknown {
  const [iv, tag, body] = sealed.ciphertext.split(":").map((part) => Buffer.from(part, "base64"));
  const decipher = createDecipheriv("aes-256-gcm", key, iv);
  decipher.setAuthTag(tag);
  return JSON.parse(Buffer.concat([decipher.update(body), decipher.final()]).toString("utf8"));
}

function decryptSecrets(value: unknown, key: Buffer): unknown {
  if (value !== null && typeof value === "object" && !Array.isArray(value) && (value as Record<string, unknown>)[SIG_KEY] === SECRET_SIG) {
    return unseal(value as { ciphertext: string }, key);
  }
  if (Array.isArray(value)) return value.map((v) => decryptSecrets(v, key));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, decryptSecrets(v, key)]));
  }
  return value;
}
