import type { ClusterHost } from "./remote";

/** The host named `name`; a missing one is a programming error in how hosts were passed. */
export function hostByName(hosts: ClusterHost[], name: string): ClusterHost {
    const host = hosts.find((h) => h.name === name);
    if (!host) throw new Error(`no connection given for host ${name} (have: ${hosts.map((h) => h.name).join(", ") || "none"})`);
    return host;
}
