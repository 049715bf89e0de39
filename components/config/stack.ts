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
    /** Warnings to show the user. */
    readonly warnings: readonly string[];
}

type SecretCheck = (fullKey: string) => boolean;

/**
 * Whether a config key was stored encrypted (`pulumi config set --secret`). The SDK has this as
 * `runtime.isConfigSecret` without declaring it in its typings; when it is missing nothing can be told, so say yes.
 */
export function isStoredAsSecret(fullKey: string): boolean {
    const check = (pulumi.runtime as unknown as { isConfigSecret?: SecretCheck }).isConfigSecret;
    return check ? check(fullKey) : true;
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
    // The provider dials the agent at SSH_AUTH_SOCK itself; the socket path is never put into (and diffed in) state.
    const resolved = resolveConfig(readRawConfig(config), { hasPrivateKey, sshAuthSock: env.SSH_AUTH_SOCK || undefined });
    const errors = [...resolved.errors];
    if (hasPrivateKey && !isStoredAsSecret(`${config.name}:sshPrivateKey`)) {
        errors.push(
            "sshPrivateKey: stored in plain text in the stack file — set it again as a secret: " +
                "pulumi config set --secret sshPrivateKey < ~/.ssh/id_ed25519",
        );
    }
    for (const warning of resolved.warnings) {
        void pulumi.log.warn(warning);
    }
    if (!resolved.config || errors.length > 0) {
        throw new ConfigError(errors);
    }
    return {
        cluster: resolved.config,
        ...(hasPrivateKey && secretKey ? { sshPrivateKey: secretKey } : {}),
        warnings: resolved.warnings,
    };
}
