/**
 * The cluster model: what a user writes (the `...Spec` interfaces, every optional field with its
 * `@default`) and what templates see (the `Resolved...` types, every default applied).
 *
 * This file has no Pulumi imports: the model is plain data so that resolving, validating and
 * rendering stay pure and testable (the one hook in it, a provider's `VipMover`, is pure too: text
 * in, text out). Secrets are not part of the model; they travel separately as
 * `pulumi.Output<string>` and meet the rendered text only inside an `apply` (see render/).
 */

/** An operating system release a host runs. */
export type OsRelease = "debian12" | "debian13" | "ubuntu22.04" | "ubuntu24.04" | "rocky9" | "alma9";

/** Package and path conventions shared by a group of releases. */
export type DistroFamily = "debian" | "rhel";

/** Where PostgreSQL and Patroni packages come from. */
export type PackageSource = "distro" | "pgdg";

/**
 * Patroni's watchdog mode. `required`: Patroni leads only with /dev/watchdog armed, so a primary whose
 * Patroni stops answering is reset before another member may promote. `automatic` uses
 * /dev/watchdog when it exists and carries on without; `off` never uses it.
 */
export type WatchdogMode = "off" | "automatic" | "required";

/**
 * The roles a host can play. A host may play several (same name and address in each list), except
 * that the backup repository never shares a machine with a Patroni member.
 */
export type HostRole = "etcd" | "patroni" | "haproxy" | "backup";

/** One machine of the cluster, as the model sees it. How to reach it over SSH lives elsewhere. */
export interface HostSpec {
    /** Host name; also the etcd member name and the Patroni member name. Lowercase letters, digits and `-`. */
    name: string;
    /** Private IPv4 address the cluster's members use to reach this host. */
    address: string;
    /**
     * Patroni member tags (patroni hosts only).
     * @default - no tags: the member may become primary, takes read traffic and may be a sync standby
     */
    tags?: MemberTags;
}

/** Patroni member tags, the subset Patroni 3.0 understands. */
export interface MemberTags {
    /** Never promote this member. @default false */
    nofailover?: boolean;
    /** Keep this member out of the read pool (its `/replica` check answers 503). @default false */
    noloadbalance?: boolean;
    /** Never choose this member as synchronous standby. @default false */
    nosync?: boolean;
    /** Prefer this member as the source of new replicas. @default false */
    clonefrom?: boolean;
}

/** Which hosts play which role. */
export interface ClusterHosts {
    /** etcd members: 3 or 5 (an odd number ≥ 3); 1 only with `etcd.allowSingleNode`. */
    etcd: HostSpec[];
    /** Patroni + PostgreSQL members. The first one bootstraps the cluster. */
    patroni: HostSpec[];
    /**
     * HAProxy + Keepalived hosts carrying the VIP (normally 2). Required with `frontDoor: vip`;
     * none with `frontDoor: external`.
     * @default []
     */
    haproxy?: HostSpec[];
    /**
     * The backup repository host (at most one): pgBackRest's own TLS server keeps the backups and
     * the WAL archive on it and takes the backups from there. Only with `backup.enabled` and
     * `backup.repository.kind: host`.
     * @default []
     */
    backup?: HostSpec[];
}

