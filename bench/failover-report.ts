/**
 * The failover bench's report, pure (no lab, no I/O): how many runs a scenario gets, the summary
 * per scenario and profile, the markdown table and the SVG chart. bench/failover.ts feeds it the
 * runs it has just measured or, with --report-only, the runs of an existing results file.
 */
import type { RunResult, Scenario } from "./failover-lib";
import { round, spread, type Spread } from "./stats";

/** A profile as the results file records it: the lab stack it ran on and what it sets. */
export interface Profile {
    stack: string;
    label: string;
}

/** bench/results/<out>.json */
export interface ResultsFile {
    command: string;
    measuredAt: string;
    /** The measuring machine's CPU cores (files older than this field do not have it). */
    cores?: number;
    profiles: Record<string, Profile>;
    summary: ScenarioSummary[];
    runs: RunResult[];
}

/** The scenario table's facts a report needs. */
export type ScenarioFacts = Pick<Scenario, "name" | "ttlBound">;

/**
 * Runs per scenario and profile: outages under 10 s vary by fractions of a second against each
 * other, so they get 10 runs; ttl-bound outages (tens of seconds) are told apart by 3.
 */
export const DEFAULT_RUNS = { short: 10, ttlBound: 3 } as const;

/** How many runs `scenario` gets: `override` (--runs) for every scenario, else its default. */
export function runsFor(scenario: ScenarioFacts, override?: number): number {
    return override ?? (scenario.ttlBound ? DEFAULT_RUNS.ttlBound : DEFAULT_RUNS.short);
}

/** One profile's runs of one scenario. */
export interface ProfileSummary {
    profile: string;
    n: number;
    outageSec: Spread;
    backToFullHealthSec: Spread;
    /** The libpq multi-host client's outage (runs that have it; RunResult.libpq). */
    libpqOutageSec?: Spread;
}

/** One scenario under the two profiles compared: the first profile named is the baseline. */
export interface ScenarioSummary {
    scenario: string;
    name: string;
    baseline: ProfileSummary | undefined;
    candidate: ProfileSummary | undefined;
    /** candidate's median outage / baseline's, of the medians as shown (see ratioOf) */
    ratioOfMedians: number | undefined;
    /** Acknowledged rows missing afterwards, summed over every run of both profiles. */
    ackedButMissing: number;
    /** Whether two nodes could acknowledge writes at once in any run of either profile. */
    twoWritablePrimaries: boolean;
    /** Whether two nodes were out of recovery at once in any run (undefined: no run recorded it). */
    twoPrimariesByRole: boolean | undefined;
    /** Rows the libpq client had acknowledged and were missing afterwards, summed over the runs that have it. */
    libpqAckedButMissing: number;
}

/**
 * candidate / baseline, from the medians as the table shows them (so a reader can check it):
 * two decimals, or two significant digits below 0.1 (0.09 s against 24.67 s is 0.0036, not 0).
 * Undefined when either is missing or the baseline is 0.
 */
export function ratioOf(baseline: number | undefined, candidate: number | undefined): number | undefined {
    if (baseline === undefined || candidate === undefined || baseline === 0) return undefined;
    const ratio = candidate / baseline;
    return ratio >= 0.1 ? round(ratio) : Number(ratio.toPrecision(2));
}

/** The profiles in the order the runs first name them: the bench runs the baseline first. */
export function profilesOf(runs: RunResult[]): string[] {
    return [...new Set(runs.map((r) => r.profile))];
}

function profileSummary(runs: RunResult[], profile: string): ProfileSummary | undefined {
    const mine = runs.filter((r) => r.profile === profile);
    const outageSec = spread(mine.map((r) => r.writeOutageSec));
    const backToFullHealthSec = spread(mine.map((r) => r.backToFullHealthSec), 1);
    const libpqOutageSec = spread(mine.flatMap((r) => (r.libpq ? [r.libpq.writeOutageSec] : [])));
    return outageSec && backToFullHealthSec ? { profile, n: mine.length, outageSec, backToFullHealthSec, ...(libpqOutageSec ? { libpqOutageSec } : {}) } : undefined;
}

