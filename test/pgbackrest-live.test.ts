// pgBackRest as the rendered files set it up, run for real on this machine over loopback only: a
// PostgreSQL 15 in a temporary directory stands for member pg1 of stack lab-backup, two pgBackRest TLS
// servers stand for pg1's and the repository host backup1's, each with a certificate of a throwaway CA
// named for its host. Copies of the two rendered pgbackrest.conf files differ only where this machine
// must (addresses become localhost — Debian 12's pgBackRest 2.45 verifies a server by DNS name only —,
// ports, and paths under the temporary directory); tls-server-auth, the TLS settings, archiving,
// retention and the commands (archive_command, the replica method, restore_command) are as rendered.
// It proves: PostgreSQL archives through archive_command into the repository over TLS, the repository
// host creates the stanza, checks it and takes a full backup through the member's server, and the
// member restores it with Patroni's replica method and replays archived WAL with restore_command.
import { spawn, spawnSync, type ChildProcess } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { freePort, LOCAL_PG_BIN_DIR, requireTool } from "./helpers/realtools";
import { renderStackFiles } from "../tools/render";

const STANZA = "lab";
let dir: string;
let postgres: { uid: number; gid: number };
const servers: ChildProcess[] = [];
const clusters: string[] = [];
let pgbackrest: string;
const ports = { pg: 0, standby: 0, member: 0, repository: 0 };
const conf = { member: "", repository: "" };
let rendered: Map<string, string>;

/** `text` with `from` replaced by `to`; `from` must be there (the copy differs from the render only where it says). */
function swap(text: string, from: string | RegExp, to: string): string {
    const found = typeof from === "string" ? text.includes(from) : from.test(text);
    if (!found) throw new Error(`the rendered file has no ${from}: the copy would not be the rendered file`);
    return typeof from === "string" ? text.split(from).join(to) : text.replace(new RegExp(from.source, from.flags.includes("g") ? from.flags : `${from.flags}g`), to);
}

/** Run as postgres (pgBackRest and PostgreSQL refuse root), with pgBackRest's configuration file in its environment. */
function asPostgres(command: string, args: string[], config?: string): { status: number | null; output: string } {
    const r = spawnSync(command, args, { uid: postgres.uid, gid: postgres.gid, cwd: dir, encoding: "utf8", timeout: 120_000, env: { PATH: process.env.PATH, LC_ALL: "C", ...(config ? { PGBACKREST_CONFIG: config } : {}) } });
    if (r.error) throw r.error;
    return { status: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}

function ok(result: { status: number | null; output: string }, what: string): string {
    expect(result.status, `${what}:\n${result.output}`).toBe(0);
    return result.output;
}

function openssl(args: string[]): void {
    const r = spawnSync(requireTool("openssl", "openssl"), args, { cwd: dir, encoding: "utf8" });
    expect(r.status, `openssl ${args.join(" ")}: ${r.stderr}`).toBe(0);
}

/** A key and a certificate of the test CA for `name`, as the cluster's are: CN the host's name, server and client use, localhost in its names. */
function issue(name: string): string {
    const tls = path.join(dir, "tls", name);
    fs.mkdirSync(tls, { recursive: true });
    openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", `/CN=${name}/O=pulumi-patroni`, "-keyout", `${tls}/host.key`, "-out", `${tls}/host.csr`]);
    fs.writeFileSync(`${tls}/ext.cnf`, "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n");
    openssl(["x509", "-req", "-in", `${tls}/host.csr`, "-CA", "ca/ca.crt", "-CAkey", "ca/ca.key", "-CAcreateserial", "-days", "1", "-extfile", `${tls}/ext.cnf`, "-out", `${tls}/host.crt`]);
    fs.copyFileSync(path.join(dir, "ca", "ca.crt"), `${tls}/ca.crt`);
    fs.chmodSync(`${tls}/host.key`, 0o600);
    return tls;
}

async function until(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
        if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
        await new Promise((r) => setTimeout(r, 300));
    }
}

function startServer(config: string, port: number): Promise<void> {
    const child = spawn(pgbackrest, ["server"], { uid: postgres.uid, gid: postgres.gid, cwd: dir, env: { PATH: process.env.PATH, PGBACKREST_CONFIG: config }, stdio: "ignore" });
    servers.push(child);
    return until(`pgBackRest's server on port ${port}`, () => asPostgres(pgbackrest, ["server-ping", "localhost", `--tls-server-port=${port}`]).status === 0);
}

function psql(port: number, sql: string): string {
    return ok(asPostgres(requireTool("psql", "postgresql-client"), ["-h", path.join(dir, "sock"), "-p", String(port), "-d", "postgres", "-XAtqc", sql]), `psql -c ${sql}`);
}

