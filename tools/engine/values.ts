// Helpers for the values that travel between the SDK and the handlers:
// secret wrappers, assets, and redaction for display.

import type { PropertyPath } from "./types";

// The wire markers of a secret value. They are fixed by Pulumi's protocol
// (sdk/go/common/resource/properties.go), so they are safe to spell out here
// and let handlers mark outputs secret without importing the SDK instance.
export const SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** The string secrets are replaced with in anything shown to a person. */
export const SECRET_MARKER = "[secret]";

export function isSecretWrapped(value: unknown): value is { value: unknown } {
  return isPlainObject(value) && value[SIG_KEY] === SECRET_SIG;
}

/** Wrap a value so the SDK sees it as secret (use in handler output state). */
export function secretValue<T>(value: T): { value: T } {
  return { [SIG_KEY]: SECRET_SIG, value } as unknown as { value: T };
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== "object") return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Remove every secret wrapper from `value`, returning the plain value and where
 * the secrets sat. Non-plain objects (SDK assets) are left untouched.
 */
export function unwrapSecrets(value: unknown, at: PropertyPath = []): { value: unknown; secretPaths: PropertyPath[] } {
  if (isSecretWrapped(value)) {
    // A secret inside a secret adds nothing: the outer path already hides it.
    return { value: unwrapSecrets(value.value, at).value, secretPaths: [at] };
  }
  const secretPaths: PropertyPath[] = [];
  if (Array.isArray(value)) {
    const items = value.map((item, i) => {
      const inner = unwrapSecrets(item, [...at, i]);
      secretPaths.push(...inner.secretPaths);
      return inner.value;
    });
    return { value: items, secretPaths };
  }
  if (isPlainObject(value)) {
    const entries = Object.entries(value).map(([key, item]) => {
      const inner = unwrapSecrets(item, [...at, key]);
      secretPaths.push(...inner.secretPaths);
      return [key, inner.value] as const;
    });
    return { value: Object.fromEntries(entries), secretPaths };
  }
  return { value, secretPaths };
}

/** Replace the values at `paths` with "[secret]" (returns a copy). */
export function redactSecrets<T>(value: T, paths: PropertyPath[]): T {
  return mapAtPaths(value, paths, () => SECRET_MARKER);
}

/** A copy of `value` with `fn` applied to the value at each of `paths` (a path it lacks is left alone). */
export function mapAtPaths<T>(value: T, paths: PropertyPath[], fn: (v: unknown) => unknown): T {
  let result: unknown = structuredClone(value);
  for (const path of paths) result = mapAt(result, path, fn);
  return result as T;
}

function mapAt(root: unknown, path: PropertyPath, fn: (v: unknown) => unknown): unknown {
  if (path.length === 0) return fn(root);
  if (root === null || typeof root !== "object") return root;
  const node = root as Record<string | number, unknown>;
  const [head, ...rest] = path;
  if (!(head in node)) return root;
  node[head] = mapAt(node[head], rest, fn);
  return root;
}

/** An SDK asset or archive, described as plain JSON. */
export type PlainAsset =
  | { asset: "string"; text: string }
  | { asset: "file"; path: string }
  | { asset: "remote"; uri: string }
  | { asset: "file-archive"; path: string }
  | { asset: "remote-archive"; uri: string }
  | { asset: "asset-archive"; assets: Record<string, PlainAsset> };

/**
 * Describe an SDK Asset/Archive as plain JSON, or undefined for anything else.
 * Assets from the SDK hold their fields as promises; duck typing is used because
 * the program's copy of @pulumi/pulumi may not be the one this file sees.
 */
export async function describeAsset(value: unknown): Promise<PlainAsset | undefined> {
  if (value === null || typeof value !== "object") return undefined;
  const v = value as Record<string, unknown>;
  // Already described (inputs as the engine keeps them in state).
  if (typeof v.asset === "string" && isPlainObject(v)) return v as unknown as PlainAsset;
  if (v.__pulumiAsset) {
    if (v.text !== undefined) return { asset: "string", text: String(await v.text) };
    if (v.path !== undefined) return { asset: "file", path: String(await v.path) };
    if (v.uri !== undefined) return { asset: "remote", uri: String(await v.uri) };
  }
  if (v.__pulumiArchive) {
    if (v.assets !== undefined) {
      const members = (await v.assets) as Record<string, unknown>;
      const described: Record<string, PlainAsset> = {};
      for (const [name, member] of Object.entries(members)) {
        const inner = await describeAsset(member);
        if (inner) described[name] = inner;
      }
      return { asset: "asset-archive", assets: described };
    }
    if (v.path !== undefined) return { asset: "file-archive", path: String(await v.path) };
    if (v.uri !== undefined) return { asset: "remote-archive", uri: String(await v.uri) };
  }
  return undefined;
}

/** Turn handler inputs/outputs into JSON-safe values: assets described, everything else kept. */
export async function toPlainJson(value: unknown): Promise<unknown> {
  const asset = await describeAsset(value);
  if (asset) return asset;
  if (Array.isArray(value)) return Promise.all(value.map(toPlainJson));
  if (isPlainObject(value)) {
    const entries = await Promise.all(
      Object.entries(value).map(async ([key, item]) => [key, await toPlainJson(item)] as const),
    );
    return Object.fromEntries(entries);
  }
  return value;
}

/** Parse a Pulumi duration ("20m", "1h30m", "45s") into milliseconds. */
export function parseDurationMs(text: string | undefined): number | undefined {
  if (!text) return undefined;
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  let matched = "";
  for (const match of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
    total += Number(match[1]) * units[match[2]];
    matched += match[0];
  }
  if (matched !== text) throw new Error(`Invalid duration "${text}": expected e.g. "20m", "1h30m" or "45s".`);
  return total;
}
