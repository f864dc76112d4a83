/**
 * `npm run bench:day2 -- [--stack lab] [--rounds N] [--out day2] [--matrix all|settings|topology] [--data-gb 1]`:
 * the day-2 change matrix and the topology changes (bench/day2-lib.ts) on the running lab. Before the
 * topology changes the database is grown to --data-gb GB (pgbench), and the member added is timed
 * from the start of its apply to streaming with lag 0 (brought up first when it is down), each change applied with
 * the writer running through VIP:5000: apply time, the longest write gap, acknowledged-but-missing
 * rows, and whether the live checks passed; medians over the rounds. Writes bench/results/<out>.{json,md}.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { applyChange, day2Matrix, loadData, topologyMatrix, type Day2Change, type Day2Result } from "./day2-lib";
import { lab, patroniMembers, sleep } from "./failover-lib";
import { median } from "./stats";
import { readStackSettings } from "../tools/render";

function arg(argv: string[], name: string, fallback: string): string {
    const i = argv.indexOf(name);
    return i >= 0 && argv[i + 1] ? argv[i + 1] : fallback;
}

async function main(argv: string[]): Promise<void> {
    const stack = arg(argv, "--stack", "lab");
    const rounds = Number(arg(argv, "--rounds", "1"));
    const out = arg(argv, "--out", "day2");
    const which = arg(argv, "--matrix", "all");
    const dataGb = Number(arg(argv, "--data-gb", "1"));
    const cluster = readStackSettings(stack).cluster;
    // The lab's hosts must run the stack already (lab up); otherwise bring it up first.
    const status = spawnSync("npx", ["tsx", path.join(__dirname, "..", "lab", "cli.ts"), "status"], { encoding: "utf8" });
    if (status.status !== 0 || /running=no/.test(status.stdout) || !/running=yes/.test(status.stdout)) lab("up", "--stack", stack);
    const baseline: Day2Change = { name: "the stack file as it is", kind: "revert", config: {}, verify: async () => undefined };
    const matrix = [
        ...(which === "topology" ? [] : day2Matrix(cluster)),
        ...(which === "settings" ? [] : topologyMatrix(stack)),
    ];
    const results: Day2Result[][] = [];
    const streaming: number[] = [];
    for (let round = 1; round <= rounds; round++) {
        for (const change of [baseline, ...matrix]) {
            console.error(`== round ${round}/${rounds}: ${change.name}`);
            if (change.kind === "topology" && change === matrix.find((c) => c.kind === "topology") && dataGb > 0) loadData(dataGb);
            const added = /^add Patroni member (\S+)/.exec(change.name)?.[1];
            const timer = added ? timeToStreaming(added) : undefined;
            const r = await applyChange(stack, change);
            if (timer) {
                const sec = await timer.stop();
                console.error(`   ${added} streaming ${sec} s after it registered with Patroni`);
                if (sec !== undefined) streaming.push(sec);
            }
            console.error(`   apply ${r.applySec} s, longest write gap ${r.maxGapSec} s, ${r.acknowledged} acknowledged, ${r.missing.length} missing, ${r.verified ? "checks passed" : `CHECKS FAILED: ${r.error}`}`);
            const at = [baseline, ...matrix].indexOf(change);
            (results[at] ??= []).push(r);
            if (r.error && !r.verified && /lab apply failed/.test(r.error)) throw new Error(`${change.name}: ${r.error}`);
        }
    }
    const summary = results.map((runs) => ({
        name: runs[0].name,
        kind: runs[0].kind,
        rounds: runs.length,
        applySecMedian: median(runs.map((r) => r.applySec)),
        maxGapSecMedian: median(runs.map((r) => r.maxGapSec)),
        maxGapSecWorst: Math.max(...runs.map((r) => r.maxGapSec)),
        maxVipHolders: Math.max(...runs.map((r) => r.maxVipHolders)),
        acknowledged: runs.reduce((n, r) => n + r.acknowledged, 0),
        missing: runs.reduce((n, r) => n + r.missing.length, 0),
        verified: runs.every((r) => r.verified),
        ran: runs[0].ran,
    }));
    const dir = path.join(__dirname, "results");
    fs.mkdirSync(dir, { recursive: true });
    const replica = streaming.length ? { dataGb, timeToStreamingSec: streaming, median: median(streaming) } : undefined;
    fs.writeFileSync(path.join(dir, `${out}.json`), JSON.stringify({ stack, os: cluster.os, rounds, when: new Date().toISOString(), replica, summary, runs: results }, null, 2) + "\n");
    const md = [
        `# Day-2 changes with writes flowing (stack ${stack}, ${cluster.os}, ${rounds} round${rounds > 1 ? "s" : ""})`,
        "",
        "`npm run bench:day2 -- --stack " + stack + " --rounds " + rounds + "`. A writer inserts a row every ~50 ms through VIP:5000 (synchronous commit) during each `lab apply`, and the VIP's holders are sampled every ~250 ms; medians over the rounds. Changes accumulate in this order; a refused one is not kept; the last goes back to the stack file.",
        "",
        "| change | needs | apply s | longest write gap s (median / worst) | VIP holders at once (max) | acknowledged | missing | live checks |",
        "|---|---|---:|---:|---:|---:|---:|---|",
        ...summary.map((s) => `| ${s.name} | ${s.kind} | ${s.applySecMedian} | ${s.maxGapSecMedian} / ${s.maxGapSecWorst} | ${s.maxVipHolders} | ${s.acknowledged} | ${s.missing} | ${s.verified ? "passed" : "FAILED"} |`),
        "",
        ...(replica
            ? [`A member added to a ${dataGb} GB database (pgbench): streaming with lag 0 ${replica.timeToStreamingSec.join(", ")} s after it registered with Patroni, i.e. started cloning (median ${replica.median} s; polled every second).`, ""]
            : []),
    ].join("\n");
    fs.writeFileSync(path.join(dir, `${out}.md`), md);
    console.log(md);
    if (summary.some((s) => !s.verified || s.missing > 0)) process.exit(1);
}

/** Grows the database to about `gb` GB with pgbench on the primary (its local socket, as postgres: no password). */

/**
 * Seconds from the moment `member` registers with Patroni (it started and clones) until it is a
 * replica with lag 0 (polled every second), until stopped.
 */
function timeToStreaming(member: string): { stop(): Promise<number | undefined> } {
    let registered: number | undefined;
    let running = true;
    let reached: number | undefined;
    const done = (async () => {
        while (running && reached === undefined) {
            const m = (patroniMembers() ?? []).find((x) => x.name === member);
            if (m && registered === undefined) registered = Date.now();
            // "streaming" on Patroni 4; Patroni 3.0.2 says "running" for a replica.
            if (m && registered !== undefined && ["streaming", "running"].includes(m.state) && m.lag === 0) reached = Math.round((Date.now() - registered) / 100) / 10;
            await sleep(1000);
        }
    })();
    return {
        async stop() {
            running = false;
            await done;
            return reached;
        },
    };
}

main(process.argv.slice(2)).catch((err) => {
    console.error((err as Error).message);
    process.exit(1);
});
