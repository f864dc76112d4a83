/**
 * PostgresHaCluster: the whole cluster on hosts that exist (your machines, a provider's, the lab):
 * etcd quorum → Patroni leader → replicas → HAProxy + Keepalived and the VIP → application roles.
 * With `frontDoor: external` there is no proxy pair: a load balancer of yours (or a provider's)
 * checks Patroni's REST API and its address is the endpoint.
 * Children: `<name>-etcd`, `<name>-backup` (a backup repository host), `<name>-patroni`, `<name>-proxy` (front door vip),
 * `<name>-backup-stanza` and `<name>-backup-timers-<host>` (a backup repository host), `<name>-roles`, and one
 * `<name>-<secret>-password` per generated secret.
 */
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import type { CertificateAuthorityArgs, ClusterSecrets, ClusterSpec, HostRole, ResolvedCluster, VipMover } from "../model/types";
import { BACKUP_S3_KEY_SECRETS, backupKeyIssues, repositoryLocation } from "../model/backup";
import { ClusterConfigError, checkSuppliedCa, checkSuppliedCaNames, checkSuppliedSecret, clusterWarnings, formatIssue, pemCertificates, resolveValidCluster, retiredVrrpPassword, type ValidationIssue } from "../model/validate";
import { isIpv4 } from "../model/net";
import { DEFAULT_CA, HOST_ROLES, certificateHosts, clusterMachines, rolesOf, trustedCaNames } from "../model/resolve";
import { sha256 } from "../render/files";
import { BackupRepository } from "./backup-repository";
import { EtcdCluster } from "./etcd-cluster";
import { HaproxyKeepalived } from "./haproxy-keepalived";
import { PatroniCluster } from "./patroni-cluster";
import { SSH_DIAL_PATIENCE, type ClusterHost, type ConnectionArgs, type DataVolume } from "./remote";
import { createSteps, planFor } from "./steps";
import { passwordRoles } from "../render/roles";

/** Secrets you may supply; every one left out is generated with @pulumi/random and kept secret. */
export interface ClusterSecretArgs {
    /** PostgreSQL superuser password. @default - generated, 32 characters */
    superuserPassword?: pulumi.Input<string>;
    /** Replication user password. @default - generated, 32 characters */
    replicationPassword?: pulumi.Input<string>;
    /** pg_rewind user password. @default - generated, 32 characters */
    rewindPassword?: pulumi.Input<string>;
    /** Admin role password. @default - generated, 32 characters */
    adminPassword?: pulumi.Input<string>;
    /** Patroni REST API password. @default - generated, 32 characters */
    restApiPassword?: pulumi.Input<string>;
    /**
     * @deprecated Ignored, with a warning: Keepalived speaks VRRPv3, which has no authentication.
     * Unicast adverts are taken from the other balancers' addresses only.
     */
    keepalivedPassword?: pulumi.Input<string>;
    /** Passwords of application roles, by role name. @default - generated per role, 32 characters */
    userPasswords?: Record<string, pulumi.Input<string>>;
    /** The object store's access key id (`cluster.backup.repository.s3.keyType: shared`; required there). @default - none */
    backupS3AccessKeyId?: pulumi.Input<string>;
    /** The object store's secret access key (`cluster.backup.repository.s3.keyType: shared`; required there). @default - none */
    backupS3SecretAccessKey?: pulumi.Input<string>;
}

