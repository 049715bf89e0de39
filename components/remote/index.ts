/**
 * SSH connections for `@pulumi/command` remote resources.
 *
 * The provider stores the whole connection as a secret in state. A configured private key is used as is (it is a
 * Pulumi secret from `sshPrivateKey`); without one the provider asks the local ssh-agent (`SSH_AUTH_SOCK`).
 */
import * as pulumi from "@pulumi/pulumi";
import type { types } from "@pulumi/command";
import type { NodeConfig } from "../config";

/** How the program authenticates to every host. */
export interface SshAuth {
    /** Private key (PEM/OpenSSH), a Pulumi secret; when absent the ssh-agent socket is used. */
    readonly privateKey?: pulumi.Output<string>;
    /** ssh-agent socket path (`SSH_AUTH_SOCK`), used when there is no private key. */
    readonly agentSocketPath?: string;
}

/** Builds the connection for one node: host, port, user, pinned host key, and the configured authentication. */
export function connectionFor(node: NodeConfig, auth: SshAuth): types.input.remote.ConnectionArgs {
    return {
        host: node.host,
        port: node.port,
        user: node.user,
        ...(node.hostKey !== undefined ? { hostKey: node.hostKey } : {}),
        ...(auth.privateKey !== undefined
            ? { privateKey: pulumi.secret(auth.privateKey) }
            : auth.agentSocketPath !== undefined
              ? { agentSocketPath: auth.agentSocketPath }
              : {}),
        // Hosts may still be booting on the first run: retry the dial for about a minute, then fail clearly.
        dialErrorLimit: 5,
        perDialTimeout: 15,
    };
}