/** Patroni dynamic (DCS) settings, applied at bootstrap and later through the REST API. */
export interface PatroniSpec {
    /**
     * Leader key TTL: how long the primary keeps the lock without renewing it.
     * @default 20
     */
    ttlSec?: number;
    /**
     * Seconds between HA loop runs. A primary whose postmaster died is restarted on the next run, so
     * this bounds that outage (measured by hand in the lab, 6 runs each: 4.1 s median at 5, 2.1 s at
     * 2); each run costs a few queries on each member and the leader's renewal of its key in etcd.
     * @default 2
     */
    loopWaitSec?: number;
    /** Seconds to retry DCS and PostgreSQL operations before demoting. @default 7 */
    retryTimeoutSec?: number;
    /** A replica lagging more than this many bytes is not promoted. @default 1048576 */
    maximumLagOnFailoverBytes?: number;
    /**
     * Keep synchronous standbys so acknowledged commits survive the primary's loss: `true` names
     * `synchronousNodeCount` standbys; `quorum` (Patroni 4.0 or newer) has every commit wait for any
     * `synchronousNodeCount` of the standbys (`ANY n (...)`), so losing one of them costs commits nothing.
     * @default - `quorum` where the release's Patroni is 4.0 or newer (Debian 13, PGDG), else `true`
     */
    synchronousMode?: boolean | "quorum";
    /**
     * Refuse writes when no synchronous standby is available (zero RPO at the cost of write availability).
     * @default false
     */
    synchronousModeStrict?: boolean;
    /** How many synchronous standbys to keep. @default 1 */
    synchronousNodeCount?: number;
    /** Keep the primary running while the DCS is down if every member confirms it by REST API. @default true */
    failsafeMode?: boolean;
    /** Seconds to wait for a crashed primary to recover in place before failing over. @default 300 */
    primaryStartTimeoutSec?: number;
    /** Rejoin a former primary with pg_rewind instead of a fresh base backup (sets `wal_log_hints`). @default true */
    usePgRewind?: boolean;
    /** Use replication slots for members. @default true */
    useSlots?: boolean;
    /**
     * PostgreSQL parameters, merged over this project's defaults (see `DEFAULT_PG_PARAMETERS`).
     * @default {}
     */
    parameters?: Record<string, string | number | boolean>;
    /**
     * Extra pg_hba lines, placed after the generated local/replication/member lines and before
     * the client CIDR lines.
     * @default []
     */
    pgHba?: string[];
    /** Patroni REST API port. @default 8008 */
    restApiPort?: number;
    /** PostgreSQL port. @default 5432 */
    postgresPort?: number;
    /**
     * Watchdog mode. The install step loads softdog (and has it load at every boot); with `required`
     * it fails on a host that has no /dev/watchdog, naming this setting. Set `automatic` where the
     * hosts cannot have one (containers, as in the lab): a frozen Patroni is then not fenced.
     * @default "required"
     */
    watchdog?: WatchdogMode;
    /**
     * What happens to a member's data directory when the member leaves the stack (or on destroy):
     * `keep` moves it aside (`<dir>.destroyed-<UTC time>`), `delete` removes it. The delete command
     * a member runs is the one of the deployment that created or last updated it: set this (and
     * `pulumi up`) before removing the member. @default "keep"
     */
    removedMemberData?: "keep" | "delete";
    /** Initialise the cluster with data checksums. @default true */
    dataChecksums?: boolean;
    /** Superuser name. @default "postgres" */
    superuserName?: string;
    /** Replication user name. @default "replicator" */
    replicationUserName?: string;
    /** pg_rewind user name. @default "rewind_user" */
    rewindUserName?: string;
    /** REST API basic-auth user name (for unsafe endpoints and patronictl). @default "patroni" */
    restApiUserName?: string;
    /** An administrative role (CREATEDB, CREATEROLE, not superuser) for people and migrations. @default "admin" */
    adminUserName?: string;
}

/** An application role created after bootstrap (idempotently, with a SCRAM verifier computed client-side). */
export interface UserSpec {
    /** Role name. */
    name: string;
    /** Role attributes, e.g. `["CREATEDB"]`. LOGIN is always set. @default [] */
    options?: string[];
    /** Databases to create, owned by this role. @default [] */
    databases?: string[];
}

