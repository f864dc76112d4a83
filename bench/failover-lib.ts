/**
 * The pieces of the failover suite, shared by the bench (`npm run bench:failover`) and the CI
 * safety subset (test-e2e): a writer through VIP:5000 that records every acknowledged row, probes
 * that ask each PostgreSQL node directly whether it accepts writes, fault injection on the lab
 * hosts, and the wait for the cluster to heal by itself.
 */
import { spawn, spawnSync, type ChildProcess } from "child_process";
import { randomBytes } from "crypto";
import * as path from "path";
import * as readline from "readline";
import type { ConnectionOptions } from "tls";
import { Client } from "pg";
import { pgSsl } from "./pg-ssl";
import { labCluster, labLayout, readState, runningHosts, verifyServer } from "../lab/cli";
import { etcdClientUrl, restApiUrl } from "../render/files";
import { tlsPaths } from "../render/tls";
import type { ResolvedCluster } from "../model/types";

const REPO_ROOT = path.resolve(__dirname, "..");
const MACHINES = path.join(REPO_ROOT, "lab", "machines.sh");
/** The running lab's machines of a role (lab/machines.sh's table, made from the stack): name → address. */
function nodesOf(role: string): Record<string, string> {
    return Object.fromEntries(runningHosts().filter((h) => h.roles.includes(role)).map((h) => [h.name, h.address]));
}
export const patroniNodes = () => nodesOf("patroni");
export const etcdNodes = () => nodesOf("etcd");
export const proxyNodes = () => Object.keys(nodesOf("haproxy"));

/** The VIP of the lab's last run (its writer endpoint is VIP:5000). */
export function vip(): string {
    return String(labOutputs().writerEndpoint).split(":")[0];
}

/** The network namespace of a lab host (lab/machines.sh's netns()). */
export function hostNetns(host: string): string {
    return `pgha-${host}`;
}

/** The stack outputs of the lab's last run (passwords included). */
export function labOutputs(): Record<string, unknown> {
    return readState().outputs;
}

// ----- the lab's clients, as the stack serves them (TLS or not) ---------------------------------

/** libpq's TLS settings of `lab psql` (verify-full against the stack's CA), or none without TLS: for child processes. */
export function labSslEnv(): Record<string, string> {
    return verifyServer(readState());
}

/** node-postgres's TLS options for the lab's front door and members (none without TLS). */
export function labPgSsl(): ConnectionOptions | undefined {
    return pgSsl(labSslEnv());
}

/** curl, run on a member, for `path` of a member's REST API: https verified with the member's CA under TLS. */
export function restApiCurl(address: string, path: string, options = "-s --max-time 2"): string {
    const c = labCluster();
    return `curl ${options}${c.tls.enabled ? ` --cacert ${tlsPaths("patroni").ca}` : ""} ${restApiUrl(c, { address })}${path}`;
}

/** etcdctl, run on an etcd member, against `addresses`: over TLS with that member's certificate when the stack has it. */
export function etcdctlCommand(addresses: string[], args: string): string {
    const c = labCluster();
    const paths = tlsPaths("etcd");
    const tls = c.tls.enabled ? ` --cacert=${paths.ca} --cert=${paths.cert} --key=${paths.key}` : "";
    return `ETCDCTL_API=3 etcdctl --endpoints=${addresses.map((address) => etcdClientUrl(c, { address })).join(",")}${tls} ${args}`;
}

export function superuserPassword(): string {
    return String(labOutputs().superuserPassword);
}

