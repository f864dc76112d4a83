// The failover bench's report (bench/failover-report.ts): its statistics, its run counts, the
// markdown table and the SVG chart, from made-up runs and from the committed results. The bench
// itself needs the lab; none of this does.
import * as fs from "fs";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { SCENARIOS, TIMELINE_BUCKET_SEC, type RunResult } from "../bench/failover-lib";
import {
    DEFAULT_RUNS,
    filledTimeline,
    markdown,
    niceTicks,
    profilesOf,
    ratioOf,
    runsFor,
    stepVertices,
    summarize,
    svg,
    type ResultsFile,
    type ScenarioFacts,
} from "../bench/failover-report";
import { median, spread } from "../bench/stats";
import { requireTool, run } from "./helpers/realtools";
import { profileOf } from "../bench/failover";
import { readStackSettings } from "../tools/render";

const scenarios: Record<string, ScenarioFacts> = {
    kill: { name: "kill & <restart>" },
    poweroff: { name: "power-off", ttlBound: true },
};

/** A run whose writer wrote 5 per bucket from -2 s to 10 s except for `gapSec` after the fault. */
function runOf(scenario: string, profile: string, outage: number, extra: Partial<RunResult> = {}): RunResult {
    const timeline: Array<[number, number]> = [];
    for (let t = -2; t < 10; t += 0.25) if (t < 0.25 || t >= 0.25 + outage) timeline.push([t, 5]);
    return { scenario, profile, run: 1, writeOutageSec: outage, acknowledged: 0, ackedButMissing: 0, twoWritablePrimaries: false, backToFullHealthSec: 10 + outage, timeline, errors: [], ...extra };
}

const profiles = { base: { stack: "lab-base", label: "the baseline" }, cand: { stack: "lab", label: "the candidate" } };

describe("statistics", () => {
    it("takes the median of an even count as the mean of the middle two, without reordering its input", () => {
        const values = [4, 1, 3, 2];
        expect(median(values)).toBe(2.5);
        expect(values).toEqual([4, 1, 3, 2]);
        expect(median([3, 1, 2])).toBe(2);
    });

    it("spreads to min, median and max, rounded", () => {
        expect(spread([3.774, 1.119, 2.171])).toEqual({ min: 1.12, median: 2.17, max: 3.77 });
        expect(spread([])).toBeUndefined();
    });

    it("divides the medians as shown, keeping two significant digits below 0.1", () => {
        expect(ratioOf(2.17, 4.95)).toBe(2.28);
        expect(ratioOf(24.67, 0.09)).toBe(0.0036);
        expect(ratioOf(0, 1)).toBeUndefined();
        expect(ratioOf(undefined, 1)).toBeUndefined();
    });

    it("rounds axis ticks to 1, 2 or 5 steps that reach the largest value", () => {
        expect(niceTicks(35.61)).toEqual([0, 10, 20, 30, 40]);
        expect(niceTicks(0.09)).toEqual([0, 0.02, 0.04, 0.06, 0.08, 0.1]);
        expect(niceTicks(40)).toEqual([0, 10, 20, 30, 40]);
    });
});

describe("run counts", () => {
    it("gives short outages 10 runs and ttl-bound ones 3, and --runs every scenario", () => {
        expect(runsFor(scenarios.kill)).toBe(10);
        expect(runsFor(scenarios.poweroff)).toBe(3);
        expect(runsFor(scenarios.poweroff, 7)).toBe(7);
        expect(runsFor(scenarios.kill, 1)).toBe(1);
    });

    it("marks exactly the scenarios whose outage waits for the ttl", () => {
        const ttlBound = Object.entries(SCENARIOS).filter(([, s]) => s.ttlBound).map(([key]) => key);
        expect(ttlBound).toEqual(["primary-poweroff", "primary-network-cut", "sync-standby-poweroff", "patroni-freeze"]);
    });
});

describe("summary", () => {
    const runs = [
        runOf("poweroff", "base", 30),
        runOf("kill", "base", 1),
        runOf("kill", "base", 2, { ackedButMissing: 1 }),
        runOf("kill", "base", 4),
        runOf("kill", "base", 3),
        runOf("kill", "cand", 5, { twoWritablePrimaries: true, ackedButMissing: 2 }),
        runOf("kill", "cand", 7),
    ];
    const [kill, poweroff] = summarize(runs, ["base", "cand"], scenarios);

    it("lists the scenarios in the table's order, with min, median and max per profile", () => {
        expect(kill.scenario).toBe("kill");
        expect(kill.baseline).toEqual({ profile: "base", n: 4, outageSec: { min: 1, median: 2.5, max: 4 }, backToFullHealthSec: { min: 11, median: 12.5, max: 14 } });
        expect(kill.candidate).toMatchObject({ profile: "cand", n: 2, outageSec: { min: 5, median: 6, max: 7 } });
        expect(kill.ratioOfMedians).toBe(2.4);
    });

    it("sums lost rows and flags two primaries over both profiles' runs", () => {
        expect(kill.ackedButMissing).toBe(3);
        expect(kill.twoWritablePrimaries).toBe(true);
        expect(poweroff.ackedButMissing).toBe(0);
        expect(poweroff.twoWritablePrimaries).toBe(false);
    });

    it("has no candidate and no ratio where the candidate has no runs", () => {
        expect(poweroff.candidate).toBeUndefined();
        expect(poweroff.ratioOfMedians).toBeUndefined();
    });

    it("refuses runs of a scenario the table does not have", () => {
        expect(() => summarize([runOf("gone", "base", 1)], ["base", "cand"], scenarios)).toThrow(/gone/);
    });

    it("takes the profiles in the order the runs first name them", () => {
        expect(profilesOf([runOf("kill", "cand", 1), runOf("kill", "base", 1), runOf("poweroff", "cand", 1)])).toEqual(["cand", "base"]);
    });
});

