/**
 * `npm run lab -- <command>`: the local lab. Eight systemd-nspawn hosts (lab/machines.sh) and the
 * project's own program (index.ts, stack `lab`) run against them by the in-process engine
 * stand-in (tools/engine) — the same remote commands `pulumi up` would run, executed over SSH.
 *
 *   up (default) [--stack lab]   make the hosts, then run the program against them (a first `pulumi up`)
 *   apply [--stack lab] [--json] a later `pulumi up` against the stack's state: runs only what changed
 *   preview [--stack lab] [--json] what `apply` would run, and why, running nothing
 *   destroy [--stack lab]        `pulumi destroy`: the program's delete commands, then no state (hosts stay)
 *   --overlay <file>             (apply, preview) a YAML `config:` map merged over the stack's, as
 *                                `pulumi config set` would change the stack file: for day-2 tests
 *   status         hosts, and the cluster as Patroni and Keepalived see it
 *   down           remove everything the lab made
 *   ssh <host> [command...]
 *   psql [--replica] [psql options...]   through VIP:5000 (or VIP:5001)
 *   restore --to <time|latest>   restore the cluster from its pgBackRest repository (lab/restore.ts)
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { RELEASES } from "../model/distro";
import { DEFAULT_OS, HOST_ROLES } from "../model/resolve";
import type { ClusterSpec, DistroLayout, ResolvedCluster } from "../model/types";
import { resolveValidCluster } from "../model/validate";
import { RESTORE_SCRIPT } from "../render/pgbackrest";
import { restoreLab } from "./restore";
import {
    createProgressRenderer,
    destroyInProcess,
    EngineError,
    formatChanges,
    formatSummary,
    loadStackConfig,
    RunResult,
    runProgram,
    stepReports,
} from "../tools/engine";

const REPO_ROOT = path.resolve(__dirname, "..");
const MACHINES = path.join(__dirname, "machines.sh");
const STATE_DIR = "/var/lib/pgha-lab";
export const STATE_FILE = path.join(STATE_DIR, "state.json");
/** Each stack's engine state (a Pulumi checkpoint's stand-in) and its key; see tools/engine/state.ts. */
const STACKS_DIR = path.join(STATE_DIR, "stacks");
const stackStateFile = (name: string) => path.join(STACKS_DIR, `${name}.json`);
/** The stack the lab runs: its `cluster.hosts` are the lab's machines (lab/machines.sh makes them). */
let stack = "lab";

const ENGINE_NOTICE =
    "Note: no Pulumi engine runs here. The program is executed in-process under pulumi.runtime.setMocks by this\n" +
    "project's engine stand-in (tools/engine), against the stack's state as `pulumi up` would: a resource whose\n" +
    "inputs did not change runs nothing, a changed one runs its update (or is replaced), a removed one its delete.";

/** What `lab up` leaves for `lab psql`, the e2e test and the bench: the stack outputs, secrets included. */
export interface LabState {
    stack: string;
    finishedAt: string;
    durationSec: number;
    outputs: Record<string, unknown>;
}

function machines(args: string[], inherit = true, env: Record<string, string> = {}): number {
    const r = spawnSync("bash", [MACHINES, ...args], { stdio: inherit ? "inherit" : "pipe", env: { ...process.env, ...env } });
    return r.status ?? 1;
}

/** Paths, packages and services of the cluster the lab runs now (its stack's release and PostgreSQL). */
export function labLayout(): DistroLayout {
    return labCluster().layout;
}

/** Resolved stacks by name: the bench's and the e2e's polling asks for the running one again and again. */
const resolvedStacks = new Map<string, ResolvedCluster>();

/** The cluster the lab runs now, as its stack resolves (ports, TLS, layout). */
export function labCluster(): ResolvedCluster {
    const running = readState().stack;
    let c = resolvedStacks.get(running);
    if (!c) {
        c = resolveValidCluster(loadStackConfig(running).config["pulumi-patroni:cluster"] as ClusterSpec, running);
        resolvedStacks.set(running, c);
    }
    return c;
}

