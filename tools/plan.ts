// Offline preview: `npm run plan -- --stack <name> [--json]`.
//
// Runs the program under the engine stand-in with placeholder outputs and lists
// the resources it would create, in creation order, with what each waits for.
// With --json, stdout holds exactly one JSON array and nothing else (progress
// and the program's own output go to stderr); secrets show as "[secret]".
//
// With --against-state FILE (a stack's state, e.g. the lab's) or --against-stack NAME (another
// stack file, e.g. main's version of this one), it is a `pulumi preview` instead: what a
// `pulumi up` would run on each host — create, update, replace, delete — and which inputs
// changed; --json prints {steps, summary}.

import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseArgs } from "util";
import { EngineError, formatChanges, formatSummary, loadStackConfig, redactSecrets, RecordedResource, runProgram, stepReports } from "./engine";
import { findProjectDir, REPO_ROOT } from "./engine/stackConfig";

const USAGE = `Usage: npm run plan -- --stack <name> [--json] [--program <path>] [--secret <key>=<value>]... [--timeout <seconds>]

  --stack     stack whose stacks/Pulumi.<name>.yaml config to use (required)
  --json      print one JSON array of resources to stdout, nothing else
  --program   Pulumi program to preview (default: index.ts at the repository root)
  --secret    plain value for a secure: config key, e.g. --secret pulumi-patroni:adminPassword=x
  --timeout   give up after this many seconds (default: 120)
  --against-state <file>   preview against a saved stack state (e.g. /var/lib/pgha-lab/stacks/lab.json)
  --against-stack <name>   preview against what stacks/Pulumi.<name>.yaml deploys (e.g. a copy of main's)`;

/** One resource as printed by --json. */
export interface PlannedResource {
  name: string;
  type: string;
  parent: string | null;
  waitsFor: string[];
  inputs: Record<string, unknown>;
}

export function toPlannedResource(resource: RecordedResource): PlannedResource {
  return {
    name: resource.name,
    type: resource.type,
    parent: resource.parent ?? null,
    waitsFor: resource.waitsFor,
    inputs: redactSecrets(resource.inputs, resource.secretInputPaths),
  };
}

/** One line per resource: type, name, parent, and what it waits for. */
export function formatPlan(resources: RecordedResource[]): string {
  const typeWidth = Math.max(...resources.map((r) => r.type.length), 4);
  const nameWidth = Math.max(...resources.map((r) => r.name.length), 4);
  const lines = resources.map((r) => {
    const parent = r.parent ? `parent: ${r.parent}` : "";
    const waits = r.waitsFor.length > 0 ? `waits for: ${r.waitsFor.join(", ")}` : "";
    return [r.type.padEnd(typeWidth), r.name.padEnd(nameWidth), [parent, waits].filter(Boolean).join("  ")].join("  ").trimEnd();
  });
  const custom = resources.filter((r) => r.custom).length;
  return `${lines.join("\n")}\n\n${resources.length} resources (${custom} custom, ${resources.length - custom} components)\n`;
}

interface PlanArgs {
  stack: string;
  json: boolean;
  programPath: string;
  secureValues: Record<string, string>;
  timeoutMs: number;
  againstState?: string;
  againstStack?: string;
}

function parsePlanArgs(argv: string[]): PlanArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      stack: { type: "string" },
      json: { type: "boolean", default: false },
      program: { type: "string" },
      secret: { type: "string", multiple: true, default: [] },
      timeout: { type: "string", default: "120" },
      "against-state": { type: "string" },
      "against-stack": { type: "string" },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  if (!values.stack) throw new Error(`--stack is required.\n${USAGE}`);
  const secureValues: Record<string, string> = {};
  for (const pair of values.secret ?? []) {
    const at = pair.indexOf("=");
    if (at <= 0) throw new Error(`--secret expects <key>=<value>, got "${pair}".`);
    secureValues[pair.slice(0, at)] = pair.slice(at + 1);
  }
  const timeoutSec = Number(values.timeout);
  if (!(timeoutSec > 0)) throw new Error(`--timeout must be a positive number of seconds, got "${values.timeout}".`);
  return {
    stack: values.stack,
    json: values.json ?? false,
    programPath: path.resolve(values.program ?? path.join(REPO_ROOT, "index.ts")),
    secureValues,
    timeoutMs: timeoutSec * 1000,
    againstState: values["against-state"],
    againstStack: values["against-stack"],
  };
}

/** `pulumi preview` of this stack against a state: a saved one, or the one another stack file would leave. */
async function previewAgainst(args: PlanArgs, projectDir: string): Promise<void> {
  let stateFile = args.againstState;
  if (stateFile && !fs.existsSync(stateFile)) throw new Error(`--against-state: no state at ${stateFile}.`);
  if (args.againstStack) {
    stateFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "plan-state-")), "state.json");
    const base = loadStackConfig(args.againstStack, { projectDir, secureValues: args.secureValues });
    process.stderr.write(`plan: deploying stack "${args.againstStack}" offline to have a state to compare with\n`);
    await runProgram({ programPath: args.programPath, stack: args.stack, config: base.config, secretKeys: base.secretKeys, mode: "plan", stateFile, timeoutMs: args.timeoutMs });
  }
  const { config, secretKeys } = loadStackConfig(args.stack, { projectDir, secureValues: args.secureValues });
  const result = await runProgram({ programPath: args.programPath, stack: args.stack, config, secretKeys, mode: "plan", stateFile, preview: true, timeoutMs: args.timeoutMs });
  const steps = stepReports(result);
  if (args.json) process.stdout.write(`${JSON.stringify({ steps, summary: formatSummary(steps, true) }, null, 2)}\n`);
  else process.stdout.write(`${formatChanges(steps)}\n\n${formatSummary(steps, true)}\n`);
  if (args.againstStack) fs.rmSync(path.dirname(stateFile!), { recursive: true, force: true });
}

async function main(): Promise<void> {
  const args = parsePlanArgs(process.argv.slice(2));
  const projectDir = findProjectDir(path.dirname(args.programPath)) ?? REPO_ROOT;
  if (args.againstState || args.againstStack) return previewAgainst(args, projectDir);
  const { config, secretKeys } = loadStackConfig(args.stack, { projectDir, secureValues: args.secureValues });
  process.stderr.write(`plan: running ${path.relative(process.cwd(), args.programPath)} for stack "${args.stack}" (offline, placeholder outputs)\n`);
  const result = await runProgram({
    programPath: args.programPath,
    stack: args.stack,
    config,
    secretKeys,
    mode: "plan",
    timeoutMs: args.timeoutMs,
  });
  if (args.json) process.stdout.write(`${JSON.stringify(result.resources.map(toPlannedResource), null, 2)}\n`);
  else process.stdout.write(formatPlan(result.resources));
}

if (require.main === module) {
  main().catch((err: unknown) => {
    const message = err instanceof EngineError || err instanceof Error ? err.message : String(err);
    process.stderr.write(`plan failed: ${message}\n`);
    process.exit(1);
  });
}