describe("markdown", () => {
    const file = (runs: RunResult[]): ResultsFile => ({ command: "npm run bench:failover", measuredAt: "2026-11-21T22:53:40.012Z", cores: 2, profiles, runs, summary: summarize(runs, ["base", "cand"], scenarios) });
    const times = (k: number, make: () => RunResult) => Array.from({ length: k }, make);

    it("shows each profile's runs, min / median / max, the ratio, lost rows and two primaries", () => {
        const md = markdown(file([runOf("kill", "base", 1), runOf("kill", "base", 3), runOf("kill", "base", 2), runOf("kill", "cand", 1)]), ["base", "cand"], scenarios, "x");
        expect(md).toContain("| kill & <restart> | 3 / 1 | 1 / **2** / 3 | 1 / **1** / 1 | 0.5 | – / – | 0 | no | – | 12 / 11 |");
        expect(md).toContain("on 2 cores (2026-11-21): 4 runs, 1 or 3 per scenario and profile");
        expect(md).toContain("![");
    });

    it("shows the libpq client's median outage beside the VIP client's, its lost rows with the VIP client's, and two primaries by role", () => {
        const libpq = (outage: number, missing = 0) => ({ libpq: { writeOutageSec: outage, acknowledged: 100, ackedButMissing: missing } });
        const md = markdown(
            file([
                runOf("kill", "base", 1, { ...libpq(4), twoPrimariesByRole: false }),
                runOf("kill", "base", 3, { ...libpq(6), twoPrimariesByRole: true }),
                runOf("kill", "cand", 1, { ...libpq(2, 2), twoPrimariesByRole: false, ackedButMissing: 1 }),
            ]),
            ["base", "cand"],
            scenarios,
            "x",
        );
        expect(md).toContain("| kill & <restart> | 2 / 1 | 1 / **2** / 3 | 1 / **1** / 1 | 0.5 | 5 / 2 | 3 | no | yes | 12 / 11 |");
    });

    it("says which scenarios have fewer runs than the default, and nothing when none has", () => {
        const short = markdown(file([...times(3, () => runOf("kill", "base", 1)), ...times(3, () => runOf("kill", "cand", 1))]), ["base", "cand"], scenarios, "x");
        expect(short).toMatch(/Fewer runs than the bench's default.*3 runs: kill & <restart>\./);
        const enough = file([
            ...times(DEFAULT_RUNS.short, () => runOf("kill", "base", 1)),
            ...times(DEFAULT_RUNS.short, () => runOf("kill", "cand", 1)),
            ...times(DEFAULT_RUNS.ttlBound, () => runOf("poweroff", "base", 30)),
            ...times(DEFAULT_RUNS.ttlBound, () => runOf("poweroff", "cand", 20)),
        ]);
        expect(markdown(enough, ["base", "cand"], scenarios, "x")).not.toContain("Fewer runs");
    });
});

describe("timeline step plot", () => {
    // Writes at 0 and 0.25, none from 0.5 to 1.5, writes again at 1.5.
    const timeline: Array<[number, number]> = [
        [0, 5],
        [0.25, 4],
        [1.5, 3],
    ];

    it("puts the buckets without writes back as zeros", () => {
        expect(filledTimeline(timeline, 0.25)).toEqual([
            [0, 5],
            [0.25, 4],
            [0.5, 0],
            [0.75, 0],
            [1, 0],
            [1.25, 0],
            [1.5, 3],
        ]);
    });

    it("drops vertically to zero at the gap, stays there, and rises where writes resume", () => {
        expect(stepVertices(timeline, 0.25)).toEqual([
            [0, 5],
            [0.25, 5],
            [0.25, 4],
            [0.5, 4],
            [0.5, 0],
            [1.5, 0],
            [1.5, 3],
            [1.75, 3],
        ]);
    });

    it("draws nothing for an empty timeline", () => {
        expect(stepVertices([], 0.25)).toEqual([]);
    });
});

describe("SVG", () => {
    const runs = [runOf("kill", "base", 1), runOf("kill", "base", 2), runOf("kill", "base", 4), runOf("kill", "cand", 3), runOf("poweroff", "base", 5), runOf("poweroff", "cand", 2)];
    const summary = summarize(runs, ["base", "cand"], scenarios);
    const chart = svg(summary, runs, ["base", "cand"], profiles, 0.25);
    const attr = (element: string, name: string) => Number(new RegExp(`\\b${name}="([^"]+)"`).exec(element)![1]);
    const element = (tag: string, cls: string, scenario: string, profile: string) =>
        new RegExp(`<${tag} class="${cls}" data-scenario="${scenario}" data-profile="${profile}"[^>]*>`).exec(chart)![0];

    it("is well-formed XML, names with & and < included", () => {
        const python = requireTool("python3", "python3");
        const parsed = run(python, ["-c", "import sys, xml.dom.minidom; print(xml.dom.minidom.parseString(sys.stdin.buffer.read()).documentElement.tagName)"], { input: chart });
        expect(parsed).toEqual({ status: 0, output: "svg" });
    });

    it("draws the bar to the median and the whisker from min to max on the same scale", () => {
        const bar = element("rect", "median", "kill", "base");
        const whisker = element("line", "whisker", "kill", "base");
        const left = attr(bar, "x");
        const perSec = attr(bar, "width") / 2; // median 2 s
        expect(attr(whisker, "x1")).toBeCloseTo(left + 1 * perSec, 0);
        expect(attr(whisker, "x2")).toBeCloseTo(left + 4 * perSec, 0);
    });

    it("has labelled axes and a legend naming both profiles", () => {
        for (const text of ["outage (s)", "time since fault (s)", "acknowledged writes per 250 ms", "the baseline", "the candidate", "kill &amp; &lt;restart&gt;"]) expect(chart).toContain(text);
    });

    it("draws every run as a step line that lies on zero for as long as its gap", () => {
        expect(chart.match(/<polyline class="run"/g)).toHaveLength(runs.length);
        const line = element("polyline", "run", "poweroff", "base");
        const points = /points="([^"]+)"/.exec(line)![1].split(" ").map((p) => p.split(",").map(Number));
        const zero = Math.max(...points.map(([, y]) => y)); // SVG's y grows downwards
        const flat = points.filter(([, y]) => y === zero).map(([x]) => x);
        const span = points[points.length - 1][0] - points[0][0];
        // 12 s of timeline, 5 s of it without writes
        expect((Math.max(...flat) - Math.min(...flat)) / span).toBeCloseTo(5 / 12, 2);
    });
});

