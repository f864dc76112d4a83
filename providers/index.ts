/**
 * The providers this package ships, as the program and its tools read a stack with them
 * (`parseStackConfig(config, stack, STACK_PROVIDERS)`). Adding a provider: its folder, and its entry here.
 */
import type { StackProvider } from "../model/config";
import { AWS_STACK } from "./aws/stack";

export const STACK_PROVIDERS: readonly StackProvider[] = [AWS_STACK];