/** Settings changed on top of the stack file (`--overlay`), as a later commit would change it. */
let overlayFile: string | undefined;

/** The stack's config, with the overlay's values merged over it (objects key by key; lists replaced). */
function stackConfig(): ReturnType<typeof loadStackConfig> {
    const loaded = loadStackConfig(stack);
    if (!overlayFile) return loaded;
    const overlay = (YAML.parse(fs.readFileSync(overlayFile, "utf8")) as { config?: Record<string, unknown> } | null)?.config;
    if (!overlay || typeof overlay !== "object") throw new Error(`--overlay ${overlayFile}: expected a "config:" map like a stack file's`);
    return { ...loaded, config: mergeConfig(loaded.config, overlay) as Record<string, unknown> };
}

/** `over` merged over `base` as an overlay is: objects key by key, everything else (lists too) replaced. */
export function mergeConfig(base: unknown, over: unknown): unknown {
    return base && over && typeof base === "object" && typeof over === "object" && !Array.isArray(base) && !Array.isArray(over)
        ? Object.fromEntries([...new Set([...Object.keys(base), ...Object.keys(over)])].map((k) => [k, k in over ? mergeConfig((base as Record<string, unknown>)[k], (over as Record<string, unknown>)[k]) : (base as Record<string, unknown>)[k]]))
        : over;
}

/** The Debian suite of the stack's `cluster.os`: the lab makes hosts of that release. */
function stackSuite(): string {
    const spec = loadStackConfig(stack).config["pulumi-patroni:cluster"] as ClusterSpec | undefined;
    const os = spec?.os ?? DEFAULT_OS;
    const codename = RELEASES[os]?.codename;
    if (codename !== "bookworm" && codename !== "trixie") {
        throw new Error(`stack ${stack}: cluster.os is ${os}; the lab makes Debian hosts only. Fix: use os debian12 or debian13 for a lab stack.`);
    }
    return codename;
}

/** A lab host: one machine, with every role the stack gives it. */
export interface LabHost {
    name: string;
    address: string;
    roles: string[];
}

/** The machines a cluster spec asks for, one per host name (a host may play several roles). */
export function labHosts(spec: ClusterSpec): LabHost[] {
    const byName = new Map<string, LabHost>();
    for (const role of HOST_ROLES) {
        for (const h of spec.hosts?.[role] ?? []) {
            const known = byName.get(h.name);
            if (known) known.roles.push(role);
            else byName.set(h.name, { name: h.name, address: h.address, roles: [role] });
        }
    }
    return [...byName.values()];
}

/** The stack's hosts (overlay included) as lab/machines.sh takes them in PGHA_LAB_HOSTS. */
function stackHostTable(): { hosts: LabHost[]; env: Record<string, string> } {
    const spec = stackConfig().config["pulumi-patroni:cluster"] as ClusterSpec;
    const hosts = labHosts(spec);
    return { hosts, env: { PGHA_LAB_HOSTS: hosts.map((h) => `${h.name} ${h.address} ${h.roles.join(",")}`).join("\n") } };
}

/** The machines the lab has now (lab/machines.sh's table). */
export function runningHosts(): LabHost[] {
    const r = spawnSync("bash", [MACHINES, "hosts"], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`lab/machines.sh hosts: ${r.stderr}`);
    return JSON.parse(r.stdout) as LabHost[];
}

export function readState(): LabState {
    if (!fs.existsSync(STATE_FILE)) throw new Error(`no lab state at ${STATE_FILE}: run \`npm run lab\` first`);
    return JSON.parse(fs.readFileSync(STATE_FILE, "utf8")) as LabState;
}