describe("committed results", () => {
    // bench/results/<out>.{md,svg} are what `npm run bench:failover -- --report-only --out <out>` renders from <out>.json.
    for (const out of ["failover", "failover-quorum", "failover-sync", "failover-faults"]) {
        it(`${out}.md and ${out}.svg are rendered from ${out}.json`, () => {
            const dir = path.join(__dirname, "..", "bench", "results");
            const results = JSON.parse(fs.readFileSync(path.join(dir, `${out}.json`), "utf8")) as ResultsFile;
            const compared = profilesOf(results.runs);
            expect(summarize(results.runs, compared, SCENARIOS)).toEqual(results.summary);
            expect(markdown(results, compared, SCENARIOS, out)).toBe(fs.readFileSync(path.join(dir, `${out}.md`), "utf8"));
            expect(svg(results.summary, results.runs, compared, results.profiles, TIMELINE_BUCKET_SEC)).toBe(fs.readFileSync(path.join(dir, `${out}.svg`), "utf8"));
        });
    }
});

describe("profile labels", () => {
    it("name the settings each profile's stack resolves to, read from the stack", () => {
        const ours = readStackSettings("lab").cluster;
        expect(profileOf("ours")).toEqual({ stack: "lab", label: expect.stringContaining(`ttl ${ours.patroni.ttlSec}, loop_wait ${ours.patroni.loopWaitSec}, retry_timeout ${ours.patroni.retryTimeoutSec}`) });
        expect(profileOf("ours").label).toContain(`fall ${ours.haproxy.checkFall} rise ${ours.haproxy.checkRise}, timeout connect ${ours.haproxy.connectTimeoutMs}ms retries ${ours.haproxy.connectRetries}`);
        expect(profileOf("seeds").label).toMatch(/^seed guides \(debian13, Patroni 4\.0\.7, TLS on; ttl 30, loop_wait 10, retry_timeout 10, .*wal_sender_timeout 60s; HAProxy inter 3000ms fastinter 3000ms downinter 3000ms fall 3 rise 2, timeout connect 4000ms retries 2; VRRP advert 1s\)$/);
        expect(profileOf("strict").label).toContain("synchronousMode true (strict)");
        expect(profileOf("nofailsafe").label).toContain("failsafe off");
        expect(profileOf("debian12").label).toContain("debian12, Patroni 3.0.2");
    });
});
