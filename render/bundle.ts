/**
 * Every file each host receives, from the plan (render/plan.ts): its configuration files at their
 * real paths, the scripts of its steps under `steps/` in the order they run (`NN-<component>-<step>.sh`,
 * named as their resources are), what each sends on standard input, what each runs when deleted, and
 * `steps/plan.yaml` (what each waits for, checks and applies). Used by `npm run render` and by the
 * tests that run the real tools over it.
 */
import { stringify } from "yaml";
import { HOST_ROLES } from "../model/resolve";
import type { ClusterSecrets, ResolvedCluster } from "../model/types";
import type * as files from "./files";
import { clusterPlan, placeholderSecrets, stepText, type PlannedVolume, type PlanStep } from "./plan";

export { placeholderSecrets };

export interface BundleEntry {
    /** Path inside the host's folder: an absolute host path without its leading `/`, or `steps/...`. */
    path: string;
    content: string;
    /** What checks it: the file's own validator, `shell` for step scripts, `none` for data. */
    validator: files.Validator;
}

export function hostNames(c: ResolvedCluster): string[] {
    return [...new Set(HOST_ROLES.flatMap((role) => c.hosts[role].map((h) => h.name)))];
}

/** A data volume as the mount step sees it: its id (offline renders pass a placeholder) and its provider's mount step. */
export interface DataVolumeInfo extends PlannedVolume {
    volumeId: string;
}

/** A step's name as its resource's, without the cluster's name and the host's: `patroni-start`, `roles`. */
function stepLabel(step: PlanStep): string {
    const name = step.name.endsWith(`-${step.host}`) ? step.name.slice(0, -step.host.length - 1) : step.name;
    return step.component === "cluster" ? name : `${step.component}-${name}`;
}

/**
 * `dataVolumes`: the data volume of each host that has one, by host name (their ids exist only once
 * created: offline renders pass placeholders).
 */
export function renderHostBundle(c: ResolvedCluster, hostName: string, secrets: ClusterSecrets, dataVolumes: Record<string, DataVolumeInfo> = {}): BundleEntry[] {
    const plan = clusterPlan(c, dataVolumes);
    const entries: BundleEntry[] = [];
    const labels = new Map(plan.map((s) => [s.key, s.host === hostName ? stepLabel(s) : `${stepLabel(s)} on ${s.host}`]));
    const listing: Record<string, unknown>[] = [];
    plan.filter((s) => s.host === hostName).forEach((step, i) => {
        const base = `steps/${String(i + 1).padStart(2, "0")}-${stepLabel(step)}`;
        const volumeId = dataVolumes[hostName]?.volumeId ?? "";
        entries.push({ path: `${base}.sh`, content: stepText(step.script, secrets, volumeId), validator: "shell" });
        if (step.onDelete) entries.push({ path: `${base}.on-delete.sh`, content: step.onDelete, validator: "shell" });
        const stdin = step.stdin === undefined ? undefined : stepText(step.stdin, secrets, volumeId);
        // A file step's standard input is the file: it is written at its real path.
        if (step.file) entries.push({ path: step.file.path.replace(/^\//, ""), content: stdin ?? "", validator: step.file.validator });
        else if (stdin !== undefined) entries.push({ path: `${base}.stdin`, content: stdin, validator: "none" });
        const names = (keys: string[]) => keys.map((k) => labels.get(k) ?? k);
        listing.push({
            step: base.slice("steps/".length),
            ...(step.file ? { writes: step.file.path } : {}),
            ...(step.dependsOn.length ? { waitsFor: names(step.dependsOn) } : {}),
            ...(step.after.length ? { checks: names(step.after) } : {}),
            ...(step.applies.length ? { applies: names(step.applies) } : {}),
            timeout: step.timeout,
            ...(step.onDelete ? { onDelete: `${base.slice("steps/".length)}.on-delete.sh` } : {}),
        });
    });
    entries.push({
        path: "steps/plan.yaml",
        content: `# The steps of ${hostName}, in order; each also waits for the steps it names on other hosts.\n${stringify(listing, { lineWidth: 0 })}`,
        validator: "none",
    });
    return entries;
}

/** Every host's bundle, keyed `<host>/<path>` (placeholder secrets unless given). */
export function renderClusterFiles(c: ResolvedCluster, secrets: ClusterSecrets = placeholderSecrets(c), dataVolumes: Record<string, DataVolumeInfo> = {}): Map<string, string> {
    const out = new Map<string, string>();
    for (const host of hostNames(c)) {
        for (const entry of renderHostBundle(c, host, secrets, dataVolumes)) {
            const key = `${host}/${entry.path}`;
            if (out.has(key)) throw new Error(`${key} rendered twice`);
            out.set(key, entry.content);
        }
    }
    return out;
}
