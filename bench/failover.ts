/**
 * `npm run bench:failover -- [--runs 3] [--scenarios a,b] [--profiles seeds,ours] [--out failover]`
 *
 * Every fault scenario under two profiles in the same run: the seed guides' settings (stack
 * `lab-seeds`: Patroni ttl 30 / loop_wait 10 / retry_timeout 10, HAProxy inter 3s fall 3 rise 2)
 * and this project's defaults (stack `lab`). Each profile bootstraps a fresh lab (Patroni's
 * timings are bootstrap settings). Writes bench/results/failover.json, failover.md and
 * failover.svg. Needs root and the lab to itself; takes about an hour for 3 runs.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { lab, runScenario, SCENARIOS, type RunResult } from "./failover-lib";
import { median } from "./stats";

const REPO_ROOT = path.resolve(__dirname, "..");
const RESULTS = path.join(REPO_ROOT, "bench", "results");
const PROFILES: Record<string, { stack: string; label: string }> = {
    seeds: { stack: "lab-seeds", label: "seed guides (ttl 30, loop_wait 10, retry_timeout 10; inter 3s fall 3 rise 2)" },
    ours: { stack: "lab", label: "pulumi-patroni default (ttl 20, loop_wait 5, retry_timeout 7; inter 1s fall 2 rise 2; on Debian 13 synchronousMode quorum)" },
    sync: { stack: "lab-sync", label: "pulumi-patroni default with synchronousMode: true (one named synchronous standby; the default where Patroni < 4)" },
};

const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

/** One scenario's medians: the first profile named is the baseline, the second the candidate. */
interface Summary {
    scenario: string;
    name: string;
    baseline: string;
    candidate: string;
    baselineOutageSec: number | null;
    candidateOutageSec: number | null;
    ratio: number | null;
    ackedButMissing: number;
    twoWritablePrimaries: boolean;
    baselineBackToHealthSec: number | null;
    candidateBackToHealthSec: number | null;
}

function summarize(results: RunResult[], [baseline, candidate]: string[]): Summary[] {
    return Object.keys(SCENARIOS)
        .filter((key) => results.some((r) => r.scenario === key))
        .map((key) => {
            const of = (profile: string, pick: (r: RunResult) => number) => {
                const values = results.filter((r) => r.scenario === key && r.profile === profile).map(pick);
                return values.length ? round(median(values)) : null;
            };
            const base = of(baseline, (r) => r.writeOutageSec);
            const cand = of(candidate, (r) => r.writeOutageSec);
            const mine = results.filter((r) => r.scenario === key);
            return {
                scenario: key,
                name: SCENARIOS[key].name,
                baseline,
                candidate,
                baselineOutageSec: base,
                candidateOutageSec: cand,
                ratio: base && cand !== null ? round(cand / base) : null,
                ackedButMissing: mine.reduce((n, r) => n + r.ackedButMissing, 0),
                twoWritablePrimaries: mine.some((r) => r.twoWritablePrimaries),
                baselineBackToHealthSec: of(baseline, (r) => r.backToFullHealthSec),
                candidateBackToHealthSec: of(candidate, (r) => r.backToFullHealthSec),
            };
        });
}

function markdown(summary: Summary[], runs: number, command: string, [baseline, candidate]: string[], svgName: string): string {
    const cell = (v: number | null) => (v === null ? "–" : String(v));
    return [
        "# Failover bench",
        "",
        `Measured with \`${command}\` on ${os.cpus().length} cores (${new Date().toISOString().slice(0, 10)}); ${runs} run(s) per scenario and profile; medians.`,
        `Write outage: the longest gap between two acknowledged synchronous-commit writes through VIP:5000 (one row every ~50 ms, reconnecting after errors).`,
        "",
        `- ${baseline}: ${PROFILES[baseline].label}`,
        `- ${candidate}: ${PROFILES[candidate].label}`,
        "",
        `| scenario | outage ${baseline} (s) | outage ${candidate} (s) | ${candidate}/${baseline} | acked but missing | two writable primaries | back to full health ${baseline} / ${candidate} (s) |`,
        "|---|---|---|---|---|---|---|",
        ...summary.map(
            (s) =>
                `| ${s.name} | ${cell(s.baselineOutageSec)} | ${cell(s.candidateOutageSec)} | ${cell(s.ratio)} | ${s.ackedButMissing} | ${s.twoWritablePrimaries ? "**yes**" : "no"} | ${cell(s.baselineBackToHealthSec)} / ${cell(s.candidateBackToHealthSec)} |`,
        ),
        "",
        `![acknowledged writes around each fault](${svgName})`,
        "",
    ].join("\n");
}

