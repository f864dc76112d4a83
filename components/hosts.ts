import type * as pulumi from "@pulumi/pulumi";
import type * as command from "@pulumi/command";
import type { HostRole, ResolvedCluster, ResolvedHost } from "../model/types";
import * as files from "../render/files";
import { mountDataStep, remoteScript, type ClusterHost } from "./remote";

/** The host named `name`; a missing one is a programming error in how hosts were passed. */
export function hostByName(hosts: ClusterHost[], name: string): ClusterHost {
    const host = hosts.find((h) => h.name === name);
    if (!host) throw new Error(`no connection given for host ${name} (have: ${hosts.map((h) => h.name).join(", ") || "none"})`);
    return host;
}

/**
 * The first steps on a host of any role: wait until it is ready, mount its data volume (when it has
 * one) before the packages put anything where it goes, and install the role's packages.
 * Children `<name>-ready-<host>`, `<name>-mount-data-<host>`, `<name>-install-<host>`; returns the install step.
 */
export function installRole(
    name: string,
    c: ResolvedCluster,
    role: HostRole,
    member: ResolvedHost,
    host: ClusterHost,
    parent: pulumi.Resource,
): command.remote.Command {
    const ready = remoteScript(`${name}-ready-${member.name}`, { host, script: files.hostReadyScript(c) }, parent);
    const mounted = mountDataStep(`${name}-mount-data-${member.name}`, host, (v) => files.mountDataScript(c, member, v), [ready], parent);
    return remoteScript(
        `${name}-install-${member.name}`,
        { host, script: files.installScript(c, role, member), dependsOn: [ready, ...mounted], timeout: "30m" },
        parent,
    );
}
