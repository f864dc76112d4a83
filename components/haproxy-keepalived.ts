/**
 * HaproxyKeepalived: the proxy pair carrying the VIP. HAProxy routes VIP:primaryPort to the member
 * whose Patroni answers /primary and VIP:replicaPort over the streaming replicas; Keepalived moves
 * the VIP to a node whose HAProxy runs. Started only once Patroni is ready; then the VIP gate checks
 * from a PostgreSQL host that VIP:primaryPort reaches a primary.
 * Children: `<name>-{ready,install,haproxy-cfg,check-haproxy,notify-master,keepalived-conf,start}-<host>`
 * and `<name>-vip`.
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import type { ClusterSecrets, ResolvedCluster } from "../model/types";
import * as files from "../render/files";
import { placeholderSecrets } from "../render/bundle";
import { remoteFile, remoteScript, type ClusterHost } from "./remote";
import { hostByName, installRole } from "./hosts";

export interface HaproxyKeepalivedArgs {
    /** The resolved cluster (see `resolveValidCluster`). */
    cluster: ResolvedCluster;
    /** Every host of the cluster, with its connection; the HAProxy hosts are picked by name. */
    hosts: ClusterHost[];
    /** The cluster's secrets (secret Output): the VRRP password, and the superuser's for the VIP gate. */
    secrets: pulumi.Output<ClusterSecrets>;
    /** What must be ready before the proxies start: the Patroni replicas gate (the VIP gate runs again when it does). */
    backendsReady: command.remote.Command[];
    /** The host (with a PostgreSQL client) that checks the VIP; normally the first Patroni member. */
    gateHostName: string;
}

export class HaproxyKeepalived extends pulumi.ComponentResource {
    /** Passes when VIP:primaryPort reaches a primary. */
    public readonly vipGate: command.remote.Command;

    constructor(name: string, args: HaproxyKeepalivedArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pulumi-patroni:index:HaproxyKeepalived", name, {}, opts);
        const c = args.cluster;
        const layoutOnly = placeholderSecrets(c);
        // One balancer after the other: a changed configuration is reloaded on one at a time.
        const starts: command.remote.Command[] = [];
        for (const proxy of c.hosts.haproxy) {
            const host = hostByName(args.hosts, proxy.name);
            const install = installRole(name, c, "haproxy", proxy, host, this);
            // keepalived -t checks that its scripts exist: write them before keepalived.conf.
            const written: command.remote.Command[] = [];
            // Rendered once with the real secrets: the files' contents and the start step's hashes.
            const rendered = args.secrets.apply((s) => files.proxyFiles(c, proxy, s));
            for (const file of files.proxyFiles(c, proxy, layoutOnly)) {
                const content = file.secret ? rendered.apply((all) => all.find((f) => f.id === file.id)!.content) : file.content;
                const dependsOn = file.id === "keepalived-conf" ? [install, ...written] : [install];
                written.push(remoteFile(`${name}-${file.id}-${proxy.name}`, { host, file, content, dependsOn }, this));
            }
            // The files' hashes (keepalived.conf holds the VRRP password: the script stays secret).
            const script = rendered.apply((all) => files.proxyStartScript(proxy, files.appliedFiles(all)));
            starts.push(
                remoteScript(
                    `${name}-start-${proxy.name}`,
                    { host, script, onDelete: files.proxyStopScript(proxy), dependsOn: [...written, ...args.backendsReady, ...starts.slice(-1)] },
                    this,
                ),
            );
        }
        this.vipGate = remoteScript(
            `${name}-vip`,
            {
                host: hostByName(args.hosts, args.gateHostName),
                script: files.vipGateScript(c),
                stdin: args.secrets.apply((s) => `${s.superuserPassword}\n`),
                after: [...starts, ...args.backendsReady],
            },
            this,
        );
        this.registerOutputs({});
    }
}