/** Every scenario that has runs, in the scenario table's order. */
export function summarize(runs: RunResult[], [baseline, candidate]: string[], scenarios: Record<string, ScenarioFacts>): ScenarioSummary[] {
    const unknown = [...new Set(runs.map((r) => r.scenario))].filter((key) => !scenarios[key]);
    if (unknown.length) throw new Error(`runs of scenarios the bench no longer has: ${unknown.join(", ")}; known: ${Object.keys(scenarios).join(", ")}`);
    return Object.keys(scenarios)
        .filter((key) => runs.some((r) => r.scenario === key))
        .map((key) => {
            const mine = runs.filter((r) => r.scenario === key);
            const base = profileSummary(mine, baseline);
            const cand = profileSummary(mine, candidate);
            return {
                scenario: key,
                name: scenarios[key].name,
                baseline: base,
                candidate: cand,
                ratioOfMedians: ratioOf(base?.outageSec.median, cand?.outageSec.median),
                ackedButMissing: mine.reduce((n, r) => n + r.ackedButMissing, 0),
                twoWritablePrimaries: mine.some((r) => r.twoWritablePrimaries),
                twoPrimariesByRole: mine.some((r) => r.twoPrimariesByRole !== undefined) ? mine.some((r) => r.twoPrimariesByRole) : undefined,
                libpqAckedButMissing: mine.reduce((n, r) => n + (r.libpq?.ackedButMissing ?? 0), 0),
            };
        });
}

// ----- markdown --------------------------------------------------------------------------------

const dash = "–";
const spreadCell = (p: ProfileSummary | undefined) => (p ? `${p.outageSec.min} / **${p.outageSec.median}** / ${p.outageSec.max}` : dash);

/**
 * The scenarios that have fewer runs, under either profile, than the bench gives them by default:
 * their spread and ratio rest on fewer runs than the bench asks for.
 */
export function shortOfDefault(summary: ScenarioSummary[], scenarios: Record<string, ScenarioFacts>): ScenarioSummary[] {
    return summary.filter((s) => fewestRuns(s) < runsFor(scenarios[s.scenario]));
}

/** The fewer of the two profiles' run counts (0 for a profile without runs). */
const fewestRuns = (s: ScenarioSummary) => Math.min(s.baseline?.n ?? 0, s.candidate?.n ?? 0);

/** "3 runs: a, b; 5 runs: c", fewest first. */
function shortList(short: ScenarioSummary[]): string {
    const counts = [...new Set(short.map(fewestRuns))].sort((a, b) => a - b);
    return counts.map((n) => `${n} run${n === 1 ? "" : "s"}: ${short.filter((s) => fewestRuns(s) === n).map((s) => s.name).join(", ")}`).join("; ");
}

