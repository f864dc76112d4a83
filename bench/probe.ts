/**
 * Run inside one PostgreSQL host's network namespace (`ip netns exec pgha-pgN`): asks the node at
 * `address` every 200 ms whether it is a primary (not in recovery) and whether it could acknowledge
 * a synchronous commit — no synchronous standby is asked for, or one that is asked for streams to
 * it — one JSON line per answer, until killed. A primary left running by a frozen Patroni, whose
 * standbys now follow another, is the first without the second: its commits wait for ever.
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
            const r = await client.query<{ r: boolean; acks: boolean }>(
                "select pg_is_in_recovery() as r, current_setting('synchronous_standby_names') = '' " +
                    "or exists (select from pg_stat_replication where state = 'streaming' and sync_state in ('sync', 'quorum')) as acks",
            );
            const writable = r.rows[0].r === false;
            process.stdout.write(JSON.stringify({ at: Date.now(), writable, acks: writable && r.rows[0].acks }) + "\n");
        } catch {
            void client?.end().catch(() => undefined);
            client = undefined;
        }
        await sleep(200);
    }
}

process.on("SIGTERM", () => process.exit(0));
void main();
