/**
 * Reads this project's keys from the Pulumi stack config and resolves them. The only impure part of config handling.
 */
import * as pulumi from "@pulumi/pulumi";
import { CONFIG_KEYS, ConfigError, resolveConfig, type ClusterConfig, type RawConfig } from "./index";

/** Stack config resolved for the program, plus the secret SSH key kept out of validation. */
export interface StackConfig {
    /** Validated settings. */
    readonly cluster: ClusterConfig;
    /** `sshPrivateKey` as a Pulumi secret, when set. */
    readonly sshPrivateKey?: pulumi.Output<string>;
    /** `SSH_AUTH_SOCK` of this process, used when no key is set. */
    readonly sshAuthSock?: string;
    /** Warnings to show the user. */
    readonly warnings: readonly string[];
}

/** Raw values of every project key, as the engine passes them to the program (secrets excluded). */
export function readRawConfig(config: pulumi.Config): RawConfig {
    const raw: Record<string, string | undefined> = {};
    for (const key of CONFIG_KEYS) {
        if (key !== "sshPrivateKey") {
            raw[key] = config.get(key);
        }
    }
    return raw;
}

/**
 * Loads and validates the stack config. Throws a `ConfigError` listing every problem — before the program registers
 * any resource — and logs warnings.
 */
export function loadStackConfig(config: pulumi.Config = new pulumi.Config(), env: NodeJS.ProcessEnv = process.env): StackConfig {
    const secretKey = config.getSecret("sshPrivateKey");
    // Whether a key is set is known without revealing it: config secrets are plain strings inside the program.
    const hasPrivateKey = (config.get("sshPrivateKey") ?? "").trim() !== "";
    const sshAuthSock = env.SSH_AUTH_SOCK || undefined;
    const resolved = resolveConfig(readRawConfig(config), { hasPrivateKey, sshAuthSock });
    for (const warning of resolved.warnings) {
        void pulumi.log.warn(warning);
    }
    if (!resolved.config) {
        throw new ConfigError(resolved.errors);
    }
    return {
        cluster: resolved.config,
        ...(hasPrivateKey && secretKey ? { sshPrivateKey: secretKey } : {}),
        ...(sshAuthSock ? { sshAuthSock } : {}),
        warnings: resolved.warnings,
    };
}