export interface PostgresHaClusterArgs {
    /** The cluster: hosts per role, Patroni, HAProxy, Keepalived and etcd settings. Validated before anything is created. */
    cluster: ClusterSpec;
    /**
     * Where `cluster` was set, as its warnings name it (the program passes its stack setting,
     * `pulumi-patroni:cluster`).
     * @default "args.cluster"
     */
    clusterSetting?: string;
    /**
     * How to reach each host over SSH, by host name; every host of `cluster.hosts` needs one.
     * Use `sshConnections` to build them from one set of SSH settings.
     */
    connections: Record<string, pulumi.Input<ConnectionArgs>>;
    /**
     * Resources each host needs before it is usable (an instance, a volume attachment), by host name.
     * @default {}
     */
    hostDependencies?: Record<string, pulumi.Input<pulumi.Resource>[]>;
    /**
     * Data volumes to mount before installing, by host name (put their attachments in `hostDependencies`).
     * @default {} - data on the root disk
     */
    dataVolumes?: Record<string, DataVolume>;
    /**
     * The VIP movers `cluster.keepalived.moveVipWith` may name: those of the provider whose network
     * the balancers are on (a provider exports its own).
     * @default [] - only `none`: Keepalived alone moves the VIP
     */
    vipMovers?: VipMover[];
    /**
     * The address (DNS name or IP) of the external front door; required with `cluster.frontDoor: external`,
     * where the endpoints are `<address>:<haproxy.primaryPort>` and `:<haproxy.replicaPort>`.
     * @default - none: the VIP is the front door
     */
    frontDoorAddress?: pulumi.Input<string>;
    /** Secrets to use instead of generated ones. @default {} */
    secrets?: ClusterSecretArgs;
    /**
     * CAs of your own, by the name `cluster.tls.signingCa` or `cluster.tls.trustedCas` gives them
     * (the private key is needed only to sign; pass secrets). Every other CA named there is made here.
     * @default {}
     */
    certificateAuthorities?: Record<string, CertificateAuthorityArgs<pulumi.Input<string>>>;
}

/** A host's role names and its Patroni role at deployment time. */
export interface NodeInfo {
    name: string;
    address: string;
    roles: HostRole[];
    /** leader, sync_standby (quorum_standby in quorum mode), replica; absent on hosts without Patroni. */
    patroniRole?: string;
}

/**
 * Connections for every host from one set of SSH settings: the host's address (or `addressOf`)
 * with the same user, key and optional bastion.
 */
export function sshConnections(
    spec: ClusterSpec,
    ssh: Omit<ConnectionArgs, "host">,
    addressOf?: (hostName: string, privateAddress: string) => pulumi.Input<string>,
): Record<string, pulumi.Input<ConnectionArgs>> {
    const all = HOST_ROLES.flatMap((role) => spec.hosts[role] ?? []);
    return Object.fromEntries(
        all.map((h) => [
            h.name,
            {
                ...SSH_DIAL_PATIENCE,
                ...ssh,
                host: addressOf ? addressOf(h.name, h.address) : h.address,
            },
        ]),
    );
}

export class PostgresHaCluster extends pulumi.ComponentResource {
    /** The cluster with every default applied. */
    public readonly resolved: ResolvedCluster;
    /** Writes: VIP:5000 (or the external front door's), always the primary. */
    public readonly writerEndpoint: pulumi.Output<string>;
    /** Reads: VIP:5001 (or the external front door's), balanced over streaming replicas. */
    public readonly readerEndpoint: pulumi.Output<string>;
    /** HAProxy statistics page; empty with an external front door. */
    public readonly statsUrl: pulumi.Output<string>;
    /** libpq URI for the superuser through the writer endpoint (secret). */
    public readonly connectionString: pulumi.Output<string>;
    /** With `tls.enabled`, the cluster CA's certificate (PEM): what clients verify the servers with. */
    public readonly caCertificate: pulumi.Output<string | undefined>;
    /** The superuser password (secret). */
    public readonly superuserPassword: pulumi.Output<string>;
    /** The admin role's password (secret). */
    public readonly adminPassword: pulumi.Output<string>;
    /** Each host's address, roles and Patroni role at deployment time. */
    public readonly nodes: pulumi.Output<NodeInfo[]>;
    /** etcd client URLs. */
    public readonly etcdEndpoints: pulumi.Output<string[]>;
    public readonly etcd: EtcdCluster;
    public readonly patroni: PatroniCluster;
    /** The HAProxy + Keepalived pair; absent with an external front door. */
    public readonly proxy: HaproxyKeepalived | undefined;
    /** The backup repository host (`backup.repository.kind: host`); absent otherwise. */
    public readonly repositoryHost: BackupRepository | undefined;
    /** With `backup.enabled`: where the backups and the WAL archive are (the repository host and path, or the bucket); empty otherwise. */
    public readonly backupRepository: pulumi.Output<string>;

