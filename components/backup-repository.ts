/**
 * BackupRepository: the repository host of `backup.repository.kind: host`. pgBackRest's TLS server
 * keeps the backups and the WAL archive there; once the cluster has a leader and archive_command is
 * live, the stanza gate creates the stanza and checks that WAL reaches it, then the backup timers start
 * (pgBackRest takes backups on the repository host only: it reaches each member's own TLS server).
 * Children: `<name>-{ready,install,tls-ca,tls-cert,tls-key,pgbackrest-conf,pgbackrest-service,
 * backup-script,backup-service,backup-timer-<type>,server,backup-timers}-<host>` and `<name>-stanza`.
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
    /**
     * What the stanza gate waits for and checks: the Patroni leader and DCS settings (archive_command),
     * and every member's pgBackRest server (`PatroniCluster.replicasGate`, `PatroniCluster.pgbackrestServers`).
     */
    membersReady: command.remote.Command[];
}

export class BackupRepository extends pulumi.ComponentResource {
    /** Passes when the stanza exists and a switched WAL segment reached the repository. */
    public readonly stanzaGate: command.remote.Command;

    constructor(name: string, args: BackupRepositoryArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pulumi-patroni:index:BackupRepository", name, {}, opts);
        // The plan's repository steps (render/plan.ts): install, files, the TLS server, the stanza gate, the timers.
        const steps = createSteps(
            name,
            { steps: planFor(args.cluster, args.hosts).filter((s) => s.component === "backup"), hosts: args.hosts, secrets: args.secrets, upstream: { etcd: args.dcsReady, patroni: args.membersReady } },
            this,
        );
        this.stanzaGate = stepOf(steps, "backup/stanza");
        this.registerOutputs({});
    }
}
