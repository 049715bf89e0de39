/**
 * SSH connections for `@pulumi/command` remote resources.
 *
 * The provider stores the whole connection as a secret in state. A configured private key is used as is (it is a
 * Pulumi secret from `sshPrivateKey`); without one the provider asks the local ssh-agent (`SSH_AUTH_SOCK`).
 * Staged files live in the SSH user's home, so everything uploaded there is keyed on `sshTarget`.
 */
import * as pulumi from "@pulumi/pulumi";
import type { types } from "@pulumi/command";
import type { NodeConfig } from "../config";

/** How the program authenticates to every host. */
export interface SshAuth {
    /**
     * Private key (PEM/OpenSSH), a Pulumi secret. When absent the provider uses the ssh-agent at `SSH_AUTH_SOCK`
     * of the process running `pulumi` (its documented default), so no socket path lands in state.
     */
    readonly privateKey?: pulumi.Output<string>;
}

/** `user@host:port`: what a home-relative staging path depends on. */
export function sshTarget(node: NodeConfig): string {
    return `${node.user}@${node.host}:${node.port}`;
}

/** Builds the connection for one node: host, port, user, pinned host key, and the configured authentication. */
export function connectionFor(node: NodeConfig, auth: SshAuth): types.input.remote.ConnectionArgs {
    return {
        host: node.host,
        port: node.port,
        user: node.user,
        ...(node.hostKey !== undefined ? { hostKey: node.hostKey } : {}),
        ...(auth.privateKey !== undefined ? { privateKey: pulumi.secret(auth.privateKey) } : {}),
        // Hosts may still be booting on the first run: retry the dial for about a minute, then fail clearly.
        dialErrorLimit: 5,
        perDialTimeout: 15,
    };
}
