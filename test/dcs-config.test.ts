// The dcs-config step's script (templates/patroni-dcs-config.sh.hbs), run for real with bash and
// python3 against a fake Patroni REST API on 127.0.0.1-3: what it patches, and in which order it
// restarts members — and that no replica ever runs a max_connections below its primary's, which
// PostgreSQL would refuse (a hot standby needs at least the primary's value).
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import type { ClusterSpec } from "../model/types";
import { resolveCluster } from "../model/resolve";
import { dcsConfig } from "../render/patroni";
import { patroniDcsConfigScript } from "../render/files";
import { freePort, LOCAL_PG_BIN_DIR } from "./helpers/realtools";

const PASSWORD = "rest-api-secret";
const NAMES = ["pg1", "pg2", "pg3"];

interface FakeMember {
    name: string;
    role: "leader" | "sync_standby" | "replica";
    pending_restart?: boolean;
    /** What the member's PostgreSQL runs with now. */
    maxConnections: number;
    /** WAL replayed (a replica); it catches up with the primary one poll after being asked. */
    replayed: number;
}

/** A three-member Patroni cluster behind three REST APIs sharing one state, recording what it was asked. */
async function fakeCluster(port: number, config: Record<string, unknown>, passwordAppliesAfterMs = 0) {
    // A REST API password just rotated: the members take it only once their reload has run.
    const passwordApplied = Date.now() + passwordAppliesAfterMs;
    const members: FakeMember[] = [
        { name: "pg1", role: "leader", maxConnections: 200, replayed: 1000 },
        { name: "pg2", role: "sync_standby", maxConnections: 200, replayed: 1000 },
        { name: "pg3", role: "replica", maxConnections: 200, replayed: 1000 },
    ];
    // The primary's WAL position; its restart writes the new settings to the WAL, and a replica's
    // control file holds them only once it has replayed that far (before, Patroni uses the old ones).
    let lsn = 1000;
    let settingsAt = { lsn: 0, maxConnections: 200, before: 200 };
    const calls: string[] = [];
    const violations: string[] = [];
    const desiredMax = () => Number((config.postgresql as { parameters: Record<string, unknown> }).parameters.max_connections);
    const leader = () => members.find((m) => m.role === "leader")!;
    const check = () => {
        for (const m of members) if (m.role !== "leader" && m.maxConnections < leader().maxConnections) violations.push(`${m.name} ${m.maxConnections} < primary ${leader().maxConnections}`);
    };
    const servers = await Promise.all(
        NAMES.map(
            (name, i) =>
                new Promise<http.Server>((resolve) => {
                    const server = http.createServer((req, res) => {
                        let body = "";
                        req.on("data", (c) => (body += c));
                        req.on("end", () => {
                            const send = (code: number, value?: unknown) => {
                                // Patroni answers JSON for /config and /cluster, plain text for /restart and /switchover.
                                const text = typeof value === "string";
                                res.writeHead(code, { "Content-Type": text ? "text/plain" : "application/json" });
                                res.end(value === undefined ? "" : text ? value : JSON.stringify(value));
                            };
                            const authorized = Date.now() >= passwordApplied && req.headers.authorization === `Basic ${Buffer.from(`patroni:${PASSWORD}`).toString("base64")}`;
                            if (req.method !== "GET" && !authorized) return send(401);
                            if (req.method === "GET" && req.url === "/config") return send(200, config);
                            if (req.method === "GET" && req.url === "/patroni") {
                                const m = members.find((x) => x.name === name)!;
                                if (m.role === "leader") return send(200, { xlog: { location: lsn } });
                                const replayed = m.replayed;
                                m.replayed = lsn;
                                return send(200, { xlog: { received_location: lsn, replayed_location: replayed } });
                            }
                            if (req.method === "GET" && req.url === "/cluster") {
                                return send(200, { members: members.map((m) => ({ name: m.name, role: m.role, state: m.role === "leader" ? "running" : "streaming", lag: m.role === "leader" ? undefined : 0, pending_restart: m.pending_restart })) });
                            }
                            if (req.method === "PATCH" && req.url === "/config") {
                                const patch = JSON.parse(body) as Record<string, unknown>;
                                calls.push(`PATCH ${JSON.stringify(patch)}`);
                                mergePatch(config, patch);
                                for (const m of members) m.pending_restart = m.maxConnections !== desiredMax() || undefined;
                                return send(200, config);
                            }
                            if (req.method === "POST" && req.url === "/restart") {
                                const m = members.find((x) => x.name === name)!;
                                if (!m.pending_restart) return send(503, "restart conditions are not satisfied");
                                calls.push(`restart ${name}`);
                                if (m.role === "leader") {
                                    lsn += 100;
                                    settingsAt = { lsn, maxConnections: desiredMax(), before: m.maxConnections };
                                    m.maxConnections = desiredMax();
                                } else {
                                    // pg_controldata holds the primary's value as of what was replayed; Patroni uses it when higher.
                                    const control = m.replayed >= settingsAt.lsn ? settingsAt.maxConnections : settingsAt.before;
                                    m.maxConnections = Math.max(desiredMax(), control);
                                }
                                m.pending_restart = m.maxConnections !== desiredMax() || undefined;
                                check();
                                return send(200, "restarted successfully");
                            }
                            if (req.method === "POST" && req.url === "/switchover") {
                                const { leader: from, candidate } = JSON.parse(body) as { leader: string; candidate: string };
                                calls.push(`switchover ${from} -> ${candidate}`);
                                const old = members.find((x) => x.name === from)!;
                                const next = members.find((x) => x.name === candidate)!;
                                next.role = "leader";
                                // Demotion restarts the old primary's PostgreSQL with its current settings.
                                old.role = "sync_standby";
                                old.maxConnections = desiredMax();
                                old.pending_restart = undefined;
                                check();
                                return send(200, `Successfully switched over to "${candidate}"`);
                            }
                            send(404);
                        });
                    });
                    server.listen(port, `127.0.0.${i + 1}`, () => resolve(server));
                }),
        ),
    );
    return { members, calls, violations, close: () => Promise.all(servers.map((s) => new Promise((r) => s.close(r)))) };
}