/** HAProxy front door settings. */
export interface HaproxySpec {
    /** Port routed to the primary. @default 5000 */
    primaryPort?: number;
    /** Port balanced over the replicas. @default 5001 */
    replicaPort?: number;
    /** Port of the statistics page. @default 7000 */
    statsPort?: number;
    /** Milliseconds between health checks of each member while its state holds (HAProxy's `inter`). @default 1000 */
    checkIntervalMs?: number;
    /**
     * Milliseconds between checks once a check has failed on a member that is up (HAProxy's
     * `fastinter`): with `checkFall`, how long a member's REST API may not answer before it is shut
     * out. Patroni killed or restarted on a running primary is back in about 2 s (a systemd restart
     * and Python's start); a primary shut out in that time would cost every write a reconnection
     * for nothing. A member that is no longer primary is shut out sooner than this by its own
     * PostgreSQL: it stops or restarts read-only, and its clients' connections end.
     * @default 1000
     */
    checkFastIntervalMs?: number;
    /**
     * Milliseconds between checks of a member that is down (HAProxy's `downinter`): with
     * `checkRise`, how fast a new primary is let in after a failover or switchover.
     * @default 250
     */
    checkDownIntervalMs?: number;
    /** Failed checks in a row before a member is marked down (the first at `checkIntervalMs`, the rest at `checkFastIntervalMs`). @default 3 */
    checkFall?: number;
    /** Successful checks in a row before a member is marked up (at `checkDownIntervalMs`). @default 1 */
    checkRise?: number;
    /** Milliseconds a health check may take. @default 2000 */
    checkTimeoutMs?: number;
    /**
     * Milliseconds HAProxy waits for a member to accept a TCP connection (`timeout connect`), which
     * is also how long it waits before trying again after a refusal. Short, for members on one
     * network: a client's connection arriving while a primary restarts or steps down is held and
     * tried again this often instead of failing.
     * @default 250
     */
    connectTimeoutMs?: number;
    /**
     * Connection attempts HAProxy retries (`retries`), each on another member that is up if there is
     * one (`option redispatch 1`): with `connectTimeoutMs`, how long a client's connection is held
     * (8 × 250 ms: 2 s, about a postmaster's restart) before it fails.
     * @default 8
     */
    connectRetries?: number;
    /** Client and server idle timeout in seconds (long, for pooled connections). @default 1800 */
    clientTimeoutSec?: number;
    /** Maximum client connections HAProxy accepts. @default 2000 */
    maxConnections?: number;
    /** Maximum connections HAProxy opens to each PostgreSQL member. @default 200 */
    serverMaxConnections?: number;
}

/** Keepalived and the floating VIP. */
export interface KeepalivedSpec {
    /** The floating virtual IP clients connect to. Must lie in the HAProxy hosts' subnet and belong to no host. */
    vip: string;
    /** Prefix length of the HAProxy hosts' subnet (the VIP is added with it). @default 24 */
    vipPrefixLength?: number;
    /**
     * Network interface carrying the VIP. Not used with a `moveVipWith` whose mover finds the
     * interface on the host (`VipMover.interfaceOnHost`).
     * @default "eth0"
     */
    interface?: string;
    /** VRRP virtual router id, 1–255, unique on the LAN. @default 51 */
    virtualRouterId?: number;
    /**
     * VRRP priority of each HAProxy host, in the order of `hosts.haproxy`; all different.
     * @default - 150, 100, 99, 98, ...
     */
    priorities?: number[];
    /**
     * Use unicast VRRP between the HAProxy hosts (works in VPCs that drop multicast).
     * @default true
     */
    unicast?: boolean;
    /**
     * Seconds between VRRP adverts, to the centisecond (VRRPv3): 0.01–40.95. A BACKUP takes the VIP
     * when it has heard nothing for three adverts and a skew (the less, the higher its priority):
     * about 1.1 s after the MASTER is lost at 0.3.
     * @default 0.3
     */
    advertIntervalSec?: number;
    /** Seconds between runs of the HAProxy check (Keepalived's `vrrp_script` interval). @default 1 */
    checkIntervalSec?: number;
    /** Seconds a run of the HAProxy check may take before it counts as failed. @default 2 */
    checkTimeoutSec?: number;
    /** Failed checks in a row that make this host give up the VIP. @default 2 */
    checkFall?: number;
    /** Passed checks in a row that make this host eligible for the VIP again. @default 2 */
    checkRise?: number;
    /**
     * A command run (as root) when this host becomes MASTER, e.g. moving a secondary IP in a cloud.
     * Runs after the `moveVipWith` action, if any.
     * @default - none
     */
    notifyMasterCommand?: string;
    /**
     * How the VIP is moved outside the host when this host becomes MASTER: `none`, or the name of
     * a `VipMover` a provider supplies and the cluster is given (the README lists those this
     * package ships). In a cloud network, an address Keepalived only adds inside the OS is never
     * delivered to the host.
     * @default "none"
     */
    moveVipWith?: VipMove;
}

/** How the VIP is moved outside the host: `none`, or a `VipMover`'s name (see `KeepalivedSpec.moveVipWith`). */
export type VipMove = string;