/** Small multiples: acknowledged writes per 250 ms around the fault (t = 0), first run of each profile. */
function svg(results: RunResult[], [baseline, candidate]: string[]): string {
    const keys = Object.keys(SCENARIOS).filter((k) => results.some((r) => r.scenario === k));
    const cols = 3;
    const w = 320;
    const h = 150;
    const pad = 30;
    const rows = Math.ceil(keys.length / cols);
    const colors: Record<string, string> = { [baseline]: "#d95f02", [candidate]: "#1b9e77" };
    const tMin = -3;
    const tMax = 60;
    const x = (t: number) => pad + ((t - tMin) / (tMax - tMin)) * (w - pad - 10);
    const y = (n: number) => h - 25 - (n / 6) * (h - 50);
    const panels = keys.map((key, i) => {
        const ox = (i % cols) * w;
        const oy = Math.floor(i / cols) * h;
        const lines = [baseline, candidate].map((profile) => {
            const run = results.find((r) => r.scenario === key && r.profile === profile);
            if (!run) return "";
            const points = run.timeline.filter(([t]) => t >= tMin && t <= tMax).map(([t, n]) => `${x(t).toFixed(1)},${y(Math.min(n, 6)).toFixed(1)}`);
            return `<polyline fill="none" stroke="${colors[profile]}" stroke-width="1.2" points="${points.join(" ")}"/>`;
        });
        return `<g transform="translate(${ox},${oy})">
<text x="${pad}" y="14" font-size="11">${SCENARIOS[key].name}</text>
<line x1="${x(0)}" y1="20" x2="${x(0)}" y2="${h - 25}" stroke="#999" stroke-dasharray="3,3"/>
<line x1="${pad}" y1="${h - 25}" x2="${w - 10}" y2="${h - 25}" stroke="#333"/>
<text x="${x(0) - 4}" y="${h - 12}" font-size="9">0</text><text x="${x(30) - 6}" y="${h - 12}" font-size="9">30 s</text><text x="${x(60) - 10}" y="${h - 12}" font-size="9">60 s</text>
${lines.join("\n")}
</g>`;
    });
    return `<svg xmlns="http://www.w3.org/2000/svg" width="${cols * w}" height="${rows * h + 30}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
${panels.join("\n")}
<text x="10" y="${rows * h + 20}" font-size="11"><tspan fill="${colors[baseline]}">— ${baseline}</tspan>  <tspan fill="${colors[candidate]}">— ${candidate}</tspan>  acknowledged writes per 250 ms; fault at 0 (dashed)</text>
</svg>
`;
}

async function main(argv: string[]): Promise<void> {
    const arg = (name: string) => {
        const i = argv.indexOf(name);
        return i >= 0 ? argv[i + 1] : undefined;
    };
    const runs = Number(arg("--runs") ?? 3);
    const scenarios = (arg("--scenarios") ?? Object.keys(SCENARIOS).join(",")).split(",");
    const profiles = (arg("--profiles") ?? "seeds,ours").split(",");
    if (profiles.length !== 2 || profiles.some((p) => !PROFILES[p])) throw new Error(`--profiles names a baseline and a candidate, of ${Object.keys(PROFILES).join(", ")}`);
    // Results go to bench/results/<out>.{json,md,svg}.
    const out = arg("--out") ?? "failover";
    for (const s of scenarios) if (!SCENARIOS[s]) throw new Error(`unknown scenario ${s}: ${Object.keys(SCENARIOS).join(", ")}`);
    const command = `npm run bench:failover -- ${argv.join(" ")}`.trim();
    const results: RunResult[] = [];
    for (const profile of profiles) {
        console.error(`== profile ${profile}: lab up --stack ${PROFILES[profile].stack}`);
        lab("up", "--stack", PROFILES[profile].stack);
        for (const scenario of scenarios) {
            for (let run = 1; run <= runs; run++) {
                const r = await runScenario(scenario, profile, run, (m) => console.error(m));
                results.push(r);
                console.error(`   outage ${r.writeOutageSec}s, acked ${r.acknowledged}, missing ${r.ackedButMissing}, two primaries ${r.twoWritablePrimaries}, healthy after ${r.backToFullHealthSec}s`);
                fs.mkdirSync(RESULTS, { recursive: true });
                fs.writeFileSync(path.join(RESULTS, "failover.partial.json"), JSON.stringify(results) + "\n");
            }
        }
    }
    lab("down");
    const summary = summarize(results, profiles);
    fs.writeFileSync(path.join(RESULTS, `${out}.json`), JSON.stringify({ command, measuredAt: new Date().toISOString(), profiles: PROFILES, summary, runs: results }, null, 1) + "\n");
    fs.writeFileSync(path.join(RESULTS, `${out}.md`), markdown(summary, runs, command, profiles, `${out}.svg`));
    fs.writeFileSync(path.join(RESULTS, `${out}.svg`), svg(results, profiles));
    fs.rmSync(path.join(RESULTS, "failover.partial.json"), { force: true });
    console.log(markdown(summary, runs, command, profiles, `${out}.svg`));
}

if (require.main === module) {
    main(process.argv.slice(2)).catch((err) => {
        console.error(err);
        process.exit(1);
    });
}
