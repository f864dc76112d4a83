/**
 * Run inside one PostgreSQL host's network namespace (`ip netns exec pgha-pgN`): asks the node at
 * `address` every 200 ms whether it accepts writes, one JSON line per answer, until killed.
 */
import { Client } from "pg";
import { pgSsl } from "./pg-ssl";

const address = process.argv[2];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
    let client: Client | undefined;
    for (;;) {
        try {
            if (!client) {
                client = new Client({ host: address, port: 5432, user: "postgres", database: "postgres", connectionTimeoutMillis: 500, query_timeout: 500, ssl: pgSsl(process.env) });
                client.on("error", () => undefined);
                await client.connect();
            }
            const r = await client.query<{ r: boolean }>("select pg_is_in_recovery() as r");
            process.stdout.write(JSON.stringify({ at: Date.now(), writable: r.rows[0].r === false }) + "\n");
        } catch {
            void client?.end().catch(() => undefined);
            client = undefined;
        }
        await sleep(200);
    }
}

process.on("SIGTERM", () => process.exit(0));
void main();
