/**
 * SQL that creates or updates roles and databases idempotently. Passwords travel as SCRAM-SHA-256
 * verifiers computed here, so no clear-text password reaches the server, its logs or pg_stat_activity.
 */
import { createHash, createHmac, pbkdf2Sync } from "crypto";
import type { ClusterSecrets, ResolvedCluster } from "../model/types";

const SCRAM_ITERATIONS = 4096;

/**
 * A PostgreSQL SCRAM-SHA-256 verifier (RFC 5802/7677, as `CREATE ROLE ... PASSWORD` accepts it) for
 * a password and a salt (base64; the role's random salt from ClusterSecrets.scramSalts, so the same
 * text renders on every run and a re-run changes nothing).
 */
export function scramSha256Verifier(password: string, saltBase64: string): string {
    const salt = Buffer.from(saltBase64, "base64");
    if (salt.length < 16) throw new Error(`SCRAM salt ${JSON.stringify(saltBase64)}: needs at least 16 bytes (base64)`);
    const salted = pbkdf2Sync(password.normalize("NFKC"), salt, SCRAM_ITERATIONS, 32, "sha256");
    const clientKey = createHmac("sha256", salted).update("Client Key").digest();
    const storedKey = createHash("sha256").update(clientKey).digest();
    const serverKey = createHmac("sha256", salted).update("Server Key").digest();
    return `SCRAM-SHA-256$${SCRAM_ITERATIONS}:${salt.toString("base64")}$${storedKey.toString("base64")}:${serverKey.toString("base64")}`;
}

/** The verifier of `role`'s password with its salt from the secrets. */
function verifierOf(secrets: ClusterSecrets, role: string, password: string): string {
    const salt = secrets.scramSalts[role];
    if (salt === undefined) throw new Error(`no SCRAM salt for role ${role}`);
    return scramSha256Verifier(password, salt);
}

/** An SQL identifier, quoted as PostgreSQL's quote_ident does (names are validated too: this is the second wall). */
export function sqlIdent(name: string): string {
    return `"${name.replace(/"/g, '""')}"`;
}

/** An SQL string literal, quoted as quote_literal does under standard_conforming_strings. */
export function sqlLiteral(text: string): string {
    return `'${text.replace(/'/g, "''")}'`;
}

/** Every role whose password the program sets (each has a SCRAM salt of its own). */
export function passwordRoles(c: ResolvedCluster): string[] {
    const p = c.patroni;
    return [p.superuserName, p.replicationUserName, p.rewindUserName, p.adminUserName, ...c.users.map((u) => u.name)];
}

function ensureRole(name: string, attributes: string[], verifier: string): string[] {
    return [
        `SELECT format('CREATE ROLE %I LOGIN', ${sqlLiteral(name)}) WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ${sqlLiteral(name)})\\gexec`,
        `ALTER ROLE ${sqlIdent(name)} WITH ${["LOGIN", ...attributes].join(" ")} PASSWORD ${sqlLiteral(verifier)};`,
    ];
}

/**
 * The credentials step's SQL: the passwords of the roles Patroni creates at bootstrap and logs in
 * with (superuser, replication, rewind), for a running cluster whose passwords change.
 */
export function renderCredentialsSql(c: ResolvedCluster, secrets: ClusterSecrets): string {
    const lines = ["-- Managed by pulumi-patroni. Safe to run again."];
    const p = c.patroni;
    for (const [role, password] of [
        [p.superuserName, secrets.superuserPassword],
        [p.replicationUserName, secrets.replicationPassword],
        [p.rewindUserName, secrets.rewindPassword],
    ]) {
        lines.push(`ALTER ROLE ${sqlIdent(role)} WITH PASSWORD ${sqlLiteral(verifierOf(secrets, role, password))};`);
    }
    return lines.join("\n") + "\n";
}

function ensureDatabase(name: string, owner: string): string {
    return `SELECT format('CREATE DATABASE %I OWNER %I', ${sqlLiteral(name)}, ${sqlLiteral(owner)}) WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = ${sqlLiteral(name)})\\gexec`;
}

/** The roles script's SQL: the admin role, then each application role and its databases. */
export function renderRolesSql(c: ResolvedCluster, secrets: ClusterSecrets): string {
    const lines = [
        "-- Managed by pulumi-patroni. Safe to run again.",
        ...ensureRole(c.patroni.adminUserName, ["CREATEDB", "CREATEROLE"], verifierOf(secrets, c.patroni.adminUserName, secrets.adminPassword)),
    ];
    for (const user of c.users) {
        const password = secrets.userPasswords[user.name];
        if (password === undefined) throw new Error(`no password for role ${user.name}`);
        lines.push(...ensureRole(user.name, user.options.map((o) => o.toUpperCase()), verifierOf(secrets, user.name, password)));
        lines.push(...user.databases.map((db) => ensureDatabase(db, user.name)));
    }
    return lines.join("\n") + "\n";
}
