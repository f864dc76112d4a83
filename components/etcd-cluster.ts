/**
 * EtcdCluster: installs and configures the etcd members, starts them together and waits until every
 * member is healthy. Children: `<name>-{ready,mount-data (with a data volume),install,etcd-conf,etcd-dropin,start}-<host>` and
 * `<name>-health`.
 */
import * as pulumi from "@pulumi/pulumi";
import type * as command from "@pulumi/command";
import type { ClusterSecrets, ResolvedCluster } from "../model/types";
import * as files from "../render/files";
import type { ClusterHost } from "./remote";
import { createSteps, planFor, stepOf } from "./steps";

export interface EtcdClusterArgs {
    /** The resolved cluster (see `resolveValidCluster`). */
    cluster: ResolvedCluster;
    /** Every host of the cluster, with its connection; the etcd members are picked by name. */
    hosts: ClusterHost[];
    /** The cluster's secrets: needed with `tls.enabled` (the members' certificates and keys). @default - none */
    secrets?: pulumi.Output<ClusterSecrets>;
}

export class EtcdCluster extends pulumi.ComponentResource {
    /** Client URLs of every member. */
    public readonly endpoints: pulumi.Output<string[]>;
    /** The gate that passes when every member is healthy: depend on it to need a working DCS. */
    public readonly healthy: command.remote.Command;

    constructor(name: string, args: EtcdClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pulumi-patroni:index:EtcdCluster", name, {}, opts);
        const c = args.cluster;
        // The plan's etcd steps (render/plan.ts): members one after the other, then the health gate.
        const steps = createSteps(name, { steps: planFor(c, args.hosts).filter((s) => s.component === "etcd"), hosts: args.hosts, secrets: args.secrets }, this);
        this.healthy = stepOf(steps, "etcd/health");
        this.endpoints = pulumi.output(files.etcdEndpoints(c));
        this.registerOutputs({ endpoints: this.endpoints });
    }
}
