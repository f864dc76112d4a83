/**
 * Backups with pgBackRest: the defaults of `backup` (applied once, here), the commands PostgreSQL and
 * Patroni run, and the checks of the settings. Pure; the files and steps are rendered in render/.
 */
import { pgbackrestVersion, versionAtLeast } from "./distro";
import { isIpv4 } from "./net";
import type { ClusterSpec, ResolvedBackup, ResolvedCluster } from "./types";
import type { ValidationIssue } from "./validate";

/** Where every supported package installs pgBackRest. */
export const PGBACKREST_BIN = "/usr/bin/pgbackrest";

/** pgBackRest's configuration file on every host (its own default location, so no command names it). */
export const PGBACKREST_CONFIG = "/etc/pgbackrest/pgbackrest.conf";

/** PostgreSQL's archive command with backups on: pgBackRest pushes each segment (asynchronously when set). */
export function archiveCommand(scope: string): string {
    return `${PGBACKREST_BIN} --stanza=${scope} archive-push %p`;
}

/** archive_timeout with backups (a setting of PostgreSQL's own; `patroni.parameters.archive_timeout` overrides it). */
export const ARCHIVE_TIMEOUT_WITH_BACKUPS = "60s";

/** The restore command a replica fetches archived WAL with, when its primary no longer has it. */
export function restoreCommand(scope: string): string {
    return `${PGBACKREST_BIN} --stanza=${scope} archive-get %f "%p"`;
}

/**
 * Where the repository is, for people: `<host>:<path>` (pgBackRest's TLS server at the host's address
 * and port) or `s3://<bucket><path>` at its endpoint; empty without backups.
 */
export function repositoryLocation(c: ResolvedCluster): string {
    const b = c.backup;
    if (!b.enabled) return "";
    const r = b.repository;
    if (r.kind === "s3") return r.s3 ? `s3://${r.s3.bucket}${r.path} (endpoint ${r.s3.endpoint}, region ${r.s3.region})` : "";
    const host = c.hosts.backup[0];
    return host ? `${host.name}:${r.path} (pgBackRest's TLS server at ${host.address}:${r.port}, stanza ${c.scope})` : "";
}

/** A schedule that never runs. */
export const SCHEDULE_OFF = "off";

export function resolveBackup(spec: ClusterSpec): ResolvedBackup {
    const b = spec.backup ?? {};
    const r = b.repository ?? {};
    const kind = r.kind ?? "host";
    const s3 = r.s3;
    const schedule = (value: string | undefined, fallback: string): string | undefined => {
        const v = value ?? fallback;
        return v === SCHEDULE_OFF ? undefined : v;
    };
    return {
        enabled: b.enabled ?? false,
        repository: {
            kind,
            path: r.path ?? (kind === "host" ? "/var/lib/pgbackrest" : "/pgbackrest"),
            port: r.port ?? 8432,
            s3: s3 && { bucket: s3.bucket, region: s3.region, endpoint: s3.endpoint, uriStyle: s3.uriStyle ?? "host", keyType: s3.keyType ?? "shared", verifyTls: s3.verifyTls ?? true },
        },
        retention: { full: b.retention?.full ?? 2, diff: b.retention?.diff },
        schedule: {
            // A full backup on Sunday night, a differential one every other night: a restore replays at most a day of WAL.
            full: schedule(b.schedule?.full, "Sun *-*-* 01:00:00") ?? SCHEDULE_OFF,
            diff: schedule(b.schedule?.diff, "Mon..Sat *-*-* 01:00:00"),
            incr: schedule(b.schedule?.incr, SCHEDULE_OFF),
        },
        archiveAsync: b.archiveAsync ?? true,
        spoolPath: b.spoolPath ?? "/var/spool/pgbackrest",
        archivePushQueueMax: b.archivePushQueueMax ?? "4GiB",
        compressType: b.compressType ?? "zst",
        processMax: b.processMax ?? 2,
        fromStandby: b.fromStandby ?? false,
        restore: b.restore && { to: b.restore.to, id: b.restore.id, member: b.restore.member ?? spec.hosts.patroni?.[0]?.name ?? "" },
    };
}

/**
 * A restore target pgBackRest reads as a time (`YYYY-MM-DD HH:MM:SS[.fraction]` and a zone; it
 * refused an ISO 8601 time in the lab), with the zone required here: without one pgBackRest assumes
 * the host's local time. Written for JavaScript and bash's `=~` alike.
 */
export const RESTORE_TARGET_FORM = "^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?[+-][0-9]{2}(:?[0-9]{2})?$";

/** `latest`, or a time in RESTORE_TARGET_FORM. */
export function isRestoreTarget(to: string): boolean {
    return to === "latest" || new RegExp(RESTORE_TARGET_FORM).test(to);
}

