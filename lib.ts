/** The library: components for your own Pulumi programs, and the pure model, validation and renderers. */
export { PostgresHaCluster, sshConnections } from "./components/postgres-ha-cluster";
export type { PostgresHaClusterArgs, ClusterSecretArgs, NodeInfo } from "./components/postgres-ha-cluster";
export { EtcdCluster } from "./components/etcd-cluster";
export type { EtcdClusterArgs } from "./components/etcd-cluster";
export { PatroniCluster } from "./components/patroni-cluster";
export type { PatroniClusterArgs, PatroniTopology } from "./components/patroni-cluster";
export { HaproxyKeepalived } from "./components/haproxy-keepalived";
export type { HaproxyKeepalivedArgs } from "./components/haproxy-keepalived";
export type { ClusterHost, ConnectionArgs, DataVolume } from "./components/remote";
export * from "./providers/aws";
export * from "./model/types";
export { resolveCluster, DEFAULT_PG_PARAMETERS } from "./model/resolve";
export * from "./model/validate";
export { parseStackConfig } from "./model/config";
export { renderHostBundle } from "./render/bundle";
export { clusterPlan, placeholderSecrets, awsDataVolumes, DATA_DEVICE_NAME } from "./render/plan";
export type { PlanStep, StepText, PlannedVolume, Component } from "./render/plan";
export { buildPatroniConfig, renderPatroniYml, renderPgHba } from "./render/patroni";
