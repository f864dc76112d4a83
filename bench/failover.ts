/**
 * `npm run bench:failover -- [--runs N] [--scenarios a,b] [--profiles seeds,ours] [--out failover] [--merge] [--report-only]`
 *
 * Every fault scenario under two profiles in the same run: by default the seed guides' settings
 * (stack `lab-seeds`: Patroni ttl 30 / loop_wait 10 / retry_timeout 10, HAProxy inter 3s fall 3
 * rise 2) and this project's defaults (stack `lab`); PROFILES below lists the others. Each profile bootstraps a fresh lab (Patroni's
 * timings are bootstrap settings). Writes bench/results/<out>.json (every run), <out>.md and
 * <out>.svg. Needs root and the lab to itself.
 *
 * Runs per scenario and profile: 10 where the outage is under 10 s, 3 where it is ttl-bound (the
 * scenario table's `ttlBound`; bench/failover-report.ts's runsFor); `--runs N` gives every
 * scenario N. The default counts make 224 runs over the two profiles (10 short scenarios × 10 and 4
 * ttl-bound ones × 3, each), roughly four and a half hours; `--runs 3` about one and a half.
 *
 * `--merge` keeps the runs of bench/results/<out>.json whose scenarios this run does not measure (a
 * scenario measured now replaces its earlier runs); the page names both commands.
 *
 * `--report-only` touches no lab: it reads bench/results/<out>.json and writes its summary, <out>.md
 * and <out>.svg again from the runs in it (`--profiles` to choose the two compared, else the order
 * in which the runs name them).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { lab, runScenario, SCENARIOS, TIMELINE_BUCKET_SEC, type RunResult } from "./failover-lib";
import { markdown, profilesOf, runsFor, summarize, svg, type Profile, type ResultsFile } from "./failover-report";
import { patroniVersion } from "../model/distro";
import { readStackSettings } from "../tools/render";

const REPO_ROOT = path.resolve(__dirname, "..");
const RESULTS = path.join(REPO_ROOT, "bench", "results");
/** Each profile: its lab stack and what it is; the label adds what the stack sets, read from it (profileOf). */
const PROFILES: Record<string, { stack: string; what: string }> = {
    seeds: { stack: "lab-seeds", what: "seed guides" },
    ours: { stack: "lab", what: "pulumi-patroni default" },
    plain: { stack: "lab-plain", what: "pulumi-patroni default with tls.enabled: false (HAProxy checks the REST API over HTTP)" },
    nofailsafe: { stack: "lab-nofailsafe", what: "pulumi-patroni default with failsafeMode: false (a primary that loses etcd steps down)" },
    debian12: { stack: "lab-debian12", what: "pulumi-patroni default on Debian 12 (the lab has no watchdog)" },
    strict: { stack: "lab-strict", what: "pulumi-patroni default with synchronousModeStrict (no commit without a synchronous standby)" },
    sync: { stack: "lab-sync", what: "pulumi-patroni default with one named synchronous standby (the default where Patroni < 4)" },
};

/** A profile as the results record it: its label names the failover settings its stack resolves to. */
export function profileOf(name: string): Profile {
    const { stack, what } = PROFILES[name];
    const c = readStackSettings(stack).cluster;
    const p = c.patroni;
    const h = c.haproxy;
    const settings = [
        `${c.os}, Patroni ${patroniVersion(c.os, c.packageSource)}, TLS ${c.tls.enabled ? "on" : "off"}`,
        `ttl ${p.ttlSec}, loop_wait ${p.loopWaitSec}, retry_timeout ${p.retryTimeoutSec}, synchronousMode ${p.synchronousMode}${p.synchronousModeStrict ? " (strict)" : ""}, failsafe ${p.failsafeMode ? "on" : "off"}, wal_sender_timeout ${p.parameters.wal_sender_timeout ?? "60s"}`,
        `HAProxy inter ${h.checkIntervalMs}ms fastinter ${h.checkFastIntervalMs}ms downinter ${h.checkDownIntervalMs}ms fall ${h.checkFall} rise ${h.checkRise}, timeout connect ${h.connectTimeoutMs}ms retries ${h.connectRetries}`,
        ...(c.keepalived ? [`VRRP advert ${c.keepalived.advertIntervalSec}s`] : []),
    ];
    return { stack, label: `${what} (${settings.join("; ")})` };
}

/** bench/results/<out>.json as a run of this bench wrote it. */
function readResults(out: string): ResultsFile {
    return JSON.parse(fs.readFileSync(path.join(RESULTS, `${out}.json`), "utf8")) as ResultsFile;
}