/** The balancers that hold the VIP now (`address`: the VIP, when the lab's state is gone, e.g. after a destroy). */
export function vipHolders(address = vip()): string[] {
    return proxyNodes().filter((lb) => machines("ssh", lb, "ip -4 -o addr show dev eth0").includes(`${address}/`));
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Run the lab CLI (`npm run lab -- <args>`), its progress on stderr; throws when it fails. */
export function lab(...args: string[]): void {
    labIn(REPO_ROOT, ...args);
}

/** `lab` with the code of the checkout at `root` (another release's worktree, say). */
export function labIn(root: string, ...args: string[]): void {
    const r = spawnSync("npx", ["tsx", path.join(root, "lab", "cli.ts"), ...args], { cwd: root, stdio: ["ignore", "ignore", "inherit"] });
    if (r.status !== 0) throw new Error(`lab ${args.join(" ")} with the code of ${root} failed (exit ${r.status})`);
}

/** `lab apply` or `lab preview` with `--json`: each step it ran (or would run) that is not `same`, as "op name". */
export function labChanges(command: "apply" | "preview"): string[] {
    const r = spawnSync("npx", ["tsx", path.join(REPO_ROOT, "lab", "cli.ts"), command, "--json"], { cwd: REPO_ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], maxBuffer: 64 << 20 });
    if (r.status !== 0) throw new Error(`lab ${command} failed (exit ${r.status})`);
    return (JSON.parse(r.stdout) as { steps: Array<{ op: string; name: string }> }).steps.filter((s) => s.op !== "same").map((s) => `${s.op} ${s.name}`);
}

export function machines(...args: string[]): string {
    const r = spawnSync("bash", [MACHINES, ...args], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`machines.sh ${args.join(" ")}: exit ${r.status}\n${r.stdout}${r.stderr}`);
    return r.stdout;
}

/** Like `machines("ssh", ...)` but never throws: for probes during faults. */
export function trySsh(host: string, command: string, timeoutSec = 5): string | undefined {
    const r = spawnSync("timeout", [String(timeoutSec), "bash", MACHINES, "ssh", host, command], { encoding: "utf8" });
    return r.status === 0 ? r.stdout : undefined;
}

// ----- the writer ------------------------------------------------------------------------------

export interface Ack {
    id: number;
    /** ms since epoch when the commit was acknowledged */
    at: number;
}

/**
 * The writer (bench/writer.ts) in its own process, so that the bench's own SSH calls can never stall
 * it: every acknowledged row and every error arrives here as a line with the writer's timestamp.
 */
/** The writer's login (bench/writer.ts), with a password of this process's own. */
const WRITER_ROLE = "pgha_bench_writer";
const WRITER_PASSWORD = randomBytes(18).toString("base64url");

export class Writer {
    readonly acks: Ack[] = [];
    readonly errors: Array<{ at: number; message: string }> = [];
    private child: ChildProcess | undefined;
    private exited: Promise<void> = Promise.resolve();

    private stoppedAt: number | undefined;

    /**
     * `client`: `vip`, node-postgres through VIP:5000 (bench/writer.ts); `libpq`, psql straight to
     * the members with a multi-host connection string (bench/libpq-writer.ts).
     */
    constructor(
        private readonly client: "vip" | "libpq" = "vip",
        private readonly intervalMs = 50,
    ) {}

    /**
     * The table, and the writer's own role: an application's login that no deployment changes, so
     * that a run rotating the cluster's passwords measures the cluster, not the writer's password.
     * Needs the superuser's password as it is now.
     */
    static async prepare(superuserPassword: string): Promise<void> {
        // Setup, not measurement: right after a switchover HAProxy may not route VIP:5000 to the new
        // primary yet (its checks need a rise), so wait, bounded, for a writable front door.
        const deadline = Date.now() + 60_000;
        let c: Client;
        for (;;) {
            c = new Client({ host: vip(), port: 5000, user: "postgres", database: "postgres", password: superuserPassword, connectionTimeoutMillis: 5000, ssl: labPgSsl() });
            try {
                await c.connect();
                if ((await c.query("select pg_is_in_recovery() as r")).rows[0].r === false) break;
            } catch (err) {
                if (Date.now() > deadline) throw new Error(`the writer's setup found no writable primary through VIP:5000 for 60 s: ${(err as Error).message}`);
            }
            await c.end().catch(() => undefined);
            if (Date.now() > deadline) throw new Error("the writer's setup found no writable primary through VIP:5000 for 60 s");
            await sleep(500);
        }
        await c.query("create table if not exists failover_writes_v2 (run text not null, id bigint not null, acked_by_client timestamptz not null default now(), primary key (run, id))");
        await c.query(`do $$ begin if not exists (select from pg_roles where rolname = '${WRITER_ROLE}') then create role ${WRITER_ROLE} login; end if; end $$`);
        await c.query(`alter role ${WRITER_ROLE} password '${WRITER_PASSWORD}'`);
        await c.query(`grant select, insert on failover_writes_v2 to ${WRITER_ROLE}`);
        await c.end();
    }

