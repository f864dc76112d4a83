/** The AWS provider: its pure model and the AwsHosts component (machines for PostgresHaCluster). */
export * from "./model";
export { AwsHosts } from "./hosts";
export type { AwsHostsArgs, AwsHost } from "./hosts";
export { nlbGate } from "./gate";
export type { NlbGateArgs } from "./gate";