/** A target in RESTORE_TARGET_FORM as epoch milliseconds (its zone as +HH:MM, which Date.parse reads). */
export function restoreTargetMs(to: string): number {
    return Date.parse(to.replace(" ", "T").replace(/([+-][0-9]{2}):?([0-9]{2})?$/, (_, h: string, m?: string) => `${h}:${m ?? "00"}`));
}

/** A restore's id: what a person would write in a change log. */
const RESTORE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/**
 * The oldest pgBackRest whose TLS client verifies a server by an IP address in its certificate
 * (src/common/io/tls/client.c, GEN_IPADD, release 2.53): the hosts reach each other's TLS servers
 * by address, and the cluster's certificates name each host's address.
 */
export const PGBACKREST_TLS_BY_ADDRESS = "2.53";

/** pgBackRest's largest pg index (`pg256-host`: CFG_OPTION_KEY_MAX, src/config/parse.c). */
const PGBACKREST_MAX_PG = 256;

/** A size pgBackRest reads (src/config/parse.c: a number, then an optional unit, any case). */
const SIZE = /^\d+(b|kb|mb|gb|tb|pb|kib|mib|gib|tib|pib)?$/i;
/** An absolute path with nothing a configuration line or a shell word would split. */
const PLAIN_PATH = /^\/[A-Za-z0-9._/-]*$/;
/** A bucket name as S3 allows it (3–63 lowercase letters, digits, '.', '-'). */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** An OnCalendar expression without anything that would end a unit file's line or a shell word. */
const CALENDAR = /^[A-Za-z0-9 *:,./~-]+$/;