    start(run: string): void {
        this.stoppedAt = undefined;
        const args =
            this.client === "vip"
                ? [path.join(__dirname, "writer.ts"), run, String(this.intervalMs)]
                : [path.join(__dirname, "libpq-writer.ts"), run, Object.values(patroniNodes()).join(","), String(this.intervalMs)];
        const child = spawn(process.execPath, ["--import", "tsx", ...args], {
            env: { ...process.env, PGHOST: vip(), PGUSER: WRITER_ROLE, PGPASSWORD: WRITER_PASSWORD, ...labSslEnv() },
            stdio: ["ignore", "pipe", "inherit"],
            cwd: REPO_ROOT,
        });
        readline.createInterface({ input: child.stdout! }).on("line", (line) => {
            const event = JSON.parse(line) as { id?: number; error?: string; at: number };
            if (event.error !== undefined) this.errors.push({ at: event.at, message: event.error });
            else this.acks.push({ id: event.id!, at: event.at });
        });
        this.exited = new Promise((resolve) => child.once("exit", () => resolve()));
        this.child = child;
    }

    async stop(): Promise<void> {
        this.stoppedAt = Date.now();
        this.child?.kill("SIGTERM");
        await this.exited;
    }

    /**
     * The longest time between two acknowledgements around `from` (the write outage), in seconds; a
     * writer that never got through again counts until it was stopped.
     */
    maxGapSec(from: number): number {
        const times = this.acks.map((a) => a.at).filter((at) => at >= from - 2000);
        if (this.stoppedAt !== undefined) times.push(this.stoppedAt);
        let gap = 0;
        for (let i = 1; i < times.length; i++) gap = Math.max(gap, times[i] - times[i - 1]);
        return gap / 1000;
    }
}

/** Acknowledged ids not found in the table, read through the primary once the cluster is healthy. */
export async function missingAcks(password: string, run: string, acks: Ack[]): Promise<number[]> {
    const c = new Client({ host: vip(), port: 5000, user: "postgres", database: "postgres", password, connectionTimeoutMillis: 5000, ssl: labPgSsl() });
    await c.connect();
    const r = await c.query<{ id: string }>("select id from failover_writes_v2 where run = $1", [run]);
    await c.end();
    const present = new Set(r.rows.map((row) => Number(row.id)));
    return acks.filter((a) => !present.has(a.id)).map((a) => a.id);
}

// ----- split-brain probes ---------------------------------------------------------------------

export interface ProbeSample {
    node: string;
    at: number;
    /** Not in recovery: a primary by role. */
    writable: boolean;
    /** A primary that could acknowledge a synchronous commit (bench/probe.ts). */
    acks: boolean;
}

/**
 * One probe process per PostgreSQL node, run inside the node's own network namespace and talking
 * to its own address: a node cut off from the network is still asked whether it accepts writes.
 */
export class SplitBrainProbes {
    readonly samples: ProbeSample[] = [];
    private readonly children: ChildProcess[] = [];

    constructor(private readonly password: string) {}