/**
 * How a provider's network gets the VIP to the Keepalived MASTER when adding it inside the OS is not
 * enough (a cloud network delivers an address only to the interface it is assigned to). A provider
 * supplies it; `keepalived.moveVipWith` names it; the balancers' files and steps take its parts.
 */
export interface VipMover {
    /** The `keepalived.moveVipWith` value that names it. */
    name: string;
    /** What the balancers install for it beside HAProxy and Keepalived (e.g. a cloud's CLI), on `release`. */
    install(release: OsRelease): { packages: string[]; commands: string[] };
    /**
     * Its part of the notify_master script for the VIP `vip`: `note`, comment lines under the
     * script's head, and `commands`, run before `keepalived.notifyMasterCommand`.
     */
    notifyMaster(vip: string): { note: string; commands: string };
    /** The systemd units it adds on each balancer, e.g. a timer that runs notify_master (`notifyMasterPath`) again. */
    units(args: { vip: string; notifyMasterPath: string }): VipMoverUnit[];
    /**
     * Set when Keepalived's interface is found on the host rather than taken from `keepalived.interface`:
     * `script` writes `$<param>=<interface>` to `path` before keepalived.conf, which includes that file,
     * is written; `note` tells in keepalived.conf which interface it is.
     * @default - none: the interface is `keepalived.interface`
     */
    interfaceOnHost?: { note: string; script(file: { path: string; param: string }): string };
}

/** A systemd unit a `VipMover` adds on each balancer, as /etc/systemd/system/<unit>. */
export interface VipMoverUnit {
    /** Short name for its step's resource name, e.g. `vip-reassert-timer`. */
    id: string;
    /** The unit's file name, e.g. `pgha-vip-reassert.timer`. */
    unit: string;
    content: string;
    /** Why the balancer's start step enables it (`--now`), as the comment there. @default - not enabled */
    enable?: string;
}

/**
 * What clients connect to. `vip`: HAProxy + Keepalived hosts of this cluster carrying a VIP.
 * `external`: a load balancer made elsewhere (e.g. a cloud's) health-checks Patroni's REST API
 * itself; the cluster has no HAProxy hosts and no Keepalived.
 */
export type FrontDoor = "vip" | "external";

/** The etcd cluster used as Patroni's DCS. */
export interface EtcdSpec {
    /** Client port. @default 2379 */
    clientPort?: number;
    /** Peer port. @default 2380 */
    peerPort?: number;
    /** Initial cluster token; unique per cluster so members of two clusters never join each other. @default - "<scope>-etcd" */
    clusterToken?: string;
    /** Allow a single etcd member (development only: no quorum, no HA). @default false */
    allowSingleNode?: boolean;
    /** Heartbeat interval in milliseconds. @default 100 */
    heartbeatIntervalMs?: number;
    /** Election timeout in milliseconds (≥ 5 × heartbeat). @default 1000 */
    electionTimeoutMs?: number;
}

/**
 * TLS on the cluster's own hops, with a CA of its own (@pulumi/tls: the CA key is a secret in the
 * stack's state) and a certificate per host, each renewed by the first `pulumi up` inside its
 * renewal window.
 */
export interface TlsSpec {
    /**
     * Issue the CA and every host's certificate and key, and put them on the hosts: etcd, Patroni's
     * REST API and PostgreSQL take TLS only. A cluster created without TLS keeps `false`: turning it
     * on for a running cluster is refused before anything changes. @default true
     */
    enabled?: boolean;
    /** Days a host certificate is valid. @default 365 */
    certificateValidityDays?: number;
    /** Days before a certificate expires from which a `pulumi up` replaces it. @default 30 */
    renewBeforeDays?: number;
    /** Days a CA this program makes is valid. @default 3650 */
    caValidityDays?: number;
    /**
     * The CA that signs the host certificates, by name: one this program makes and keeps in the
     * state, or one supplied (`PostgresHaClusterArgs.certificateAuthorities`, the stack's
     * `certificateAuthorities` secret). Changing it is a rotation: see `trustedCas`.
     * @default "cluster" (the CA the cluster was created with)
     */
    signingCa?: string;
    /**
     * CAs the hosts and clients trust beside `signingCa`, by name: a rotation in three `pulumi up`s,
     * none of which interrupts a connection — (1) add the new CA here (every host, and the exported
     * `caCertificate`, trusts both; give the clients the new bundle), (2) make it `signingCa` and
     * list the old one here, (3) remove the old one. A step that would leave a host or a client
     * unable to verify another is refused on the hosts before any file changes. @default []
     */
    trustedCas?: string[];
}