/** How a run went, for `--json`: every step (op, name, why) and the Pulumi-shaped summary. */
function report(result: Pick<RunResult, "resources" | "deleted">, preview: boolean, json: boolean): void {
    const steps = stepReports(result);
    if (json) process.stdout.write(`${JSON.stringify({ steps, summary: formatSummary(steps, preview) }, null, 2)}\n`);
    else console.error(`${formatChanges(steps)}\n\n${formatSummary(steps, preview)}`);
}

/**
 * A `pulumi up` (or, with `preview`, a `pulumi preview`) of the program against the lab hosts and the
 * stack's state. After an up, the outputs go to the state file (root only) for psql, tests and benches.
 */
export async function apply(options: { preview?: boolean; json?: boolean } = {}): Promise<LabState> {
    console.error(ENGINE_NOTICE);
    // Hosts the stack has and the lab not yet: made before the program runs (as machines are
    // created before a `pulumi up` on hosts you already have); hosts it left: removed after a
    // successful run, once the program's delete steps have run on them.
    const wanted = stackHostTable();
    if (!options.preview && machines(["add"], true, wanted.env) !== 0) throw new Error("lab/machines.sh add failed");
    const { config, secretKeys } = stackConfig();
    const renderer = createProgressRenderer();
    const started = Date.now();
    let result: RunResult;
    try {
        result = await runProgram({
            programPath: path.join(REPO_ROOT, "index.ts"),
            stack,
            config,
            secretKeys,
            mode: "lab",
            timeoutMs: 30 * 60_000,
            stateFile: stackStateFile(stack),
            preview: options.preview,
            onEvent: renderer.onEvent,
        });
    } catch (err) {
        renderer.stop();
        if (err instanceof EngineError) report({ resources: err.resources, deleted: [] }, false, false);
        throw err;
    }
    renderer.stop();
    report(result, options.preview ?? false, options.json ?? false);
    const state: LabState = {
        stack,
        finishedAt: new Date().toISOString(),
        durationSec: Math.round((Date.now() - started) / 100) / 10,
        outputs: result.outputs,
    };
    if (!options.preview) {
        const left = runningHosts().filter((h) => !wanted.hosts.some((w) => w.name === h.name));
        if (left.length && machines(["remove", ...left.map((h) => h.name)]) !== 0) throw new Error("lab/machines.sh remove failed");
        fs.mkdirSync(STATE_DIR, { recursive: true, mode: 0o700 });
        fs.writeFileSync(STATE_FILE, JSON.stringify(state, null, 2) + "\n", { mode: 0o600 });
        fs.chmodSync(STATE_FILE, 0o600);
    }
    return state;
}

/** `pulumi destroy`: every resource's delete, dependents first; the hosts stay up. */
async function destroy(json: boolean): Promise<void> {
    const renderer = createProgressRenderer();
    try {
        const deleted = await destroyInProcess({ stack, stateFile: stackStateFile(stack), mode: "lab", config: loadStackConfig(stack).config, onEvent: renderer.onEvent });
        renderer.stop();
        report({ resources: [], deleted }, false, json);
        fs.rmSync(STATE_FILE, { force: true });
    } finally {
        renderer.stop();
    }
}

function summary(state: LabState): string {
    const o = state.outputs;
    const nodes = (o.nodes as Array<{ name: string; address: string; roles: string[]; patroniRole?: string }>) ?? [];
    return [
        `cluster ready in ${state.durationSec} s (program run)`,
        `  writer:  ${o.writerEndpoint}    reader: ${o.readerEndpoint}    stats: ${o.statsUrl}`,
        `  etcd:    ${(o.etcdEndpoints as string[]).join(" ")}`,
        ...nodes.map((n) => `  ${n.name.padEnd(6)} ${n.address.padEnd(14)} ${n.roles.join(",")}${n.patroniRole ? ` (${n.patroniRole})` : ""}`),
        `  secrets (superuser password, connection string) are in ${STATE_FILE} (mode 0600)`,
        "  try: npm run lab -- psql -c 'select pg_is_in_recovery()'",
    ].join("\n");
}