    start(): void {
        for (const [node, address] of Object.entries(patroniNodes())) {
            const child = spawn("ip", ["netns", "exec", hostNetns(node), process.execPath, "--import", "tsx", path.join(__dirname, "probe.ts"), address], {
                env: { ...process.env, PGPASSWORD: this.password, ...labSslEnv() },
                stdio: ["ignore", "pipe", "ignore"],
                cwd: REPO_ROOT,
            });
            readline.createInterface({ input: child.stdout! }).on("line", (line) => {
                try {
                    const s = JSON.parse(line) as { at: number; writable: boolean; acks: boolean };
                    this.samples.push({ node, at: s.at, writable: s.writable, acks: s.acks });
                } catch {
                    // not a sample
                }
            });
            this.children.push(child);
        }
    }

    stop(): void {
        for (const child of this.children) child.kill("SIGTERM");
    }

    /**
     * Moments when two nodes each said they could acknowledge writes (`acks`) — or, with `by:
     * "role"`, each said "not in recovery" — within `windowMs` of each other.
     */
    twoWritablePrimaries(windowMs = 300, by: "acks" | "role" = "acks"): Array<{ at: number; nodes: string[] }> {
        const writable = this.samples.filter((s) => (by === "acks" ? s.acks : s.writable)).sort((a, b) => a.at - b.at);
        const found: Array<{ at: number; nodes: string[] }> = [];
        for (let i = 0; i < writable.length; i++) {
            for (let j = i + 1; j < writable.length && writable[j].at - writable[i].at <= windowMs; j++) {
                if (writable[j].node !== writable[i].node) found.push({ at: writable[i].at, nodes: [writable[i].node, writable[j].node] });
            }
        }
        return found;
    }
}

// ----- cluster state ---------------------------------------------------------------------------

export interface Member {
    name: string;
    role: string;
    state: string;
    lag?: number | string;
    /** The member's timeline (Patroni's /cluster). */
    timeline?: number;
}

/** Patroni's view, asked of any member that answers. */
export function patroniMembers(): Member[] | undefined {
    for (const [node, address] of Object.entries(patroniNodes())) {
        const out = trySsh(node, restApiCurl(address, "/cluster"), 4);
        if (out) {
            try {
                return JSON.parse(out).members as Member[];
            } catch {
                // try the next member
            }
        }
    }
    return undefined;
}

/** Roles of synchronous standbys: sync_standby, or quorum_standby in quorum mode (Patroni 4). */
export const SYNC_ROLES = ["sync_standby", "quorum_standby"];

/** Three members at full strength: a leader and its synchronous standbys (sorted roles). */
export function isFullRoleSet(sortedRoles: string[]): boolean {
    const roles = sortedRoles.join(",");
    return roles === "leader,replica,sync_standby" || roles === "leader,quorum_standby,quorum_standby";
}

export function leaderName(): string | undefined {
    return patroniMembers()?.find((m) => m.role === "leader")?.name;
}

export function syncStandbyName(): string | undefined {
    return patroniMembers()?.find((m) => SYNC_ROLES.includes(m.role))?.name;
}

export function vipHolder(): string | undefined {
    const address = vip();
    return proxyNodes().find((lb) => trySsh(lb, "ip -4 -o addr show dev eth0")?.includes(`${address}/`));
}

export function etcdLeader(): string | undefined {
    const etcd = etcdNodes();
    for (const node of Object.keys(etcd)) {
        const out = trySsh(node, `${etcdctlCommand(Object.values(etcd), "endpoint status -w json")} 2>/dev/null`, 6);
        if (!out) continue;
        const all = JSON.parse(out) as Array<{ Endpoint: string; Status: { header: { member_id: number }; leader: number } }>;
        const leader = all.find((s) => s.Status.header.member_id === s.Status.leader);
        const name = leader && Object.entries(etcd).find(([, a]) => leader.Endpoint.includes(`//${a}:`))?.[0];
        if (name) return name;
    }
    return undefined;
}

