/**
 * What AwsHosts sets only when it creates a resource, and why: plain data the component passes as
 * `ignoreChanges`. No Pulumi imports.
 */

/**
 * An instance keeps the image and the user data it was created with. Otherwise the first `up`
 * after a new image is published (the AMI is looked up, newest first) replaces every host at once,
 * and create-before-delete cannot even succeed with fixed private IPs, an attached ENI and
 * attached volumes (InvalidIPAddress.InUse); a user-data change would stop and start each
 * instance (terraform-provider-aws: `user_data` is updated in place by stopping the instance
 * unless `user_data_replace_on_change`). A new image reaches a cluster through new hosts, one at a
 * time (README, "Rolling a new image").
 */
export const INSTANCE_PINNED = ["ami", "userData"] as const;

/**
 * The balancers' ENIs: their secondary private IPs belong to Keepalived (the VIP is assigned to the
 * MASTER's ENI by the EC2 API). After a `pulumi refresh` recorded the VIP on an ENI, the next `up`
 * would unassign it (`private_ips` is a managed set in terraform-provider-aws
 * internal/service/ec2/vpc_network_interface.go: a change assigns/unassigns). The primary address
 * never changes without the subnet, which replaces the ENI (`subnet_id` is ForceNew).
 */
export const BALANCER_ENI_UNMANAGED = ["privateIps", "privateIpsCount", "privateIpList"] as const;