/** `backup`: what pgBackRest and the hosts need, each problem with its fix. */
export function checkBackup(c: ResolvedCluster, spec: ClusterSpec, root: string): ValidationIssue[] {
    const b = c.backup;
    const at = `${root}.backup`;
    const repo = c.backup.repository;
    const issues: ValidationIssue[] = [];
    const hosts = c.hosts.backup;
    if (!b.enabled || repo.kind !== "host") {
        if (hosts.length > 0) {
            issues.push({
                setting: `${root}.hosts.backup`,
                value: hosts.map((h) => h.name),
                rule: b.enabled ? `has no use with ${at}.repository.kind s3 (the members write to the object store)` : `has no use without ${at}.enabled`,
                fix: b.enabled ? `remove ${root}.hosts.backup, or set ${at}.repository.kind: host` : `set ${at}.enabled: true, or remove ${root}.hosts.backup`,
            });
        }
    }
    if (!b.enabled) {
        if (b.restore) issues.push({ setting: `${at}.restore`, value: b.restore, rule: `needs ${at}.enabled: a restore reads the repository`, fix: `set ${at}.enabled: true, or remove ${at}.restore` });
        return issues;
    }
    if (b.restore) issues.push(...checkRestore(c, b.restore, `${at}.restore`));
    const written = spec.backup?.repository ?? {};
    if (repo.kind === "host") {
        if (hosts.length !== 1) {
            issues.push({ setting: `${root}.hosts.backup`, value: hosts.map((h) => h.name), rule: "needs exactly one repository host with backup.repository.kind host", fix: `list one host under ${root}.hosts.backup (a machine of its own, not a Patroni member), or set ${at}.repository.kind: s3` });
        }
        for (const h of hosts) {
            if (c.hosts.patroni.some((m) => m.name === h.name)) {
                issues.push({ setting: `${root}.hosts.backup`, value: h.name, rule: `is also a Patroni member: the backups would share a machine with the data they protect`, fix: "put the repository on a machine of its own (or one of the etcd hosts)" });
            }
        }
        if (!c.tls.enabled) {
            // pgBackRest's other transport is SSH between the postgres users of every host: keys this
            // program would have to make and spread. Its TLS server authenticates with the cluster's certificates.
            issues.push({ setting: `${at}.repository.kind`, value: "host", rule: `needs ${root}.tls.enabled: pgBackRest's TLS servers on the repository host and the members know each other by the cluster's certificates`, fix: `set ${root}.tls.enabled: true, or use ${at}.repository.kind: s3` });
        }
        const version = pgbackrestVersion(c.os, c.packageSource);
        if (!versionAtLeast(version, PGBACKREST_TLS_BY_ADDRESS)) {
            issues.push({
                setting: `${at}.repository.kind`,
                value: "host",
                rule: `needs pgBackRest ${PGBACKREST_TLS_BY_ADDRESS} or newer (its TLS client verifies a server by its address from then on); ${c.os}'s own is ${version}`,
                fix: `set ${root}.packageSource: pgdg, or run the cluster on debian13, or use ${at}.repository.kind: s3`,
            });
        }
        if (written.s3 !== undefined) {
            issues.push({ setting: `${at}.repository.s3`, value: written.s3, rule: "has no use with repository kind host", fix: `remove it, or set ${at}.repository.kind: s3` });
        }
        if (repo.port < 1 || repo.port > 65535) issues.push({ setting: `${at}.repository.port`, value: repo.port, rule: "must be between 1 and 65535", fix: "use 8432, pgBackRest's own" });
        if (c.hosts.patroni.length > PGBACKREST_MAX_PG) {
            issues.push({ setting: `${root}.hosts.patroni`, value: c.hosts.patroni.length, rule: `pgBackRest reaches at most ${PGBACKREST_MAX_PG} members from its repository host`, fix: `keep ${PGBACKREST_MAX_PG} members or fewer` });
        }
    } else {
        const s3 = repo.s3;
        if (!s3) {
            issues.push({ setting: `${at}.repository.s3`, value: undefined, rule: "is required with repository kind s3", fix: `set ${at}.repository.s3 with bucket, region and endpoint` });
        } else {
            if (!BUCKET.test(s3.bucket)) issues.push({ setting: `${at}.repository.s3.bucket`, value: s3.bucket, rule: "is not a bucket name: 3–63 lowercase letters, digits, '.' and '-', starting and ending with a letter or digit", fix: `name the bucket e.g. ${JSON.stringify(`${c.scope}-backups`)}` });
            if (!/^[a-z0-9-]+$/.test(s3.region)) issues.push({ setting: `${at}.repository.s3.region`, value: s3.region, rule: "is not a region name", fix: "write the store's region, e.g. eu-west-1 (a self-hosted store: the region it is configured with, often us-east-1)" });
            const [endpointHost, endpointPort, ...rest] = s3.endpoint.split(":");
            if (rest.length > 0 || !/^[A-Za-z0-9.-]+$/.test(endpointHost) || (endpointPort !== undefined && !/^\d{1,5}$/.test(endpointPort))) {
                issues.push({ setting: `${at}.repository.s3.endpoint`, value: s3.endpoint, rule: "must be a host name or address with an optional port, without a scheme or path", fix: "write it as e.g. minio.internal:9000 or 10.0.0.5:9000" });
            } else if (isIpv4(endpointHost) && s3.uriStyle === "host") {
                issues.push({ setting: `${at}.repository.s3.uriStyle`, value: "host", rule: `puts the bucket in the host name, which an endpoint given by address (${endpointHost}) cannot have`, fix: `set ${at}.repository.s3.uriStyle: path` });
            }
        }
        if (spec.backup?.repository?.port !== undefined) {
            issues.push({ setting: `${at}.repository.port`, value: repo.port, rule: "has no use with repository kind s3 (no pgBackRest server runs)", fix: `remove it, or set ${at}.repository.kind: host` });
        }
        if (b.fromStandby) {
            issues.push({ setting: `${at}.fromStandby`, value: true, rule: "needs repository kind host: with an object store each member backs up itself, and only the primary does", fix: `remove it, or set ${at}.repository.kind: host` });
        }
    }
    if (!PLAIN_PATH.test(repo.path)) issues.push({ setting: `${at}.repository.path`, value: repo.path, rule: "must be an absolute path of letters, digits, '.', '_', '-' and '/'", fix: `use ${repo.kind === "host" ? "/var/lib/pgbackrest" : "/pgbackrest"}` });
    if (!PLAIN_PATH.test(b.spoolPath)) issues.push({ setting: `${at}.spoolPath`, value: b.spoolPath, rule: "must be an absolute path of letters, digits, '.', '_', '-' and '/'", fix: "use /var/spool/pgbackrest" });
    if (!SIZE.test(b.archivePushQueueMax)) issues.push({ setting: `${at}.archivePushQueueMax`, value: b.archivePushQueueMax, rule: "is not a size pgBackRest reads", fix: "write a number with a unit, e.g. 4GiB or 512MiB" });
    if (b.retention.full < 1 || b.retention.full > 9999999) issues.push({ setting: `${at}.retention.full`, value: b.retention.full, rule: "must be between 1 and 9999999", fix: "keep at least one full backup, e.g. 2" });
    if (b.retention.diff !== undefined && (b.retention.diff < 1 || b.retention.diff > 9999999)) issues.push({ setting: `${at}.retention.diff`, value: b.retention.diff, rule: "must be between 1 and 9999999", fix: `keep at least one, or remove ${at}.retention.diff to keep them until their full backup expires` });
    if (b.processMax < 1 || b.processMax > 999) issues.push({ setting: `${at}.processMax`, value: b.processMax, rule: "must be between 1 and 999", fix: "use the cores a host can spare, e.g. 2" });
    if (b.fromStandby && c.hosts.patroni.length < 2) issues.push({ setting: `${at}.fromStandby`, value: true, rule: "needs a standby: the cluster has one member", fix: `remove it, or add Patroni hosts` });
    for (const type of ["full", "diff", "incr"] as const) {
        const written = spec.backup?.schedule?.[type];
        if (written === undefined) continue;
        if (type === "full" && written === SCHEDULE_OFF) {
            issues.push({ setting: `${at}.schedule.full`, value: written, rule: "cannot be off: differential and incremental backups build on a full one, and retention counts full backups", fix: `give it an OnCalendar expression, e.g. "Sun *-*-* 01:00:00"` });
        } else if (written.trim() === "" || !CALENDAR.test(written)) {
            issues.push({ setting: `${at}.schedule.${type}`, value: written, rule: "is not a systemd OnCalendar expression (letters, digits, spaces and * : , . / ~ - only)", fix: `write e.g. "Mon..Sat *-*-* 01:00:00" or "daily", or "${SCHEDULE_OFF}"${type === "full" ? "" : " for none"}` });
        }
    }
    if (c.patroni.superuserName !== "postgres") {
        // pgBackRest logs in over the local socket as the OS user postgres: pg_hba's local line is peer.
        issues.push({ setting: `${root}.patroni.superuserName`, value: c.patroni.superuserName, rule: `must be "postgres" with ${at}.enabled: pgBackRest logs in over the local socket as the operating system's postgres user (peer authentication)`, fix: `remove ${root}.patroni.superuserName, or set ${at}.enabled: false` });
    }
    for (const name of ["archive_command", "archive_mode", "restore_command", "archive_library"]) {
        const value = spec.patroni?.parameters?.[name];
        if (value === undefined) continue;
        issues.push({ setting: `${root}.patroni.parameters.${name}`, value, rule: `is set by ${at}.enabled (pgBackRest archives every segment; archive_mode stays on)`, fix: `remove it` });
    }
    return issues;
}

