/**
 * Every default of the model, applied once. Templates and components only ever see the result.
 */
import { ARCHIVE_TIMEOUT_WITH_BACKUPS, archiveCommand, resolveBackup } from "./backup";
import { defaultPostgresVersion, distroLayout, patroniMajorVersion } from "./distro";
import type {
    ClusterSpec,
    HostRole,
    HostSpec,
    OsRelease,
    ResolvedCluster,
    ResolvedHost,
    ResolvedPatroni,
    VipMover,
} from "./types";

/** The release a cluster runs on when its spec names none. */
export const DEFAULT_OS: OsRelease = "debian13";
/** The name of the CA a cluster is created with (`tls.signingCa`'s default). */
export const DEFAULT_CA = "cluster";

/** Every role, in the order hosts are listed and their machines made (`clusterMachines`). */
export const HOST_ROLES: readonly HostRole[] = ["etcd", "patroni", "haproxy", "backup"];

/**
 * PostgreSQL parameters this project sets unless the user overrides them. Chosen for a
 * Patroni-managed HA cluster: replication and rewind ready, slow queries and locks logged,
 * archiving switched on now (a no-op command) so adding pgBackRest later needs a reload, not
 * a restart of every member.
 */

export const DEFAULT_PG_PARAMETERS: Readonly<Record<string, string | number | boolean>> = {
    password_encryption: "scram-sha-256",
    wal_level: "replica",
    hot_standby: "on",
    hot_standby_feedback: "on",
    max_connections: 200,
    max_wal_senders: 10,
    max_replication_slots: 10,
    wal_keep_size: "1GB",
    archive_mode: "on",
    archive_command: "/bin/true",
    logging_collector: "on",
    log_directory: "log",
    log_filename: "postgresql-%a.log",
    log_truncate_on_rotation: "on",
    log_line_prefix: "%m [%p] %q%u@%d ",
    log_min_duration_statement: 1000,
    log_lock_waits: "on",
    log_checkpoints: "on",
    log_connections: "off",
    track_io_timing: "on",
    // A walsender whose standby stopped answering (a host powered off, a cut network) ends after
    // this long instead of PostgreSQL's 60 s. Until it ends, Patroni keeps that standby as the
    // synchronous one and every commit waits; once it has, Patroni names a streaming replica
    // instead. Live standbys answer the walsender's keepalive at half this interval at once.
    wal_sender_timeout: "5s",
};

/** Resolve a host: tags default to all false. */
export function resolveHost(host: HostSpec): ResolvedHost {
    return {
        name: host.name,
        address: host.address,
        tags: {
            nofailover: host.tags?.nofailover ?? false,
            noloadbalance: host.tags?.noloadbalance ?? false,
            nosync: host.tags?.nosync ?? false,
            // A new member clones from a running replica (Patroni picks one at random among those tagged),
            // the leader only when none runs: every member is a clone source unless told otherwise.
            clonefrom: host.tags?.clonefrom ?? true,
        },
    };
}