beforeAll(async () => {
    pgbackrest = requireTool("pgbackrest", "pgbackrest");
    const id = (flag: string) => Number(spawnSync("id", [flag, "postgres"], { encoding: "utf8" }).stdout.trim());
    postgres = { uid: id("-u"), gid: id("-g") };
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "pgbackrest-live-"));
    for (const sub of ["ca", "sock", "spool", "repo", "log/pg1", "log/backup1", "lock/pg1", "lock/backup1"]) fs.mkdirSync(path.join(dir, sub), { recursive: true });
    openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=test cluster CA", "-days", "1", "-keyout", "ca/ca.key", "-out", "ca/ca.crt"]);
    const memberTls = issue("pg1");
    const repositoryTls = issue("backup1");
    for (const k of Object.keys(ports) as Array<keyof typeof ports>) ports[k] = await freePort();
    rendered = renderStackFiles("lab-backup");

    const local = (text: string, host: string) => swap(text, "[global]\n", `[global]\nlog-path=${dir}/log/${host}\nlock-path=${dir}/lock/${host}\n`);
    const pgOf = (text: string) => swap(swap(swap(text, "pg1-path=/var/lib/postgresql/17/main", `pg1-path=${dir}/pgdata`), "pg1-port=5432", `pg1-port=${ports.pg}`), "pg1-socket-path=/var/run/postgresql", `pg1-socket-path=${dir}/sock`);
    let member = rendered.get("pg1/etc/pgbackrest/pgbackrest.conf")!;
    member = swap(member, "repo1-host=10.251.17.41", "repo1-host=localhost");
    member = swap(member, "repo1-host-port=8432", `repo1-host-port=${ports.repository}`);
    member = swap(member, "/etc/patroni/tls/", `${memberTls}/`);
    member = swap(member, "spool-path=/var/spool/pgbackrest", `spool-path=${dir}/spool`);
    member = swap(member, "tls-server-address=10.251.17.21", "tls-server-address=127.0.0.1");
    member = swap(member, "tls-server-port=8432", `tls-server-port=${ports.member}`);
    member = local(pgOf(member), "pg1");
    let repository = rendered.get("backup1/etc/pgbackrest/pgbackrest.conf")!;
    repository = swap(repository, "repo1-path=/var/lib/pgbackrest", `repo1-path=${dir}/repo`);
    repository = swap(repository, "tls-server-address=10.251.17.41", "tls-server-address=127.0.0.1");
    repository = swap(repository, "tls-server-port=8432", `tls-server-port=${ports.repository}`);
    repository = swap(repository, "/etc/pgbackrest/tls/", `${repositoryTls}/`);
    // Only pg1 runs here: pg2 and pg3 leave the copy.
    repository = swap(repository, /^pg[23]-.*\n/m, "");
    repository = swap(repository, "pg1-host=10.251.17.21", "pg1-host=localhost");
    repository = swap(repository, "pg1-host-port=8432", `pg1-host-port=${ports.member}`);
    repository = local(pgOf(repository), "backup1");
    conf.member = path.join(dir, "pg1.conf");
    conf.repository = path.join(dir, "backup1.conf");
    fs.writeFileSync(conf.member, member);
    fs.writeFileSync(conf.repository, repository);
    spawnSync("chown", ["-R", "postgres:postgres", dir]);
    fs.chmodSync(dir, 0o755);

    // pg1's PostgreSQL with the rendered archive settings (Patroni would write them from the DCS).
    const patroni = parse(rendered.get("pg1/etc/patroni/config.yml")!, { version: "1.1" }) as Record<string, any>;
    const parameters = patroni.bootstrap.dcs.postgresql.parameters as Record<string, string>;
    ok(asPostgres(path.join(LOCAL_PG_BIN_DIR, "initdb"), ["-D", `${dir}/pgdata`, "-U", "postgres", "--auth-local=peer", "--auth-host=scram-sha-256", "--data-checksums"]), "initdb");
    fs.appendFileSync(
        `${dir}/pgdata/postgresql.conf`,
        [`port = ${ports.pg}`, `unix_socket_directories = '${dir}/sock'`, "listen_addresses = ''", `wal_level = ${parameters.wal_level}`, `archive_mode = ${parameters.archive_mode}`, `archive_command = '${parameters.archive_command}'`, ""].join("\n"),
    );
    ok(asPostgres(path.join(LOCAL_PG_BIN_DIR, "pg_ctl"), ["-D", `${dir}/pgdata`, "-l", `${dir}/pg1.log`, "-w", "start"], conf.member), "pg_ctl start");
    clusters.push(`${dir}/pgdata`);
    await startServer(conf.member, ports.member);
    await startServer(conf.repository, ports.repository);
}, 120_000);

afterAll(() => {
    for (const data of clusters) asPostgres(path.join(LOCAL_PG_BIN_DIR, "pg_ctl"), ["-D", data, "-m", "immediate", "-w", "stop"]);
    for (const child of servers) child.kill("SIGTERM");
    // KEEP_LIVE=1 keeps the directory (its logs) for a look after a failure.
    if (dir && !process.env.KEEP_LIVE) fs.rmSync(dir, { recursive: true, force: true });
});

