/**
 * PatroniCluster: installs PostgreSQL and Patroni, writes patroni.yml (validated on the host by
 * `patroni --validate-config`), starts the first member and waits for it to lead, then starts the
 * others together and waits until they stream (and a synchronous standby is chosen).
 * Children: `<name>-{ready,mount-data (with a data volume),install,patroni-yml,patroni-dropin,start}-<host>`, `<name>-leader`,
 * `<name>-dcs-config`, `<name>-replicas`.
 */
import * as pulumi from "@pulumi/pulumi";
import type * as command from "@pulumi/command";
import type { ClusterSecrets, ResolvedCluster } from "../model/types";
import * as files from "../render/files";
import { placeholderSecrets } from "../render/bundle";
import { remoteFile, remoteScript, type ClusterHost } from "./remote";
import { hostByName, installRole } from "./hosts";

export interface PatroniClusterArgs {
    /** The resolved cluster (see `resolveValidCluster`). */
    cluster: ResolvedCluster;
    /** Every host of the cluster, with its connection; the Patroni members are picked by name. */
    hosts: ClusterHost[];
    /** The cluster's secrets (secret Output). */
    secrets: pulumi.Output<ClusterSecrets>;
    /** What must be up before Patroni starts: the etcd health gate. */
    dcsReady: pulumi.Input<pulumi.Resource>[];
}

/** What the replicas gate saw, parsed from its last line. */
export interface PatroniTopology {
    leader: string;
    replicas: string[];
    syncStandbys: string[];
}

export class PatroniCluster extends pulumi.ComponentResource {
    /** Passes when the first member leads (first run) or the cluster has a leader (later runs). */
    public readonly leaderGate: command.remote.Command;
    /** Brings the DCS configuration (ttl, synchronous mode, PostgreSQL parameters, ...) to the spec's. */
    public readonly dcsConfig: command.remote.Command;
    /** Passes when every replica streams and, in synchronous mode, a sync standby exists. */
    public readonly replicasGate: command.remote.Command;
    /** Leader, replicas and sync standbys as the replicas gate saw them. */
    public readonly topology: pulumi.Output<PatroniTopology>;

    constructor(name: string, args: PatroniClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pulumi-patroni:index:PatroniCluster", name, {}, opts);
        const c = args.cluster;
        // Paths, modes and validators do not depend on secrets; contents do and are rendered in an apply.
        const layoutOnly = placeholderSecrets(c);
        const configured = c.hosts.patroni.map((member) => {
            const host = hostByName(args.hosts, member.name);
            const install = installRole(name, c, "patroni", member, host, this);
            // Rendered once with the real secrets: the files' contents and the start step's hashes.
            const rendered = args.secrets.apply((s) => files.patroniFiles(c, member, s));
            const written = files.patroniFiles(c, member, layoutOnly).map((file) => {
                const content = file.secret ? rendered.apply((all) => all.find((f) => f.id === file.id)!.content) : file.content;
                // patroni --validate-config also checks that etcd answers: write after the DCS gate.
                const dependsOn = file.id === "patroni-yml" ? [install, ...args.dcsReady] : [install];
                return remoteFile(`${name}-${file.id}-${member.name}`, { host, file, content, dependsOn }, this);
            });
            // The start step carries the files' hashes: a changed patroni.yml reloads Patroni. They are
            // hashes of secret-bearing files, so the script stays secret.
            const script = rendered.apply((all) => files.patroniStartScript(c, member, files.appliedFiles(all)));
            return { member, host, written, script };
        });

        const [first, ...others] = configured;
        const firstStart = remoteScript(
            `${name}-start-${first.member.name}`,
            {
                host: first.host,
                script: first.script,
                onDelete: files.patroniStopScript(c, first.member),
                dependsOn: [...first.written, ...args.dcsReady],
            },
            this,
        );
        this.leaderGate = remoteScript(`${name}-leader`, { host: first.host, script: files.patroniLeaderGateScript(c, first.member), after: [firstStart] }, this);
        const otherStarts = others.map(({ member, host, written, script }) =>
            remoteScript(
                `${name}-start-${member.name}`,
                { host, script, onDelete: files.patroniStopScript(c, member), dependsOn: [...written, this.leaderGate] },
                this,
            ),
        );
        // The cluster-wide settings, on a fresh cluster (where bootstrap.dcs already holds them: nothing
        // to patch) as on a running one (where bootstrap.dcs is never read again); then the rolling
        // restart of whatever a change left pending (after every member applied its patroni.yml).
        this.dcsConfig = remoteScript(
            `${name}-dcs-config`,
            { host: first.host, script: files.patroniDcsConfigScript(c), stdin: args.secrets.apply((s) => `${s.restApiPassword}\n`), after: [this.leaderGate, ...otherStarts], timeout: "60m" },
            this,
        );
        this.replicasGate = remoteScript(
            `${name}-replicas`,
            { host: first.host, script: files.patroniReplicasGateScript(c, first.member), after: [this.dcsConfig] },
            this,
        );
        this.topology = this.replicasGate.stdout.apply(parseTopology);
        this.registerOutputs({ topology: this.topology });
    }
}

/** The replicas gate ends with a JSON line describing the cluster. */
export function parseTopology(stdout: string): PatroniTopology {
    const last = stdout.trim().split("\n").pop() ?? "";
    try {
        const parsed = JSON.parse(last) as PatroniTopology;
        return { leader: parsed.leader ?? "", replicas: parsed.replicas ?? [], syncStandbys: parsed.syncStandbys ?? [] };
    } catch {
        return { leader: "", replicas: [], syncStandbys: [] };
    }
}
