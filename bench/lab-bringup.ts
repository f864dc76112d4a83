/**
 * `npm run bench:lab -- [--runs N] [--cold-runs M] [--stack lab] [--out lab-bringup-debian13]`: times the lab (the stack's
 * release) from nothing to a healthy cluster
 * and its teardown, and reports medians. Warm runs keep the debootstrap base and the apt cache;
 * cold runs delete both first (the machine still has the npm packages and the lab's own apt tools).
 * Writes bench/results/<out>.json. Needs root and the lab to itself.
 */
import { lab } from "./failover-lib";
import { median } from "./stats";
import * as fs from "fs";
import * as path from "path";

const REPO_ROOT = path.resolve(__dirname, "..");
const LAB_DIR = "/var/lib/pgha-lab";

/** Seconds a lab command took, to 0.1 s. */
function timed(args: string[]): number {
    const t0 = process.hrtime.bigint();
    lab(...args);
    return Math.round(Number(process.hrtime.bigint() - t0) / 1e8) / 10;
}

/** Medians to 0.1 s, like the timings they summarize. */
const median01 = (values: number[]) => Math.round(median(values) * 10) / 10;

function main(argv: string[]): void {
    const arg = (name: string, fallback: number) => {
        const i = argv.indexOf(name);
        return i >= 0 ? Number(argv[i + 1]) : fallback;
    };
    const warmRuns = arg("--runs", 3);
    const coldRuns = arg("--cold-runs", 1);
    const text = (name: string, fallback: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : fallback);
    const stack = text("--stack", "lab");
    const out = text("--out", "lab-bringup-debian13");
    const runs: Array<{ kind: "cold" | "warm"; upSec: number; downSec: number }> = [];
    timed(["down"]);
    for (let i = 0; i < coldRuns + warmRuns; i++) {
        const kind = i < coldRuns ? "cold" : "warm";
        if (kind === "cold") {
            // Every release's cached base root (base-<suite>), and the apt cache.
            const bases = fs.readdirSync(LAB_DIR).filter((d) => d.startsWith("base"));
            for (const dir of [...bases, "acng/cache"]) fs.rmSync(path.join(LAB_DIR, dir), { recursive: true, force: true });
        }
        const upSec = timed(["up", "--stack", stack]);
        const downSec = timed(["down"]);
        runs.push({ kind, upSec, downSec });
        console.error(`${kind} run ${i + 1}: up ${upSec} s, down ${downSec} s`);
    }
    const of = (kind: string, key: "upSec" | "downSec") => runs.filter((r) => r.kind === kind).map((r) => r[key]);
    const summary = {
        machine: `${require("os").cpus().length} cores, ${Math.round(require("os").totalmem() / 2 ** 30)} GiB`,
        measuredAt: new Date().toISOString(),
        command: `npm run bench:lab -- --runs ${warmRuns} --cold-runs ${coldRuns} --stack ${stack} --out ${out}`,
        runs,
        median: {
            coldUpSec: coldRuns ? median01(of("cold", "upSec")) : null,
            warmUpSec: warmRuns ? median01(of("warm", "upSec")) : null,
            downSec: median01(runs.map((r) => r.downSec)),
        },
        targets: { coldUpSec: 200, warmUpSec: 150, downSec: 15 },
    };
    fs.mkdirSync(path.join(REPO_ROOT, "bench", "results"), { recursive: true });
    fs.writeFileSync(path.join(REPO_ROOT, "bench", "results", `${out}.json`), JSON.stringify(summary, null, 2) + "\n");
    console.log(JSON.stringify(summary.median));
}

main(process.argv.slice(2));
