/**
 * pgBackRest's files and steps: its configuration on every member and on the repository host, its
 * TLS servers (repository kind `host`), the backup schedule (systemd timers) and the stanza gate.
 * Pure, like render/files.ts; the plan (render/plan.ts) places them.
 */
import { PGBACKREST_BIN, PGBACKREST_CONFIG, RESTORE_TARGET_FORM, repositoryLocation } from "../model/backup";
import type { ClusterSecrets, ResolvedCluster, ResolvedHost } from "../model/types";
import { GATE_TIMEOUTS_SEC, restApiUrl, sha256, stopServicesScript, type AppliedFile, type RenderedFile } from "./files";
import { dcsConfig } from "./patroni";
import { renderTemplate, shellQuote } from "./templates";
import { tlsPaths } from "./tls";

/** The script a backup timer runs (as postgres), and the systemd units around it. */
const BACKUP_SCRIPT = "/usr/local/sbin/pgha-backup";
const BACKUP_TYPES = ["full", "diff", "incr"] as const;
type BackupType = (typeof BACKUP_TYPES)[number];

/** The unit that takes one full backup (the schedule's service, instance `full`): what a restore and the first backup start. */
export const FULL_BACKUP_SERVICE = "pgha-backup@full.service";

/** Whether a host is a Patroni member (else the repository host). */
function isMember(c: ResolvedCluster, host: ResolvedHost): boolean {
    return c.hosts.patroni.some((m) => m.name === host.name);
}

/** The repository host (repository kind `host`); a programming error otherwise. */
export function repositoryHost(c: ResolvedCluster): ResolvedHost {
    const host = c.hosts.backup[0];
    if (!host || c.backup.repository.kind !== "host") throw new Error(`cluster ${c.scope}: backup.repository.kind is ${c.backup.repository.kind}, it has no repository host`);
    return host;
}

/** Where the scheduled backups run: the repository host, or (object store) every member, the primary acting. */
export function backupsRunOnMembers(c: ResolvedCluster): boolean {
    return c.backup.repository.kind === "s3";
}

/** A member's PostgreSQL as pgBackRest names it (pgN-*): local, or (from the repository host) reached through its TLS server. */
function pgEntry(c: ResolvedCluster, index: number, host?: ResolvedHost) {
    return { index, host: host?.address ?? null, path: c.layout.pgDataDir, port: c.patroni.postgresPort, socketPath: c.layout.socketDir };
}

function conf(id: string, content: string, secret: boolean): RenderedFile {
    // 0640 postgres: pgBackRest runs as postgres everywhere (archive_command, the server, the timers).
    return { id, path: PGBACKREST_CONFIG, content, mode: "0640", owner: "postgres:postgres", validator: "none", secret, reloadSystemd: false };
}

function unit(id: string, name: string, content: string): RenderedFile {
    return { id, path: `/etc/systemd/system/${name}`, content, mode: "0644", owner: "root:root", validator: "none", secret: false, reloadSystemd: true };
}

/** What the repository host and the members have in common in pgbackrest.conf. */
function commonConf(c: ResolvedCluster) {
    const b = c.backup;
    return { scope: c.scope, repository: b.repository, compressType: b.compressType, processMax: b.processMax };
}

/** pgbackrest.conf of a member: the repository (its host's TLS server, or the object store), archiving, and its own TLS server. */
export function pgbackrestMemberConf(c: ResolvedCluster, member: ResolvedHost, secrets: ClusterSecrets): RenderedFile {
    const b = c.backup;
    const onHost = b.repository.kind === "host";
    const s3Key = b.repository.s3?.keyType === "shared" ? secrets.backupS3Key : undefined;
    if (b.repository.s3?.keyType === "shared" && !s3Key) throw new Error("backup.repository.s3.keyType shared, but no access key in the secrets");
    const content = renderTemplate("pgbackrest.conf", {
        ...commonConf(c),
        hostName: member.name,
        repositoryHost: false,
        repositoryAddress: onHost ? repositoryHost(c).address : null,
        s3Key: s3Key ?? null,
        // Members back up themselves only with an object store (retention applies where backups run).
        retention: backupsRunOnMembers(c) ? b.retention : null,
        fromStandby: false,
        archive: { async: b.archiveAsync, spoolPath: b.spoolPath, queueMax: b.archivePushQueueMax },
        // Patroni's TLS files: the member's certificate, owned by postgres.
        tls: onHost ? tlsPaths("patroni") : null,
        server: onHost ? { why: "the repository host reaches this member through it to take backups.", address: member.address, port: b.repository.port, clients: [repositoryHost(c).name] } : null,
        pg: [pgEntry(c, 1)],
    });
    return conf("pgbackrest-conf", content, s3Key !== undefined);
}