function mergePatch(target: Record<string, unknown>, patch: Record<string, unknown>): void {
    for (const [k, v] of Object.entries(patch)) {
        if (v === null) delete target[k];
        else if (typeof v === "object" && !Array.isArray(v) && typeof target[k] === "object") mergePatch(target[k] as Record<string, unknown>, v as Record<string, unknown>);
        else target[k] = v;
    }
}

function spec(parameters: Record<string, string | number>): ClusterSpec {
    return {
        hosts: {
            etcd: [{ name: "etcd1", address: "10.0.0.11" }, { name: "etcd2", address: "10.0.0.12" }, { name: "etcd3", address: "10.0.0.13" }],
            patroni: NAMES.map((name, i) => ({ name, address: `127.0.0.${i + 1}` })),
            haproxy: [{ name: "lb1", address: "10.0.0.31" }, { name: "lb2", address: "10.0.0.32" }],
        },
        keepalived: { vip: "10.0.0.50" },
        // A short loop_wait: the script waits one loop for members to apply a patch.
        patroni: { ttlSec: 20, loopWaitSec: 1, retryTimeoutSec: 3, parameters },
        // The fake Patroni speaks HTTP; the step's HTTPS client is proven on the lab (npm run test:e2e).
        tls: { enabled: false },
    } as ClusterSpec;
}

function runScript(script: string, password = PASSWORD): Promise<{ status: number | null; output: string }> {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "dcs-config-")), "step.sh");
    fs.writeFileSync(file, script, { mode: 0o700 });
    return new Promise((resolve) => {
        const child = spawn("bash", [file], { stdio: ["pipe", "pipe", "pipe"] });
        let output = "";
        child.stdout.on("data", (c) => (output += c));
        child.stderr.on("data", (c) => (output += c));
        child.stdin.end(`${password}\n`);
        child.on("exit", (status) => resolve({ status, output }));
    });
}


/** A data directory the step's `postgres -C` can read (an empty postgresql.conf), owned by postgres; one for the file. */
let scratch: string | undefined;
function scratchDataDir(): string {
    if (scratch) return scratch;
    if (!fs.existsSync(`${LOCAL_PG_BIN_DIR}/postgres`)) throw new Error(`${LOCAL_PG_BIN_DIR}/postgres is missing: install it with \`apt-get install postgresql-15\``);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dcs-config-pgdata-"));
    fs.writeFileSync(path.join(dir, "postgresql.conf"), "");
    const [uid, gid] = ["-u", "-g"].map((flag) => Number(spawnSync("id", [flag, "postgres"], { encoding: "utf8" }).stdout.trim()));
    for (const p of [dir, path.join(dir, "postgresql.conf")]) fs.chownSync(p, uid, gid);
    scratch = dir;
    return dir;
}

/** The resolved cluster with these parameters, its REST API on `port` of 127.0.0.1-3, PostgreSQL this machine's. */
function clusterOn(port: number, parameters: Record<string, string | number>) {
    // Not validated: the preview refuses what the catalog can judge (test/validate.test.ts); this is
    // the second wall, the member's own postgres, for whatever reaches the host.
    const resolved = resolveCluster(spec(parameters), "t");
    return {
        ...resolved,
        patroni: { ...resolved.patroni, restApiPort: port },
        postgresVersion: 15,
        layout: { ...resolved.layout, pgBinDir: LOCAL_PG_BIN_DIR, pgDataDir: scratchDataDir() },
    };
}