describe("pgBackRest as rendered, over loopback", () => {
    it("the repository host creates the stanza and checks that archive_command's WAL reaches it over TLS", () => {
        // By name, not number: the steps before it are numbered with every host's (a TLS guard moves them).
        const gate = [...rendered].find(([file]) => /^backup1\/steps\/\d\d-backup-stanza\.sh$/.test(file))![1];
        expect(gate).toContain("retry pgbackrest --log-level-console=info stanza-create\nretry pgbackrest --log-level-console=info check\n");
        ok(asPostgres(pgbackrest, [`--stanza=${STANZA}`, "stanza-create"], conf.repository), "stanza-create on the repository host");
        // Again: stanza-create is idempotent (the gate runs on every deployment that changes it).
        ok(asPostgres(pgbackrest, [`--stanza=${STANZA}`, "stanza-create"], conf.repository), "stanza-create again");
        const check = ok(asPostgres(pgbackrest, [`--stanza=${STANZA}`, "--log-level-console=info", "check"], conf.repository), "check on the repository host");
        expect(check).toMatch(/WAL segment \w+ successfully archived/);
        // The member checks too (its repository is the remote one).
        ok(asPostgres(pgbackrest, [`--stanza=${STANZA}`, "check"], conf.member), "check on the member");
    }, 120_000);

    it("a member's server admits only the repository host: a client certificate of another name is refused", () => {
        // The repository host's configuration with pg1's certificate instead of backup1's: pg1's server
        // (tls-server-auth=backup1=lab) refuses it, though the CA signed it.
        const file = path.join(dir, "intruder.conf");
        fs.writeFileSync(file, swap(fs.readFileSync(conf.repository, "utf8"), `${dir}/tls/backup1/host.`, `${dir}/tls/pg1/host.`));
        spawnSync("chown", ["postgres:postgres", file]);
        const r = asPostgres(pgbackrest, [`--stanza=${STANZA}`, "--archive-timeout=5", "check"], file);
        expect(r.status, r.output).not.toBe(0);
        expect(r.output).toContain("access denied");
    }, 120_000);

    it("the timer's script takes a full backup on the repository host, through the member's server", () => {
        const script = rendered.get("backup1/usr/local/sbin/pgha-backup")!;
        expect(script).toMatch(/^exec '\/usr\/bin\/pgbackrest' --stanza='lab' --type="\$type" backup$/m);
        psql(ports.pg, "CREATE TABLE before_backup AS SELECT 1 AS id");
        ok(asPostgres("bash", ["-c", script.replace("exec '/usr/bin/pgbackrest'", `exec '${pgbackrest}'`), "pgha-backup", "full"], conf.repository), "pgha-backup full");
        const info = JSON.parse(ok(asPostgres(pgbackrest, [`--stanza=${STANZA}`, "--output=json", "info"], conf.member), "info")) as Array<{ status: { code: number }; backup: Array<{ type: string }> }>;
        expect(info[0].status.code).toBe(0);
        expect(info[0].backup.map((b) => b.type)).toEqual(["full"]);
    }, 120_000);

    it("a member restores with Patroni's replica method, then replays archived WAL with restore_command as a standby", async () => {
        psql(ports.pg, "CREATE TABLE after_backup AS SELECT 2 AS id");
        // The segment that holds it reaches the repository.
        ok(asPostgres(pgbackrest, [`--stanza=${STANZA}`, "check"], conf.repository), "check (switches and archives WAL)");
        const pg = (parse(rendered.get("pg1/etc/patroni/config.yml")!, { version: "1.1" }) as Record<string, any>).postgresql;
        expect(pg.create_replica_methods[0]).toBe("pgbackrest");
        // Patroni runs the method's command as it is (no_params), in the member's data directory (pg1-path).
        const [binary, ...args] = (pg.pgbackrest.command as string).split(" ");
        expect(binary).toBe("/usr/bin/pgbackrest");
        const restored = `${dir}/restored`;
        ok(asPostgres(pgbackrest, [...args, `--pg1-path=${restored}`], conf.member), "the pgbackrest replica method");
        expect(fs.existsSync(`${restored}/standby.signal`)).toBe(true);
        // Patroni writes restore_command from recovery_conf (and drops pgBackRest's own from postgresql.auto.conf).
        const restoreCommand = pg.recovery_conf.restore_command as string;
        fs.appendFileSync(`${restored}/postgresql.conf`, [`port = ${ports.standby}`, `restore_command = '${restoreCommand}'`, "archive_mode = off", ""].join("\n"));
        ok(asPostgres(path.join(LOCAL_PG_BIN_DIR, "pg_ctl"), ["-D", restored, "-l", `${dir}/restored.log`, "-w", "start"], conf.member), "the restored member starts");
        clusters.push(restored);
        expect(psql(ports.standby, "SELECT pg_is_in_recovery()")).toBe("t");
        await until("the standby replays the archived segment with the table made after the backup", () => asPostgres(requireTool("psql", "postgresql-client"), ["-h", `${dir}/sock`, "-p", String(ports.standby), "-d", "postgres", "-XAtqc", "SELECT id FROM after_backup"]).output === "2", 60_000);
        expect(psql(ports.standby, "SELECT id FROM before_backup")).toBe("1");
    }, 120_000);
});