/** pgbackrest.conf of the repository host: the repository, retention, every member through its TLS server, and its own TLS server. */
export function pgbackrestRepositoryConf(c: ResolvedCluster, host: ResolvedHost): RenderedFile {
    const b = c.backup;
    const content = renderTemplate("pgbackrest.conf", {
        ...commonConf(c),
        hostName: host.name,
        repositoryHost: true,
        repositoryAddress: null,
        s3Key: null,
        retention: b.retention,
        fromStandby: b.fromStandby,
        archive: null,
        tls: tlsPaths("backup"),
        server: { why: "the members push and fetch WAL, and restore, through it.", address: host.address, port: b.repository.port, clients: c.hosts.patroni.map((m) => m.name) },
        pg: c.hosts.patroni.map((m, i) => pgEntry(c, i + 1, m)),
    });
    return conf("pgbackrest-conf", content, false);
}

/** The unit of pgBackRest's TLS server (on the repository host, and on every member with repository kind `host`). */
export function pgbackrestServerUnit(c: ResolvedCluster, host: ResolvedHost): RenderedFile {
    return unit("pgbackrest-service", "pgbackrest.service", renderTemplate("pgbackrest.service", { hostName: host.name, scope: c.scope, pgbackrest: PGBACKREST_BIN }));
}

/** The schedule's types that run, with their OnCalendar expressions, and those set to off. */
function schedule(c: ResolvedCluster): { on: Array<{ type: BackupType; onCalendar: string }>; off: BackupType[] } {
    const on = BACKUP_TYPES.flatMap((type) => (c.backup.schedule[type] === undefined ? [] : [{ type, onCalendar: c.backup.schedule[type]! }]));
    return { on, off: BACKUP_TYPES.filter((t) => c.backup.schedule[t] === undefined) };
}

/**
 * The backup schedule's files on a host where backups run: the script, the service it runs as and a
 * timer per scheduled type. On a member (object store) the script backs up only where it is the primary.
 */
export function backupScheduleFiles(c: ResolvedCluster, host: ResolvedHost): RenderedFile[] {
    const member = isMember(c, host);
    const script = renderTemplate("pgha-backup.sh", {
        scope: c.scope,
        pgbackrest: PGBACKREST_BIN,
        fromStandby: c.backup.fromStandby,
        primaryGuard: member ? { hostName: host.name, restApiUrl: restApiUrl(c, host) } : null,
        clientTls: member && c.tls.enabled ? tlsPaths("patroni") : null,
    });
    return [
        { id: "schedule-script", path: BACKUP_SCRIPT, content: script, mode: "0755", owner: "root:root", validator: "shell", secret: false, reloadSystemd: false },
        unit("schedule-service", "pgha-backup@.service", renderTemplate("pgha-backup@.service", { scope: c.scope, hostName: host.name, scriptPath: BACKUP_SCRIPT })),
        ...schedule(c).on.map(({ type, onCalendar }) => unit(`schedule-timer-${type}`, `pgha-backup-${type}.timer`, renderTemplate("pgha-backup.timer", { scope: c.scope, type, onCalendar }))),
    ];
}

/** Enables the scheduled timers (and stops those set to off); its hashes re-run it when a unit changes. */
export function backupTimersScript(c: ResolvedCluster, host: ResolvedHost, applies: AppliedFile[]): string {
    const { on, off } = schedule(c);
    return renderTemplate("pgha-backup-timers.sh", { scope: c.scope, hostName: host.name, timers: on, off, applies });
}

/** What the timers step runs when deleted: every backup timer stopped. */
export function backupTimersStopScript(host: ResolvedHost): string {
    return renderTemplate("pgha-backup-timers-stop.sh", { hostName: host.name, types: BACKUP_TYPES });
}

/** Starts (or, when its files changed, restarts) pgBackRest's TLS server on a host, then waits for it. */
export function pgbackrestServerScript(c: ResolvedCluster, host: ResolvedHost, applies: AppliedFile[]): string {
    const member = isMember(c, host);
    return renderTemplate("pgbackrest-server.sh", {
        hostName: host.name,
        why: member ? "The repository host takes this member's backups through it." : "The members archive WAL, and restore, through it.",
        pgbackrest: PGBACKREST_BIN,
        address: host.address,
        port: c.backup.repository.port,
        timeoutSec: GATE_TIMEOUTS_SEC.pgbackrestServer,
        applies,
    });
}

/** What a TLS server's start step runs when deleted: the server stopped and disabled (the repository stays). */
export function pgbackrestServerStopScript(host: ResolvedHost): string {
    return stopServicesScript(host.name, ["pgbackrest"]);
}

/**
 * The stanza gate: on the repository host (kind `host`), or on a member (object store), where only
 * the primary creates and checks the stanza.
 */
export function pgbackrestStanzaScript(c: ResolvedCluster, host: ResolvedHost): string {
    const member = isMember(c, host);
    return renderTemplate("pgbackrest-stanza.sh", {
        scope: c.scope,
        hostName: host.name,
        pgbackrestBin: PGBACKREST_BIN,
        primaryOnly: member,
        restApiUrl: member ? restApiUrl(c, host) : null,
        clientTls: member && c.tls.enabled ? tlsPaths("patroni") : null,
        timeoutSec: GATE_TIMEOUTS_SEC.pgbackrestStanza,
        fullBackupService: FULL_BACKUP_SERVICE,
    });
}

