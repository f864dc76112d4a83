/**
 * EtcdCluster: installs and configures the etcd members, starts them together and waits until every
 * member is healthy. Children: `<name>-{ready,mount-data (with a data volume),install,etcd-conf,etcd-dropin,start}-<host>` and
 * `<name>-health`.
 */
import * as pulumi from "@pulumi/pulumi";
import type * as command from "@pulumi/command";
import type { ResolvedCluster } from "../model/types";
import * as files from "../render/files";
import { remoteFile, remoteScript, type ClusterHost } from "./remote";
import { hostByName, installRole } from "./hosts";

export interface EtcdClusterArgs {
    /** The resolved cluster (see `resolveValidCluster`). */
    cluster: ResolvedCluster;
    /** Every host of the cluster, with its connection; the etcd members are picked by name. */
    hosts: ClusterHost[];
}

export class EtcdCluster extends pulumi.ComponentResource {
    /** Client URLs of every member. */
    public readonly endpoints: pulumi.Output<string[]>;
    /** The gate that passes when every member is healthy: depend on it to need a working DCS. */
    public readonly healthy: command.remote.Command;

    constructor(name: string, args: EtcdClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pulumi-patroni:index:EtcdCluster", name, {}, opts);
        const c = args.cluster;
        // One member after the other: a changed configuration restarts them one at a time (see etcd-start.sh).
        const starts: command.remote.Command[] = [];
        for (const member of c.hosts.etcd) {
            const host = hostByName(args.hosts, member.name);
            const install = installRole(name, c, "etcd", member, host, this);
            // etcd files hold no secrets: the placeholder render is the real one.
            const rendered = files.etcdFiles(c, member);
            const written = rendered.map((file) => remoteFile(`${name}-${file.id}-${member.name}`, { host, file, content: file.content, dependsOn: [install] }, this));
            starts.push(
                remoteScript(
                    `${name}-start-${member.name}`,
                    {
                        host,
                        script: files.etcdStartScript(c, member, files.appliedFiles(rendered)),
                        onDelete: files.etcdStopScript(c, member),
                        dependsOn: [...written, ...starts.slice(-1)],
                    },
                    this,
                ),
            );
        }
        const first = hostByName(args.hosts, c.hosts.etcd[0].name);
        this.healthy = remoteScript(`${name}-health`, { host: first, script: files.etcdHealthScript(c), after: starts }, this);
        this.endpoints = pulumi.output(files.etcdEndpoints(c));
        this.registerOutputs({ endpoints: this.endpoints });
    }
}