export function markdown(results: ResultsFile, [baseline, candidate]: string[], scenarios: Record<string, ScenarioFacts>, out: string): string {
    const { summary } = results;
    const n = (p: ProfileSummary | undefined) => String(p?.n ?? 0);
    const machine = results.cores ? ` on ${results.cores} cores` : "";
    const short = shortOfDefault(summary, scenarios);
    const counts = [...new Set(summary.flatMap((s) => [s.baseline?.n, s.candidate?.n]).filter((x) => x !== undefined))].sort((a, b) => a - b);
    const runs = summary.reduce((total, s) => total + (s.baseline?.n ?? 0) + (s.candidate?.n ?? 0), 0);
    return [
        "# Failover bench",
        "",
        `Measured with \`${results.command}\`${machine} (${results.measuredAt.slice(0, 10)}): ${runs} runs, ${counts.join(" or ")} per scenario and profile.`,
        "Write outage: the longest gap between two acknowledged synchronous-commit writes through VIP:5000 (one row every ~50 ms, reconnecting after errors); min / **median** / max over the runs, and the candidate's median over the baseline's. Beside it, the same writes from libpq (psql) straight to the members with a multi-host connection string and `target_session_attrs=read-write`, reconnecting after errors.",
        "Two writable primaries: two nodes that could acknowledge a synchronous commit at once (out of recovery, with a synchronous standby streaming to them or none asked for), probed every 200 ms from inside each node's network namespace. Two primaries by role: two nodes out of recovery at once, whether or not both could acknowledge (a primary left running by a frozen Patroni, its standbys gone to the new one, waits on every commit).",
        "",
        `- ${baseline} (baseline): ${results.profiles[baseline].label}`,
        `- ${candidate} (candidate): ${results.profiles[candidate].label}`,
        "",
        ...(short.length
            ? [
                  `**Fewer runs than the bench's default** (${DEFAULT_RUNS.short} where the outage is under 10 s, ${DEFAULT_RUNS.ttlBound} where it is ttl-bound) — ${shortList(short)}. Their min–max and ratio rest on that many runs until the bench is re-run with its default counts.`,
                  "",
              ]
            : []),
        `| scenario | runs ${baseline} / ${candidate} | outage ${baseline} (s) min / median / max | outage ${candidate} (s) min / median / max | ${candidate}/${baseline} (medians) | libpq multi-host outage ${baseline} / ${candidate} (s, medians) | acked but missing (VIP + libpq) | two writable primaries | two primaries by role | back to full health ${baseline} / ${candidate} (s, medians) |`,
        "|---|---|---|---|---|---|---|---|---|---|",
        ...summary.map((s) =>
            [
                s.name,
                `${n(s.baseline)} / ${n(s.candidate)}`,
                spreadCell(s.baseline),
                spreadCell(s.candidate),
                s.ratioOfMedians ?? dash,
                `${s.baseline?.libpqOutageSec?.median ?? dash} / ${s.candidate?.libpqOutageSec?.median ?? dash}`,
                s.ackedButMissing + s.libpqAckedButMissing,
                s.twoWritablePrimaries ? "**yes**" : "no",
                s.twoPrimariesByRole === undefined ? dash : s.twoPrimariesByRole ? "yes" : "no",
                `${s.baseline?.backToFullHealthSec.median ?? dash} / ${s.candidate?.backToFullHealthSec.median ?? dash}`,
            ].join(" | "),
        ).map((row) => `| ${row} |`),
        "",
        `![write outage per scenario (median, min–max), then acknowledged writes around each fault, every run](${out}.svg)`,
        "",
        `Every run, with its timeline and writer errors: [${out}.json](${out}.json). This page and the chart are rendered from it; \`npm run bench:failover -- --report-only --out ${out}\` renders them again without the lab.`,
        "",
    ].join("\n");
}

// ----- SVG -------------------------------------------------------------------------------------

/**
 * A timeline with its empty buckets put back as zeros, from its first bucket to its last: the
 * writer acknowledged nothing in a bucket the timeline does not list.
 */
export function filledTimeline(timeline: Array<[number, number]>, bucketSec: number): Array<[number, number]> {
    if (!timeline.length) return [];
    const counts = new Map(timeline.map(([t, n]) => [Math.round(t / bucketSec), n]));
    const first = Math.min(...counts.keys());
    const last = Math.max(...counts.keys());
    const filled: Array<[number, number]> = [];
    for (let k = first; k <= last; k++) filled.push([k * bucketSec, counts.get(k) ?? 0]);
    return filled;
}

/**
 * The corners of a step plot of `timeline`, in data units ([seconds, writes]): each bucket's count
 * held flat across the bucket, a vertical line where it changes, so a gap reads as zero writes
 * until the first write after it.
 */
export function stepVertices(timeline: Array<[number, number]>, bucketSec: number): Array<[number, number]> {
    const filled = filledTimeline(timeline, bucketSec);
    if (!filled.length) return [];
    const corners: Array<[number, number]> = [filled[0]];
    for (let i = 1; i < filled.length; i++) {
        const [t, n] = filled[i];
        const before = filled[i - 1][1];
        if (n !== before) corners.push([t, before], [t, n]);
    }
    const [tLast, nLast] = filled[filled.length - 1];
    corners.push([tLast + bucketSec, nLast]);
    return corners;
}

