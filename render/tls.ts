/** Where the TLS material lives on the hosts: one fact, read by the files, the configurations and the scripts. */
import type { HostRole } from "../model/types";

/**
 * Where each role's service finds the cluster's CA, this host's certificate and its key, and the
 * user it runs as (who owns them). A host playing several roles has a copy per role.
 */
export const TLS_DIRS: Record<HostRole, { dir: string; owner: string }> = {
    etcd: { dir: "/etc/etcd/tls", owner: "etcd:etcd" },
    patroni: { dir: "/etc/patroni/tls", owner: "postgres:postgres" },
    haproxy: { dir: "/etc/haproxy/tls", owner: "root:haproxy" },
    // pgBackRest's TLS server on the repository host runs as postgres (the package's user). On a
    // member it uses Patroni's files: it runs as postgres there too.
    backup: { dir: "/etc/pgbackrest/tls", owner: "postgres:postgres" },
};

/** The paths of a role's TLS files. */
export function tlsPaths(role: HostRole): { ca: string; cert: string; key: string } {
    const { dir } = TLS_DIRS[role];
    return { ca: `${dir}/ca.crt`, cert: `${dir}/host.crt`, key: `${dir}/host.key` };
}