function resolvePatroni(spec: ClusterSpec, scope: string): ResolvedPatroni {
    const p = spec.patroni ?? {};
    const usePgRewind = p.usePgRewind ?? true;
    const backups = spec.backup?.enabled ?? false;
    return {
        ttlSec: p.ttlSec ?? 20,
        loopWaitSec: p.loopWaitSec ?? 2,
        retryTimeoutSec: p.retryTimeoutSec ?? 7,
        maximumLagOnFailoverBytes: p.maximumLagOnFailoverBytes ?? 1048576,
        // Quorum where Patroni can (measured: losing a standby cost 0.09 s of writes instead of 24.7 s;
        // bench/results/failover-quorum.md).
        synchronousMode: p.synchronousMode ?? (patroniMajorVersion(spec.os ?? DEFAULT_OS, spec.packageSource ?? "distro") >= 4 ? "quorum" : true),
        synchronousModeStrict: p.synchronousModeStrict ?? false,
        synchronousNodeCount: p.synchronousNodeCount ?? 1,
        failsafeMode: p.failsafeMode ?? true,
        primaryStartTimeoutSec: p.primaryStartTimeoutSec ?? 300,
        usePgRewind,
        useSlots: p.useSlots ?? true,
        parameters: {
            ...DEFAULT_PG_PARAMETERS,
            // pg_rewind needs hint bits WAL-logged (or checksums); set it whenever rewind is on.
            ...(usePgRewind ? { wal_log_hints: "on" } : {}),
            // With backups, pgBackRest archives every segment (archive_mode is on from the start: a reload),
            // and a segment in which anything was written is archived within a minute even when the
            // writes are few (the archive's RPO; PostgreSQL's documentation: a minute is usually reasonable).
            ...(backups ? { archive_command: archiveCommand(scope), archive_timeout: ARCHIVE_TIMEOUT_WITH_BACKUPS } : {}),
            ...(p.parameters ?? {}),
        },
        pgHba: p.pgHba ?? [],
        restApiPort: p.restApiPort ?? 8008,
        postgresPort: p.postgresPort ?? 5432,
        watchdog: p.watchdog ?? "required",
        removedMemberData: p.removedMemberData ?? "keep",
        dataChecksums: p.dataChecksums ?? true,
        superuserName: p.superuserName ?? "postgres",
        replicationUserName: p.replicationUserName ?? "replicator",
        rewindUserName: p.rewindUserName ?? "rewind_user",
        restApiUserName: p.restApiUserName ?? "patroni",
        adminUserName: p.adminUserName ?? "admin",
    };
}

/** Every machine of the cluster once, in role order (a host playing several roles is one machine). */
export function clusterMachines(c: ResolvedCluster): ResolvedHost[] {
    const byName = new Map<string, ResolvedHost>();
    for (const h of HOST_ROLES.flatMap((role) => c.hosts[role])) if (!byName.has(h.name)) byName.set(h.name, h);
    return [...byName.values()];
}

/** The roles a machine plays, in role order. */
export function rolesOf(c: Pick<ResolvedCluster, "hosts">, hostName: string): HostRole[] {
    return HOST_ROLES.filter((role) => c.hosts[role].some((h) => h.name === hostName));
}

/**
 * With TLS, the hosts that serve it and so get a certificate: etcd and Patroni hosts, and the backup
 * repository host (pgBackRest's TLS server); a balancer only verifies.
 */
export function certificateHosts(c: ResolvedCluster): ResolvedHost[] {
    const serving = new Set([...c.hosts.etcd, ...c.hosts.patroni, ...c.hosts.backup].map((h) => h.name));
    return clusterMachines(c).filter((h) => serving.has(h.name));
}

/** Every CA the hosts trust, by name: the signing one first. */
export function trustedCaNames(c: ResolvedCluster): string[] {
    return [c.tls.signingCa, ...c.tls.trustedCas];
}

/**
 * Seconds between VRRP adverts. A BACKUP takes the VIP after three adverts of silence and a skew
 * (0.6 of an advert at priority 100): at 0.3 a client through the VIP lost 0.97 s (median of 10, at
 * most 1.81) when the MASTER was powered off, against 3.45 s at 1 (bench/results/failover.md).
 */
export const DEFAULT_ADVERT_INTERVAL_SEC = 0.3;

/** Default VRRP priorities: the first HAProxy host is preferred. */
export function defaultPriorities(count: number): number[] {
    return Array.from({ length: count }, (_, i) => (i === 0 ? 150 : 101 - i));
}

/**
 * The mover `keepalived.moveVipWith` names among `vipMovers`; undefined for `none`. A name none of
 * them has is a programming error here (`checkVipMover` reports it first).
 */
export function namedVipMover(name: string | undefined, vipMovers: readonly VipMover[]): VipMover | undefined {
    if (name === undefined || name === "none") return undefined;
    const mover = vipMovers.find((m) => m.name === name);
    if (!mover) throw new Error(`keepalived.moveVipWith ${JSON.stringify(name)}: the cluster was given no VIP mover of that name`);
    return mover;
}

/**
 * Apply every default. `defaultScope` is the component's name, used when the spec names no scope;
 * `vipMovers`, the providers' movers `keepalived.moveVipWith` may name.
 * Call `assertValidCluster` first: resolving does not check anything.
 */