/** Leader + sync standby + streaming replica, every member running, and the VIP on one proxy. */
export function fullyHealthy(): boolean {
    const members = patroniMembers();
    if (!members || members.length !== 3) return false;
    const roles = members.map((m) => m.role).sort();
    const ok = isFullRoleSet(roles) && members.every((m) => m.state === "running" || m.state === "streaming");
    return ok && vipHolder() !== undefined;
}

/** Seconds until `fullyHealthy()`, polling; throws after `timeoutSec`. */
export async function waitFullyHealthy(timeoutSec: number): Promise<number> {
    const t0 = Date.now();
    while (!fullyHealthy()) {
        if (Date.now() - t0 > timeoutSec * 1000) throw new Error(`cluster not back to Leader + Sync Standby + Replica within ${timeoutSec}s: ${JSON.stringify(patroniMembers())}`);
        await sleep(1000);
    }
    return (Date.now() - t0) / 1000;
}

// ----- scenarios -------------------------------------------------------------------------------

export interface Scenario {
    name: string;
    /** Inject the fault; return how to undo it (power on, heal), if anything needs undoing. */
    inject(): Promise<(() => Promise<void>) | undefined>;
    /**
     * How long to keep the fault before undoing it, after writes have resumed (or were never
     * interrupted): seconds, or a function of the running lab's cluster. @default 5
     */
    holdSec?: number | ((c: ResolvedCluster) => number);
    /**
     * The write outage waits for Patroni's ttl: the leader key must expire before a replica may
     * promote, or a lost synchronous standby be noticed and replaced. Such outages last tens of
     * seconds and differ between profiles by whole seconds, so fewer runs tell them apart (see
     * bench/failover-report.ts's defaultRuns); the others' outages are under 10 s.
     * Under quorum commit the sync standby's power-off costs no ttl, but its run count follows
     * the classic mode's, which it is compared with.
     * @default false
     */
    ttlBound?: boolean;
}

const poweroff = (host: string) => async () => {
    machines("poweroff", host);
    return async () => void machines("poweron", host);
};

function pgDataPidCommand(): string {
    return `head -n 1 ${labLayout().pgDataDir}/postmaster.pid`;
}

/** A process on the primary frozen: `signal("STOP")` run there now, `signal("CONT")` as the undo. */
function freezeOnLeader(signal: (sig: "STOP" | "CONT") => string): Scenario["inject"] {
    return async () => {
        const leader = leaderName()!;
        machines("ssh", leader, signal("STOP"));
        return async () => void machines("ssh", leader, signal("CONT"));
    };
}

