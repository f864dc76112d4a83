/**
 * The failover bench's second client: libpq itself (psql), straight to the PostgreSQL members with a
 * multi-host connection string and `target_session_attrs=read-write` (no VIP, no HAProxy), as an
 * application that lists the members would connect. Inserts a row every ~`intervalMs` through one
 * psql session while it lasts and a new one after any error (libpq then tries the members in turn
 * and keeps the first that accepts writes), and prints the same JSON lines as bench/writer.ts:
 * `{"id","at"}` per acknowledged row, `{"error","at"}` per error, until SIGTERM.
 * Usage: PGUSER=... PGPASSWORD=... [PGSSLMODE/PGSSLROOTCERT] node --import tsx bench/libpq-writer.ts <run tag> <host,host,...> [intervalMs]
 */
import { spawn, type ChildProcess } from "child_process";
import * as readline from "readline";

const [run, hosts, interval = "50"] = process.argv.slice(2);
const intervalMs = Number(interval);
/** As bench/writer.ts: a write that has not come back in this long is an error. */
const QUERY_TIMEOUT_MS = 5000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let stopped = false;
process.on("SIGTERM", () => (stopped = true));
process.stdout.on("error", () => process.exit(0));

const emit = (line: object) => process.stdout.write(JSON.stringify({ ...line, at: Date.now() }) + "\n");

/** One psql session (`connect_timeout` is libpq's, per member tried), its output as one queue of events. */
class Session {
    readonly child: ChildProcess;
    private readonly queue: string[] = [];
    private wake: (() => void) | undefined;
    private exited = false;

    constructor() {
        const conninfo = `host=${hosts} port=5432 dbname=postgres target_session_attrs=read-write connect_timeout=2`;
        this.child = spawn("psql", [conninfo, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=0", "-c", "set synchronous_commit = on", "-f", "-"], { stdio: ["pipe", "pipe", "pipe"] });
        const push = (event: string) => {
            this.queue.push(event);
            this.wake?.();
        };
        readline.createInterface({ input: this.child.stdout! }).on("line", (l) => push(l));
        readline.createInterface({ input: this.child.stderr! }).on("line", (l) => l.trim() && push(`error: ${l.trim()}`));
        this.child.once("exit", () => {
            this.exited = true;
            push("error: psql exited");
        });
        this.child.stdin!.on("error", () => undefined);
    }

    /** The next line of output or error, or "timeout". */
    async next(timeoutMs: number): Promise<string> {
        const deadline = Date.now() + timeoutMs;
        while (this.queue.length === 0) {
            if (Date.now() >= deadline) return "timeout";
            await new Promise<void>((resolve) => {
                this.wake = resolve;
                setTimeout(resolve, deadline - Date.now());
            });
            this.wake = undefined;
        }
        return this.queue.shift()!;
    }

    write(sql: string): void {
        if (!this.exited) this.child.stdin!.write(sql);
    }
}

async function main(): Promise<void> {
    let s: Session | undefined;
    let nextId = 1;
    while (!stopped) {
        s ??= new Session();
        const id = nextId++;
        // Only a committed insert prints its line: `returning` output comes after the commit.
        s.write(`insert into failover_writes_v2 (id, run) values (${id}, '${run}') returning 'ack ' || id;\n`);
        const answer = await s.next(QUERY_TIMEOUT_MS);
        if (answer === `ack ${id}`) {
            emit({ id });
            await sleep(intervalMs);
            continue;
        }
        // An error, a timeout or a lost connection: a new session, as an application reconnects.
        emit({ error: answer });
        s.child.kill("SIGKILL");
        s = undefined;
        await sleep(50);
    }
    s?.child.kill("SIGTERM");
}

void main().then(() => process.exit(0));