/** `backup.restore`: a target pgBackRest reads, an id, a member of the cluster. */
function checkRestore(c: ResolvedCluster, r: NonNullable<ResolvedBackup["restore"]>, at: string, now = Date.now()): ValidationIssue[] {
    const issues: ValidationIssue[] = [];
    if (!isRestoreTarget(r.to)) {
        issues.push({ setting: `${at}.to`, value: r.to, rule: "is not a time pgBackRest reads with its zone, nor latest", fix: `write it as YYYY-MM-DD HH:MM:SS[.fraction] with a zone, e.g. "2026-11-24 14:00:00+00" (UTC), or latest` });
    } else if (r.to !== "latest" && restoreTargetMs(r.to) > now) {
        // PostgreSQL would end recovery before reaching it and refuse to start (after the data moved aside).
        issues.push({ setting: `${at}.to`, value: r.to, rule: `is later than now (${new Date(now).toISOString()}): no WAL reaches it, and PostgreSQL refuses to end a recovery short of its target`, fix: "give a time in the past, or latest" });
    }
    if (!RESTORE_ID.test(r.id)) {
        issues.push({ setting: `${at}.id`, value: r.id, rule: "must be 1–63 letters, digits, '.', '_' or '-', starting with a letter or digit", fix: `name the restore, e.g. "2026-11-24-orders-drop"` });
    }
    if (!c.hosts.patroni.some((m) => m.name === r.member)) {
        issues.push({ setting: `${at}.member`, value: r.member, rule: "names no Patroni host of the cluster", fix: `name one of ${c.hosts.patroni.map((m) => m.name).join(", ")}, or remove it (the first Patroni host)` });
    }
    return issues;
}

/** The secrets that hold the object store's access key pair (`backup.repository.s3.keyType: shared`). */
export const BACKUP_S3_KEY_SECRETS = ["backupS3AccessKeyId", "backupS3SecretAccessKey"] as const;

/**
 * The access key pair is supplied exactly when the object store wants one: required with
 * `keyType: shared`, refused otherwise (a secret that is never used hides a mistake). `given` says
 * whether a secret was supplied, `setting` names it, `howToSet` says how to supply it.
 */
export function backupKeyIssues(c: ResolvedCluster, given: (key: string) => boolean, setting: (key: string) => string, howToSet: (key: string) => string): ValidationIssue[] {
    const wanted = c.backup.enabled && c.backup.repository.s3?.keyType === "shared";
    return BACKUP_S3_KEY_SECRETS.flatMap((key): ValidationIssue[] => {
        if (wanted && !given(key)) {
            return [{ setting: setting(key), value: undefined, rule: "is required with backup.repository.s3.keyType shared (the object store's access key pair)", fix: `${howToSet(key)}, or set backup.repository.s3.keyType: auto where the hosts have an instance role` }];
        }
        if (!wanted && given(key)) {
            return [{ setting: setting(key), value: "(not shown)", rule: "is only used with backup.enabled and backup.repository.s3.keyType shared", fix: "remove it" }];
        }
        return [];
    });
}
