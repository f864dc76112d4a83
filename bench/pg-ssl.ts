/**
 * node-postgres's TLS options from libpq's settings (PGSSLMODE=verify-full, PGSSLROOTCERT), as
 * `lab psql` sets them for a TLS stack: the server verified against the CA file and the address
 * dialled; none without them. A module of its own: the writer and probe processes load only this.
 */
import * as fs from "fs";
import type { ConnectionOptions } from "tls";

export function pgSsl(env: Record<string, string | undefined>): ConnectionOptions | undefined {
    return env.PGSSLMODE === "verify-full" && env.PGSSLROOTCERT ? { ca: fs.readFileSync(env.PGSSLROOTCERT, "utf8"), rejectUnauthorized: true } : undefined;
}