export function resolveCluster(spec: ClusterSpec, defaultScope: string, vipMovers: readonly VipMover[] = []): ResolvedCluster {
    const os = spec.os ?? DEFAULT_OS;
    const packageSource = spec.packageSource ?? "distro";
    const postgresVersion = spec.postgresVersion ?? defaultPostgresVersion(os, packageSource);
    const scope = spec.scope ?? defaultScope;
    const ha = spec.haproxy ?? {};
    const ka = spec.keepalived;
    const haproxyHosts = spec.hosts.haproxy ?? [];
    const etcd = spec.etcd ?? {};
    return {
        scope,
        namespace: spec.namespace ?? "/service/",
        os,
        packageSource,
        postgresVersion,
        layout: distroLayout(os, packageSource, postgresVersion),
        hosts: {
            etcd: spec.hosts.etcd.map(resolveHost),
            patroni: spec.hosts.patroni.map(resolveHost),
            haproxy: haproxyHosts.map(resolveHost),
            backup: (spec.hosts.backup ?? []).map(resolveHost),
        },
        patroni: resolvePatroni(spec, scope),
        users: (spec.users ?? []).map((u) => ({ name: u.name, options: u.options ?? [], databases: u.databases ?? [] })),
        haproxy: {
            primaryPort: ha.primaryPort ?? 5000,
            replicaPort: ha.replicaPort ?? 5001,
            statsPort: ha.statsPort ?? 7000,
            checkIntervalMs: ha.checkIntervalMs ?? 1000,
            checkFastIntervalMs: ha.checkFastIntervalMs ?? 1000,
            checkDownIntervalMs: ha.checkDownIntervalMs ?? 250,
            checkFall: ha.checkFall ?? 3,
            checkRise: ha.checkRise ?? 1,
            checkTimeoutMs: ha.checkTimeoutMs ?? 2000,
            connectTimeoutMs: ha.connectTimeoutMs ?? 250,
            connectRetries: ha.connectRetries ?? 8,
            clientTimeoutSec: ha.clientTimeoutSec ?? 1800,
            maxConnections: ha.maxConnections ?? 2000,
            serverMaxConnections: ha.serverMaxConnections ?? 200,
        },
        frontDoor: spec.frontDoor ?? "vip",
        keepalived: ka && {
            vip: ka.vip,
            vipPrefixLength: ka.vipPrefixLength ?? 24,
            interface: ka.interface ?? "eth0",
            virtualRouterId: ka.virtualRouterId ?? 51,
            priorities: ka.priorities ?? defaultPriorities(haproxyHosts.length),
            unicast: ka.unicast ?? true,
            advertIntervalSec: ka.advertIntervalSec ?? DEFAULT_ADVERT_INTERVAL_SEC,
            checkIntervalSec: ka.checkIntervalSec ?? 1,
            checkTimeoutSec: ka.checkTimeoutSec ?? 2,
            checkFall: ka.checkFall ?? 2,
            checkRise: ka.checkRise ?? 2,
            notifyMasterCommand: ka.notifyMasterCommand,
            moveVipWith: namedVipMover(ka.moveVipWith, vipMovers),
        },
        etcd: {
            clientPort: etcd.clientPort ?? 2379,
            peerPort: etcd.peerPort ?? 2380,
            clusterToken: etcd.clusterToken ?? `${scope}-etcd`,
            allowSingleNode: etcd.allowSingleNode ?? false,
            heartbeatIntervalMs: etcd.heartbeatIntervalMs ?? 100,
            electionTimeoutMs: etcd.electionTimeoutMs ?? 1000,
        },
        tls: {
            enabled: spec.tls?.enabled ?? true,
            certificateValidityDays: spec.tls?.certificateValidityDays ?? 365,
            renewBeforeDays: spec.tls?.renewBeforeDays ?? 30,
            caValidityDays: spec.tls?.caValidityDays ?? 3650,
            signingCa: spec.tls?.signingCa ?? DEFAULT_CA,
            trustedCas: spec.tls?.trustedCas ?? [],
        },
        backup: resolveBackup(spec),
        clientCidrs: spec.clientCidrs ?? [],
        allowClientsFromAnywhere: spec.allowClientsFromAnywhere ?? false,
    };
}
