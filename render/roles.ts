/**
 * SQL that creates or updates roles and databases idempotently. Passwords travel as SCRAM-SHA-256
 * verifiers computed here, so no clear-text password reaches the server, its logs or pg_stat_activity.
 */
import { createHash, createHmac, pbkdf2Sync } from "crypto";
import type { ClusterSecrets, ResolvedCluster } from "../model/types";

const SCRAM_ITERATIONS = 4096;

/**
 * A PostgreSQL SCRAM-SHA-256 verifier (RFC 5802/7677, as `CREATE ROLE ... PASSWORD` accepts it).
 * The salt is derived from role and password so that re-rendering yields the same text and a re-run
 * changes nothing; it stays unique per role and password, which is what a salt is for.
 */
export function scramSha256Verifier(role: string, password: string): string {
    const salt = createHmac("sha256", password).update(`pulumi-patroni:${role}`).digest().subarray(0, 16);
    const salted = pbkdf2Sync(password.normalize("NFKC"), salt, SCRAM_ITERATIONS, 32, "sha256");
    const clientKey = createHmac("sha256", salted).update("Client Key").digest();
    const storedKey = createHash("sha256").update(clientKey).digest();
    const serverKey = createHmac("sha256", salted).update("Server Key").digest();
    return `SCRAM-SHA-256$${SCRAM_ITERATIONS}:${salt.toString("base64")}$${storedKey.toString("base64")}:${serverKey.toString("base64")}`;
}

function ensureRole(name: string, attributes: string[], password: string): string[] {
    return [
        `SELECT format('CREATE ROLE %I LOGIN', '${name}') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${name}')\\gexec`,
        `ALTER ROLE "${name}" WITH ${["LOGIN", ...attributes].join(" ")} PASSWORD '${scramSha256Verifier(name, password)}';`,
    ];
}

function ensureDatabase(name: string, owner: string): string {
    return `SELECT format('CREATE DATABASE %I OWNER %I', '${name}', '${owner}') WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '${name}')\\gexec`;
}

/** The roles script's SQL: the admin role, then each application role and its databases. */
export function renderRolesSql(c: ResolvedCluster, secrets: ClusterSecrets): string {
    const lines = [
        "-- Managed by pulumi-patroni. Safe to run again.",
        ...ensureRole(c.patroni.adminUserName, ["CREATEDB", "CREATEROLE"], secrets.adminPassword),
    ];
    for (const user of c.users) {
        const password = secrets.userPasswords[user.name];
        if (password === undefined) throw new Error(`no password for role ${user.name}`);
        lines.push(...ensureRole(user.name, user.options.map((o) => o.toUpperCase()), password));
        lines.push(...user.databases.map((db) => ensureDatabase(db, user.name)));
    }
    return lines.join("\n") + "\n";
}