    constructor(name: string, args: PostgresHaClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        // Validation first: a bad argument throws here, before this component or any child is registered.
        const c = validateArgs(name, args);
        // What a valid configuration still risks, said before anything is created.
        const warnings = [
            ...clusterWarnings(c, args.clusterSetting ?? "args.cluster"),
            ...(args.secrets?.keepalivedPassword !== undefined ? [retiredVrrpPassword("args.secrets.keepalivedPassword", "leave it out of the secrets")] : []),
        ];
        for (const warning of warnings) void pulumi.log.warn(formatIssue(warning));
        super("pulumi-patroni:index:PostgresHaCluster", name, {}, opts);
        this.resolved = c;
        const hosts = clusterHosts(c, args);
        const pki = c.tls.enabled ? this.certificates(name, c, args.frontDoorAddress, args.certificateAuthorities ?? {}) : undefined;
        const secrets = this.clusterSecrets(name, c, args.secrets ?? {}, pki?.material);

        this.etcd = new EtcdCluster(`${name}-etcd`, { cluster: c, hosts, secrets }, { parent: this });
        this.repositoryHost =
            c.backup.enabled && c.backup.repository.kind === "host"
                ? new BackupRepository(`${name}-backup`, { cluster: c, hosts, secrets, dcsReady: [this.etcd.healthy] }, { parent: this })
                : undefined;
        this.patroni = new PatroniCluster(
            `${name}-patroni`,
            { cluster: c, hosts, secrets, dcsReady: [this.etcd.healthy], ...(this.repositoryHost ? { repositoryReady: [this.repositoryHost.server] } : {}) },
            { parent: this },
        );
        this.proxy =
            c.frontDoor === "vip"
                ? new HaproxyKeepalived(
                      `${name}-proxy`,
                      { cluster: c, hosts, secrets, backendsReady: [this.patroni.replicasGate], dcsReady: [this.etcd.healthy] },
                      { parent: this },
                  )
                : undefined;
        // The cluster's own steps: with a repository host its backup gate and schedule (once every
        // member's pgBackRest server runs); the roles step (the plan's last) finds the primary itself,
        // and waits for the front door.
        createSteps(
            name,
            {
                steps: planFor(c, hosts).filter((s) => s.component === "cluster"),
                hosts,
                secrets,
                upstream: {
                    proxy: this.proxy ? [this.proxy.vipGate] : [],
                    patroni: [this.patroni.replicasGate, ...this.patroni.pgbackrestServers],
                    ...(this.repositoryHost ? { backup: this.repositoryHost.ready } : {}),
                },
            },
            this,
        );

        const front = c.keepalived ? pulumi.output(c.keepalived.vip) : pulumi.output(args.frontDoorAddress!);
        this.writerEndpoint = pulumi.interpolate`${front}:${c.haproxy.primaryPort}`;
        this.readerEndpoint = pulumi.interpolate`${front}:${c.haproxy.replicaPort}`;
        this.statsUrl = c.keepalived ? pulumi.interpolate`http://${front}:${c.haproxy.statsPort}/` : pulumi.output("");
        this.superuserPassword = pulumi.secret(secrets.apply((s) => s.superuserPassword));
        this.adminPassword = pulumi.secret(secrets.apply((s) => s.adminPassword));
        // With TLS the client verifies the front door's certificate (its name is on every member's)
        // against the cluster's CA: caCertificate, saved where libpq looks (~/.postgresql/root.crt) or named by sslrootcert.
        const sslmode = c.tls.enabled ? "sslmode=verify-full&" : "";
        this.connectionString = pulumi.secret(
            pulumi.all([secrets, front]).apply(
                ([s, address]) =>
                    `postgresql://${encodeURIComponent(c.patroni.superuserName)}:${encodeURIComponent(s.superuserPassword)}@${address}:${c.haproxy.primaryPort}/postgres?${sslmode}target_session_attrs=read-write`,
            ),
        );
        this.caCertificate = pki ? pki.caCert : pulumi.output(undefined);
        this.etcdEndpoints = this.etcd.endpoints;
        this.backupRepository = pulumi.output(repositoryLocation(c));
        this.nodes = this.patroni.topology.apply((t) => nodeInfo(c, t));
        this.registerOutputs({
            writerEndpoint: this.writerEndpoint,
            readerEndpoint: this.readerEndpoint,
            statsUrl: this.statsUrl,
            connectionString: this.connectionString,
            caCertificate: this.caCertificate,
            superuserPassword: this.superuserPassword,
            adminPassword: this.adminPassword,
            nodes: this.nodes,
            etcdEndpoints: this.etcdEndpoints,
            backupRepository: this.backupRepository,
        });
    }

