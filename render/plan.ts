/**
 * The deployment as one value: every step each host runs, with what it waits for, what it checks,
 * its timeout, what undoes it, and which files' contents re-run it. The components turn each step
 * into one `command.remote.Command` (components/steps.ts); `npm run render` writes the same steps
 * to disk (render/bundle.ts) — so what a reviewer diffs is exactly what the hosts get.
 */
import { HOST_ROLES, certificateHosts, trustedCaNames } from "../model/resolve";
import type { ClusterSecrets, HostRole, ResolvedCluster, ResolvedHost } from "../model/types";
import * as files from "./files";
import * as pgbackrest from "./pgbackrest";
import { passwordRoles, renderCredentialsSql, renderRolesSql } from "./roles";

/**
 * Text a step sends: fixed; rendered from the cluster's secrets (it stays secret); or rendered from
 * the id of the host's data volume (known only once the volume exists).
 */
export type StepText = string | { secret: (s: ClusterSecrets) => string } | { volumeId: (id: string) => string };

/** Which component creates the step (and so the prefix of its resource name). */
export type Component = "etcd" | "patroni" | "proxy" | "backup" | "cluster";

export interface PlanStep {
    /** Unique in the plan: `<component>/<name>`. */
    key: string;
    component: Component;
    /**
     * The step's name in its component: its resource is `<component resource>-<name>`, e.g.
     * `lab-patroni-start-pg1` (the cluster's own steps: `<cluster>-<name>`, e.g. `lab-roles`).
     */
    name: string;
    /** Host name it runs on. */
    host: string;
    /** Run on create and on every update (a changed script or standard input); safe to run twice. */
    script: StepText;
    /** Standard input: where secrets travel. */
    stdin?: StepText;
    /** Run when the step is deleted (`pulumi destroy`, or it left the program). */
    onDelete?: string;
    /** The file a file step writes from its standard input (path, mode, owner, validator). */
    file?: files.RenderedFile;
    /** Keys of the steps it waits for (steps of another component stand for that component's output). */
    dependsOn: string[];
    /** Keys of the steps it checks (a gate): it waits for them and runs again whenever any of them does. */
    after: string[];
    /** Keys of the file steps whose contents it applies: their hashes are part of its script, so a changed file re-runs it. */
    applies: string[];
    /** Pulumi's custom timeout for create and update, e.g. "20m". */
    timeout: string;
    /**
     * Runs when created, never on an update: a later program's script or the host's new address leaves
     * it as it ran (the `backup.restore` steps; what is run again is another step, under another name).
     */
    runOnce?: boolean;
}

/**
 * A host's data volume as the plan needs it before it exists: its provider's mount step, rendered
 * from the volume's id once the volume exists (see StepText).
 */
export interface PlannedVolume {
    /**
     * The script that finds the volume on the host, formats it once and mounts it at the role's data
     * root (`dataMountPoint`) before anything is installed; safe to run twice.
     */
    mountScript: (volumeId: string) => string;
}

/** Placeholder secrets for offline rendering: valid where the real ones would be, obviously fake. */
export function placeholderSecrets(c: ResolvedCluster): ClusterSecrets {
    return {
        superuserPassword: "<secret:superuserPassword>",
        replicationPassword: "<secret:replicationPassword>",
        rewindPassword: "<secret:rewindPassword>",
        adminPassword: "<secret:adminPassword>",
        restApiPassword: "<secret:restApiPassword>",
        userPasswords: Object.fromEntries(c.users.map((u) => [u.name, `<secret:userPasswords.${u.name}>`])),
        // Fixed, obviously fake salts (16 bytes each): offline renders stay the same from run to run.
        scramSalts: Object.fromEntries(passwordRoles(c).map((role) => [role, Buffer.from(`salt:${role}`.padEnd(16, ".")).toString("base64")])),
        ...(c.backup.enabled && c.backup.repository.s3?.keyType === "shared"
            ? { backupS3Key: { accessKeyId: "<secret:backupS3AccessKeyId>", secretAccessKey: "<secret:backupS3SecretAccessKey>" } }
            : {}),
        ...(c.tls.enabled
            ? {
                  tls: {
                      caCert: trustedCaNames(c).map((ca) => `<secret:tls.ca.${ca}>\n`).join(""),
                      hosts: Object.fromEntries(
                          certificateHosts(c).map((h) => [h.name, { cert: `<secret:tls.hosts.${h.name}.cert>\n`, key: `<secret:tls.hosts.${h.name}.key>\n` }]),
                      ),
                  },
              }
            : {}),
    };
}

