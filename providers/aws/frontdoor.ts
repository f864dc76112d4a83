/**
 * The NLB front door's settings, in one place (AwsHosts builds it, the gate waits for it). No
 * Pulumi imports.
 */

/**
 * Health checks of the target groups: Patroni's /primary (writer) and /replica (reader) on its
 * REST port. NLB HTTP checks allow intervals of 5 to 300 s and thresholds of 2 to 10 (ELB
 * documentation, "Health checks for Network Load Balancer target groups").
 */
export const NLB_HEALTH_CHECK = { intervalSec: 5, timeoutSec: 2, healthyThreshold: 2, unhealthyThreshold: 2 } as const;

/**
 * TCP idle timeout of the listeners: a pooled connection idle for longer is dropped by the NLB
 * without a word to either end (the client sees a reset on its next query). AWS's default is 350 s
 * (range 60–6000; ELB documentation, "Update the TCP idle timeout for your Network Load Balancer
 * listener"); an hour covers common pool settings (PgBouncer server_idle_timeout 600 s, HikariCP
 * idleTimeout 10 min).
 */
export const NLB_IDLE_TIMEOUT_SEC = 3600;

/**
 * How many answers in a row the deploy-time gate wants through the NLB: as long as a target takes
 * to turn healthy (threshold × interval), twice, so one early answer proves nothing.
 */
export const NLB_GATE_CONSECUTIVE = 2 * NLB_HEALTH_CHECK.healthyThreshold * NLB_HEALTH_CHECK.intervalSec;
