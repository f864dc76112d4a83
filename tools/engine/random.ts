// @pulumi/random resources, both real (lab) and as deterministic placeholders (plan).

import { randomBytes, randomInt } from "crypto";
import type { ResourceProvider } from "./types";
import { secretValue } from "./values";

const LOWER = "abcdefghijklmnopqrstuvwxyz";
const UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const NUMERIC = "0123456789";
/** The provider's default special characters. */
const DEFAULT_SPECIAL = "!@#$%&*()-_=+[]{}<>:?";

/** The inputs of RandomPassword / RandomString that shape the result. */
export interface RandomStringInputs {
  length: number;
  lower?: boolean;
  upper?: boolean;
  numeric?: boolean;
  special?: boolean;
  overrideSpecial?: string;
  minLower?: number;
  minUpper?: number;
  minNumeric?: number;
  minSpecial?: number;
}

/** A random string honouring the provider's character-class rules; throws when they cannot be met. */
export function generateRandomString(inputs: RandomStringInputs): string {
  const classes = [
    { name: "lower", enabled: inputs.lower ?? true, chars: LOWER, min: inputs.minLower ?? 0 },
    { name: "upper", enabled: inputs.upper ?? true, chars: UPPER, min: inputs.minUpper ?? 0 },
    { name: "numeric", enabled: inputs.numeric ?? true, chars: NUMERIC, min: inputs.minNumeric ?? 0 },
    { name: "special", enabled: inputs.special ?? true, chars: inputs.overrideSpecial ?? DEFAULT_SPECIAL, min: inputs.minSpecial ?? 0 },
  ].filter((c) => c.enabled && c.chars.length > 0);
  const length = inputs.length;
  if (!Number.isInteger(length) || length < 1) throw new Error(`length must be a positive integer, got ${length}.`);
  const minimums = classes.reduce((sum, c) => sum + c.min, 0);
  if (minimums > length) {
    throw new Error(`length ${length} is shorter than the sum of the min* counts (${minimums}).`);
  }
  const all = classes.map((c) => c.chars).join("");
  if (all.length === 0) throw new Error("every character class is disabled: enable at least one of lower, upper, numeric, special.");
  const chars: string[] = [];
  for (const c of classes) for (let i = 0; i < c.min; i++) chars.push(pick(c.chars));
  while (chars.length < length) chars.push(pick(all));
  return shuffle(chars).join("");
}

/** "plan-placeholder-<name>" cut or padded to the requested length, so length checks still hold. */
export function placeholderString(name: string, length: number): string {
  const text = `plan-placeholder-${name}`;
  return text.length >= length ? text.slice(0, length) : text + "x".repeat(length - text.length);
}

/** Every output of RandomId for the given bytes, as the provider computes them. */
export function randomIdOutputs(bytes: Buffer, prefix = ""): Record<string, string> {
  const b64Url = bytes.toString("base64url");
  return {
    b64Url,
    b64Std: bytes.toString("base64"),
    hex: prefix + bytes.toString("hex"),
    dec: prefix + BigInt(bytes.length > 0 ? `0x${bytes.toString("hex")}` : 0).toString(),
    id: b64Url,
  };
}

function pick(chars: string): string {
  return chars[randomInt(chars.length)];
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

function stringInputs(inputs: Record<string, unknown>): RandomStringInputs {
  return inputs as unknown as RandomStringInputs;
}

/**
 * Providers for random:* in the given mode. A password's result is secret, like the provider's
 * additionalSecretOutputs. They have no Update: terraform-provider-random marks every argument
 * RequiresReplace, so any change draws a new value; unchanged, the stored one stays.
 */
export function randomHandlers(mode: "plan" | "lab"): Record<string, ResourceProvider> {
  const value = (name: string, inputs: Record<string, unknown>) =>
    mode === "plan" ? placeholderString(name, Number(inputs.length)) : generateRandomString(stringInputs(inputs));
  return {
    "random:index/randomPassword:RandomPassword": {
      computedOutputs: ["result"],
      create: async ({ name, inputs }) => ({ id: "none", state: { ...inputs, result: secretValue(value(name, inputs)) } }),
    },
    "random:index/randomString:RandomString": {
      computedOutputs: ["result"],
      create: async ({ name, inputs }) => {
        const result = value(name, inputs);
        return { id: result, state: { ...inputs, result } };
      },
    },
    "random:index/randomId:RandomId": { computedOutputs: ["b64Url", "b64Std", "hex", "dec", "id"], create: async ({ name, inputs }) => {
      const byteLength = Number(inputs.byteLength);
      if (!Number.isInteger(byteLength) || byteLength < 1) {
        throw new Error(`byteLength must be a positive integer, got ${String(inputs.byteLength)}.`);
      }
      const bytes = mode === "plan" ? Buffer.from(placeholderString(name, byteLength)) : randomBytes(byteLength);
      const outputs = randomIdOutputs(bytes, typeof inputs.prefix === "string" ? inputs.prefix : "");
      return { id: outputs.id, state: { ...inputs, ...outputs } };
    } },
  };
}