/** `--profiles`: a baseline and a candidate, both of `known`. */
function comparedProfiles(names: string[], known: Record<string, unknown>): string[] {
    if (names.length !== 2 || names.some((p) => !known[p])) throw new Error(`--profiles names a baseline and a candidate, of ${Object.keys(known).join(", ")}; got ${names.join(",")}`);
    return names;
}

/** bench/results/<out>.json with the summary of its runs made again, then <out>.md and <out>.svg from it. */
function writeResults(measured: Omit<ResultsFile, "summary">, compared: string[], out: string): string {
    const { command, measuredAt, cores, profiles, runs } = measured;
    const results: ResultsFile = { command, measuredAt, cores, profiles, summary: summarize(runs, compared, SCENARIOS), runs };
    const md = markdown(results, compared, SCENARIOS, out);
    fs.mkdirSync(RESULTS, { recursive: true });
    fs.writeFileSync(path.join(RESULTS, `${out}.json`), JSON.stringify(results, null, 1) + "\n");
    fs.writeFileSync(path.join(RESULTS, `${out}.md`), md);
    fs.writeFileSync(path.join(RESULTS, `${out}.svg`), svg(results.summary, runs, compared, profiles, TIMELINE_BUCKET_SEC));
    return md;
}

async function main(argv: string[]): Promise<void> {
    const arg = (name: string) => {
        const i = argv.indexOf(name);
        return i >= 0 ? argv[i + 1] : undefined;
    };
    // Results go to bench/results/<out>.{json,md,svg}.
    const out = arg("--out") ?? "failover";
    if (argv.includes("--report-only")) {
        const measured = readResults(out);
        const compared = comparedProfiles(arg("--profiles")?.split(",") ?? profilesOf(measured.runs), measured.profiles);
        console.log(writeResults(measured, compared, out));
        return;
    }
    const runsArg = arg("--runs");
    const runs = runsArg === undefined ? undefined : Number(runsArg);
    if (runs !== undefined && !(Number.isInteger(runs) && runs >= 1)) throw new Error(`--runs is a whole number of runs per scenario and profile, at least 1; got ${runsArg}`);
    const scenarios = (arg("--scenarios") ?? Object.keys(SCENARIOS).join(",")).split(",");
    const profiles = comparedProfiles((arg("--profiles") ?? "seeds,ours").split(","), PROFILES);
    for (const s of scenarios) if (!SCENARIOS[s]) throw new Error(`unknown scenario ${s}: ${Object.keys(SCENARIOS).join(", ")}`);
    const thisCommand = `npm run bench:failover -- ${argv.join(" ")}`.trim();
    const previous = argv.includes("--merge") ? readResults(out) : undefined;
    const command = previous ? `${previous.command}\`, then \`${thisCommand}` : thisCommand;
    const results: RunResult[] = [];
    for (const profile of profiles) {
        console.error(`== profile ${profile}: lab up --stack ${PROFILES[profile].stack}`);
        lab("up", "--stack", PROFILES[profile].stack);
        for (const scenario of scenarios) {
            for (let run = 1; run <= runsFor(SCENARIOS[scenario], runs); run++) {
                const r = await runScenario(scenario, profile, run, (m) => console.error(m));
                results.push(r);
                console.error(
                    `   outage ${r.writeOutageSec}s (libpq ${r.libpq?.writeOutageSec}s), acked ${r.acknowledged}, missing ${r.ackedButMissing} (libpq ${r.libpq?.ackedButMissing}), two writable primaries ${r.twoWritablePrimaries}, by role ${r.twoPrimariesByRole}, healthy after ${r.backToFullHealthSec}s`,
                );
                fs.mkdirSync(RESULTS, { recursive: true });
                fs.writeFileSync(path.join(RESULTS, "failover.partial.json"), JSON.stringify(results) + "\n");
            }
        }
    }
    lab("down");
    // --merge: the earlier runs of the scenarios not measured now stay.
    const kept = previous ? previous.runs.filter((r) => !scenarios.includes(r.scenario)) : [];
    const measuredProfiles = { ...previous?.profiles, ...Object.fromEntries(profiles.map((name) => [name, profileOf(name)])) };
    console.log(writeResults({ command, measuredAt: new Date().toISOString(), cores: os.cpus().length, profiles: measuredProfiles, runs: [...kept, ...results] }, profiles, out));
    fs.rmSync(path.join(RESULTS, "failover.partial.json"), { force: true });
}

if (require.main === module) {
    main(process.argv.slice(2)).catch((err) => {
        console.error(err);
        process.exit(1);
    });
}