/** The text of a step for given secrets and volume id (offline renders pass placeholders). */
export function stepText(text: StepText, secrets: ClusterSecrets, volumeId: string): string {
    if (typeof text === "string") return text;
    return "secret" in text ? text.secret(secrets) : text.volumeId(volumeId);
}

/** One render per secrets value: a host's files feed both its file steps and its apply step's hashes. */
function perSecrets<T>(render: (s: ClusterSecrets) => T): (s: ClusterSecrets) => T {
    const cache = new WeakMap<ClusterSecrets, T>();
    return (s) => {
        if (!cache.has(s)) cache.set(s, render(s));
        return cache.get(s)!;
    };
}

/**
 * Every step of the cluster, each after the steps it waits for. `dataVolumes`: the hosts that mount
 * a data volume before installing, by host name.
 */
export function clusterPlan(c: ResolvedCluster, dataVolumes: Record<string, PlannedVolume> = {}): PlanStep[] {
    const steps: PlanStep[] = [];
    const add = (step: Omit<PlanStep, "key" | "dependsOn" | "after" | "applies" | "timeout"> & Partial<Pick<PlanStep, "dependsOn" | "after" | "applies" | "timeout">>): string => {
        const key = `${step.component}/${step.name}`;
        if (steps.some((s) => s.key === key)) throw new Error(`plan: step ${key} twice`);
        steps.push({ dependsOn: [], after: [], applies: [], timeout: "20m", ...step, key });
        return key;
    };
    const layoutOnly = placeholderSecrets(c);

    /** Wait until the host is ready, mount its data volume (if any), install the role's packages. */
    const install = (component: Component, role: HostRole, member: ResolvedHost): string => {
        const host = member.name;
        const ready = add({ component, name: `ready-${host}`, host, script: files.hostReadyScript(c) });
        const volume = dataVolumes[host];
        const mounted = volume
            ? [add({ component, name: `mount-data-${host}`, host, script: { volumeId: volume.mountScript }, dependsOn: [ready], timeout: "10m" })]
            : [];
        return add({ component, name: `install-${host}`, host, script: files.installScript(c, role, member), dependsOn: [ready, ...mounted], timeout: "30m" });
    };

    /** The role's TLS files on a host (none without `tls.enabled`), written once its packages made the service's user. */
    const tlsFileSteps = (component: Component, role: HostRole, member: ResolvedHost, installed: string): string[] =>
        files.tlsFiles(c, member, role, layoutOnly).map((file) => fileStep(component, member, file, (s) => files.tlsFiles(c, member, role, s), [installed]));

    /**
     * With `tls.enabled`, what every file step waits for: etcd's own, every host's TLS guard, per
     * role (the backup repository host's too: pgBackRest's TLS server) (a certificate or CA change that would leave a host unable to verify another is refused
     * before any host's configuration, certificate or key changes; so is TLS for an etcd running
     * without it); the other components', etcd's health gate (which passes only after every guard:
     * etcd stands for its steps there). The guards are etcd's steps, the first component's, and
     * read only files: they wait for nothing.
     */
    let tlsGate: string[] = !c.tls.enabled
        ? []
        : HOST_ROLES.flatMap((role) =>
              c.hosts[role].map((member) =>
                  add({
                      component: "etcd",
                      name: role === "etcd" ? `tls-guard-${member.name}` : `tls-guard-${role}-${member.name}`,
                      host: member.name,
                      script: files.tlsGuardScript(c, member, role),
                      stdin: { secret: (s) => files.tlsGuardStdin(member, role, s) },
                      timeout: "5m",
                  }),
              ),
          );

    /** A configuration file written from standard input (rendered with the secrets when it holds one). */
    const fileStep = (component: Component, member: ResolvedHost, file: files.RenderedFile, rendered: (s: ClusterSecrets) => files.RenderedFile[], dependsOn: string[]): string =>
        add({
            component,
            name: `${file.id}-${member.name}`,
            host: member.name,
            script: files.writeFileScript(file),
            stdin: file.secret ? { secret: (s) => rendered(s).find((f) => f.id === file.id)!.content } : file.content,
            onDelete: files.removeFileScript(file),
            file,
            dependsOn: [...dependsOn, ...tlsGate],
            timeout: "5m",
        });

    /**
     * pgBackRest on a member (with backups): its configuration; with a repository host, its TLS server
     * (the repository host takes the backups through it); with an object store, the backup schedule's files.
     */
    const memberBackupSteps = (member: ResolvedHost, installed: string, tlsWritten: string[]) => {
        const none = { written: [] as string[], server: [] as string[], schedule: { files: [] as files.RenderedFile[], written: [] as string[] } };
        if (!c.backup.enabled) return none;
        const rendered = perSecrets((s) => [pgbackrest.pgbackrestMemberConf(c, member, s), ...(c.backup.repository.kind === "host" ? [pgbackrest.pgbackrestServerUnit(c, member)] : [])]);
        const written = rendered(layoutOnly).map((file) => fileStep("patroni", member, file, rendered, [installed]));
        // The restore procedure, ready on every member (an operator runs it; nothing applies it).
        const restore = [pgbackrest.restoreScriptFile(c, member)];
        fileStep("patroni", member, restore[0], () => restore, [installed]);
        if (c.backup.repository.kind === "host") {
            const server = add({
                component: "patroni",
                name: `pgbackrest-server-${member.name}`,
                host: member.name,
                script: { secret: (s: ClusterSecrets) => pgbackrest.pgbackrestServerScript(c, member, files.appliedFiles([...rendered(s), ...files.tlsFiles(c, member, "patroni", s)])) },
                onDelete: pgbackrest.pgbackrestServerStopScript(member),
                dependsOn: [...written, ...tlsWritten],
                applies: [...written, ...tlsWritten],
            });
            return { ...none, written, server: [server] };
        }
        const scheduleFiles = pgbackrest.backupScheduleFiles(c, member);
        const schedule = scheduleFiles.map((file) => fileStep("patroni", member, file, () => scheduleFiles, [installed]));
        return { ...none, written, schedule: { files: scheduleFiles, written: schedule } };
    };

    /** The repository host's install, files and TLS server (its gate and schedule come once the cluster runs). */
    const repositoryHostSteps = (host: ResolvedHost) => {
        const installedRepo = install("backup", "backup", host);
        const tlsWritten = tlsFileSteps("backup", "backup", host, installedRepo);
        const rendered = [pgbackrest.pgbackrestRepositoryConf(c, host), pgbackrest.pgbackrestServerUnit(c, host)];
        const written = rendered.map((file) => fileStep("backup", host, file, () => rendered, [installedRepo]));
        const scheduleFiles = pgbackrest.backupScheduleFiles(c, host);
        const schedule = { files: scheduleFiles, written: scheduleFiles.map((file) => fileStep("backup", host, file, () => scheduleFiles, [installedRepo])) };
        // Restarted when its configuration or a renewed certificate changes (the hashes of secret files keep the script secret).
        const server = add({
            component: "backup",
            name: `server-${host.name}`,
            host: host.name,
            script: { secret: (s: ClusterSecrets) => pgbackrest.pgbackrestServerScript(c, host, files.appliedFiles([...rendered, ...files.tlsFiles(c, host, "backup", s)])) },
            onDelete: pgbackrest.pgbackrestServerStopScript(host),
            dependsOn: [...written, ...tlsWritten],
            applies: [...written, ...tlsWritten],
        });
        return { host, server, schedule };
    };

    /** The backup timers on a host where backups run, once the stanza gate passed; re-run when a unit changes. */
    const backupTimers = (component: Component, host: ResolvedHost, schedule: { files: files.RenderedFile[]; written: string[] }, gate: string[]): string =>
        add({
            component,
            name: `backup-timers-${host.name}`,
            host: host.name,
            script: pgbackrest.backupTimersScript(c, host, files.appliedFiles(schedule.files)),
            onDelete: pgbackrest.backupTimersStopScript(host),
            dependsOn: [...schedule.written, ...gate],
            applies: schedule.written,
            timeout: "5m",
        });

    const etcdInstalled = new Map(c.hosts.etcd.map((member) => [member.name, install("etcd", "etcd", member)]));
    // etcd: members one after the other, so that a changed configuration restarts one at a time.
    const etcdStarts: string[] = [];
    for (const member of c.hosts.etcd) {
        const installed = etcdInstalled.get(member.name)!;
        const rendered = files.etcdFiles(c, member); // no secrets: the offline render is the real one
        const written = rendered.map((file) => fileStep("etcd", member, file, () => rendered, [installed]));
        const tlsWritten = tlsFileSteps("etcd", "etcd", member, installed);
        etcdStarts.push(
            add({
                component: "etcd",
                name: `start-${member.name}`,
                host: member.name,
                // With TLS a renewed certificate restarts the member too (the hashes of secret files keep the script secret).
                script: c.tls.enabled
                    ? { secret: (s: ClusterSecrets) => files.etcdStartScript(c, member, files.appliedFiles([...rendered, ...files.tlsFiles(c, member, "etcd", s)])) }
                    : files.etcdStartScript(c, member, files.appliedFiles(rendered)),
                onDelete: files.etcdStopScript(c, member),
                dependsOn: [...written, ...tlsWritten, ...etcdStarts.slice(-1)],
                applies: [...written, ...tlsWritten],
            }),
        );
    }
    const etcdHealthy = add({ component: "etcd", name: "health", host: c.hosts.etcd[0].name, script: files.etcdHealthScript(c), after: etcdStarts });
    if (c.tls.enabled) tlsGate = [etcdHealthy];

    // The backup repository host (repository kind host): up before any member starts, so that a member
    // the stack adds is already one the repository serves, and restores from it instead of the primary.
    const repository = c.backup.enabled && c.backup.repository.kind === "host" ? repositoryHostSteps(pgbackrest.repositoryHost(c)) : undefined;

    // Patroni: the first member leads, then the others start together; then the DCS settings and
    // the rolling restart they may need; then every replica must stream.
    const installed = new Map(c.hosts.patroni.map((member) => [member.name, install("patroni", "patroni", member)]));
    const firstHost = c.hosts.patroni[0].name;
    // Passwords of a running cluster change in PostgreSQL (through the primary) before any member's
    // patroni.yml holds the new ones: Patroni and the replicas are never refused. A new cluster: nothing to do.
    const credentials = add({
        component: "patroni",
        name: "credentials",
        host: firstHost,
        script: files.patroniCredentialsScript(c),
        stdin: { secret: (s) => `${s.superuserPassword}\n${renderCredentialsSql(c, s)}` },
        dependsOn: [installed.get(firstHost)!, ...tlsGate],
    });
    const members = c.hosts.patroni.map((member) => {
        const rendered = perSecrets((s) => files.patroniFiles(c, member, s));
        // patroni --validate-config also checks that etcd answers: patroni.yml waits for the DCS gate.
        const written = files.patroniFiles(c, member, layoutOnly).map((file) =>
            fileStep("patroni", member, file, rendered, file.id === "patroni-yml" ? [installed.get(member.name)!, etcdHealthy, credentials] : [installed.get(member.name)!]),
        );
        const tlsWritten = tlsFileSteps("patroni", "patroni", member, installed.get(member.name)!);
        const backup = memberBackupSteps(member, installed.get(member.name)!, tlsWritten);
        // A running member reloads a changed patroni.yml, or a renewed certificate: Patroni's REST API
        // and PostgreSQL both take new TLS files on a reload (the hashes of secret-bearing files:
        // the script stays secret).
        const reload = add({
            component: "patroni",
            name: `reload-${member.name}`,
            host: member.name,
            script: { secret: (s: ClusterSecrets) => files.patroniReloadScript(c, member, files.appliedFiles([...rendered(s), ...files.tlsFiles(c, member, "patroni", s)])) },
            dependsOn: [...written, ...tlsWritten],
            applies: [...written, ...tlsWritten],
        });
        return { member, written, reload, tlsWritten, backup };
    });
    // A member starts once every member's pg_hba admits it (each running member has reloaded its
    // patroni.yml): a member added to a running cluster is never refused its base backup.
    const reloads = members.map((m) => m.reload);
    const start = (m: (typeof members)[number], dependsOn: string[]): string =>
        add({
            component: "patroni",
            name: `start-${m.member.name}`,
            host: m.member.name,
            script: files.patroniStartScript(c, m.member),
            onDelete: files.patroniStopScript(c, m.member),
            // With backups a new member restores from the repository first: pgBackRest's files and the repository come before.
            dependsOn: [...m.written, ...m.tlsWritten, ...m.backup.written, ...(repository ? [repository.server] : []), ...reloads, ...dependsOn],
        });
    const [first, ...others] = members;
    const firstStart = start(first, [etcdHealthy]);
    const leader = add({ component: "patroni", name: "leader", host: firstHost, script: files.patroniLeaderGateScript(c, first.member), after: [firstStart] });
    // The others one after the other: a start only starts Patroni (the clone runs in the background),
    // and their deletes then run one at a time too (each hands over and waits for its slot to go alone).
    const otherStarts: string[] = [];
    for (const m of others) otherStarts.push(start(m, [leader, ...otherStarts.slice(-1)]));
    // A leader the stack no longer has hands over before anything else changes the front door.
    const handover = add({ component: "patroni", name: "handover", host: firstHost, script: files.patroniHandoverScript(c), after: [leader, ...otherStarts, ...reloads] });
    // On a fresh cluster (bootstrap.dcs already holds the settings: nothing to patch) as on a running
    // one (bootstrap.dcs is never read again); after every member applied its patroni.yml.
    const dcsConfig = add({
        component: "patroni",
        name: "dcs-config",
        host: firstHost,
        script: files.patroniDcsConfigScript(c),
        stdin: { secret: (s) => `${s.restApiPassword}\n` },
        after: [handover],
        timeout: "60m",
    });
    const replicas = add({ component: "patroni", name: "replicas", host: firstHost, script: files.patroniReplicasGateScript(c, first.member), after: [dcsConfig] });

    // Backups: the stanza is checked once the cluster has a leader and archive_command is live (the
    // DCS settings hold it); then the schedule starts. With an object store every member has the
    // gate and the timers (the primary acts); with a repository host, that host has them.
    if (c.backup.enabled && pgbackrest.backupsRunOnMembers(c)) {
        for (const m of members) {
            const stanza = add({ component: "patroni", name: `stanza-${m.member.name}`, host: m.member.name, script: pgbackrest.pgbackrestStanzaScript(c, m.member), dependsOn: [...m.backup.written, ...m.backup.schedule.written], after: [leader, dcsConfig] });
            backupTimers("patroni", m.member, m.backup.schedule, [stanza]);
        }
    }
    if (repository) {
        // The repository host's own gate and schedule: cluster steps, once every member's server runs.
        const stanza = add({
            component: "cluster",
            name: "backup-stanza",
            host: repository.host.name,
            script: pgbackrest.pgbackrestStanzaScript(c, repository.host),
            // The schedule's units too: the gate starts the first full backup through them.
            dependsOn: [repository.server, ...repository.schedule.written, ...members.flatMap((m) => m.backup.server)],
            after: [leader, dcsConfig],
        });
        backupTimers("cluster", repository.host, repository.schedule, [stanza]);
    }

    // HAProxy + Keepalived: one balancer after the other, so a changed configuration is reloaded on one at a time.
    let frontDoor = replicas;
    if (c.frontDoor === "vip") {
        const proxyStarts: string[] = [];
        for (const proxy of c.hosts.haproxy) {
            const installed = install("proxy", "haproxy", proxy);
            const rendered = files.proxyFiles(c, proxy);
            // keepalived -t checks that its scripts (and its interface, when the VIP mover finds it on
            // the host) exist: they are written before keepalived.conf.
            const k = files.vipSettings(c);
            const iface = files.interfaceOnHost(k) ? [add({ component: "proxy", name: `interface-${proxy.name}`, host: proxy.name, script: files.keepalivedInterfaceScript(k), dependsOn: [installed], timeout: "5m" })] : [];
            // haproxy -c checks that the CA its checks verify with exists: it is written before haproxy.cfg.
            const tlsWritten = tlsFileSteps("proxy", "haproxy", proxy, installed);
            const written: string[] = [];
            for (const file of rendered) {
                written.push(fileStep("proxy", proxy, file, () => rendered, file.id === "keepalived-conf" ? [installed, ...iface, ...written] : file.id === "haproxy-cfg" ? [installed, ...tlsWritten] : [installed]));
            }
            proxyStarts.push(
                add({
                    component: "proxy",
                    name: `start-${proxy.name}`,
                    host: proxy.name,
                    // With TLS, the hashes of HAProxy's key keep the script secret.
                    script: { secret: (s) => files.proxyStartScript(c, proxy, files.appliedFiles([...rendered, ...files.tlsFiles(c, proxy, "haproxy", s)])) },
                    onDelete: files.proxyStopScript(proxy),
                    dependsOn: [...written, ...tlsWritten, replicas, ...proxyStarts.slice(-1)],
                    // A renewed CA reloads HAProxy, whose checks verify with it.
                    applies: [...written, ...tlsWritten],
                }),
            );
        }
        frontDoor = add({
            component: "proxy",
            name: "vip",
            host: firstHost,
            script: files.vipGateScript(c),
            stdin: { secret: (s) => `${s.superuserPassword}\n` },
            after: [...proxyStarts, replicas],
        });
    }

    // The roles step finds the primary itself; it still waits for the front door, so that a finished
    // deployment means the front door works.
    add({
        component: "cluster",
        name: "roles",
        host: firstHost,
        script: files.rolesScript(c),
        stdin: { secret: (s) => `${s.superuserPassword}\n${renderRolesSql(c, s)}` },
        dependsOn: [frontDoor],
    });

    // backup.restore: the restore procedure, once, after every other step of the cluster.
    const last = steps.filter((s) => s.component === "cluster").map((s) => s.key);
    for (const step of pgbackrest.restoreSteps(c)) {
        add({
            component: "cluster",
            name: step.name,
            host: step.host,
            script: step.script,
            dependsOn: step.waitsFor.length > 0 ? step.waitsFor.map((name) => `cluster/${name}`) : last,
            timeout: step.timeout,
            runOnce: true,
        });
    }
    return steps;
}
