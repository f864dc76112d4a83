// The engine's diff rules, as pure functions: given a resource's stored inputs and its new ones,
// decide whether a `pulumi up` leaves it alone, updates it in place or replaces it, and why.
//
// Sources (read, cited by path and tag):
// - pulumi/pulumi v3.248.0 pkg/resource/deploy/step_generator.go:
//   generateStepsFromDiff (replacementTrigger: shouldTriggerReplace), diff (replaceWith, then the
//   provider's Diff), continueStepsFromDiff (applyReplaceOnChanges, protect refuses a replace,
//   deleteBeforeReplace, create-before-delete with the delete deferred "after all creates/updates"),
//   processIgnoreChanges (PropertyPath.Reset: the old value, or none, stands in for the new one).
// - pulumi/pulumi-go-provider v1.3.0 infer/resource.go Diff/diff: the inputs are compared with
//   the old inputs property by property; a resource without CustomUpdate replaces on any change,
//   one with it replaces only for properties its schema marks replaceOnChanges.
// - pulumi/pulumi-command v1.2.1 provider/pkg/provider/common/inputs.go: `triggers` is
//   replaceOnChanges; the generated SDK also passes the option replaceOnChanges ["triggers[*]"]
//   (node_modules/@pulumi/command/remote/command.js), so any change inside triggers replaces.

/** Stands for a value not known until the apply (preview only). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export type DiffOp = "same" | "update" | "replace";

/** A Pulumi property path, parsed: keys and indices, "*" matching any one element. */
export type PathPart = string | number;

export interface DiffRequest {
  oldInputs: Record<string, unknown>;
  newInputs: Record<string, unknown>;
  /** Top-level properties whose change the provider treats as a replacement; "*" for all (no Update). */
  providerReplaces: string[] | "*";
  /** The resource option replaceOnChanges (including what the SDK adds, e.g. "triggers[*]"). */
  replaceOnChanges?: string[];
  /** The resource option ignoreChanges. */
  ignoreChanges?: string[];
  /** Names of the resources in its replaceWith list that this run replaces. */
  replacedWith?: string[];
  /** The resource option replacementTrigger, this run's and the stored one. */
  replacementTrigger?: { old: unknown; new: unknown };
}

export interface DiffResult {
  op: DiffOp;
  /** Property paths whose values differ (after ignoreChanges), e.g. `stdin`, `triggers[1]`. */
  changed: string[];
  /** Why a replacement: the paths (or `replaceWith: x`, `replacementTrigger`) that force it. */
  replaceBecause: string[];
  /** The new inputs with ignoreChanges applied: what the provider is given. */
  inputs: Record<string, unknown>;
}

export function diffResource(req: DiffRequest): DiffResult {
  const inputs = applyIgnoreChanges(req.oldInputs, req.newInputs, req.ignoreChanges ?? []);
  const changedPaths = diffValues(req.oldInputs, inputs, []);
  const changed = changedPaths.map(formatPath);
  const replaceBecause: string[] = [];

  // replacementTrigger: null on either side means "no trigger"; unknown always counts as changed.
  const trigger = req.replacementTrigger;
  if (trigger && (containsUnknown(trigger.old) || containsUnknown(trigger.new) || (trigger.old != null && trigger.new != null && !deepEqual(trigger.old, trigger.new)))) {
    replaceBecause.push("replacementTrigger");
  }
  for (const name of req.replacedWith ?? []) replaceBecause.push(`replaceWith: ${name}`);

  const optionPaths = (req.replaceOnChanges ?? []).map(parsePropertyPath);
  for (const path of changedPaths) {
    const top = String(path[0]);
    const byProvider = req.providerReplaces === "*" || (path.length === 1 && req.providerReplaces.includes(top));
    const byOption = optionPaths.some((p) => pathContains(p, path));
    if (byProvider || byOption) replaceBecause.push(formatPath(path));
  }
  const op: DiffOp = replaceBecause.length > 0 ? "replace" : changed.length > 0 ? "update" : "same";
  return { op, changed, replaceBecause, inputs };
}

