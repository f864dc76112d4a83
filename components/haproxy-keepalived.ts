/**
 * HaproxyKeepalived: the proxy pair carrying the VIP. HAProxy routes VIP:primaryPort to the member
 * whose Patroni answers /primary and VIP:replicaPort over the streaming replicas; Keepalived moves
 * the VIP to a node whose HAProxy runs. Started only once Patroni is ready; then the VIP gate checks
 * from a PostgreSQL host that VIP:primaryPort reaches a primary.
 * Children: `<name>-{ready,install,haproxy-cfg,check-haproxy,notify-master,keepalived-conf,start}-<host>`
 * and `<name>-vip`.
 */
import * as pulumi from "@pulumi/pulumi";
import type * as command from "@pulumi/command";
import type { ClusterSecrets, ResolvedCluster } from "../model/types";
import type { ClusterHost } from "./remote";
import { createSteps, planFor, stepOf } from "./steps";

export interface HaproxyKeepalivedArgs {
    /** The resolved cluster (see `resolveValidCluster`). */
    cluster: ResolvedCluster;
    /** Every host of the cluster, with its connection; the HAProxy hosts are picked by name. */
    hosts: ClusterHost[];
    /** The cluster's secrets (secret Output): the VRRP password, and the superuser's for the VIP gate. */
    secrets: pulumi.Output<ClusterSecrets>;
    /** What must be ready before the proxies start: the Patroni replicas gate (the VIP gate runs again when it does). */
    backendsReady: command.remote.Command[];
    /**
     * With `tls.enabled`: the etcd health gate (`EtcdCluster.healthy`). The proxies' files wait for
     * it, so that a cluster whose etcd runs without TLS is refused (by etcd's TLS guards) before any
     * balancer's configuration changes. @default - none; required with TLS
     */
    dcsReady?: pulumi.Input<pulumi.Resource>[];
}

export class HaproxyKeepalived extends pulumi.ComponentResource {
    /** Passes when VIP:primaryPort reaches a primary. */
    public readonly vipGate: command.remote.Command;

    constructor(name: string, args: HaproxyKeepalivedArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pulumi-patroni:index:HaproxyKeepalived", name, {}, opts);
        // The plan's proxy steps (render/plan.ts): one balancer after the other, then the VIP gate.
        const steps = createSteps(
            name,
            { steps: planFor(args.cluster, args.hosts).filter((s) => s.component === "proxy"), hosts: args.hosts, secrets: args.secrets, upstream: { patroni: args.backendsReady, ...(args.dcsReady ? { etcd: args.dcsReady } : {}) } },
            this,
        );
        this.vipGate = stepOf(steps, "proxy/vip");
        this.registerOutputs({});
    }
}
