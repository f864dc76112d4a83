/**
 * `npm run bench:apply -- [--runs N]`: against a running lab (`npm run lab` first), times a later
 * `pulumi up` with nothing changed (`lab apply`: the program against the stack's state, every step
 * `same`, no command run) and, as the baseline in the same run, `lab preview` (the same program and
 * diff, no SSH at all). Medians of N runs each, alternating; writes bench/results/lab-apply.json.
 * Needs root and the lab to itself.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { labChanges } from "./failover-lib";
import { median } from "./stats";

const REPO_ROOT = path.resolve(__dirname, "..");

/** Seconds a lab command took, to 0.01 s; fails unless every step was `same`. */
function timedNoChange(command: "apply" | "preview"): number {
    const t0 = process.hrtime.bigint();
    const changing = labChanges(command);
    const sec = Number(process.hrtime.bigint() - t0) / 1e9;
    if (changing.length > 0) throw new Error(`lab ${command} was to change nothing, but: ${changing.join(", ")}`);
    return Math.round(sec * 100) / 100;
}

function main(argv: string[]): void {
    const i = argv.indexOf("--runs");
    const runs = i >= 0 ? Number(argv[i + 1]) : 7;
    const applySec: number[] = [];
    const previewSec: number[] = [];
    for (let n = 0; n < runs; n++) {
        applySec.push(timedNoChange("apply"));
        previewSec.push(timedNoChange("preview"));
        console.error(`run ${n + 1}: apply ${applySec.at(-1)} s, preview ${previewSec.at(-1)} s`);
    }
    const applyMedian = Math.round(median(applySec) * 100) / 100;
    const previewMedian = Math.round(median(previewSec) * 100) / 100;
    const summary = {
        machine: `${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB`,
        measuredAt: new Date().toISOString(),
        command: `npm run bench:apply -- --runs ${runs}`,
        applySec,
        previewSec,
        median: { applyNoChangeSec: applyMedian, previewSec: previewMedian, applyOverPreview: Math.round((applyMedian / previewMedian) * 100) / 100 },
        targets: { applyNoChangeSec: 10 },
    };
    fs.mkdirSync(path.join(REPO_ROOT, "bench", "results"), { recursive: true });
    fs.writeFileSync(path.join(REPO_ROOT, "bench", "results", "lab-apply.json"), JSON.stringify(summary, null, 2) + "\n");
    console.log(JSON.stringify(summary.median));
}

main(process.argv.slice(2));
