/**
 * The AWS provider's pure model (no Pulumi imports): settings and defaults, images, the address
 * plan, validation, security rules and IAM, user data, resource names, the VIP mover and the data
 * volumes' mount step, and how the program reads a stack with it. `./hosts` turns it into resources.
 */
export * from "./spec";
export * from "./images";
export * from "./plan";
export * from "./validate";
export * from "./security";
export * from "./cloud-init";
export * from "./names";
export * from "./lifecycle";
export * from "./frontdoor";
export * from "./vip";
export * from "./volumes";
export * from "./backup";
export * from "./stack";
