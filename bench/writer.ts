/**
 * The failover writer, in a process of its own so that nothing the bench does (SSH calls, polling)
 * can stall it: inserts a row every ~`intervalMs` through VIP:5000 with synchronous commit, on one
 * connection while it lasts and on a fresh one after any error, and prints one JSON line per
 * acknowledged row (`{"id","at"}`) or error (`{"error","at"}`) until SIGTERM.
 * Usage: PGHOST=<VIP> PGUSER=... PGPASSWORD=... node --import tsx bench/writer.ts <run tag> [intervalMs]
 */
import { Client } from "pg";
import { pgSsl } from "./pg-ssl";

const [run, interval = "50"] = process.argv.slice(2);
const intervalMs = Number(interval);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let stopped = false;
process.on("SIGTERM", () => (stopped = true));
// The bench stopped reading (it ended, or failed): nothing left to report to.
process.stdout.on("error", () => process.exit(0));

async function main(): Promise<void> {
    let client: Client | undefined;
    let nextId = 1;
    while (!stopped) {
        try {
            if (!client) {
                client = new Client({ host: process.env.PGHOST, port: 5000, user: process.env.PGUSER, database: "postgres", connectionTimeoutMillis: 2000, query_timeout: 5000, ssl: pgSsl(process.env) });
                client.on("error", () => undefined);
                await client.connect();
                await client.query("set synchronous_commit = on");
            }
            const id = nextId++;
            await client.query("insert into failover_writes_v2 (id, run) values ($1, $2)", [id, run]);
            process.stdout.write(JSON.stringify({ id, at: Date.now() }) + "\n");
            await sleep(intervalMs);
        } catch (err) {
            process.stdout.write(JSON.stringify({ error: (err as Error).message, at: Date.now() }) + "\n");
            const broken = client;
            client = undefined;
            void broken?.end().catch(() => undefined);
            await sleep(50);
        }
    }
    await client?.end().catch(() => undefined);
}

void main().then(() => process.exit(0));