/** Where the restore procedure lives on every member (see templates/pgha-restore.sh.hbs). */
export const RESTORE_SCRIPT = "/usr/local/sbin/pgha-restore";

/**
 * The restore procedure, on a member: pause, stop (replicas first), clear the cluster's keys in the
 * DCS, restore one member to a point in time and start it as the leader, re-clone the others, take a
 * fresh full backup. An operator runs it one subcommand at a time, on the hosts it names.
 */
export function restoreScriptFile(c: ResolvedCluster, member: ResolvedHost): RenderedFile {
    const onHost = !backupsRunOnMembers(c);
    const content = renderTemplate("pgha-restore.sh", {
        scope: c.scope,
        hostName: member.name,
        repository: repositoryLocation(c),
        configPath: c.layout.patroniConfigPath,
        service: c.layout.patroniService,
        dataDir: c.layout.pgDataDir,
        pgBinDir: c.layout.pgBinDir,
        psql: `${c.layout.pgBinDir}/psql`,
        socketDir: c.layout.socketDir,
        postgresPort: c.patroni.postgresPort,
        restApiUrl: restApiUrl(c, member),
        pgbackrest: PGBACKREST_BIN,
        ttlSec: c.patroni.ttlSec,
        leaderTimeoutSec: GATE_TIMEOUTS_SEC.patroniLeader,
        replicaTimeoutSec: GATE_TIMEOUTS_SEC.patroniReplicas,
        backupsOnRepositoryHost: onHost,
        repositoryHostName: onHost ? repositoryHost(c).name : null,
        clientTls: c.tls.enabled ? tlsPaths("patroni") : null,
        dcsSettings: JSON.stringify(dcsConfig(c), null, 2),
        restoreTargetForm: RESTORE_TARGET_FORM,
        fullBackupService: FULL_BACKUP_SERVICE,
    });
    return { id: "restore-script", path: RESTORE_SCRIPT, content, mode: "0750", owner: "root:root", validator: "shell", secret: false, reloadSystemd: false };
}

/** One step of `backup.restore` (see restoreSteps). */
export interface RestoreStep {
    name: string;
    host: string;
    script: string;
    /** Names of the restore steps it waits for. */
    waitsFor: string[];
    timeout: string;
}

/**
 * `backup.restore` as steps, in the procedure's order (templates/pgha-restore.sh.hbs): every member
 * but the one restored archives if it is the primary; that one pauses the cluster (archiving first if
 * it is the primary); every member stops; it clears the DCS and restores; a fresh full backup; every
 * other member is re-cloned. Their names carry a hash of the restore (id, target, member): another
 * restore is other steps, which run; the same one, left in the stack, runs nothing (the plan marks
 * them run-once: a later program's script or a host's new address does not run them again). A member
 * added later gets steps that find nothing to do: it is not the primary, the cluster is not paused,
 * it streams on the leader's timeline.
 */
export function restoreSteps(c: ResolvedCluster): RestoreStep[] {
    const r = c.backup.restore;
    if (!c.backup.enabled || !r) return [];
    const run = `restore-${sha256(JSON.stringify([r.id, r.to, r.member])).slice(0, 8)}`;
    const others = c.hosts.patroni.filter((m) => m.name !== r.member).map((m) => m.name);
    const members = [...others, r.member];
    const script = (...args: string[]) => `${RESTORE_SCRIPT} ${args.join(" ")}\n`;
    const archive = others.map((m): RestoreStep => ({ name: `${run}-archive-${m}`, host: m, script: script("archive"), waitsFor: [], timeout: "20m" }));
    const pause: RestoreStep = { name: `${run}-pause`, host: r.member, script: script("pause"), waitsFor: archive.map((s) => s.name), timeout: "20m" };
    const stop = members.map((m): RestoreStep => ({ name: `${run}-stop-${m}`, host: m, script: script("stop", "--if-paused"), waitsFor: [pause.name], timeout: "20m" }));
    const clear: RestoreStep = { name: `${run}-clear-dcs`, host: r.member, script: script("clear-dcs", shellQuote(c.scope)), waitsFor: stop.map((s) => s.name), timeout: "20m" };
    const restore: RestoreStep = { name: `${run}-restore`, host: r.member, script: script("restore", shellQuote(r.to)), waitsFor: [clear.name], timeout: "120m" };
    // pgBackRest takes backups on the repository host; with an object store the member restored, now the primary, takes it.
    const onMembers = backupsRunOnMembers(c);
    const backup: RestoreStep = {
        name: `${run}-backup`,
        host: onMembers ? r.member : repositoryHost(c).name,
        script: onMembers ? script("backup") : `systemctl start ${FULL_BACKUP_SERVICE}\n`,
        waitsFor: [restore.name],
        timeout: "120m",
    };
    const reclone = others.map((m): RestoreStep => ({ name: `${run}-reclone-${m}`, host: m, script: script("reclone"), waitsFor: [backup.name], timeout: "120m" }));
    return [...archive, pause, ...stop, clear, restore, backup, ...reclone];
}
