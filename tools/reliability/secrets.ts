/**
 * The secret audit: every stack (`Pulumi.*.yaml`) evaluated with known secret values injected — the bootstrap token
 * (RandomPassword's result), an SSH private key (config `sshPrivateKey`, set as a secret), the admin kubeconfig and
 * kubeadm init's output (command outputs, from the mocks) — then every registered input, every mocked output, the
 * offline plan and the stack outputs searched for them. The kubeadm certificate key (RandomPassword `certificate-key`,
 * which encrypts the uploaded control-plane certificates) gets a value of its own, so a leak of it is told apart
 * from one of the token.
 */
import { readdirSync } from "node:fs";
import * as path from "node:path";
import { runJsonChild } from "../../tests/helpers/child";

/** The injected values (fake, and distinctive enough that a match is a leak). */
export const AUDIT_SECRETS = {
    /** The token's public half (not a secret: kubeadm documents the ID as public); excluded from the search. */
    tokenId: "k8stkn",
    tokenSecret: "s3cr3tv4lu3s3cr3",
    /** 64 hex characters, as the program's RandomPassword makes them. */
    certificateKey: "c0ffee00deadbeefa0d17".padEnd(64, "e"),
    sshPrivateKey:
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAAauditFAKEsshKEYmaterialDoNotUse0000\n-----END OPENSSH PRIVATE KEY-----\n",
    kubeconfig:
        "apiVersion: v1\nkind: Config\nusers:\n- name: kubernetes-admin\n  user:\n    client-key-data: QVVESVQtRkFLRS1LVUJFQ09ORklHLUNMSUVOVC1LRVk=\n",
} as const;

/**
 * Outputs a provider declares secret in its schema (the engine stores them as secrets without the program asking):
 * pulumi-random's RandomPassword `result`.
 */
export const PROVIDER_SECRET_OUTPUTS: Readonly<Record<string, readonly string[]>> = {
    "random:index/randomPassword:RandomPassword": ["result"],
};

/** What the audit of one stack found. */
export interface SecretAudit {
    readonly stack: string;
    readonly errors: readonly string[];
    resources: number;
    /** String values among the inputs, and secret-wrapped inputs. */
    inputValues: number;
    secretInputs: number;
    /** Outputs the mocks produced, and those stored as secrets. */
    outputValues: number;
    secretOutputs: number;
    /** Stack outputs, and the secret ones. */
    exports: number;
    secretExports: number;
    /** Plaintext occurrences and missing secret flags (must be empty). */
    readonly findings: string[];
}

/** Stacks of the project (`Pulumi.<stack>.yaml`). */
export function stacks(root = path.resolve(__dirname, "../..")): string[] {
    return readdirSync(root)
        .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
        .filter((s): s is string => s !== undefined)
        .sort();
}

/**
 * Audits one stack in a child process. `canary` makes every preflight print the token without it being a secret
 * output: the audit must then report it (the negative control that shows the search works).
 */
export function auditStack(stack: string, canary = false): Promise<SecretAudit> {
    return runJsonChild<SecretAudit>(path.join(__dirname, "secrets-child.ts"), [stack], { env: { AUDIT_CANARY: canary ? "1" : "" } });
}

/** Audits every stack. */
export async function secretAudit(): Promise<SecretAudit[]> {
    const audits: SecretAudit[] = [];
    for (const stack of stacks()) audits.push(await auditStack(stack));
    return audits;
}
