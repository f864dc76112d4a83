// What a run did (or a preview would do), in the shape `pulumi up` and `pulumi preview` print it.

import type { RecordedResource, RunResult, StepOp } from "./types";

/** One step of a run, as `--json` prints it. */
export interface StepReport {
  op: StepOp;
  name: string;
  type: string;
  urn: string;
  /** Input paths that differ from the stored ones. */
  changed?: string[];
  /** What forces the replacement. */
  replaceBecause?: string[];
  status: RecordedResource["status"];
}

const SYMBOL: Record<StepOp, string> = { create: "+ ", update: "~ ", replace: "+-", delete: "- ", same: "  " };
const DONE: Record<Exclude<StepOp, "same">, [string, string]> = {
  create: ["created", "to create"],
  update: ["updated", "to update"],
  delete: ["deleted", "to delete"],
  replace: ["replaced", "to replace"],
};

/** Every step of the run: registrations (components too, as Pulumi counts them), then deletes. */
export function stepReports(result: Pick<RunResult, "resources" | "deleted">): StepReport[] {
  return [...result.resources, ...result.deleted]
    .filter((r) => r.op !== undefined)
    .map((r) => ({
      op: r.op!,
      name: r.name,
      type: r.type,
      urn: r.urn,
      ...(r.changed ? { changed: r.changed } : {}),
      ...(r.replaceBecause && r.replaceBecause.length > 0 ? { replaceBecause: r.replaceBecause } : {}),
      status: r.status,
    }));
}

/** `Resources:` and its lines, as Pulumi ends an update (or, with preview, a preview). */
export function formatSummary(steps: StepReport[], preview: boolean): string {
  const count = (op: StepOp) => steps.filter((s) => s.op === op && s.status !== "failed").length;
  const lines = ["Resources:"];
  let changes = 0;
  for (const op of ["create", "update", "delete", "replace"] as const) {
    const n = count(op);
    if (n === 0) continue;
    changes += n;
    lines.push(`    ${SYMBOL[op]}${n} ${DONE[op][preview ? 1 : 0]}`);
  }
  const unchanged = count("same");
  lines.push(changes > 0 ? `    ${changes} change${changes === 1 ? "" : "s"}. ${unchanged} unchanged` : `    ${unchanged} unchanged`);
  return lines.join("\n");
}

/** One line per step that changes something: what, and why (which inputs changed). */
export function formatChanges(steps: StepReport[]): string {
  const changing = steps.filter((s) => s.op !== "same");
  if (changing.length === 0) return "no changes";
  const width = Math.max(...changing.map((s) => s.name.length));
  return changing
    .map((s) => {
      const why = s.replaceBecause ? `replace because: ${s.replaceBecause.join(", ")}` : s.changed && s.changed.length > 0 ? `changed: ${s.changed.join(", ")}` : "";
      const failed = s.status === "failed" ? "  FAILED" : "";
      return `  ${SYMBOL[s.op]} ${s.op.padEnd(7)} ${s.name.padEnd(width)}  ${s.type}${why ? `  ${why}` : ""}${failed}`.trimEnd();
    })
    .join("\n");
}
