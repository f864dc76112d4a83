// Reading stacks/Pulumi.<stack>.yaml the way the Pulumi CLI would hand it to a program.

import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { isPlainObject } from "./values";

export interface StackConfig {
  /** "namespace:key" → value; objects stay objects. */
  config: Record<string, unknown>;
  /** Keys whose value was `secure:` in the file (and was provided another way). */
  secretKeys: string[];
}

export interface LoadStackConfigOptions {
  /** Folder holding Pulumi.yaml and stacks/. @default - the repository root (two folders above this file) */
  projectDir?: string;
  /**
   * Plain values for `secure:` entries, which cannot be decrypted without the Pulumi CLI,
   * by full key ("pulumi-patroni:replicationPassword"). @default {}
   */
  secureValues?: Record<string, string>;
  /**
   * Stand `<secret:KEY>` in for a `secure:` entry that has no plain value, instead of failing:
   * for offline rendering, which shows placeholder secrets anyway. @default false
   */
  securePlaceholders?: boolean;
}

export const REPO_ROOT = path.resolve(__dirname, "..", "..");

/** Load and validate a stack's config; throws naming the file or the key at fault. */
export function loadStackConfig(stack: string, options: LoadStackConfigOptions = {}): StackConfig {
  const projectDir = options.projectDir ?? REPO_ROOT;
  const project = readProjectName(projectDir);
  const file = stackConfigFile(projectDir, stack);
  const document = parseYamlFile(file);
  const rawConfig = document.config ?? {};
  if (!isPlainObject(rawConfig)) {
    throw new Error(`${file}: "config" must be a map of "namespace:key: value", got ${typeof rawConfig}.`);
  }
  const config: Record<string, unknown> = {};
  const secretKeys: string[] = [];
  const undecryptable: string[] = [];
  for (const [rawKey, value] of Object.entries(rawConfig)) {
    // The CLI puts keys without a namespace under the project's.
    const key = rawKey.includes(":") ? rawKey : `${project}:${rawKey}`;
    if (containsSecure(value)) {
      const provided = options.secureValues?.[key] ?? (options.securePlaceholders ? `<secret:${key}>` : undefined);
      if (provided === undefined) undecryptable.push(key);
      else config[key] = provided;
      secretKeys.push(key);
      continue;
    }
    config[key] = value;
  }
  if (undecryptable.length > 0) {
    throw new Error(
      `${file}: ${undecryptable.map((k) => `"${k}"`).join(", ")} ` +
        `${undecryptable.length === 1 ? "is" : "are"} encrypted (secure:) and cannot be decrypted without the Pulumi CLI. ` +
        `Provide the plain value with --secret ${undecryptable[0]}=<value>, or keep lab stacks free of secure: values.`,
    );
  }
  return { config, secretKeys };
}

export function stackConfigFile(projectDir: string, stack: string): string {
  const stacksDir = path.join(projectDir, readStackConfigDir(projectDir));
  const file = path.join(stacksDir, `Pulumi.${stack}.yaml`);
  if (!fs.existsSync(file)) {
    const known = fs.existsSync(stacksDir)
      ? fs.readdirSync(stacksDir).flatMap((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1] ?? [])
      : [];
    throw new Error(
      `No config for stack "${stack}": ${file} does not exist. ` +
        `Known stacks: ${known.length > 0 ? known.join(", ") : "(none)"}.`,
    );
  }
  return file;
}

/** The project name from Pulumi.yaml. @default "project" when there is no Pulumi.yaml */
export function readProjectName(projectDir: string): string {
  const file = path.join(projectDir, "Pulumi.yaml");
  if (!fs.existsSync(file)) return "project";
  const name = parseYamlFile(file).name;
  if (typeof name !== "string" || name === "") throw new Error(`${file}: "name" must be a non-empty string.`);
  return name;
}

/** The nearest folder at or above `start` that holds a Pulumi.yaml, or undefined. */
export function findProjectDir(start: string): string | undefined {
  let dir = path.resolve(start);
  for (;;) {
    if (fs.existsSync(path.join(dir, "Pulumi.yaml"))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

function readStackConfigDir(projectDir: string): string {
  const file = path.join(projectDir, "Pulumi.yaml");
  if (!fs.existsSync(file)) return ".";
  const dir = parseYamlFile(file).stackConfigDir;
  return typeof dir === "string" ? dir : ".";
}

function parseYamlFile(file: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = YAML.parse(fs.readFileSync(file, "utf8"));
  } catch (err) {
    throw new Error(`${file}: not valid YAML: ${(err as Error).message}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (!isPlainObject(parsed)) throw new Error(`${file}: expected a YAML map at the top level.`);
  return parsed;
}

/** True for `{secure: "..."}` anywhere inside a value (structured config may nest them). */
function containsSecure(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(containsSecure);
  if (!isPlainObject(value)) return false;
  const keys = Object.keys(value);
  if (keys.length === 1 && keys[0] === "secure" && typeof value.secure === "string") return true;
  return Object.values(value).some(containsSecure);
}

/** Config as setAllConfig wants it: every value a string, objects as JSON (like the CLI). */
export function toRuntimeConfig(config: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(config).map(([key, value]) => [key, typeof value === "string" ? value : JSON.stringify(value)]),
  );
}