/** The cluster as the spec with `before` left it, then the step for the spec with `after`. */
async function apply(before: Record<string, string | number>, after: Record<string, string | number>, password = PASSWORD, passwordAppliesAfterMs = 0) {
    const port = await freePort();
    const cluster = await fakeCluster(port, structuredClone(dcsConfig(clusterOn(port, before))) as unknown as Record<string, unknown>, passwordAppliesAfterMs);
    opened.push(cluster);
    const result = await runScript(patroniDcsConfigScript(clusterOn(port, after)), password);
    const last = result.output.trim().split("\n").pop() ?? "";
    return { ...cluster, ...result, summary: (last.startsWith("{") ? JSON.parse(last) : {}) as { changed: string[]; restarted: string[] } };
}

const opened: Array<{ close: () => Promise<unknown> }> = [];
afterEach(async () => {
    await Promise.all(opened.splice(0).map((c) => c.close()));
});

afterAll(() => {
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

describe("the dcs-config step against a fake Patroni", () => {
    it("changes nothing when the DCS already holds the desired configuration", async () => {
        const r = await apply({ work_mem: "4MB" }, { work_mem: "4MB" });
        expect(r.status, r.output).toBe(0);
        expect(r.calls).toEqual([]);
        expect(r.summary.changed).toEqual([]);
    }, 30_000);

    it("patches only what differs, removes a parameter no longer wanted, and restarts nothing for a reload-only change", async () => {
        const r = await apply({ work_mem: "4MB", temp_buffers: "16MB" }, { work_mem: "8MB" });
        expect(r.status, r.output).toBe(0);
        expect(r.calls).toEqual([`PATCH ${JSON.stringify({ postgresql: { parameters: { work_mem: "8MB", temp_buffers: null } } })}`]);
        expect(r.summary.changed).toEqual(["postgresql.parameters.temp_buffers", "postgresql.parameters.work_mem"]);
    }, 30_000);

    it("raising max_connections: replicas one at a time (the asynchronous one first), then a switchover to the synchronous standby", async () => {
        const r = await apply({ max_connections: 200 }, { max_connections: 300 });
        expect(r.status, r.output).toBe(0);
        expect(r.calls.slice(1)).toEqual(["restart pg3", "restart pg2", "switchover pg1 -> pg2"]);
        expect(r.violations).toEqual([]);
        expect(r.members.every((m) => m.maxConnections === 300 && !m.pending_restart)).toBe(true);
    }, 60_000);

    it("lowering max_connections: the primary first, then the replicas, no switchover", async () => {
        const r = await apply({ max_connections: 200 }, { max_connections: 150 });
        expect(r.status, r.output).toBe(0);
        expect(r.calls.slice(1)).toEqual(["restart pg1", "restart pg3", "restart pg2"]);
        expect(r.violations).toEqual([]);
        expect(r.output).toContain("lowered max_connections: the primary pg1 restarts first");
    }, 60_000);

    it("a value PostgreSQL refuses fails the step before the DCS changes, naming the parameter and value", async () => {
        const r = await apply({ max_connections: 200 }, { max_connections: "lots" });
        expect(r.status).not.toBe(0);
        expect(r.output).toContain('patroni.parameters: PostgreSQL 15 refuses invalid value for parameter "max_connections": "lots"');
        expect(r.output).toContain("The DCS configuration was not changed and nothing restarted");
        expect(r.calls).toEqual([]);
    }, 30_000);

    it("an unknown parameter fails the step before the DCS changes, with PostgreSQL's closest name", async () => {
        const r = await apply({ work_mem: "4MB" }, { work_mem: "4MB", max_conections: 300 });
        expect(r.status).not.toBe(0);
        expect(r.output).toContain('unrecognized configuration parameter "max_conections" (did you mean "max_connections"?)');
        expect(r.calls).toEqual([]);
    }, 30_000);

    it("an enum value PostgreSQL does not list fails with its hint of the values it takes", async () => {
        const r = await apply({ work_mem: "4MB" }, { work_mem: "4MB", wal_level: "bogus" });
        expect(r.status).not.toBe(0);
        expect(r.output).toContain('invalid value for parameter "wal_level": "bogus" Available values: minimal, replica, logical.');
        expect(r.calls).toEqual([]);
    }, 30_000);

    it("fails, changing nothing, when the REST API refuses the password for longer than a reload takes (2 loop_waits + 5 s)", async () => {
        const started = Date.now();
        const r = await apply({ work_mem: "4MB" }, { work_mem: "8MB" }, "wrong-password");
        expect(r.status).not.toBe(0);
        expect(r.output).toContain("PATCH /config on http://127.0.0.1");
        expect(r.output).toContain("HTTP 401");
        expect(r.calls).toEqual([]);
        expect(Date.now() - started).toBeGreaterThanOrEqual(7000);
    }, 30_000);

    it("waits for a rotated REST API password that the members have not applied yet (their reload is under way)", async () => {
        const r = await apply({ work_mem: "4MB" }, { work_mem: "8MB" }, PASSWORD, 3000);
        expect(r.status, r.output).toBe(0);
        expect(r.calls).toEqual([`PATCH ${JSON.stringify({ postgresql: { parameters: { work_mem: "8MB" } } })}`]);
    }, 30_000);
});
