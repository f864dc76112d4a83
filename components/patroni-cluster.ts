/**
 * PatroniCluster: installs PostgreSQL and Patroni, writes patroni.yml (validated on the host by
 * `patroni --validate-config`), starts the first member and waits for it to lead, then starts the
 * others together and waits until they stream (and a synchronous standby is chosen).
 * On a running cluster, changed superuser/replication/rewind passwords are set in PostgreSQL first.
 * Children: `<name>-{ready,mount-data (with a data volume),install,patroni-yml,patroni-dropin,start}-<host>`,
 * `<name>-credentials`, `<name>-leader`, `<name>-dcs-config`, `<name>-replicas`.
 */
import * as pulumi from "@pulumi/pulumi";
import type * as command from "@pulumi/command";
import type { ClusterSecrets, ResolvedCluster } from "../model/types";
import type { ClusterHost } from "./remote";
import { createSteps, planFor, stepOf } from "./steps";

export interface PatroniClusterArgs {
    /** The resolved cluster (see `resolveValidCluster`). */
    cluster: ResolvedCluster;
    /** Every host of the cluster, with its connection; the Patroni members are picked by name. */
    hosts: ClusterHost[];
    /** The cluster's secrets (secret Output). */
    secrets: pulumi.Output<ClusterSecrets>;
    /** What must be up before Patroni starts: the etcd health gate. */
    dcsReady: pulumi.Input<pulumi.Resource>[];
    /**
     * With backups on a repository host: its TLS server (`BackupRepository.server`), up before any
     * member starts. @default - none
     */
    repositoryReady?: pulumi.Input<pulumi.Resource>[];
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
    /** With backups on a repository host: each member's pgBackRest TLS server (the repository host takes backups through them). */
    public readonly pgbackrestServers: command.remote.Command[];

    constructor(name: string, args: PatroniClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pulumi-patroni:index:PatroniCluster", name, {}, opts);
        // The plan's Patroni steps (render/plan.ts): the first member leads, the others join, the DCS
        // settings (and the rolling restart they may need) follow, then every replica must stream.
        const steps = createSteps(
            name,
            { steps: planFor(args.cluster, args.hosts).filter((s) => s.component === "patroni"), hosts: args.hosts, secrets: args.secrets, upstream: { etcd: args.dcsReady, ...(args.repositoryReady ? { backup: args.repositoryReady } : {}) } },
            this,
        );
        this.leaderGate = stepOf(steps, "patroni/leader");
        this.dcsConfig = stepOf(steps, "patroni/dcs-config");
        this.replicasGate = stepOf(steps, "patroni/replicas");
        this.pgbackrestServers = [...steps].filter(([key]) => key.startsWith("patroni/pgbackrest-server-")).map(([, step]) => step);
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