/** 0 and round steps (1, 2 or 5 × 10^k) up to at least `max`, about `target` of them. */
export function niceTicks(max: number, target = 6): number[] {
    if (max <= 0) return [0, 1];
    const raw = max / target;
    const power = 10 ** Math.floor(Math.log10(raw));
    const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw)!;
    const ticks: number[] = [];
    for (let i = 0; i * step < max + step; i++) ticks.push(round(i * step, 6));
    return ticks;
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const px = (x: number) => x.toFixed(1);
const WIDTH = 980;
const ROLE_COLOR = ["#d95f02", "#1b9e77"];

interface Part {
    svg: string;
    height: number;
}

/** One horizontal bar per scenario and profile: the median outage, a whisker from min to max. */
function barChart(summary: ScenarioSummary[], compared: string[], profiles: Record<string, Profile>, top: number): Part {
    const left = 320;
    const right = WIDTH - 120;
    const band = 40;
    const plotTop = top + 92;
    const plotBottom = plotTop + summary.length * band;
    const ticks = niceTicks(Math.max(...summary.flatMap((s) => [s.baseline?.outageSec.max ?? 0, s.candidate?.outageSec.max ?? 0])));
    const x = (sec: number) => left + (sec / ticks[ticks.length - 1]) * (right - left);
    const parts = [
        `<text x="20" y="${top + 22}" font-size="15" font-weight="bold">Write outage per scenario: bar = median, whisker = min–max over the runs</text>`,
        ...compared.map(
            (profile, role) =>
                `<rect x="20" y="${top + 36 + role * 16}" width="10" height="10" fill="${ROLE_COLOR[role]}"/><text x="36" y="${top + 45 + role * 16}" font-size="11"><tspan font-weight="bold">${esc(profile)}</tspan> (${role ? "candidate" : "baseline"}): ${esc(profiles[profile].label)}</text>`,
        ),
        ...ticks.map(
            (t) =>
                `<line x1="${px(x(t))}" y1="${plotTop}" x2="${px(x(t))}" y2="${plotBottom}" stroke="#ddd"/><text x="${px(x(t))}" y="${plotBottom + 14}" font-size="10" text-anchor="middle">${t}</text>`,
        ),
        `<line x1="${left}" y1="${plotBottom}" x2="${right}" y2="${plotBottom}" stroke="#333"/>`,
        `<line x1="${left}" y1="${plotTop}" x2="${left}" y2="${plotBottom}" stroke="#333"/>`,
        `<text x="${(left + right) / 2}" y="${plotBottom + 32}" font-size="12" text-anchor="middle">outage (s)</text>`,
        `<text x="${left - 10}" y="${plotTop - 6}" font-size="12" text-anchor="end">scenario</text>`,
    ];
    summary.forEach((s, i) => {
        const y0 = plotTop + i * band;
        parts.push(`<text x="${left - 10}" y="${y0 + band / 2 + 4}" font-size="11" text-anchor="end">${esc(s.name)}</text>`);
        [s.baseline, s.candidate].forEach((p, role) => {
            if (!p) return;
            const cy = y0 + 11 + role * 16;
            const { min, median, max } = p.outageSec;
            const attrs = `data-scenario="${esc(s.scenario)}" data-profile="${esc(p.profile)}"`;
            parts.push(
                `<rect class="median" ${attrs} x="${left}" y="${cy - 6}" width="${px(x(median) - left)}" height="12" fill="${ROLE_COLOR[role]}"/>`,
                `<line class="whisker" ${attrs} x1="${px(x(min))}" y1="${cy}" x2="${px(x(max))}" y2="${cy}" stroke="#222"/>`,
                ...[min, max].map((v) => `<line x1="${px(x(v))}" y1="${cy - 4}" x2="${px(x(v))}" y2="${cy + 4}" stroke="#222"/>`),
                `<text x="${px(x(max) + 6)}" y="${cy + 4}" font-size="10">${median} s (n = ${p.n})</text>`,
            );
        });
    });
    return { svg: parts.join("\n"), height: plotBottom + 44 - top };
}