/** A CA the user supplies (`tls.signingCa` or `tls.trustedCas` names it): PEM text, the key a secret. */
export interface CertificateAuthorityArgs<T = string> {
    /** The CA's certificate; after it, the chain up to its root when it is an intermediate CA. */
    certPem: T;
    /** The CA's private key (PKCS#8, PKCS#1 or SEC1 PEM): signs the host certificates when it is `signingCa`. */
    privateKeyPem: T;
}

/** Where pgBackRest keeps the backups and the WAL archive. */
export interface BackupRepositorySpec {
    /**
     * `host`: the repository host (`hosts.backup`) runs pgBackRest's TLS server; every member runs
     * one too, and the repository host takes the backups through them (pgBackRest runs `backup` on
     * the repository host only). Needs `tls.enabled`: the servers know each other by the cluster's
     * certificates. `s3`: an S3-compatible object store every member writes to itself.
     * @default "host"
     */
    kind?: "host" | "s3";
    /**
     * The repository's path (`repo1-path`): a directory on the repository host, or a prefix in the bucket.
     * @default "/var/lib/pgbackrest" (`host`), "/pgbackrest" (`s3`)
     */
    path?: string;
    /** Port of pgBackRest's TLS server on the repository host and on every member (`host` only). @default 8432 */
    port?: number;
    /** The object store (`s3` only; required there). @default - none */
    s3?: BackupS3Spec;
}

/** An S3-compatible object store holding the repository. */
export interface BackupS3Spec {
    /** The bucket (`repo1-s3-bucket`). */
    bucket: string;
    /** Its region (`repo1-s3-region`); an S3-compatible store of your own takes any name it is configured with, e.g. `us-east-1`. */
    region: string;
    /** Its endpoint, a host name with an optional port (`repo1-s3-endpoint`), e.g. `minio.internal:9000`. */
    endpoint: string;
    /** `host` (`<bucket>.<endpoint>`) or `path` (`<endpoint>/<bucket>`, what most self-hosted stores want). @default "host" */
    uriStyle?: "host" | "path";
    /**
     * `shared`: an access key pair supplied as secrets (`backupS3AccessKeyId`, `backupS3SecretAccessKey`);
     * `auto`: the host's own temporary credentials, from the instance role its cloud gives it.
     * @default "shared"
     */
    keyType?: "shared" | "auto";
    /** Verify the store's TLS certificate. @default true */
    verifyTls?: boolean;
}

/**
 * WAL archiving, scheduled backups and replicas cloned from the repository, with pgBackRest. The
 * cluster runs `archive_mode = on` from its creation (with a no-op command): turning backups on is a
 * reload, not a restart.
 */
export interface BackupSpec {
    /** Archive WAL and take backups. @default false */
    enabled?: boolean;
    /** Where the backups go. @default - a repository host, see BackupRepositorySpec */
    repository?: BackupRepositorySpec;
    /** How many backups pgBackRest keeps (its `expire`, run after every backup). @default - see BackupRetentionSpec */
    retention?: BackupRetentionSpec;
    /**
     * When backups run, each a systemd `OnCalendar` expression (`man systemd.time`) or `off`.
     * @default - see BackupScheduleSpec
     */
    schedule?: BackupScheduleSpec;
    /** Push WAL asynchronously (`archive-async`): PostgreSQL's archiver hands a segment over at once, pgBackRest sends it (in parallel) after. @default true */
    archiveAsync?: boolean;
    /** Where asynchronous archiving queues WAL on each member (`spool-path`). @default "/var/spool/pgbackrest" */
    spoolPath?: string;
    /**
     * How much WAL may wait for the repository (`archive-push-queue-max`, e.g. `4GiB`): beyond it WAL
     * is dropped from the archive rather than filling the primary's disk (point-in-time recovery then
     * has a gap until the next full backup), so a repository outage never stops the database.
     * @default "4GiB"
     */
    archivePushQueueMax?: string;
    /** Compression of backups and archived WAL (`compress-type`). @default "zst" */
    compressType?: "zst" | "lz4" | "gz" | "bz2" | "none";
    /** Processes for compression and transfer (`process-max`). @default 2 */
    processMax?: number;
    /**
     * Copy a backup's files from a standby instead of the primary (`backup-standby`; `host` only):
     * the primary only starts and stops the backup. @default false
     */
    fromStandby?: boolean;
    /**
     * Restore the cluster from the repository, once: the next `pulumi up` runs the restore procedure
     * (/usr/local/sbin/pgha-restore on every member: archive, pause, stop, clear the DCS, restore one
     * member to `to`, a fresh full backup, re-clone the others) after every other step. Left in the
     * stack file it runs nothing more; to restore again, change `id`.
     * @default - none
     */
    restore?: BackupRestoreSpec;
}

