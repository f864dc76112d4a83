/**
 * The NLB front door's deploy-time gate: a finished `up` means the writer endpoint reaches the
 * primary through the load balancer, not only that the members are healthy (the VIP front door has
 * the same gate in the core plan; the NLB's address is known only once AWS has created it).
 */
import * as pulumi from "@pulumi/pulumi";
import { remoteScript, type ConnectionArgs } from "../../components/remote";
import type { ResolvedCluster } from "../../model/types";
import { vipGateScript } from "../../render/files";
import { NLB_GATE_CONSECUTIVE } from "./frontdoor";

export interface NlbGateArgs {
    cluster: ResolvedCluster;
    /** SSH connection of the first Patroni member, where the gate runs (inside the VPC). */
    connection: pulumi.Input<ConnectionArgs>;
    /** The NLB's DNS name. */
    address: pulumi.Input<string>;
    /** The superuser's password (secret): the gate's standard input, never its command line. */
    superuserPassword: pulumi.Input<string>;
    /** What the gate waits for: the cluster (its roles step, and so every member). */
    after: pulumi.Input<pulumi.Resource>[];
}

/** `<name>-nlb-gate` on the first Patroni member: connects through the NLB until it reaches the primary. */
export function nlbGate(name: string, args: NlbGateArgs, parent: pulumi.Resource) {
    const host = args.cluster.hosts.patroni[0];
    return remoteScript(
        `${name}-nlb-gate`,
        {
            host: { name: host.name, connection: args.connection },
            script: pulumi.output(args.address).apply((address) => vipGateScript(args.cluster, { address, consecutive: NLB_GATE_CONSECUTIVE })),
            stdin: pulumi.secret(pulumi.interpolate`${args.superuserPassword}\n`),
            dependsOn: args.after,
        },
        parent,
    );
}