/** One panel per scenario and profile: every run's writes per bucket as a step line. */
function timelines(summary: ScenarioSummary[], runs: RunResult[], compared: string[], bucketSec: number, top: number): Part {
    const left = 80;
    const gap = 40;
    const panelW = (WIDTH - left - 20 - gap) / 2;
    const rowH = 116;
    const plotH = 70;
    const rowsTop = top + 52;
    const all = runs.flatMap((r) => r.timeline);
    const tMin = Math.floor(Math.min(0, ...all.map(([t]) => t)));
    const tMax = Math.ceil((Math.max(10, ...all.map(([t]) => t)) + bucketSec) / 10) * 10;
    const yMax = Math.max(1, ...all.map(([, n]) => n));
    const timeTicks = niceTicks(tMax).filter((t) => t <= tMax);
    const parts = [
        `<text x="20" y="${top + 22}" font-size="15" font-weight="bold">Acknowledged writes around each fault (at 0, dashed), one step line per run</text>`,
        ...compared.map(
            (profile, role) =>
                `<text x="${px(left + role * (panelW + gap) + panelW / 2)}" y="${top + 44}" font-size="13" font-weight="bold" text-anchor="middle" fill="${ROLE_COLOR[role]}">${esc(profile)} (${role ? "candidate" : "baseline"})</text>`,
        ),
    ];
    const rowsBottom = rowsTop + summary.length * rowH;
    summary.forEach((s, row) => {
        const rowTop = rowsTop + row * rowH;
        const plotTop = rowTop + 20;
        const plotBottom = plotTop + plotH;
        parts.push(`<text x="${left}" y="${rowTop + 12}" font-size="12">${esc(s.name)}</text>`);
        compared.forEach((profile, role) => {
            const ox = left + role * (panelW + gap);
            const x = (t: number) => ox + ((t - tMin) / (tMax - tMin)) * panelW;
            const y = (n: number) => plotBottom - (n / yMax) * plotH;
            parts.push(
                ...timeTicks.map((t) => `<text x="${px(x(t))}" y="${plotBottom + 13}" font-size="9" text-anchor="middle">${t}</text>`),
                ...[0, yMax].map((n) => `<text x="${ox - 4}" y="${px(y(n) + 3)}" font-size="9" text-anchor="end">${n}</text>`),
                `<line x1="${px(x(0))}" y1="${plotTop}" x2="${px(x(0))}" y2="${plotBottom}" stroke="#999" stroke-dasharray="3,3"/>`,
                `<polyline fill="none" stroke="#333" points="${px(ox)},${plotTop} ${px(ox)},${plotBottom} ${px(ox + panelW)},${plotBottom}"/>`,
            );
            for (const r of runs.filter((r) => r.scenario === s.scenario && r.profile === profile)) {
                const points = stepVertices(r.timeline, bucketSec).map(([t, n]) => `${px(x(t))},${px(y(n))}`);
                parts.push(`<polyline class="run" data-scenario="${esc(s.scenario)}" data-profile="${esc(profile)}" fill="none" stroke="${ROLE_COLOR[role]}" stroke-opacity="0.6" points="${points.join(" ")}"/>`);
            }
        });
    });
    const midY = (rowsTop + rowsBottom) / 2;
    parts.push(
        `<text transform="translate(28,${midY}) rotate(-90)" font-size="12" text-anchor="middle">acknowledged writes per ${bucketSec * 1000} ms</text>`,
        ...compared.map((_, role) => `<text x="${px(left + role * (panelW + gap) + panelW / 2)}" y="${rowsBottom + 6}" font-size="12" text-anchor="middle">time since fault (s)</text>`),
    );
    return { svg: parts.join("\n"), height: rowsBottom + 20 - top };
}

/** The bar chart first, then every run's timeline. */
export function svg(summary: ScenarioSummary[], runs: RunResult[], compared: string[], profiles: Record<string, Profile>, bucketSec: number): string {
    const bars = barChart(summary, compared, profiles, 0);
    const lines = timelines(summary, runs, compared, bucketSec, bars.height + 10);
    const height = bars.height + 10 + lines.height;
    return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
${bars.svg}
${lines.svg}
</svg>
`;
}