/**
 * With TLS, libpq's settings to verify the front door against the stack's CA (the caCertificate
 * output, saved beside the state): as the connectionString output asks any client to.
 */
export function verifyServer(state: LabState): Record<string, string> {
    const ca = state.outputs.caCertificate;
    if (typeof ca !== "string" || ca === "") return {};
    const file = path.join(STATE_DIR, "ca.crt");
    // Written when it differs (every new client of the bench asks).
    if (!fs.existsSync(file) || fs.readFileSync(file, "utf8") !== ca) fs.writeFileSync(file, ca, { mode: 0o644 });
    return { PGSSLMODE: "verify-full", PGSSLROOTCERT: file };
}

function psql(args: string[]): number {
    const state = readState();
    const replica = args[0] === "--replica";
    const endpoint = String(replica ? state.outputs.readerEndpoint : state.outputs.writerEndpoint);
    const [host, port] = endpoint.split(":");
    const r = spawnSync("psql", ["-h", host, "-p", port, "-U", "postgres", "-d", "postgres", ...(replica ? args.slice(1) : args)], {
        stdio: "inherit",
        // The password reaches psql through its environment, never its command line.
        env: { ...process.env, PGPASSWORD: String(state.outputs.superuserPassword), PGCONNECT_TIMEOUT: "5", ...verifyServer(state) },
    });
    if (r.error) {
        console.error(`lab psql: cannot run psql (${r.error.message}). Fix: apt-get install postgresql-client (\`npm run lab\` installs it).`);
        return 1;
    }
    return r.status ?? 1;
}

function status(): number {
    machines(["status"]);
    const hosts = runningHosts();
    const pg = hosts.find((h) => h.roles.includes("patroni"));
    const r = pg ? spawnSync("bash", [MACHINES, "ssh", pg.name, "patronictl -c /etc/patroni/config.yml list 2>/dev/null || echo 'patroni not configured yet'"], { stdio: "inherit" }) : { status: 0 };
    for (const lb of hosts.filter((h) => h.roles.includes("haproxy")).map((h) => h.name)) {
        spawnSync("bash", [MACHINES, "ssh", lb, "printf '%s: ' \"$(hostname)\"; ip -4 -o addr show dev eth0 | awk '{print $4}' | tr '\\n' ' '; echo"], { stdio: "inherit" });
    }
    if (pg && labSsh(pg.name, `test -x ${RESTORE_SCRIPT}`).status === 0) backupStatus(hosts, pg.name);
    return r.status ?? 1;
}