/** One restore of the cluster (see BackupSpec.restore). */
export interface BackupRestoreSpec {
    /** `latest` (the end of the archive), or a time with its zone as pgBackRest reads it, e.g. `2026-11-24 14:00:00+00`. */
    to: string;
    /** Names this restore (e.g. `2026-11-24-orders-drop`): the restore runs once per id, `to` and `member`. */
    id: string;
    /** The member restored, which leads the cluster after it. @default - the first Patroni host */
    member?: string;
}

/** Backup retention, as pgBackRest counts it. */
export interface BackupRetentionSpec {
    /** Full backups kept (`repo1-retention-full`); WAL older than the oldest is expired with it. @default 2 */
    full?: number;
    /** Differential backups kept (`repo1-retention-diff`). @default - kept until their full backup expires */
    diff?: number;
}

/** Backup schedules: systemd `OnCalendar` expressions, or `off`. */
export interface BackupScheduleSpec {
    /** Full backups; never `off`. @default "Sun *-*-* 01:00:00" */
    full?: string;
    /** Differential backups. @default "Mon..Sat *-*-* 01:00:00" */
    diff?: string;
    /** Incremental backups. @default "off" */
    incr?: string;
}

/** The whole cluster, as written in stack config or passed to `PostgresHaCluster`. */
export interface ClusterSpec {
    /** Patroni scope: the cluster's name in the DCS. Lowercase letters, digits and `-`. @default - the component's name */
    scope?: string;
    /** DCS namespace (key prefix). @default "/service/" */
    namespace?: string;
    /** Operating system release of every host. @default "debian13" (`DEFAULT_OS`, model/resolve.ts) */
    os?: OsRelease;
    /** Where PostgreSQL and Patroni come from. @default "distro" */
    packageSource?: PackageSource;
    /** PostgreSQL major version. @default - the release's own version with `distro`, 16 with `pgdg` */
    postgresVersion?: number;
    /** The hosts of each role. */
    hosts: ClusterHosts;
    /** Patroni and PostgreSQL settings. @default - see PatroniSpec */
    patroni?: PatroniSpec;
    /** Application roles created after bootstrap. @default [] */
    users?: UserSpec[];
    /** HAProxy settings. @default - see HaproxySpec */
    haproxy?: HaproxySpec;
    /**
     * What clients connect to: this cluster's HAProxy + Keepalived VIP, or an external load balancer.
     * @default "vip"
     */
    frontDoor?: FrontDoor;
    /** Keepalived and the VIP. Required with `frontDoor: vip`; not allowed with `external`. @default - none */
    keepalived?: KeepalivedSpec;
    /** etcd settings. @default - see EtcdSpec */
    etcd?: EtcdSpec;
    /** TLS material for the cluster's hops. */
    tls?: TlsSpec;
    /** Backups and WAL archiving with pgBackRest. @default - off */
    backup?: BackupSpec;
    /**
     * CIDRs allowed to connect to PostgreSQL directly (pg_hba). The cluster's own addresses are always allowed.
     * @default []
     */
    clientCidrs?: string[];
    /**
     * Allow PostgreSQL logins from any address: a client CIDR or pg_hba line for 0.0.0.0/0, ::/0 or
     * `all` is refused without it, so that opening the database to the world is a decision, not a typo.
     * @default false
     */
    allowClientsFromAnywhere?: boolean;
}