export const SCENARIOS: Record<string, Scenario> = {
    "postmaster-kill": {
        name: "kill -9 of the postmaster on the primary",
        inject: async () => {
            const leader = leaderName()!;
            machines("ssh", leader, `kill -9 "$(${pgDataPidCommand()})"`);
            return undefined;
        },
    },
    "patroni-kill": {
        name: "kill -9 of Patroni on the primary",
        inject: async () => {
            // --kill-whom=main: Patroni only; PostgreSQL, in the same cgroup, keeps running.
            machines("ssh", leaderName()!, "systemctl kill --kill-whom=main -s SIGKILL patroni");
            return undefined;
        },
    },
    "primary-poweroff": { name: "power-off of the primary host", ttlBound: true, inject: async () => poweroff(leaderName()!)() },
    "primary-network-cut": {
        name: "network cut of the primary",
        ttlBound: true,
        inject: async () => {
            const leader = leaderName()!;
            machines("cut", leader);
            return async () => void machines("heal", leader);
        },
    },
    "sync-standby-poweroff": { name: "power-off of the sync standby", ttlBound: true, inject: async () => poweroff(syncStandbyName()!)() },
    switchover: {
        name: "planned switchover (patronictl)",
        inject: async () => {
            const leader = leaderName()!;
            const candidate = syncStandbyName()!;
            machines("ssh", leader, `patronictl -c /etc/patroni/config.yml switchover --leader ${leader} --candidate ${candidate} --force`);
            return undefined;
        },
    },
    "keepalived-master-poweroff": { name: "power-off of the Keepalived MASTER", inject: async () => poweroff(vipHolder()!)() },
    "primary-etcd-cut": {
        name: "primary cut off from etcd only (replicas and balancers still reach it)",
        // Held past the ttl: with failsafeMode the primary keeps serving as long as every member
        // answers its POST /failsafe (and no replica promotes); without, it steps down and a
        // replica takes over once the leader key has expired.
        holdSec: 30,
        inject: async () => {
            const leader = leaderName()!;
            machines("cut-from", leader, ...Object.keys(etcdNodes()));
            return async () => void machines("heal-from", leader);
        },
    },
    "haproxy-kill": {
        name: "kill -9 of HAProxy on the VIP holder",
        // Master and workers: systemd restarts the service (Restart=always); Keepalived's track script
        // sees it inactive meanwhile and may move the VIP.
        inject: async () => void machines("ssh", vipHolder()!, "systemctl kill -s SIGKILL haproxy"),
    },
    "haproxy-stop": {
        name: "HAProxy stopped on the VIP holder (held 10 s)",
        // It stays down: Keepalived's track script fails and the holder gives the VIP up (FAULT) to
        // the other balancer; started again, it rejoins as the BACKUP (nopreempt).
        holdSec: 10,
        inject: async () => {
            const lb = vipHolder()!;
            machines("ssh", lb, "systemctl stop haproxy");
            return async () => void machines("ssh", lb, "systemctl start haproxy");
        },
    },
    "patroni-freeze": {
        name: "Patroni frozen on the primary (SIGSTOP past the ttl, then SIGCONT)",
        ttlBound: true,
        // Held for the ttl and 15 s more (writes go on at first: PostgreSQL runs), so that the leader
        // key expires, another member promotes, and the frozen Patroni wakes with a stale view of a
        // cluster that has moved on.
        holdSec: (c) => c.patroni.ttlSec + 15,
        inject: freezeOnLeader((sig) => `systemctl kill --kill-whom=main -s SIG${sig} patroni`),
    },
    "postmaster-freeze": {
        name: "postmaster frozen on the primary (SIGSTOP for 20 s, then SIGCONT)",
        // Existing sessions go on (their backends run); new connections wait for the postmaster.
        holdSec: 20,
        inject: freezeOnLeader((sig) => `kill -${sig} "$(${pgDataPidCommand()})"`),
    },
    "etcd-leader-poweroff": { name: "power-off of the etcd leader", inject: async () => poweroff(etcdLeader()!)() },
    "etcd-quorum-loss": {
        name: "loss of etcd quorum (two of three powered off)",
        holdSec: 40,
        inject: async () => {
            const victims = Object.keys(etcdNodes()).slice(0, 2);
            for (const v of victims) machines("poweroff", v);
            return async () => {
                for (const v of victims) machines("poweron", v);
            };
        },
    },
};

/** The width of a RunResult's timeline buckets. */
export const TIMELINE_BUCKET_SEC = 0.25;

export interface RunResult {
    scenario: string;
    profile: string;
    run: number;
    writeOutageSec: number;
    acknowledged: number;
    ackedButMissing: number;
    /** Two nodes could acknowledge synchronous commits at once (bench/probe.ts's `acks`). */
    twoWritablePrimaries: boolean;
    /**
     * Two nodes were out of recovery at once, whether or not both could acknowledge (a primary left
     * running by a frozen Patroni, with no standby). Runs measured before this field lack it.
     */
    twoPrimariesByRole?: boolean;
    backToFullHealthSec: number;
    /**
     * The same writes from a libpq client straight to the members (multi-host connection string,
     * `target_session_attrs=read-write`; bench/libpq-writer.ts), beside the VIP client. Runs measured
     * before this field lack it.
     */
    libpq?: { writeOutageSec: number; acknowledged: number; ackedButMissing: number };
    /**
     * Acknowledged writes per TIMELINE_BUCKET_SEC bucket, as [bucket start in seconds since the
     * fault, count]; only buckets with at least one write are listed, so a missing bucket is zero.
     */
    timeline: Array<[number, number]>;
    /** Writer errors after the fault: seconds from the fault and the message (first of each kind). */
    errors: Array<[number, string]>;
}