/** With backups: the repository's last backups (pgBackRest's info) and the primary's archiver (pg_stat_archiver). */
function backupStatus(hosts: LabHost[], member: string): void {
    const layout = labLayout();
    const repository = hosts.find((h) => h.roles.includes("backup"))?.name ?? member;
    console.log(`backups (pgbackrest info on ${repository}):`);
    spawnSync("bash", [MACHINES, "ssh", repository, "runuser -u postgres -- pgbackrest info | sed 's/^/  /'"], { stdio: "inherit" });
    const primary = labSsh(member, `patronictl -c ${layout.patroniConfigPath} list -f json`).output;
    const leader = /^\[/m.test(primary) ? (JSON.parse(primary.slice(primary.indexOf("["))) as { Member: string; Role: string }[]).find((m) => m.Role === "Leader")?.Member : undefined;
    if (!leader) return;
    console.log(`WAL archiving (pg_stat_archiver on ${leader}, the primary):`);
    const sql = "select archived_count, last_archived_wal, last_archived_time, failed_count, last_failed_wal, last_failed_time, now() - last_archived_time as since_last_archived from pg_stat_archiver";
    spawnSync("bash", [MACHINES, "ssh", leader, `runuser -u postgres -- ${layout.pgBinDir}/psql -h ${layout.socketDir} -XAtxc '${sql}' | sed 's/^/  /'`], { stdio: "inherit" });
}

/** A command on a lab host, its output captured. */
export function labSsh(host: string, command: string): { status: number; output: string } {
    const r = spawnSync("bash", [MACHINES, "ssh", host, command], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
    return { status: r.status ?? 1, output: `${r.stdout ?? ""}${r.stderr ?? ""}` };
}

function restore(args: string[]): number {
    const at = args.indexOf("--to");
    const target = at >= 0 ? args[at + 1] : undefined;
    if (!target) {
        console.error(`lab restore: say where to, e.g. --to latest or --to "2026-11-24 14:00:00+00"`);
        return 2;
    }
    const c = labCluster();
    const member = runningHosts().find((h) => h.roles.includes("patroni"));
    if (!member || labSsh(member.name, `test -x ${RESTORE_SCRIPT}`).status !== 0) {
        console.error(`lab restore: the cluster has no backups (no ${RESTORE_SCRIPT} on its members). Fix: set pulumi-patroni:cluster.backup.enabled, or use --stack lab-backup`);
        return 2;
    }
    const t0 = Date.now();
    const steps = restoreLab(labSsh, target, runningHosts(), c.scope, labLayout().patroniConfigPath);
    for (const s of steps) console.error(`  ${s.step.padEnd(10)} ${s.host.padEnd(8)} ${s.sec.toFixed(1)} s`);
    console.error(`lab restore to ${target}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return 0;
}

async function main(argv: string[]): Promise<number> {
    if (process.getuid?.() !== 0) {
        console.error("the lab needs root (it makes containers, namespaces and a bridge)");
        return 1;
    }
    const overlayAt = argv.indexOf("--overlay");
    if (overlayAt >= 0) {
        overlayFile = argv[overlayAt + 1];
        argv = [...argv.slice(0, overlayAt), ...argv.slice(overlayAt + 2)];
    }
    const stackAt = argv.indexOf("--stack");
    if (stackAt >= 0) {
        stack = argv[stackAt + 1];
        argv = [...argv.slice(0, stackAt), ...argv.slice(stackAt + 2)];
    }
    const json = argv.includes("--json");
    argv = argv.filter((a) => a !== "--json");
    const [cmd = "up", ...rest] = argv;
    switch (cmd) {
        case "up": {
            const t0 = Date.now();
            if (machines(["up"], true, { PGHA_LAB_SUITE: stackSuite(), ...stackHostTable().env }) !== 0) return 1;
            // New hosts: no stack's state describes them (generated secrets start afresh too).
            fs.rmSync(STACKS_DIR, { recursive: true, force: true });
            const hostsSec = (Date.now() - t0) / 1000;
            const state = await apply({ json });
            if (!json) console.log(summary(state));
            console.error(`lab up: hosts ${hostsSec.toFixed(1)} s + program ${state.durationSec} s = ${((Date.now() - t0) / 1000).toFixed(1)} s`);
            return 0;
        }
        case "apply": {
            const state = await apply({ json });
            if (!json) console.log(summary(state));
            return 0;
        }
        case "preview":
            await apply({ preview: true, json });
            return 0;
        case "destroy":
            await destroy(json);
            return 0;
        case "down":
            fs.rmSync(STACKS_DIR, { recursive: true, force: true });
            fs.rmSync(STATE_FILE, { force: true });
            return machines(["down"]);
        case "status":
            return status();
        case "ssh":
            return machines(["ssh", ...rest]);
        case "psql":
            return psql(rest);
        case "restore":
            return restore(rest);
        default:
            console.error(`unknown lab command ${JSON.stringify(cmd)}: use up, apply, preview, destroy, status, down, ssh <host> [command], psql [--replica] [psql options], restore --to <time|latest>`);
            return 2;
    }
}

if (require.main === module) {
    main(process.argv.slice(2)).then(
        (code) => process.exit(code),
        (err: unknown) => {
            // The progress renderer has already printed the failing step, its host and its output tail.
            console.error(err instanceof EngineError ? `lab: ${err.message}` : err);
            process.exit(1);
        },
    );
}
