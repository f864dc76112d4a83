/**
 * The day-2 change matrix, shared by the bench (`npm run bench:day2`) and the end-to-end test: each
 * change as a later commit would make it to the stack file (merged over it, `lab apply --overlay`),
 * applied with the failover writer running through VIP:5000, then checked on the live services
 * (SHOW, the DCS, pg_hba_file_rules, HAProxy's runtime state, Keepalived's own state dump, etcd's
 * processes, logins with rotated passwords). Changes accumulate in order; the last one goes back to
 * the stack file as it is, so a round ends where it began.
 */
import { execFile, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { Client } from "pg";
import { etcdctlCommand, etcdNodes, hostNetns, labOutputs, labPgSsl, labSslEnv, machines, missingAcks, patroniMembers, patroniNodes, proxyNodes, restApiCurl, sleep, vip, vipHolders, Writer } from "./failover-lib";
import { loadStackConfig, type StepReport } from "../tools/engine";
import { labCluster, mergeConfig, runningHosts } from "../lab/cli";
import { validateCluster } from "../model/validate";
import { archiveCommand } from "../model/backup";
import type { ResolvedCluster } from "../model/types";
import { HOST_ROLES } from "../model/resolve";
import { tlsPaths } from "../render/tls";

const REPO_ROOT = path.resolve(__dirname, "..");
const NS = "pulumi-patroni";
const CLIENT = "10.251.17.99";

/** The passwords a rotation supplies (replacing the generated ones), and the stack key of each. */
const ROTATED: Record<string, string> = {
    [`${NS}:superuserPassword`]: "Rotated-Superuser-7Qx2",
    [`${NS}:replicationPassword`]: "Rotated-Replication-k8Lm",
    [`${NS}:rewindPassword`]: "Rotated-Rewind-Wp3z",
    [`${NS}:adminPassword`]: "Rotated-Admin-Yt6n",
    [`${NS}:restApiPassword`]: "Rotated-RestApi-Hd4s",
};
const ROTATED_APP = "Rotated-App-Fv9c";

export interface Outputs {
    superuserPassword: string;
    adminPassword: string;
}

/** What a check may use: the lab's live services. */
export interface LiveContext {
    /** When the apply started (ms since epoch). */
    applyStarted: number;
    applySec: number;
    steps: StepReport[];
    outputs: Outputs;
}

export interface Day2Change {
    name: string;
    /** What the change needs from the services: a reload, a rolling restart, a password rotation; or a release upgrade (bench/upgrade.ts). */
    kind: "reload" | "restart" | "dcs" | "rotation" | "certificates" | "revert" | "refused" | "topology" | "upgrade";
    /** The apply must fail, its output matching this (a change refused before anything changes). */
    refusedWith?: RegExp;
    /** The overlay after this change (the matrix's changes so far), as `config:` keys. */
    config: Record<string, unknown>;
    /** Checks on the live services; throws, naming what differs. */
    verify(ctx: LiveContext): Promise<void>;
    /** Only in the bench (the e2e keeps to CI's time budget): a change whose mechanism another entry already proves. */
    benchOnly?: boolean;
    /** It re-issues the host certificates (they are replaced, and only they): a renewal, a new CA or trust bundle. */
    reissues?: boolean;
    /** Run before the writer starts (e.g. make a member the leader before it is removed). */
    before?(): Promise<void>;
}

export const ssh = (host: string, command: string): string => machines("ssh", host, command);

function stackOutputs(): Outputs {
    const outputs = labOutputs();
    return { superuserPassword: String(outputs.superuserPassword), adminPassword: String(outputs.adminPassword) };
}

export async function query(port: number, sql: string, user: string, password: string): Promise<string> {
    const c = new Client({ host: vip(), port, user, password, database: "postgres", connectionTimeoutMillis: 5000, ssl: labPgSsl() });
    await c.connect();
    try {
        const r = await c.query(sql);
        return r.rows.map((row) => Object.values(row).join("|")).join("\n");
    } finally {
        await c.end().catch(() => undefined);
    }
}

export async function eventually<T>(what: string, probe: () => Promise<T> | T, ok: (v: T) => boolean, timeoutMs = 60_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    for (;;) {
        try {
            const v = await probe();
            if (ok(v)) return v;
            last = v;
        } catch (err) {
            last = (err as Error).message;
        }
        if (Date.now() > deadline) throw new Error(`${what}: not reached within ${timeoutMs / 1000}s; last: ${JSON.stringify(last)}`);
        await sleep(1000);
    }
}

function expectEqual<T>(what: string, actual: T, expected: T): void {
    if (JSON.stringify(actual) !== JSON.stringify(expected)) throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

function dcs(): Record<string, unknown> & { postgresql: { parameters: Record<string, unknown> } } {
    const [name, address] = Object.entries(patroniNodes())[0];
    return JSON.parse(ssh(name, restApiCurl(address, "/config", "-s --max-time 5")));
}

/** SHOW on the primary (VIP:5000) and on a replica (VIP:5001), once both agree with `expected`. */
async function expectShown(ctx: LiveContext, setting: string, expected: string): Promise<void> {
    const pw = ctx.outputs.superuserPassword;
    await eventually(`${setting} on the primary and a replica`, async () => `${await query(5000, `show ${setting}`, "postgres", pw)} ${await query(5001, `show ${setting}`, "postgres", pw)}`, (v) => v === `${expected} ${expected}`, 60_000);
}

async function expectNoPendingRestart(): Promise<void> {
    await eventually("no member with pending_restart", () => (patroniMembers() ?? []).filter((m) => (m as { pending_restart?: boolean }).pending_restart).map((m) => m.name), (v) => v.length === 0, 60_000);
}

/** Exactly one balancer holds the VIP. */
function expectOneVipHolder(): void {
    expectEqual("VIP holders", vipHolders().length, 1);
}

/** Each balancer's HAProxy runs a worker started by this apply (a reload) and routes VIP:5000 to one server only. */
function expectHaproxyReloaded(ctx: LiveContext): void {
    for (const lb of proxyNodes()) {
        const uptime = Number(ssh(lb, "echo 'show info' | socat stdio /run/haproxy/admin.sock | sed -n 's/^Uptime_sec: //p'").trim());
        if (!(uptime <= ctx.applySec + 5)) throw new Error(`${lb}: HAProxy worker up ${uptime} s, but the apply took ${ctx.applySec} s: not reloaded`);
        // show servers state: one line per server; field 6 is the operational state (2 = running).
        const state = ssh(lb, "echo 'show servers state' | socat stdio /run/haproxy/admin.sock");
        const primaryUp = state.split("\n").filter((l) => (l.split(" ")[1] ?? "").endsWith("-primary") && l.split(" ")[5] === "2");
        expectEqual(`${lb}: servers UP in HAProxy's primary backend`, primaryUp.length, 1);
    }
}

/** Keepalived's own view (its SIGUSR1 data dump), on each balancer. */
/** What Keepalived itself runs with (its SIGUSR1 data dump): the advert interval and the HAProxy check's timings. */
function keepalivedTimings(lb: string): { advert: string; checkInterval: string; checkFall: string } {
    const dump = ssh(lb, "rm -f /tmp/keepalived.data; kill -USR1 $(cat /run/keepalived.pid) && sleep 1 && cat /tmp/keepalived.data");
    const script = dump.slice(dump.indexOf("VRRP Script = chk_haproxy"));
    const field = (text: string, name: string) => new RegExp(`^ *${name} = (.*)$`, "m").exec(text)?.[1].trim() ?? "(absent)";
    return { advert: field(dump, "Advert interval"), checkInterval: field(script, "Interval"), checkFall: field(script, "Fall") };
}

/** Seconds each etcd member's process has been running. */
function etcdUptimes(): number[] {
    return Object.keys(etcdNodes()).map((h) => Number(ssh(h, "ps -o etimes= -C etcd | head -1").trim()));
}

/** etcdctl against every etcd member the lab has, run on the first one. */
export function etcdctl(args: string): string {
    const etcd = etcdNodes();
    return ssh(Object.keys(etcd)[0], etcdctlCommand(Object.values(etcd), args));
}

function etcdHealthy(): void {
    expectEqual("etcd members healthy", etcdctl("endpoint health 2>&1").match(/is healthy/g)?.length, Object.keys(etcdNodes()).length);
}

async function expectLogin(user: string, password: string, port = 5000): Promise<void> {
    expectEqual(`${user} logs in through VIP:${port}`, await query(port, "select current_user", user, password), user);
}

/** The listeners of every member and etcd host, with the certificate file each serves. */
function tlsListeners(): Array<{ host: string; address: string; port: number; starttls?: string; file: string }> {
    const c = labCluster();
    return [
        ...Object.entries(patroniNodes()).flatMap(([host, address]) => [
            { host, address, port: c.patroni.restApiPort, file: tlsPaths("patroni").cert },
            { host, address, port: c.patroni.postgresPort, starttls: "postgres", file: tlsPaths("patroni").cert },
        ]),
        ...Object.entries(etcdNodes()).flatMap(([host, address]) => [
            { host, address, port: c.etcd.clientPort, file: tlsPaths("etcd").cert },
            { host, address, port: c.etcd.peerPort, file: tlsPaths("etcd").cert },
        ]),
    ];
}

/** The serial of each listener's certificate file on its host, `host:port` → serial. */
function certificateSerials(): Record<string, string> {
    return Object.fromEntries(tlsListeners().map((l) => [`${l.host}:${l.port}`, ssh(l.host, `openssl x509 -noout -serial -in ${l.file}`).trim()]));
}

/**
 * Every listener serves the certificate file its host has now (a reload or restart took it), and
 * that file is a new one (not in `before`), verifying against `ca` (a file; the stack's CAs unless given).
 */
async function expectServedCertificates(old: Record<string, string>, ca = labSslEnv().PGSSLROOTCERT): Promise<void> {
    for (const l of tlsListeners()) {
        const onDisk = ssh(l.host, `openssl x509 -noout -serial -in ${l.file}`).trim();
        if (onDisk === old[`${l.host}:${l.port}`]) throw new Error(`${l.host}: ${l.file} still holds the certificate it had before (${onDisk})`);
        await eventually(`${l.host}:${l.port} serves its new certificate, verified`, () => {
            const r = spawnSync("sh", ["-c", `openssl s_client -connect ${l.address}:${l.port}${l.starttls ? ` -starttls ${l.starttls}` : ""} -CAfile ${ca} -verify_ip ${l.address} -verify_return_error </dev/null 2>/dev/null | openssl x509 -noout -serial`], { encoding: "utf8" });
            return r.stdout.trim();
        }, (served) => served === onDisk, 60_000);
    }
}

/** Each distinct message with its count, most frequent first: `3× message`. */
function distinctCounts(messages: string[]): string[] {
    const counts = new Map<string, number>();
    for (const m of messages) counts.set(m, (counts.get(m) ?? 0) + 1);
    return [...counts].sort((a, b) => b[1] - a[1]).map(([m, n]) => `${n}× ${m}`);
}

/** Every host's copy of the CAs, per role, holds `count` certificates. */
function expectTrustedCas(count: number): void {
    const c = labCluster();
    for (const role of HOST_ROLES) {
        for (const h of c.hosts[role]) expectEqual(`${h.name}: CAs in ${tlsPaths(role).ca}`, ssh(h.name, `grep -c 'BEGIN CERTIFICATE' ${tlsPaths(role).ca}`).trim(), String(count));
    }
}

/** A CA of the user's own, made with openssl for the run: its PEM files and text. */
function userCa(): { certPem: string; privateKeyPem: string; certFile: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pgha-corp-ca-"));
    const r = spawnSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/O=pulumi-patroni lab/CN=corp CA", "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-days", "3650", "-keyout", path.join(dir, "ca.key"), "-out", path.join(dir, "ca.crt")], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`openssl: ${r.stderr}`);
    return { certPem: fs.readFileSync(path.join(dir, "ca.crt"), "utf8"), privateKeyPem: fs.readFileSync(path.join(dir, "ca.key"), "utf8"), certFile: path.join(dir, "ca.crt") };
}

/** A file with the stack's CAs except `other`: the cluster's own CA alone. */
function clusterCaOnly(other: string): string {
    const file = path.join(os.tmpdir(), `pgha-cluster-ca-${process.pid}.crt`);
    const pems = fs.readFileSync(labSslEnv().PGSSLROOTCERT, "utf8").match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
    fs.writeFileSync(file, pems.filter((p) => p.trim() !== other.trim()).join(""));
    return file;
}

async function expectRefused(user: string, password: string): Promise<void> {
    try {
        await query(5000, "select 1", user, password);
    } catch (err) {
        if (/password authentication failed/.test((err as Error).message)) return;
        throw err;
    }
    throw new Error(`${user} still logs in with the old password`);
}

/** Every replica streams from the primary (and so logged in with the replication password it has now). */
async function expectStreaming(password: string): Promise<void> {
    await eventually(
        "two replicas streaming, connected after the change",
        () => query(5000, "select count(*) from pg_stat_replication where state = 'streaming'", "postgres", password),
        (v) => v === "2",
        90_000,
    );
}

/** The overlay `base` with `cluster` merged into its cluster settings and `extra` keys set, as the lab merges an overlay. */
function merged(base: Record<string, unknown>, cluster: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return mergeConfig(base, { ...extra, [`${NS}:cluster`]: cluster }) as Record<string, unknown>;
}

/**
 * The matrix, in order, for the stack's cluster: its synchronous mode (quorum on Debian 13, true on
 * Debian 12) comes back after the change that turns it off, and with TLS the pg_hba line is a
 * hostssl one and the host certificates are re-issued once.
 */
export function day2Matrix(cluster: Pick<ResolvedCluster, "patroni" | "tls">): Day2Change[] {
    const synchronousMode = cluster.patroni.synchronousMode;
    const changes: Day2Change[] = [];
    let revertedFrom: Record<string, string> = {};
    let config: Record<string, unknown> = {};
    const add = (name: string, kind: Day2Change["kind"], cluster: Record<string, unknown>, verify: Day2Change["verify"], extra: Record<string, unknown> = {}) => {
        config = merged(config, cluster, extra);
        changes.push({ name, kind, config, verify });
    };
    /** A change the deployment must refuse: not kept for the changes after it. */
    const refused = (name: string, cluster: Record<string, unknown>, refusedWith: RegExp, verify: Day2Change["verify"]) => {
        changes.push({ name, kind: "refused", config: merged(config, cluster), refusedWith, verify });
    };
    add("work_mem 4MB→8MB (reload)", "reload", { patroni: { parameters: { work_mem: "8MB" } } }, async (ctx) => {
        expectEqual("DCS work_mem", dcs().postgresql.parameters.work_mem, "8MB");
        await expectShown(ctx, "work_mem", "8MB");
        await expectNoPendingRestart();
    });
    refused(
        'max_connections: "lots" (refused at preview by PostgreSQL\'s catalog, before anything runs)',
        { patroni: { parameters: { max_connections: "lots" } } },
        /patroni\.parameters\.max_connections: PostgreSQL \d+ refuses it: invalid value for parameter "max_connections": "lots"/,
        async (ctx) => {
            expectEqual("DCS max_connections", dcs().postgresql.parameters.max_connections, 200);
            await expectShown(ctx, "max_connections", "200");
            await expectNoPendingRestart();
        },
    );
    refused(
        // A string the catalog cannot judge (a check hook's): the member's own postgres refuses it on the host.
        'timezone: "Mars/Olympus" (refused by PostgreSQL\'s own parser on the host, before the DCS changes)',
        { patroni: { parameters: { timezone: "Mars/Olympus" } } },
        /patroni\.parameters: PostgreSQL \d+ refuses invalid value for parameter "TimeZone": "Mars\/Olympus"/,
        async (ctx) => {
            expectEqual("DCS timezone", dcs().postgresql.parameters.timezone, undefined);
            expectEqual("DCS work_mem", dcs().postgresql.parameters.work_mem, "8MB");
            await expectShown(ctx, "work_mem", "8MB");
            await expectNoPendingRestart();
        },
    );
    add("a pg_hba line", "reload", { patroni: { pgHba: [`${cluster.tls.enabled ? "hostssl" : "host"} all all ${CLIENT}/32 scram-sha-256`] } }, async (ctx) => {
        for (const port of [5000, 5001]) {
            expectEqual(`pg_hba_file_rules for ${CLIENT} through VIP:${port}`, await query(port, `select count(*) from pg_hba_file_rules where address = '${CLIENT}'`, "postgres", ctx.outputs.superuserPassword), "1");
        }
    });
    add("ttlSec 20→25", "dcs", { patroni: { ttlSec: 25 } }, async () => {
        expectEqual("DCS ttl", dcs().ttl, 25);
    });
    add("max_connections 200→300 (restart)", "restart", { patroni: { parameters: { max_connections: 300 } } }, async (ctx) => {
        await expectShown(ctx, "max_connections", "300");
        await expectNoPendingRestart();
    });
    add("max_connections 300→150 (restart, primary first)", "restart", { patroni: { parameters: { max_connections: 150 } } }, async (ctx) => {
        await expectShown(ctx, "max_connections", "150");
        await expectNoPendingRestart();
    });
    add("synchronousMode off", "dcs", { patroni: { synchronousMode: false } }, async (ctx) => {
        expectEqual("DCS synchronous_mode", dcs().synchronous_mode, false);
        await eventually("no synchronous standby", () => (patroniMembers() ?? []).map((m) => m.role).filter((r) => r !== "leader" && r !== "replica"), (v) => v.length === 0);
        await eventually("synchronous_standby_names empty on the primary", () => query(5000, "show synchronous_standby_names", "postgres", ctx.outputs.superuserPassword), (v) => v === "");
    });
    add(`synchronousMode back on (${synchronousMode})`, "dcs", { patroni: { synchronousMode } }, async (ctx) => {
        expectEqual("DCS synchronous_mode", dcs().synchronous_mode, synchronousMode);
        await eventually("a synchronous standby", () => (patroniMembers() ?? []).map((m) => m.role), (v) => v.some((r) => r === "sync_standby" || r === "quorum_standby"));
        await eventually("synchronous_standby_names set on the primary", () => query(5000, "show synchronous_standby_names", "postgres", ctx.outputs.superuserPassword), (v) => v !== "");
    });
    add("maximumLagOnFailoverBytes 1 MiB→2 MiB", "reload", { patroni: { maximumLagOnFailoverBytes: 2097152 } }, async (ctx) => {
        expectEqual("DCS maximum_lag_on_failover", dcs().maximum_lag_on_failover, 2097152);
        // HAProxy's replica check uses the same limit.
        for (const lb of proxyNodes()) expectEqual(`${lb}: replica check lag`, ssh(lb, "grep -c 'replica?lag=2097152' /etc/haproxy/haproxy.cfg").trim(), "1");
        expectHaproxyReloaded(ctx);
    });
    add("HAProxy check interval 1000→1500 ms", "reload", { haproxy: { checkIntervalMs: 1500 } }, async (ctx) => {
        for (const lb of proxyNodes()) if (ssh(lb, "grep -c 'inter 1500' /etc/haproxy/haproxy.cfg").trim() === "0") throw new Error(`${lb}: haproxy.cfg without inter 1500`);
        expectHaproxyReloaded(ctx);
        expectOneVipHolder();
    });
    add("Keepalived advert interval 0.3→0.5 s, check interval 1→2 s, fall 2→3", "reload", { keepalived: { advertIntervalSec: 0.5, checkIntervalSec: 2, checkFall: 3 } }, async () => {
        for (const lb of proxyNodes()) expectEqual(`${lb}: Keepalived's advert interval and HAProxy check`, keepalivedTimings(lb), { advert: "500 milli-sec", checkInterval: "2 sec", checkFall: "3" });
        expectOneVipHolder();
    });
    add("etcd heartbeat 100→150 ms", "restart", { etcd: { heartbeatIntervalMs: 150 } }, async (ctx) => {
        const uptimes = etcdUptimes();
        if (!uptimes.every((u) => u <= ctx.applySec + 5)) throw new Error(`etcd members up for ${uptimes.join(", ")} s, but the apply took ${ctx.applySec} s: not every member restarted`);
        for (const h of Object.keys(etcdNodes())) expectEqual(`${h}: heartbeat in its environment`, ssh(h, "grep -c ETCD_HEARTBEAT_INTERVAL=.150. /etc/default/etcd").trim(), "1");
        etcdHealthy();
    });
    if (cluster.tls.enabled) {
        // A changed validity re-issues every host certificate (tls_locally_signed_cert replaces on
        // validity_period_hours), as a renewal does: same CA, new keys and certificates everywhere.
        // The bench only: the first run of the CA rotation below re-issues them the same way.
        let before: Record<string, string> = {};
        config = merged(config, { tls: { certificateValidityDays: cluster.tls.certificateValidityDays + 1 } });
        changes.push({
            name: `host certificates re-issued (tls.certificateValidityDays ${cluster.tls.certificateValidityDays}→${cluster.tls.certificateValidityDays + 1})`,
            kind: "certificates",
            reissues: true,
            benchOnly: true,
            config,
            async before() {
                before = certificateSerials();
            },
            async verify(ctx) {
                await expectServedCertificates(before);
                etcdHealthy();
                await expectStreaming(ctx.outputs.superuserPassword);
            },
        });
        // A CA rotation to a CA of the user's own (made here with openssl, given as the stack's
        // certificateAuthorities secret) and back, each run with the writer on: no run may leave a
        // host or a client unable to verify another.
        const corp = userCa();
        const withCorp = { [`${NS}:certificateAuthorities`]: { corp: { certPem: corp.certPem, privateKeyPem: corp.privateKeyPem } } };
        changes.push({
            name: "signing with a new CA at once (tls.signingCa: corp) is refused on the hosts before any file changes",
            kind: "refused",
            reissues: true,
            config: merged(config, { tls: { signingCa: "corp" } }, withCorp),
            refusedWith: /the new certificate comes from CA "O = pulumi-patroni lab, CN = corp CA", which the hosts do not trust yet[\s\S]*Fix: first run with that CA named in tls\.trustedCas/,
            async before() {
                before = certificateSerials();
            },
            async verify() {
                expectEqual("the certificates the hosts hold", certificateSerials(), before);
                expectTrustedCas(1);
            },
        });
        const rotation = (name: string, tls: Record<string, unknown>, check: (ctx: LiveContext) => Promise<void>) => {
            config = merged(config, { tls }, withCorp);
            changes.push({
                name,
                kind: "certificates",
                reissues: true,
                config,
                async before() {
                    before = certificateSerials();
                },
                async verify(ctx) {
                    await check(ctx);
                    etcdHealthy();
                    await expectStreaming(ctx.outputs.superuserPassword);
                },
            });
        };
        rotation("CA rotation, run 1: trust corp beside the cluster's CA (every host certificate re-issued by the cluster's CA)", { trustedCas: ["corp"] }, async () => {
            expectTrustedCas(2);
            await expectServedCertificates(before);
        });
        rotation("CA rotation, run 2: sign with corp, the cluster's CA still trusted", { signingCa: "corp", trustedCas: ["cluster"] }, async () => {
            expectTrustedCas(2);
            await expectServedCertificates(before, corp.certFile);
        });
        // Back (its last run, dropping corp, is the revert to the stack file).
        rotation("CA rotation back, run 2: sign with the cluster's CA again, corp still trusted", { signingCa: "cluster", trustedCas: ["corp"] }, async () => {
            expectTrustedCas(2);
            await expectServedCertificates(before, clusterCaOnly(corp.certPem));
        });
    }
    add(
        "password rotation (superuser, replication, rewind, admin, REST API, app)",
        "rotation",
        {},
        async (ctx) => {
            await expectLogin("postgres", ROTATED[`${NS}:superuserPassword`]);
            await expectRefused("postgres", previousSuperuser);
            await expectLogin("admin", ROTATED[`${NS}:adminPassword`]);
            await expectLogin("app", ROTATED_APP);
            await expectStreaming(ROTATED[`${NS}:superuserPassword`]);
            expectOneVipHolder();
        },
        { ...ROTATED, [`${NS}:userPasswords`]: { app: ROTATED_APP } },
    );
    changes.push({
        name: `back to the stack file (every change undone; generated passwords again${cluster.tls.enabled ? "; corp no longer trusted" : ""})`,
        kind: "revert",
        reissues: cluster.tls.enabled,
        config: {},
        async before() {
            if (cluster.tls.enabled) revertedFrom = certificateSerials();
        },
        async verify(ctx) {
            if (cluster.tls.enabled) {
                // patroni.yml (the pg_hba line) and the certificates change in the same reload here.
                expectTrustedCas(1);
                await expectServedCertificates(revertedFrom);
            }
            await expectLogin("postgres", ctx.outputs.superuserPassword);
            await expectLogin("admin", ctx.outputs.adminPassword);
            await expectShown(ctx, "max_connections", "200");
            await expectNoPendingRestart();
            expectEqual("DCS ttl", dcs().ttl, 20);
            await expectStreaming(ctx.outputs.superuserPassword);
            expectOneVipHolder();
            etcdHealthy();
        },
    });
    return changes;
}

type HostList = Array<{ name: string; address: string }>;

/** The members etcd has (name, peer URL, learner or not), read from the first member the lab has. */
function etcdMembers(): Array<{ name: string; peer: string; learner: boolean }> {
    const out = JSON.parse(etcdctl("member list -w json")) as { members: Array<{ name?: string; peerURLs: string[]; isLearner?: boolean }> };
    return out.members.map((m) => ({ name: m.name ?? "", peer: m.peerURLs[0], learner: m.isLearner === true }));
}

/** Every etcd member healthy, on one raft term and index (sampled until a moment between Patroni's writes). */
async function expectEtcdAgrees(): Promise<void> {
    const count = Object.keys(etcdNodes()).length;
    await eventually(
        "every etcd member on one raft term and index",
        () => JSON.parse(etcdctl("endpoint status -w json")) as Array<{ Status: { raftTerm: number; raftIndex: number } }>,
        (s) => s.length === count && new Set(s.map((m) => m.Status.raftTerm)).size === 1 && new Set(s.map((m) => m.Status.raftIndex)).size === 1,
        30_000,
    );
}

/** The servers of a HAProxy backend (`primary` or `replicas`) on a balancer, from its admin socket. */
function backendServers(lb: string, backend: string): string[] {
    const state = ssh(lb, "echo 'show servers state' | socat stdio /run/haproxy/admin.sock");
    return state
        .split("\n")
        .map((l) => l.split(" "))
        .filter((f) => (f[1] ?? "").endsWith(`-${backend}`))
        .map((f) => f[3])
        .sort();
}

/** The Patroni members, the balancers' backends and the primary's pg_hba and slots agree on `members`. */
async function expectPatroniMembers(ctx: LiveContext, members: HostList): Promise<void> {
    const names = members.map((m) => m.name).sort();
    await eventually(
        `Patroni members ${names.join(", ")}, all running or streaming`,
        () => patroniMembers() ?? [],
        (m) => JSON.stringify(m.map((x) => x.name).sort()) === JSON.stringify(names) && m.every((x) => ["running", "streaming"].includes(x.state)),
        120_000,
    );
    for (const lb of proxyNodes()) for (const backend of ["primary", "replicas"]) expectEqual(`${lb}: HAProxy ${backend} servers`, backendServers(lb, backend), names);
    const password = ctx.outputs.superuserPassword;
    const replicaAddresses = await query(5000, "select string_agg(host(client_addr), ',' order by client_addr) from pg_stat_replication where state = 'streaming'", "postgres", password);
    expectEqual("replicas streaming from the primary", replicaAddresses.split(",").filter(Boolean).length, members.length - 1);
    // Every member's address may replicate, and no other: pg_hba as PostgreSQL parsed it.
    const hba = await query(5000, "select string_agg(distinct address, ',' order by address) from pg_hba_file_rules where 'replication' = any(database) and address like '10.%'", "postgres", password);
    expectEqual("replication pg_hba addresses", hba.split(","), members.map((m) => m.address).sort());
    await eventually(
        "a replication slot per replica, none for a member that left",
        () => query(5000, "select string_agg(slot_name, ',' order by slot_name) from pg_replication_slots where slot_type = 'physical'", "postgres", password),
        (v) => v.split(",").length === members.length - 1 && v.split(",").every((s) => names.includes(s)),
        120_000,
    );
}

/**
 * Topology changes, in order, from the stack file's hosts: a fourth Patroni member (cloned from a
 * replica), that member removed again while it leads (it hands over first), etcd2 replaced by etcd4
 * (a new name and address), then back to the stack file (etcd4 replaced by a new etcd2).
 */
/** Keepalived's own state on a balancer (its SIGUSR1 data dump): MASTER, BACKUP or FAULT. */
function keepalivedState(lb: string): string {
    return ssh(lb, "rm -f /tmp/keepalived.data; kill -USR1 $(cat /run/keepalived.pid) && sleep 1 && sed -n 's/^ *State = //p' /tmp/keepalived.data | head -1").trim();
}

/** The balancers of `balancers` run, the VIP on `holder` only, every other one a BACKUP peering with all the others. */
function expectBalancers(balancers: HostList, holder: string): void {
    expectEqual("balancers", proxyNodes().sort(), balancers.map((b) => b.name).sort());
    expectEqual("VIP holders", vipHolders(), [holder]);
    for (const lb of balancers) {
        expectEqual(`${lb.name}: Keepalived state`, keepalivedState(lb.name), lb.name === holder ? "MASTER" : "BACKUP");
        const peers = ssh(lb.name, "sed -n '/unicast_peer {/,/}/p' /etc/keepalived/keepalived.conf | grep -Eo '[0-9]+(\\.[0-9]+){3}'").trim().split("\n").sort();
        expectEqual(`${lb.name}: unicast peers`, peers, balancers.filter((b) => b.name !== lb.name).map((b) => b.address).sort());
    }
}

/** Make `holder` the VIP holder before a change (Keepalived restarted on the one holding it: nopreempt). */
async function vipTo(holder: string): Promise<void> {
    for (const lb of vipHolders()) if (lb !== holder) ssh(lb, "systemctl restart keepalived");
    await eventually(`the VIP on ${holder}`, () => vipHolders(), (v) => v.length === 1 && v[0] === holder, 30_000);
}

export function topologyMatrix(stack: string): Day2Change[] {
    const spec = loadStackConfig(stack).config[`${NS}:cluster`] as { hosts: Record<"etcd" | "patroni" | "haproxy", HostList> };
    const only = (list: HostList) => list.map(({ name, address }) => ({ name, address }));
    const stackHosts = { etcd: only(spec.hosts.etcd), patroni: only(spec.hosts.patroni), haproxy: only(spec.hosts.haproxy) };
    const hosts = (patroni: HostList, etcd: HostList) => ({ [`${NS}:cluster`]: { hosts: { ...stackHosts, patroni, etcd } } });
    const pg4 = { name: "pg4", address: "10.251.17.24" };
    const four = [...stackHosts.patroni, pg4];
    const etcd4 = stackHosts.etcd.map((m) => (m.name === "etcd2" ? { name: "etcd4", address: "10.251.17.14" } : m));
    /** The etcd members become `etcd`: every one a healthy voter, all on one raft term and index; Patroni unaffected. */
    const etcdChange = (name: string, etcd: HostList): Day2Change => ({
        name,
        kind: "topology",
        config: hosts(stackHosts.patroni, etcd),
        async verify(ctx) {
            const members = etcdMembers();
            expectEqual("etcd members", members.map((m) => m.name).sort(), etcd.map((m) => m.name).sort());
            expectEqual("etcd learners", members.filter((m) => m.learner).length, 0);
            etcdHealthy();
            await expectEtcdAgrees();
            await expectPatroniMembers(ctx, stackHosts.patroni);
            expectOneVipHolder();
        },
    });
    const etcd5 = [...stackHosts.etcd, { name: "etcd4", address: "10.251.17.14" }, { name: "etcd5", address: "10.251.17.15" }];
    const lb3 = stackHosts.haproxy.map((m) => (m.name === "lb2" ? { name: "lb3", address: "10.251.17.33" } : m));
    const withBalancers = (haproxy: HostList) => ({ [`${NS}:cluster`]: { hosts: { ...stackHosts, haproxy } } });
    const lb2Moved = stackHosts.haproxy.map((m) => (m.name === "lb2" ? { name: "lb2", address: "10.251.17.52" } : m));
    // pg3 rebuilt at a new address (the lab removes the old machine first, as if it had died).
    const pg3Moved = stackHosts.patroni.map((m) => (m.name === "pg3" ? { name: "pg3", address: "10.251.17.43" } : m));
    return [
        {
            name: "add Patroni member pg4 (3→4)",
            kind: "topology",
            config: hosts(four, stackHosts.etcd),
            async verify(ctx) {
                await expectPatroniMembers(ctx, four);
                // Patroni logs where it cloned from: a running replica, never the primary while one streams.
                const log = ssh("pg4", "journalctl -u patroni --no-pager -o cat | grep -m1 'trying to bootstrap' || true");
                if (!/from replica/.test(log)) throw new Error(`pg4 did not clone from a replica: ${log || "no bootstrap line in its log"}`);
                expectOneVipHolder();
            },
        },
        {
            name: "remove pg4 while it leads (4→3: switchover, then stop)",
            kind: "topology",
            config: hosts(stackHosts.patroni, stackHosts.etcd),
            async before() {
                // Make the member that leaves the leader, so that its removal must hand over first.
                const leader = (patroniMembers() ?? []).find((m) => m.role === "leader")?.name;
                if (leader !== "pg4") ssh("pg1", "patronictl -c /etc/patroni/config.yml switchover --leader " + leader + " --candidate pg4 --force");
                await eventually("pg4 leads", () => (patroniMembers() ?? []).find((m) => m.role === "leader")?.name, (v) => v === "pg4", 60_000);
            },
            async verify(ctx) {
                await expectPatroniMembers(ctx, stackHosts.patroni);
                expectOneVipHolder();
            },
        },
        etcdChange("replace etcd2 with etcd4 (new name and address)", etcd4),
        etcdChange("back to the stack file (etcd4 replaced by a new etcd2)", stackHosts.etcd),
        // The bench only (CI's time budget): replacing etcd2 with etcd4 and back proves a member joining and leaving.
        { ...etcdChange("etcd 3→5 members (etcd4, etcd5 join one after the other)", etcd5), benchOnly: true },
        { ...etcdChange("etcd 5→3 members (etcd4, etcd5 removed one after the other)", stackHosts.etcd), benchOnly: true },
        { ...etcdChange("etcd2 at a new address (its old machine gone)", stackHosts.etcd.map((m) => (m.name === "etcd2" ? { name: "etcd2", address: "10.251.17.42" } : m))), benchOnly: true },
        { ...etcdChange("etcd2 back at its stack address (rebuilt again)", stackHosts.etcd), benchOnly: true },
        {
            name: "replace balancer lb2 with lb3 (lb1 keeps the VIP)",
            kind: "topology",
            config: withBalancers(lb3),
            before: () => vipTo("lb1"),
            async verify() {
                expectBalancers(lb3, "lb1");
            },
        },
        {
            name: "back to the stack file (lb3 replaced by a new lb2)",
            kind: "topology",
            config: withBalancers(stackHosts.haproxy),
            before: () => vipTo("lb1"),
            async verify(ctx) {
                expectBalancers(stackHosts.haproxy, "lb1");
                await expectPatroniMembers(ctx, stackHosts.patroni);
            },
        },
        {
            name: "lb2 at a new address (its old machine gone; lb1 keeps the VIP)",
            kind: "topology",
            benchOnly: true,
            config: withBalancers(lb2Moved),
            before: () => vipTo("lb1"),
            async verify() {
                expectBalancers(lb2Moved, "lb1");
            },
        },
        {
            name: "lb2 back at its stack address (rebuilt again)",
            kind: "topology",
            benchOnly: true,
            config: withBalancers(stackHosts.haproxy),
            before: () => vipTo("lb1"),
            async verify() {
                expectBalancers(stackHosts.haproxy, "lb1");
            },
        },
        {
            name: "pg3 at a new address (its old machine gone): a new member of the same name",
            kind: "topology",
            config: hosts(pg3Moved, stackHosts.etcd),
            async before() {
                // Not the leader: a dead leader would have failed over before anyone moved it.
                const leader = (patroniMembers() ?? []).find((m) => m.role === "leader")?.name;
                if (leader === "pg3") ssh("pg1", "patronictl -c /etc/patroni/config.yml switchover --leader pg3 --candidate pg1 --force");
                await eventually("pg3 does not lead", () => (patroniMembers() ?? []).find((m) => m.role === "leader")?.name, (v) => v !== undefined && v !== "pg3", 60_000);
            },
            async verify(ctx) {
                await expectPatroniMembers(ctx, pg3Moved);
                expectOneVipHolder();
            },
        },
        {
            name: "pg3 back at its stack address (rebuilt again)",
            kind: "topology",
            config: hosts(stackHosts.patroni, stackHosts.etcd),
            async verify(ctx) {
                await expectPatroniMembers(ctx, stackHosts.patroni);
            },
        },
    ];
}

/** The superuser password before the rotation (the stack's generated one), for the refusal check. */
let previousSuperuser = "";

export interface Day2Result {
    name: string;
    kind: Day2Change["kind"];
    applySec: number;
    /** Steps the apply ran (update/create/replace/delete), by resource name. */
    ran: string[];
    maxGapSec: number;
    /** Most balancers holding the VIP at once during the apply (sampled every ~250 ms): 1 is right. */
    maxVipHolders: number;
    acknowledged: number;
    missing: number[];
    writerErrors: number;
    /** The writer's distinct error messages, each with how often it came. */
    writerErrorMessages: string[];
    verified: boolean;
    error?: string;
}

/** A `lab apply` that failed, with what it printed on standard error. */
export class ApplyFailed extends Error {
    constructor(
        message: string,
        readonly output: string,
    ) {
        super(message);
    }
}

/** `lab apply --overlay` with `config`, as JSON (asynchronous: the VIP sampler runs meanwhile). */
export async function applyOverlay(stack: string, config: Record<string, unknown>): Promise<{ steps: StepReport[]; summary: string; output: string }> {
    const overlay = path.join(os.tmpdir(), `pgha-day2-${process.pid}.yaml`);
    fs.writeFileSync(overlay, YAML.stringify({ config }), { mode: 0o600 });
    try {
        const child = spawn("npx", ["tsx", path.join(REPO_ROOT, "lab", "cli.ts"), "apply", "--overlay", overlay, "--stack", stack, "--json"], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (c) => (stdout += c));
        child.stderr.on("data", (c) => {
            stderr += c;
            process.stderr.write(c);
        });
        const status = await new Promise<number | null>((resolve) => child.on("exit", resolve));
        if (status !== 0) throw new ApplyFailed(`lab apply failed (exit ${status}): see its output above`, stderr);
        return { ...(JSON.parse(stdout) as { steps: StepReport[]; summary: string }), output: stderr };
    } finally {
        fs.rmSync(overlay, { force: true });
    }
}

/**
 * How many hosts hold the VIP, sampled every ~250 ms from each lab host's own network namespace
 * (every host the lab has at that moment: balancers come and go during a topology change) until stopped.
 */
class VipSampler {
    readonly counts: number[] = [];
    private running = true;
    private done: Promise<void> = Promise.resolve();

    start(): void {
        const address = vip();
        const holds = (netns: string) =>
            new Promise<boolean>((resolve) => execFile("ip", ["netns", "exec", netns, "ip", "-4", "-o", "addr", "show", "dev", "eth0"], (err, out) => resolve(!err && out.includes(`${address}/`))));
        this.done = (async () => {
            while (this.running) {
                const namespaces = fs.existsSync("/run/netns") ? fs.readdirSync("/run/netns").filter((n) => n.startsWith(hostNetns(""))) : [];
                const held = await Promise.all(namespaces.map(holds));
                this.counts.push(held.filter(Boolean).length);
                await sleep(250);
            }
        })();
    }

    async stop(): Promise<{ samples: number; maxHolders: number; samplesWithoutHolder: number }> {
        this.running = false;
        await this.done;
        return { samples: this.counts.length, maxHolders: Math.max(0, ...this.counts), samplesWithoutHolder: this.counts.filter((c) => c === 0).length };
    }
}

/** One change: the writer runs through the apply; then the live checks and the missing rows. */
export async function applyChange(stack: string, change: Day2Change): Promise<Day2Result> {
    const before = stackOutputs();
    if (change.kind === "rotation") previousSuperuser = before.superuserPassword;
    await change.before?.();

    await Writer.prepare(before.superuserPassword);
    const writer = new Writer();
    const run = `day2-${change.kind}-${Date.now()}`;
    writer.start(run);
    const vip = new VipSampler();
    vip.start();
    const applyStarted = Date.now();
    let steps: StepReport[] = [];
    let error: string | undefined;
    try {
        steps = (await applyOverlay(stack, change.config)).steps;
        if (change.refusedWith) error = `the apply succeeded, but it should have been refused (${change.refusedWith})`;
    } catch (err) {
        const refusedAsExpected = change.refusedWith && err instanceof ApplyFailed && change.refusedWith.test(err.output);
        if (!refusedAsExpected) error = (err as Error).message;
    }
    const applySec = (Date.now() - applyStarted) / 1000;
    await sleep(2000);
    await writer.stop();
    const holders = await vip.stop();
    // Never two holders (both balancers answering ARP for the VIP), never none.
    if (!error && (holders.maxHolders > 1 || holders.samplesWithoutHolder > 0)) {
        error = `VIP holders during the apply: up to ${holders.maxHolders}, ${holders.samplesWithoutHolder} of ${holders.samples} samples with none`;
    }
    const outputs = stackOutputs();
    let verified = false;
    if (!error) {
        try {
            await change.verify({ applyStarted, applySec, steps, outputs });
            verified = true;
        } catch (err) {
            error = (err as Error).message;
        }
    }
    const missing = await missingAcks(outputs.superuserPassword, run, writer.acks);
    return {
        name: change.name,
        kind: change.kind,
        applySec: Math.round(applySec * 10) / 10,
        ran: steps.filter((s) => s.op !== "same").map((s) => `${s.op} ${s.name}`),
        maxGapSec: writer.maxGapSec(applyStarted),
        maxVipHolders: holders.maxHolders,
        acknowledged: writer.acks.length,
        missing,
        writerErrors: writer.errors.length,
        writerErrorMessages: distinctCounts(writer.errors.map((e) => e.message)),
        verified,
        ...(error ? { error } : {}),
    };
}

/** The newest backups in the repository, as pgBackRest lists them on `host` (type and WAL start). */
export function repositoryBackups(host: string): Array<{ label: string; type: string; timeline: number }> {
    const info = JSON.parse(ssh(host, "runuser -u postgres -- pgbackrest --output=json info")) as Array<{ status: { code: number }; backup?: Array<{ label: string; type: string; archive: { start: string } }> }>;
    return (info[0]?.backup ?? []).map((b) => ({ label: b.label, type: b.type, timeline: parseInt(b.archive.start.slice(0, 8), 16) }));
}

/**
 * Backups turned on for the running cluster and off again, from git: the repository host and the
 * backup settings of stacks/Pulumi.lab-backup.yaml (one place) added to the stack, then the stack file
 * again. Where the stack's pgBackRest cannot serve a repository host (Debian 12's 2.45), turning
 * them on is refused before anything changes.
 */
export function backupMatrix(stack: string): Day2Change[] {
    const withBackups = loadStackConfig("lab-backup").config[`${NS}:cluster`] as { hosts: { backup: HostList }; backup: Record<string, unknown> };
    const spec = loadStackConfig(stack).config[`${NS}:cluster`] as { hosts: Record<"etcd" | "patroni" | "haproxy", HostList> };
    const repository = withBackups.hosts.backup[0].name;
    const on = { [`${NS}:cluster`]: { hosts: { ...spec.hosts, backup: withBackups.hosts.backup }, backup: withBackups.backup } };
    const refused = validateCluster(mergeConfig(loadStackConfig(stack).config[`${NS}:cluster`], on[`${NS}:cluster`]), stack).length > 0;
    if (refused) {
        return [{ name: "backups on with a repository host (refused: the release's pgBackRest is too old)", kind: "refused", refusedWith: /cluster\.backup\.repository\.kind: .*needs pgBackRest 2\.53 or newer/, config: on, async verify() {} }];
    }
    return [
        {
            name: `backups on: repository host ${repository} joins, the stanza, a first full backup, WAL archived`,
            kind: "topology",
            config: on,
            async verify(ctx) {
                await expectPatroniMembers(ctx, spec.hosts.patroni);
                const backups = await eventually("a first full backup in the repository", () => repositoryBackups(repository), (b) => b.some((x) => x.type === "full"), 120_000);
                expectEqual("the first backup's type", backups[0].type, "full");
                const pw = ctx.outputs.superuserPassword;
                expectEqual("archive_command on the primary", await query(5000, "show archive_command", "postgres", pw), archiveCommand(labCluster().scope));
                // A segment switched now reaches the repository, and no attempt failed since the last success
                // (archive-push fails until the stanza gate has created the stanza: PostgreSQL retries).
                const segment = await query(5000, "select pg_walfile_name(pg_switch_wal())", "postgres", pw);
                await eventually(`segment ${segment} archived`, () => query(5000, "select last_archived_wal >= $$" + segment + "$$ and (last_failed_time is null or last_failed_time < last_archived_time) from pg_stat_archiver", "postgres", pw), (v) => v === "true", 60_000);
                expectEqual("pgBackRest's server on every member", spec.hosts.patroni.map((m) => ssh(m.name, "systemctl is-active pgbackrest || true").trim()), spec.hosts.patroni.map(() => "active"));
                expectOneVipHolder();
            },
        },
        {
            name: `backups off again (the stack file): ${repository} leaves, archive_command a no-op, pgBackRest stopped`,
            kind: "topology",
            config: {},
            async verify(ctx) {
                await expectPatroniMembers(ctx, spec.hosts.patroni);
                expectEqual("archive_command on the primary", await query(5000, "show archive_command", "postgres", ctx.outputs.superuserPassword), "/bin/true");
                expectEqual("pgBackRest's server on the members", spec.hosts.patroni.map((m) => ssh(m.name, "systemctl is-active pgbackrest || true").trim()), spec.hosts.patroni.map(() => "inactive"));
                expectEqual(`${repository} in the lab`, runningHosts().some((h) => h.name === repository), false);
                expectOneVipHolder();
            },
        },
    ];
}

/** Grows the database to about `gb` GB on the leader (pgbench -i: about 15 MB per scale unit). */
export function loadData(gb: number): void {
    const leader = (patroniMembers() ?? []).find((m) => m.role === "leader")?.name;
    if (!leader) throw new Error("no leader to load data into");
    // pgbench: about 15 MB per scale unit.
    const scale = Math.max(1, Math.round((gb * 1024) / 15));
    console.error(`   loading ~${gb} GB (pgbench scale ${scale}) on ${leader}`);
    machines("ssh", leader, `cd /tmp && runuser -u postgres -- $(ls -d /usr/lib/postgresql/*/bin | tail -1)/pgbench -i -q -s ${scale} postgres`);
}