/**
 * One run: healthy cluster → writer and probes → fault → writes resume (or a timeout) → hold →
 * undo → full health → check every acknowledged row.
 */
export async function runScenario(key: string, profile: string, run: number, log: (m: string) => void = () => undefined): Promise<RunResult> {
    const scenario = SCENARIOS[key];
    const password = superuserPassword();
    await waitFullyHealthy(240);
    await Writer.prepare(password);
    const tag = `${profile}/${key}/${run}/${Date.now()}`;
    const writer = new Writer();
    const libpq = new Writer("libpq");
    const probes = new SplitBrainProbes(password);
    probes.start();
    writer.start(tag);
    libpq.start(`${tag}/libpq`);
    await sleep(3000);
    const faultAt = Date.now();
    log(`${tag}: ${scenario.name}`);
    const undo = await scenario.inject();
    // Writes resumed: an acknowledgement after the last error that followed the fault, or 60 s.
    const deadline = Date.now() + 60_000;
    for (;;) {
        await sleep(250);
        const lastError = writer.errors.filter((e) => e.at >= faultAt).pop();
        const lastAck = writer.acks[writer.acks.length - 1];
        const resumed = lastAck && lastAck.at > faultAt + 1000 && (!lastError || lastAck.at > lastError.at + 2000);
        if (resumed || Date.now() > deadline) break;
    }
    const hold = scenario.holdSec ?? 5;
    await sleep((typeof hold === "number" ? hold : hold(labCluster())) * 1000);
    if (undo) await undo();
    await waitFullyHealthy(300);
    const backToFullHealthSec = Math.round((Date.now() - faultAt) / 100) / 10;
    await sleep(2000);
    await Promise.all([writer.stop(), libpq.stop()]);
    probes.stop();
    const missing = await missingAcks(password, tag, writer.acks);
    const libpqMissing = await missingAcks(password, `${tag}/libpq`, libpq.acks);
    const bucket = TIMELINE_BUCKET_SEC * 1000;
    const counts = new Map<number, number>();
    for (const a of writer.acks) {
        const b = Math.floor((a.at - faultAt) / bucket) * bucket;
        counts.set(b, (counts.get(b) ?? 0) + 1);
    }
    return {
        scenario: key,
        profile,
        run,
        writeOutageSec: writer.maxGapSec(faultAt),
        acknowledged: writer.acks.length,
        ackedButMissing: missing.length,
        twoWritablePrimaries: probes.twoWritablePrimaries().length > 0,
        twoPrimariesByRole: probes.twoWritablePrimaries(300, "role").length > 0,
        backToFullHealthSec,
        libpq: { writeOutageSec: libpq.maxGapSec(faultAt), acknowledged: libpq.acks.length, ackedButMissing: libpqMissing.length },
        timeline: [...counts.entries()].sort((a, b) => a[0] - b[0]).map(([t, n]) => [t / 1000, n]),
        errors: distinctErrors(writer.errors.filter((e) => e.at >= faultAt - 1000), faultAt),
    };
}

function distinctErrors(errors: Array<{ at: number; message: string }>, faultAt: number): Array<[number, string]> {
    const seen = new Set<string>();
    const out: Array<[number, string]> = [];
    for (const e of errors) {
        const kind = e.message.replace(/\d+/g, "N");
        if (seen.has(kind)) continue;
        seen.add(kind);
        out.push([(e.at - faultAt) / 1000, e.message]);
    }
    return out;
}
