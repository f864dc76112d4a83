// The parameter checks made at preview (model/postgres-catalog.ts) against the real server's verdict:
// for several hundred values across every parameter type, this machine's PostgreSQL 15
// (`postgres -D <dir> -C name -c name=value`) and the catalog check must agree — accepted or refused,
// and when refused, with the same message and hint.
import { execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { POSTGRES_CATALOGS, catalogsFor, checkParameterValue, lookupParameter, parseBool, type PostgresParameter } from "../model/postgres-catalog";
import { PGDG_POSTGRES_VERSIONS } from "../model/distro";
import { LOCAL_PG_BIN_DIR } from "./helpers/realtools";

const catalog = POSTGRES_CATALOGS[15];

/** Values to try for a parameter: by type, rotating through spellings PostgreSQL treats differently. */
function valuesFor(p: PostgresParameter, i: number): string[] {
    const pick = (list: string[], n: number) => Array.from({ length: n }, (_, k) => list[(i * n + k) % list.length]);
    switch (p.type) {
        case "bool":
            return pick(["on", "OFF", "of", "o", "t", "TRU", "truex", "yes", "n", "1", "0", "2", "", "offf"], 3);
        case "enum":
            return [p.enum![0].toUpperCase(), ...Object.keys(p.aliases ?? {}).slice(0, 1), "bogus"];
        case "integer":
        case "real": {
            const memory = ["B", "kB", "8kB", "MB"].includes(p.unit ?? "");
            const good = memory ? "2MB" : p.unit ? "3min" : "7";
            const wrongUnit = memory ? "3 s" : p.unit ? "3 MB" : "3 kB";
            const spellings = ["lots", `${Number(p.min) - 1}`, `${Number(p.max) + 1}`, "1.5", "0x10", good, wrongUnit, "5 MB", "64kB", "1e3", " 12 ", "2.5GB", "10us", "1d", "nan", "-0"];
            return pick(spellings, 3);
        }
        default:
            return [];
    }
}

interface Verdict {
    accepted: boolean;
    message?: string;
    hint?: string;
}

/** What this machine's postgres makes of `name = value` (as postgresql.conf would give it). */
function postgresVerdict(dataDir: string, name: string, value: string): Promise<Verdict> {
    return new Promise((resolve, reject) => {
        const child = spawn("runuser", ["-u", "postgres", "--", `${LOCAL_PG_BIN_DIR}/postgres`, "-D", dataDir, "-C", name, "-c", `${name}=${value}`]);
        let stderr = "";
        child.stderr.on("data", (d) => (stderr += d));
        child.on("error", reject);
        child.on("close", (code) => {
            const line = (level: string) => new RegExp(`${level}:\\s+(.*)$`, "m").exec(stderr)?.[1];
            resolve(code === 0 ? { accepted: true } : { accepted: false, message: line("FATAL"), ...(line("HINT") ? { hint: line("HINT") } : {}) });
        });
    });
}

async function pool<T, R>(items: T[], width: number, work: (item: T) => Promise<R>): Promise<R[]> {
    const results: R[] = new Array(items.length);
    let next = 0;
    await Promise.all(
        Array.from({ length: width }, async () => {
            while (next < items.length) {
                const i = next++;
                results[i] = await work(items[i]);
            }
        }),
    );
    return results;
}

describe("the PostgreSQL 15 catalog against the real postgres 15", () => {
    let dataDir: string;
    beforeAll(() => {
        if (!fs.existsSync(`${LOCAL_PG_BIN_DIR}/postgres`)) throw new Error(`${LOCAL_PG_BIN_DIR}/postgres is missing: install it with \`apt-get install postgresql-15\``);
        dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "pg-catalog-test-"));
        fs.writeFileSync(path.join(dataDir, "postgresql.conf"), "");
        fs.writeFileSync(path.join(dataDir, "postgresql.auto.conf"), "");
        const owner = (flag: string) => Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8" }).trim());
        for (const f of [dataDir, path.join(dataDir, "postgresql.conf"), path.join(dataDir, "postgresql.auto.conf")]) fs.chownSync(f, owner("-u"), owner("-g"));
    });
    afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

    it("was generated from PostgreSQL 15, as this machine's server is", () => {
        expect(catalog.version).toMatch(/^15\./);
        // Every major version the project installs has a catalog, or both neighbours to speak for it.
        for (const v of PGDG_POSTGRES_VERSIONS) expect(catalogsFor(v).catalogs.length, `PostgreSQL ${v}`).toBeGreaterThan(0);
    });

    it("agrees with postgres -C on every type: accepted, or refused with the same message and hint", async () => {
        const cases = catalog.parameters
            .filter((p) => p.context !== "internal")
            .flatMap((p, i) => valuesFor(p, i).map((value) => ({ p, value })));
        // Parameters PostgreSQL fixes at build time, and names it does not know.
        cases.push({ p: lookupParameter(catalog, "block_size")!, value: "8192" });
        expect(cases.length).toBeGreaterThan(500);
        const real = await pool(cases, 4, ({ p, value }) => postgresVerdict(dataDir, p.name, value));
        // A minor release may add a parameter (15.20 has composite_type_mismatch, 15.18 has not): a
        // server older than the catalog's does not know those, and only those may be missing.
        const serverVersion = /\d+\.\d+/.exec(execFileSync(`${LOCAL_PG_BIN_DIR}/postgres`, ["--version"], { encoding: "utf8" }))![0];
        const minor = (v: string) => Number(/^\d+\.(\d+)/.exec(v)?.[1]);
        const unknownHere = new Set(cases.filter((_, i) => real[i].message === `unrecognized configuration parameter "${cases[i].p.name}"`).map((c) => c.p.name));
        if (unknownHere.size > 0) {
            expect(minor(serverVersion), `this server (${serverVersion}) lacks ${[...unknownHere].join(", ")}: only an older minor than the catalog's (${catalog.version}) may`).toBeLessThan(minor(catalog.version));
            expect(unknownHere.size).toBeLessThanOrEqual(3);
        }
        const disagreements = cases.flatMap(({ p, value }, i) => {
            if (unknownHere.has(p.name)) return [];
            const ours = checkParameterValue(p, value);
            const theirs = real[i];
            const same = theirs.accepted ? ours === undefined : ours !== undefined && ours.message === theirs.message && ours.hint === theirs.hint;
            return same ? [] : [`${p.name} (${p.type}${p.unit ? `, ${p.unit}` : ""}) = ${JSON.stringify(value)}: postgres ${JSON.stringify(theirs)}, catalog ${JSON.stringify(ours ?? "accepted")}`];
        });
        expect(disagreements).toEqual([]);
        // Both verdicts occur: the comparison is not trivially one-sided.
        expect(real.filter((r) => r.accepted).length).toBeGreaterThan(100);
        expect(real.filter((r) => !r.accepted).length).toBeGreaterThan(100);
    }, 120_000);
});

describe("catalog checks", () => {
    it("reads booleans as parse_bool does", () => {
        expect([parseBool("ON"), parseBool("of"), parseBool("o"), parseBool("tru"), parseBool("1"), parseBool("10")]).toEqual([true, false, undefined, true, true, undefined]);
    });

    it("speaks for a version without a catalog with its neighbours", () => {
        const { exact, catalogs } = catalogsFor(16);
        expect(exact).toBe(false);
        expect(catalogs.map((c) => c.version.split(".")[0])).toEqual(["15", "17"]);
        expect(catalogsFor(17)).toEqual({ exact: true, catalogs: [POSTGRES_CATALOGS[17]] });
    });
});
