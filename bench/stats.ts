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
