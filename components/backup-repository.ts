/**
 * BackupRepository: the repository host of `backup.repository.kind: host`, up before any Patroni
 * member starts (a member the stack adds restores from it). pgBackRest's TLS server keeps the backups
 * and the WAL archive there, and takes the backups through each member's own server (pgBackRest runs
 * `backup` on the repository host only). The stanza gate and the schedule's timers are the cluster's
 * own steps (`<cluster>-backup-stanza`, `<cluster>-backup-timers-<host>`): they wait for the members.
 * Children: `<name>-{ready,install,tls-ca,tls-cert,tls-key,pgbackrest-conf,pgbackrest-service,
 * schedule-script,schedule-service,schedule-timer-<type>,server}-<host>`.
 */
import * as pulumi from "@pulumi/pulumi";
import type * as command from "@pulumi/command";
import type { ClusterSecrets, ResolvedCluster } from "../model/types";
import type { ClusterHost } from "./remote";
import { createSteps, planFor, stepOf } from "./steps";

export interface BackupRepositoryArgs {
    /** The resolved cluster (see `resolveValidCluster`), with `backup.repository.kind: host`. */
    cluster: ResolvedCluster;
    /** Every host of the cluster, with its connection; the repository host is picked by name. */
    hosts: ClusterHost[];
    /** The cluster's secrets (secret Output): the repository host's certificate and key. */
    secrets: pulumi.Output<ClusterSecrets>;
    /** The etcd health gate: with TLS, no file is written before it (see EtcdCluster.healthy). */
    dcsReady: pulumi.Input<pulumi.Resource>[];
}

export class BackupRepository extends pulumi.ComponentResource {
    /** pgBackRest's TLS server on the repository host, running its current files. */
    public readonly server: command.remote.Command;
    /** Every step of the repository host (what the cluster's backup gate and schedule wait for). */
    public readonly ready: command.remote.Command[];

    constructor(name: string, args: BackupRepositoryArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pulumi-patroni:index:BackupRepository", name, {}, opts);
        // The plan's repository steps (render/plan.ts): install, files, the TLS server.
        const steps = createSteps(
            name,
            { steps: planFor(args.cluster, args.hosts).filter((s) => s.component === "backup"), hosts: args.hosts, secrets: args.secrets, upstream: { etcd: args.dcsReady } },
            this,
        );
        this.server = stepOf(steps, `backup/server-${args.cluster.hosts.backup[0].name}`);
        this.ready = [...steps.values()];
        this.registerOutputs({});
    }
}