    /**
     * The cluster's CAs and a certificate per host that serves TLS, for every name it is reached by:
     * its host name, its address, localhost for the host's own checks; a Patroni member also the
     * front door's address, which clients verify through the VIP or the NLB. A CA is made here
     * (ECDSA P-256, its key a secret in the state) unless the user supplied it; `signingCa` signs,
     * every trusted CA is in the bundle (`caCert`) the hosts and clients verify with.
     */
    private certificates(
        name: string,
        c: ResolvedCluster,
        frontDoorAddress: pulumi.Input<string> | undefined,
        supplied: Record<string, CertificateAuthorityArgs<pulumi.Input<string>>>,
    ): { caCert: pulumi.Output<string>; material: pulumi.Output<NonNullable<ClusterSecrets["tls"]>> } {
        const opts = { parent: this };
        const authority = (ca: string): { chainPem: pulumi.Output<string>; certPem: pulumi.Output<string>; keyPem: pulumi.Output<string> } => {
            const given = supplied[ca];
            if (given) {
                // Checked once its text is known (plain strings were checked before anything was registered).
                const checked = pulumi.all([given.certPem, given.privateKeyPem]).apply(([certPem, privateKeyPem]) => {
                    const issues = checkSuppliedCa(`args.certificateAuthorities.${ca}`, ca, { certPem, privateKeyPem }, c);
                    if (issues.length > 0) throw new ClusterConfigError(issues);
                    return { chainPem: pemCertificates(certPem).join(""), certPem: pemCertificates(certPem)[0], privateKeyPem };
                });
                // A certificate is public: only the key stays secret.
                return { chainPem: pulumi.unsecret(checked.chainPem), certPem: pulumi.unsecret(checked.certPem), keyPem: pulumi.secret(checked.privateKeyPem) };
            }
            // The CA a cluster is created with keeps the names it always had in the state.
            const id = ca === DEFAULT_CA ? `${name}-tls-ca` : `${name}-tls-ca-${ca}`;
            const key = new tls.PrivateKey(`${id}-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, opts);
            const cert = new tls.SelfSignedCert(
                id,
                {
                    privateKeyPem: key.privateKeyPem,
                    subject: { commonName: ca === DEFAULT_CA ? `${c.scope} cluster CA` : `${c.scope} cluster CA ${ca}`, organization: "pulumi-patroni" },
                    isCaCertificate: true,
                    validityPeriodHours: c.tls.caValidityDays * HOURS_PER_DAY,
                    allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
                },
                opts,
            );
            return { chainPem: cert.certPem, certPem: cert.certPem, keyPem: key.privateKeyPem };
        };
        const authorities = Object.fromEntries(trustedCaNames(c).map((ca) => [ca, authority(ca)]));
        const signing = authorities[c.tls.signingCa];
        const bundle = pulumi.all(trustedCaNames(c).map((ca) => authorities[ca].chainPem)).apply((pems) => pems.map((p) => `${p.trim()}\n`).join(""));
        const frontDoor = c.keepalived ? pulumi.output(c.keepalived.vip) : frontDoorAddress !== undefined ? pulumi.output(frontDoorAddress) : undefined;
        const issued = certificateHosts(c).map((h) => {
            const key = new tls.PrivateKey(`${name}-tls-${h.name}-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, opts);
            const member = c.hosts.patroni.some((p) => p.name === h.name);
            const front = member ? frontDoor : undefined;
            const request = new tls.CertRequest(
                `${name}-tls-${h.name}-csr`,
                {
                    privateKeyPem: key.privateKeyPem,
                    subject: { commonName: h.name, organization: "pulumi-patroni" },
                    dnsNames: front ? front.apply((a) => [h.name, "localhost", ...(isIpv4(a) ? [] : [a])]) : [h.name, "localhost"],
                    ipAddresses: front ? front.apply((a) => [h.address, "127.0.0.1", ...(isIpv4(a) ? [a] : [])]) : [h.address, "127.0.0.1"],
                },
                opts,
            );
            const cert = new tls.LocallySignedCert(
                `${name}-tls-${h.name}-cert`,
                {
                    certRequestPem: request.certRequestPem,
                    caPrivateKeyPem: signing.keyPem,
                    caCertPem: signing.certPem,
                    validityPeriodHours: c.tls.certificateValidityDays * HOURS_PER_DAY,
                    earlyRenewalHours: c.tls.renewBeforeDays * HOURS_PER_DAY,
                    allowedUses: HOST_CERT_USES,
                },
                // A changed trust bundle re-issues the certificate: Patroni's REST API re-reads its CA
                // file (restapi.cafile, which verifies the other members' client certificates) only
                // with a new certificate (api.py reload_local_certificate / reload_config, 3.0.2 and 4.0.7).
                { ...opts, replacementTrigger: bundle.apply(sha256) },
            );
            return pulumi.all([cert.certPem, key.privateKeyPem]).apply(([certPem, keyPem]) => [h.name, { cert: certPem, key: keyPem }] as const);
        });
        return { caCert: bundle, material: pulumi.all([bundle, pulumi.all(issued)]).apply(([caCert, entries]) => ({ caCert, hosts: Object.fromEntries(entries) })) };
    }

    /** Supplied secrets as they are, the others generated; all of it secret. */
    private clusterSecrets(name: string, c: ResolvedCluster, supplied: ClusterSecretArgs, tlsMaterial: pulumi.Output<NonNullable<ClusterSecrets["tls"]>> | undefined): pulumi.Output<ClusterSecrets> {
        const password = (id: string, given: pulumi.Input<string> | undefined, length = 32): pulumi.Output<string> =>
            given !== undefined
                ? pulumi.secret(given)
                : new random.RandomPassword(`${name}-${id}-password`, { length, special: false }, { parent: this }).result;
        const userPasswords = Object.fromEntries(
            c.users.map((u) => [u.name, password(`user-${u.name}`, supplied.userPasswords?.[u.name])]),
        );
        const generatedOrGiven = [
            password("superuser", supplied.superuserPassword),
            password("replication", supplied.replicationPassword),
            password("rewind", supplied.rewindPassword),
            password("admin", supplied.adminPassword),
            password("restapi", supplied.restApiPassword),
        ];
        // Supplied only (the object store issues them); validateArgs made sure both or neither are here.
        const s3Key =
            supplied.backupS3AccessKeyId !== undefined && supplied.backupS3SecretAccessKey !== undefined
                ? pulumi.all([supplied.backupS3AccessKeyId, supplied.backupS3SecretAccessKey]).apply(([accessKeyId, secretAccessKey]) => ({ accessKeyId, secretAccessKey }))
                : pulumi.output(undefined);
        // A random SCRAM salt per role, kept in the state: verifiers are stable from run to run, and the
        // same password gives another verifier in every cluster.
        const salts = Object.fromEntries(passwordRoles(c).map((role) => [role, new random.RandomId(`${name}-${role}-scram-salt`, { byteLength: 16 }, { parent: this }).b64Std]));
        return pulumi.secret(
            pulumi.all([pulumi.all(generatedOrGiven), pulumi.all(userPasswords), pulumi.all(salts), tlsMaterial ?? pulumi.output(undefined), s3Key]).apply(([values, users, scramSalts, tlsFiles, backupS3Key]) => {
                const [superuserPassword, replicationPassword, rewindPassword, adminPassword, restApiPassword] = values;
                const secrets: ClusterSecrets = { superuserPassword, replicationPassword, rewindPassword, adminPassword, restApiPassword, userPasswords: users, scramSalts, ...(tlsFiles ? { tls: tlsFiles } : {}), ...(backupS3Key ? { backupS3Key } : {}) };
                const empty = [...Object.entries(secrets), ...Object.entries(users).map(([k, v]) => [`userPasswords.${k}`, v])].filter(
                    ([, v]) => typeof v === "string" && v.trim() === "",
                );
                // Secrets given as outputs are known only now (plain strings were checked before anything was registered).
                if (empty.length > 0) throw new ClusterConfigError(empty.flatMap(([k]) => checkSuppliedSecret(`args.secrets.${k}`, "")));
                return secrets;
            }),
        );
    }
}