/** Paths, package names and services of one release and package source. */
export interface DistroLayout {
    family: DistroFamily;
    release: OsRelease;
    packageManager: "apt" | "dnf";
    /** Packages per role. */
    packages: Record<HostRole, string[]>;
    /** PostgreSQL binaries. */
    pgBinDir: string;
    /** PostgreSQL data directory. */
    pgDataDir: string;
    /** The postgres user's home (holds Patroni's pgpass). */
    postgresHome: string;
    /** PostgreSQL's unix socket directory. */
    socketDir: string;
    /** Patroni's configuration file read by `patroniService`. */
    patroniConfigPath: string;
    patroniService: string;
    /** The etcd environment file. */
    etcdConfigPath: string;
    etcdDataDir: string;
    etcdService: string;
    /** Commands that add the package repository for `pgdg` (empty for `distro`). */
    repoSetup: string[];
}

/** Backup settings with every default applied (see BackupSpec). */
export interface ResolvedBackup {
    enabled: boolean;
    repository: {
        kind: "host" | "s3";
        path: string;
        port: number;
        /** With `s3`. */
        s3: Required<BackupS3Spec> | undefined;
    };
    /** `diff` undefined: pgBackRest keeps differential backups until their full backup expires. */
    retention: { full: number; diff: number | undefined };
    /** Each `OnCalendar` expression; undefined for `off`. */
    schedule: { full: string; diff: string | undefined; incr: string | undefined };
    archiveAsync: boolean;
    spoolPath: string;
    archivePushQueueMax: string;
    compressType: NonNullable<BackupSpec["compressType"]>;
    processMax: number;
    fromStandby: boolean;
    /** The restore to run once; undefined for none. */
    restore: Required<BackupRestoreSpec> | undefined;
}

/** A host with everything a template needs. */
export interface ResolvedHost {
    name: string;
    address: string;
    tags: Required<MemberTags>;
}

export type ResolvedPatroni = Required<Omit<PatroniSpec, "parameters">> & {
    parameters: Record<string, string | number | boolean>;
};

export type ResolvedKeepalived = Required<Omit<KeepalivedSpec, "notifyMasterCommand" | "moveVipWith">> & {
    notifyMasterCommand: string | undefined;
    /** The mover `moveVipWith` names; undefined for `none`. */
    moveVipWith: VipMover | undefined;
};

/** The whole cluster with every default applied: the only thing renderers see. */
export interface ResolvedCluster {
    scope: string;
    namespace: string;
    os: OsRelease;
    packageSource: PackageSource;
    postgresVersion: number;
    layout: DistroLayout;
    hosts: Record<HostRole, ResolvedHost[]>;
    patroni: ResolvedPatroni;
    users: Required<UserSpec>[];
    frontDoor: FrontDoor;
    haproxy: Required<HaproxySpec>;
    /** Absent with `frontDoor: external`. */
    keepalived: ResolvedKeepalived | undefined;
    etcd: Required<EtcdSpec>;
    tls: Required<TlsSpec>;
    backup: ResolvedBackup;
    clientCidrs: string[];
    allowClientsFromAnywhere: boolean;
}

/** The secrets a cluster needs, resolved to plain text only inside an `apply`. */
export interface ClusterSecrets {
    superuserPassword: string;
    replicationPassword: string;
    rewindPassword: string;
    adminPassword: string;
    restApiPassword: string;
    /** Password of each application role, by role name. */
    userPasswords: Record<string, string>;
    /**
     * The SCRAM-SHA-256 salt (16 random bytes, base64) of every role whose password the program sets,
     * by role name: superuser, replication, rewind, admin and each application role. Random per
     * cluster and kept in the stack's state, so a verifier is stable across runs yet never the same
     * for the same password elsewhere.
     */
    scramSalts: Record<string, string>;
    /** With `backup.repository.s3.keyType: shared`: the object store's access key pair. */
    backupS3Key?: { accessKeyId: string; secretAccessKey: string };
    /**
     * With `tls.enabled`: the CA certificates every host and client trusts (PEM, `signingCa`'s first,
     * then `trustedCas`'), and the certificate and private key of each host that serves TLS (an
     * etcd or Patroni host, the backup repository host), by host name.
     */
    tls?: { caCert: string; hosts: Record<string, { cert: string; key: string }> };
}
