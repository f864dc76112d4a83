/**
 * `npm run lab -- <command>`: the local lab. Eight systemd-nspawn hosts (lab/machines.sh) and the
 * project's own program (index.ts, stack `lab`) run against them by the in-process engine
 * stand-in (tools/engine) — the same remote commands `pulumi up` would run, executed over SSH.
 *
 *   up (default) [--stack lab]   make the hosts, then run the program against them
 *   apply [--stack lab]          run the program again against the running hosts (idempotence)
 *   status         hosts, and the cluster as Patroni and Keepalived see it
 *   down           remove everything the lab made
 *   ssh <host> [command...]
 *   psql [--replica] [psql options...]   through VIP:5000 (or VIP:5001)
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { createProgressRenderer, EngineError, loadStackConfig, runProgram } from "../tools/engine";

const REPO_ROOT = path.resolve(__dirname, "..");
const MACHINES = path.join(__dirname, "machines.sh");
const STATE_DIR = "/var/lib/pgha-lab";
export const STATE_FILE = path.join(STATE_DIR, "state.json");
const RANDOM_STATE_FILE = path.join(STATE_DIR, "random-state.json");
/** The lab's hosts are fixed; a stack only changes settings (e.g. `lab-seeds`, the seed guides' timings). */
let stack = "lab";

const ENGINE_NOTICE =
    "Note: no Pulumi engine runs here. The program is executed in-process under pulumi.runtime.setMocks by this\n" +
    "project's engine stand-in (tools/engine): remote commands really run over SSH on the lab hosts, random values\n" +
    "are really generated (and kept between runs, as Pulumi state keeps them), but there is no other state, so\n" +
    "every run executes every step's `create` again — which is why every step is written to be idempotent.";

/** What `lab up` leaves for `lab psql`, the e2e test and the bench: the stack outputs, secrets included. */
export interface LabState {
    stack: string;
    finishedAt: string;
    durationSec: number;
    outputs: Record<string, unknown>;
}

function machines(args: string[], inherit = true): number {
    const r = spawnSync("bash", [MACHINES, ...args], { stdio: inherit ? "inherit" : "pipe" });
    return r.status ?? 1;
}

export function readState(): LabState {
    if (!fs.existsSync(STATE_FILE)) throw new Error(`no lab state at ${STATE_FILE}: run \`npm run lab\` first`);
    return JSON.parse(fs.readFileSync(STATE_FILE, "utf8")) as LabState;
}

/** Run the program against the lab hosts; write the outputs to the state file (root only). */
export async function apply(): Promise<LabState> {
    console.error(ENGINE_NOTICE);
    const { config, secretKeys } = loadStackConfig(stack);
    const renderer = createProgressRenderer();
    const started = Date.now();
    try {
        const result = await runProgram({
            programPath: path.join(REPO_ROOT, "index.ts"),
            stack,
            config,
            secretKeys,
            mode: "lab",
            timeoutMs: 30 * 60_000,
            // Generated passwords stay the same across runs, as Pulumi state would keep them.
            randomStateFile: RANDOM_STATE_FILE,
            onEvent: renderer.onEvent,
        });
        const state: LabState = {
            stack,
            finishedAt: new Date().toISOString(),
            durationSec: Math.round((Date.now() - started) / 100) / 10,
            outputs: result.outputs,
        };
        fs.mkdirSync(STATE_DIR, { recursive: true, mode: 0o700 });
        fs.writeFileSync(STATE_FILE, JSON.stringify(state, null, 2) + "\n", { mode: 0o600 });
        fs.chmodSync(STATE_FILE, 0o600);
        return state;
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

function psql(args: string[]): number {
    const state = readState();
    const replica = args[0] === "--replica";
    const endpoint = String(replica ? state.outputs.readerEndpoint : state.outputs.writerEndpoint);
    const [host, port] = endpoint.split(":");
    const r = spawnSync("psql", ["-h", host, "-p", port, "-U", "postgres", "-d", "postgres", ...(replica ? args.slice(1) : args)], {
        stdio: "inherit",
        // The password reaches psql through its environment, never its command line.
        env: { ...process.env, PGPASSWORD: String(state.outputs.superuserPassword), PGCONNECT_TIMEOUT: "5" },
    });
    return r.status ?? 1;
}

function status(): number {
    machines(["status"]);
    const r = spawnSync("bash", [MACHINES, "ssh", "pg1", "patronictl -c /etc/patroni/config.yml list 2>/dev/null || echo 'patroni not configured yet'"], { stdio: "inherit" });
    for (const lb of ["lb1", "lb2"]) {
        spawnSync("bash", [MACHINES, "ssh", lb, "printf '%s: ' \"$(hostname)\"; ip -4 -o addr show dev eth0 | awk '{print $4}' | tr '\\n' ' '; echo"], { stdio: "inherit" });
    }
    return r.status ?? 1;
}

async function main(argv: string[]): Promise<number> {
    if (process.getuid?.() !== 0) {
        console.error("the lab needs root (it makes containers, namespaces and a bridge)");
        return 1;
    }
    const stackAt = argv.indexOf("--stack");
    if (stackAt >= 0) {
        stack = argv[stackAt + 1];
        argv = [...argv.slice(0, stackAt), ...argv.slice(stackAt + 2)];
    }
    const [cmd = "up", ...rest] = argv;
    switch (cmd) {
        case "up": {
            const t0 = Date.now();
            if (machines(["up"]) !== 0) return 1;
            // New hosts, new cluster: generated secrets start afresh too.
            fs.rmSync(RANDOM_STATE_FILE, { force: true });
            const hostsSec = (Date.now() - t0) / 1000;
            const state = await apply();
            console.log(summary(state));
            console.log(`lab up: hosts ${hostsSec.toFixed(1)} s + program ${state.durationSec} s = ${((Date.now() - t0) / 1000).toFixed(1)} s`);
            return 0;
        }
        case "apply": {
            const state = await apply();
            console.log(summary(state));
            return 0;
        }
        case "down":
            fs.rmSync(RANDOM_STATE_FILE, { force: true });
            fs.rmSync(STATE_FILE, { force: true });
            return machines(["down"]);
        case "status":
            return status();
        case "ssh":
            return machines(["ssh", ...rest]);
        case "psql":
            return psql(rest);
        default:
            console.error(`unknown lab command ${JSON.stringify(cmd)}: use up, apply, status, down, ssh <host> [command], psql [--replica] [psql options]`);
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