/** Paths at which `a` and `b` differ: objects by key, arrays by index; an unknown differs from anything. */
export function diffValues(a: unknown, b: unknown, at: PathPart[]): PathPart[][] {
  if (b === UNKNOWN || (a === UNKNOWN && b !== UNKNOWN)) return [at];
  if (isObject(a) && isObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) => (k in a && k in b ? diffValues(a[k], b[k], [...at, k]) : isAbsent(a[k]) && isAbsent(b[k]) ? [] : [[...at, k]]));
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    const out: PathPart[][] = [];
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if (i >= a.length || i >= b.length) out.push([...at, i]);
      else out.push(...diffValues(a[i], b[i], [...at, i]));
    }
    return out;
  }
  if (isAbsent(a) && isAbsent(b)) return [];
  return a === b ? [] : [at];
}

/** ignoreChanges: the old value at each path replaces the new one; where there is none, the new one goes. */
export function applyIgnoreChanges(oldInputs: Record<string, unknown>, newInputs: Record<string, unknown>, paths: string[]): Record<string, unknown> {
  let result = structuredClone(newInputs);
  for (const text of paths) {
    const path = parsePropertyPath(text);
    const old = getPath(oldInputs, path);
    result = setPath(result, path, old) as Record<string, unknown>;
  }
  return result;
}

/**
 * Parse a property path as Pulumi writes them: `a.b`, `a[0]`, `a["b.c"]`, `a[*]`, `*`.
 * Throws on malformed text, naming it.
 */
export function parsePropertyPath(text: string): PathPart[] {
  const parts: PathPart[] = [];
  let i = 0;
  const fail = () => {
    throw new Error(`invalid property path ${JSON.stringify(text)}`);
  };
  while (i < text.length) {
    if (text[i] === "[") {
      const close = text.indexOf("]", i);
      if (close < 0) fail();
      const inner = text.slice(i + 1, close);
      if (inner === "*") parts.push("*");
      else if (/^\d+$/.test(inner)) parts.push(Number(inner));
      else if (/^".*"$/.test(inner)) parts.push(JSON.parse(inner) as string);
      else fail();
      i = close + 1;
      if (text[i] === ".") i++;
    } else {
      let end = i;
      while (end < text.length && text[end] !== "." && text[end] !== "[") end++;
      if (end === i) fail();
      parts.push(text.slice(i, end));
      i = end;
      if (text[i] === ".") i++;
    }
  }
  if (parts.length === 0) fail();
  return parts;
}

/** `triggers[1]`, `environment.PGHOST`, `a["b.c"]`. */
export function formatPath(path: PathPart[]): string {
  return path
    .map((p, i) => (typeof p === "number" ? `[${p}]` : /^[A-Za-z_][A-Za-z0-9_]*$/.test(p) || p === "*" ? (i === 0 ? p : `.${p}`) : `[${JSON.stringify(p)}]`))
    .join("");
}

/** PropertyPath.Contains: `pattern` is a prefix of `path`, "*" matching any one element. */
export function pathContains(pattern: PathPart[], path: PathPart[]): boolean {
  if (pattern.length > path.length) return false;
  return pattern.every((p, i) => p === "*" || p === path[i]);
}

export function containsUnknown(value: unknown): boolean {
  if (value === UNKNOWN) return true;
  if (Array.isArray(value)) return value.some(containsUnknown);
  if (isObject(value)) return Object.values(value).some(containsUnknown);
  return false;
}

export function deepEqual(a: unknown, b: unknown): boolean {
  return diffValues(a, b, []).length === 0 && a !== UNKNOWN && b !== UNKNOWN;
}

function getPath(root: unknown, path: PathPart[]): unknown {
  let node = root;
  for (const part of path) {
    if (part === "*" || node === null || typeof node !== "object") return undefined;
    node = (node as Record<string | number, unknown>)[part];
  }
  return node;
}

function setPath(root: unknown, path: PathPart[], value: unknown): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path;
  if (head === "*" || root === null || typeof root !== "object") return root;
  const copy = (Array.isArray(root) ? [...root] : { ...root }) as Record<string | number, unknown>;
  const next = setPath(copy[head], rest, value);
  if (next === undefined && rest.length === 0) {
    if (Array.isArray(copy)) copy[head as number] = undefined;
    else delete copy[head];
  } else copy[head] = next;
  return copy;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function isAbsent(value: unknown): boolean {
  return value === undefined || value === null;
}
