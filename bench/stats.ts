/** The statistics the benches report, pure: no lab, no I/O. */

export function median(values: number[]): number {
    const s = [...values].sort((a, b) => a - b);
    const mid = Math.floor(s.length / 2);
    return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Smallest, median and largest of some measurements. */
export interface Spread {
    min: number;
    median: number;
    max: number;
}

/** The spread of `values`, each rounded to `digits` decimals; undefined when there are none. */
export function spread(values: number[], digits = 2): Spread | undefined {
    if (!values.length) return undefined;
    return { min: round(Math.min(...values), digits), median: round(median(values), digits), max: round(Math.max(...values), digits) };
}

export function round(x: number, digits = 2): number {
    return Math.round(x * 10 ** digits) / 10 ** digits;
}

/** Seconds from each WAL segment's completion to its archiving, from samples "<epoch seconds> <current WAL segment> <last archived WAL file>" taken in order on one timeline. */
export function archiveLags(lines: string[]): { lagsSec: number[]; segments: number } {
    const completed = new Map<string, number>();
    const archived = new Map<string, number>();
    let previous: string | undefined;
    for (const line of lines) {
        const [at, current, last] = line.trim().split(/\s+/);
        if (!current) continue;
        const t = Number(at);
        // The segment written before is complete once another is current (segment names sort in WAL order on one timeline).
        if (previous && current > previous && !completed.has(previous)) completed.set(previous, t);
        previous = current;
        if (last) for (const s of completed.keys()) if (s <= last && !archived.has(s)) archived.set(s, t);
    }
    const lagsSec = [...completed.entries()].filter(([s]) => archived.has(s)).map(([s, t]) => Math.max(0, archived.get(s)! - t));
    return { lagsSec, segments: completed.size };
}