/**
 * Every check on the arguments that needs no resource: the cluster spec, the front door's address,
 * a connection per host, and the secrets given as plain strings. Throws `ClusterConfigError` listing all.
 */
function validateArgs(name: string, args: PostgresHaClusterArgs): ResolvedCluster {
    const c = resolveValidCluster(args.cluster, name, "args.cluster", args.vipMovers);
    const issues: ValidationIssue[] = [];
    if (c.frontDoor === "external" && args.frontDoorAddress === undefined) {
        issues.push({ setting: "args.frontDoorAddress", value: undefined, rule: "is required with cluster.frontDoor external", fix: "pass the load balancer's DNS name or address" });
    } else if (c.frontDoor !== "external" && args.frontDoorAddress !== undefined) {
        issues.push({ setting: "args.frontDoorAddress", value: "(set)", rule: "is only used with cluster.frontDoor external (the VIP is the front door here)", fix: "remove it, or set cluster.frontDoor: external" });
    }
    const missing = clusterMachines(c).map((h) => h.name).filter((n) => args.connections[n] === undefined);
    if (missing.length > 0) {
        issues.push({ setting: "args.connections", value: Object.keys(args.connections), rule: `has no SSH connection for host${missing.length > 1 ? "s" : ""} ${missing.join(", ")}`, fix: "give one connection per host name, e.g. with sshConnections(cluster, { user, privateKey })" });
    }
    const s = args.secrets ?? {};
    const plain = (v: pulumi.Input<string> | undefined) => (typeof v === "string" ? v : undefined);
    for (const key of ["superuserPassword", "replicationPassword", "rewindPassword", "adminPassword", "restApiPassword", ...BACKUP_S3_KEY_SECRETS] as const) {
        issues.push(...checkSuppliedSecret(`args.secrets.${key}`, plain(s[key])));
    }
    issues.push(...backupKeyIssues(c, (key) => s[key as keyof ClusterSecretArgs] !== undefined, (key) => `args.secrets.${key}`, () => "pass it"));
    for (const [role, v] of Object.entries(s.userPasswords ?? {})) {
        issues.push(...checkSuppliedSecret(`args.secrets.userPasswords.${role}`, plain(v)));
        if (!c.users.some((u) => u.name === role)) {
            issues.push({ setting: `args.secrets.userPasswords.${role}`, value: "(not shown)", rule: "names no role in cluster.users", fix: "remove it, or add the role to cluster.users" });
        }
    }
    const cas = args.certificateAuthorities ?? {};
    issues.push(...checkSuppliedCaNames("args.certificateAuthorities", Object.keys(cas), c));
    for (const [ca, given] of Object.entries(cas)) {
        const certPem = plain(given.certPem);
        const privateKeyPem = plain(given.privateKeyPem);
        // Outputs are checked once known (certificates()).
        if (certPem !== undefined && privateKeyPem !== undefined && c.tls.enabled) issues.push(...checkSuppliedCa(`args.certificateAuthorities.${ca}`, ca, { certPem, privateKeyPem }, c));
    }
    if (issues.length > 0) throw new ClusterConfigError(issues);
    return c;
}

/** Usages of a host certificate: etcd presents the same one as server and as client (peers, Patroni). */
const HOST_CERT_USES = ["digital_signature", "key_encipherment", "server_auth", "client_auth"];
const HOURS_PER_DAY = 24;

function clusterHosts(c: ResolvedCluster, args: PostgresHaClusterArgs): ClusterHost[] {
    return clusterMachines(c).map(({ name: n }) => ({ name: n, connection: args.connections[n], dependsOn: args.hostDependencies?.[n] ?? [], dataVolume: args.dataVolumes?.[n] }));
}

function nodeInfo(c: ResolvedCluster, t: { leader: string; syncStandbys: string[]; replicas: string[] }): NodeInfo[] {
    return clusterMachines(c).map(({ name: n, address }) => {
        const playing = rolesOf(c, n);
        const patroniRole = !playing.includes("patroni")
            ? undefined
            : n === t.leader
              ? "leader"
              : t.syncStandbys.includes(n)
                ? c.patroni.synchronousMode === "quorum"
                    ? "quorum_standby"
                    : "sync_standby"
                : "replica";
        return { name: n, address, roles: playing, ...(patroniRole ? { patroniRole } : {}) };
    });
}
