/**
 * Child process of the secret audit (secrets.ts): evaluates the program for one stack with known secret values
 * injected, walks every registered input and every output the mocks produced, and prints the findings as JSON.
 * One evaluation per process: the Pulumi runtime is global state.
 */
import * as pulumi from "@pulumi/pulumi";
import * as path from "node:path";
import { evaluateProgram } from "../plan/evaluate";
import { SECRET_SIG, SIG_KEY, computeWaves, sanitize } from "../plan/graph";
import { readStackConfig } from "../plan/stack";
import { AUDIT_SECRETS, PROVIDER_SECRET_OUTPUTS, type SecretAudit } from "./secrets";

const ROOT = path.resolve(__dirname, "../..");

/** Mock outputs: the values a real deployment would return, with the known secrets where the real ones would be. */
function mockOutputs(type: string, name: string): Record<string, unknown> {
    switch (type) {
        case "random:index/randomString:RandomString":
            return { result: AUDIT_SECRETS.tokenId };
        case "random:index/randomPassword:RandomPassword":
            return { result: name === "certificate-key" ? AUDIT_SECRETS.certificateKey : AUDIT_SECRETS.tokenSecret };
        case "command:remote:Command":
            if (name.endsWith("-kubeconfig")) return { stdout: AUDIT_SECRETS.kubeconfig, stderr: "" };
            // kubeadm init prints the join command, bootstrap token included.
            if (name.endsWith("-init")) {
                return { stdout: `kubeadm join 192.0.2.10:6443 --token ${AUDIT_SECRETS.tokenId}.${AUDIT_SECRETS.tokenSecret}`, stderr: "" };
            }
            // The audit's negative control: a step that would print the token and the key without being marked secret.
            if (process.env.AUDIT_CANARY === "1" && name.endsWith("-preflight")) {
                return { stdout: `token ${AUDIT_SECRETS.tokenSecret} certificate key ${AUDIT_SECRETS.certificateKey}`, stderr: "" };
            }
            return {};
        default:
            return {};
    }
}

async function main(): Promise<void> {
    const stack = process.argv[2];
    const stackConfig = readStackConfig(ROOT, stack, { sshPrivateKey: AUDIT_SECRETS.sshPrivateKey });
    const produced = new Map<string, Record<string, unknown>>();
    const evaluation = await evaluateProgram({
        program: path.join(ROOT, "index.ts"),
        project: stackConfig.project,
        stack,
        config: stackConfig.values,
        secretKeys: [...stackConfig.secretKeys, `${stackConfig.project}:sshPrivateKey`],
        outputs: (type, name) => {
            const outputs = mockOutputs(type, name);
            produced.set(`${type}::${name}`, outputs);
            return outputs;
        },
    });
    const audit: SecretAudit = {
        stack,
        errors: evaluation.programErrors,
        resources: 0,
        inputValues: 0,
        secretInputs: 0,
        outputValues: 0,
        secretOutputs: 0,
        exports: 0,
        secretExports: 0,
        findings: [],
    };
    const secrets = Object.entries(AUDIT_SECRETS).filter(([label]) => label !== "tokenId");
    const leaks = (text: string): string[] => secrets.filter(([, value]) => text.includes(value) || text.includes(value.slice(0, 24))).map(([label]) => label);

    // Inputs: every string leaf outside a secret wrapper must be free of every secret value.
    const walk = (value: unknown, where: string, inSecret: boolean): void => {
        if (Array.isArray(value)) {
            value.forEach((v, i) => walk(v, `${where}[${i}]`, inSecret));
        } else if (typeof value === "object" && value !== null) {
            const obj = value as Record<string, unknown>;
            const secret = obj[SIG_KEY] === SECRET_SIG;
            if (secret) audit.secretInputs++;
            for (const [k, v] of Object.entries(obj)) if (k !== SIG_KEY) walk(v, secret ? where : `${where}.${k}`, inSecret || secret);
        } else if (typeof value === "string") {
            audit.inputValues++;
            if (!inSecret) for (const label of leaks(value)) audit.findings.push(`${where}: plaintext ${label} in an input`);
        }
    };
    for (const r of evaluation.resources) {
        audit.resources++;
        walk(r.inputs, r.name, false);
        // Outputs the mocks produced: one carrying a secret must be a declared secret output.
        const outputs = produced.get(`${r.type}::${r.name}`) ?? {};
        const declared = new Set([...r.additionalSecretOutputs, ...(PROVIDER_SECRET_OUTPUTS[r.type] ?? [])]);
        for (const [key, value] of Object.entries(outputs)) {
            audit.outputValues++;
            if (declared.has(key)) audit.secretOutputs++;
            const found = leaks(typeof value === "string" ? value : JSON.stringify(value));
            if (found.length > 0 && !declared.has(key)) audit.findings.push(`${r.name}.${key}: carries ${found.join(", ")} but is not a secret output`);
        }
    }
    // The offline plan document must not show any secret either.
    const planText = JSON.stringify(computeWaves(evaluation.resources).map((p) => sanitize(p.resource.inputs)));
    for (const label of leaks(planText)) audit.findings.push(`the offline plan shows ${label}`);

    // Stack outputs: one carrying a secret must be a secret output.
    for (const [name, value] of Object.entries(evaluation.exports)) {
        if (!pulumi.Output.isInstance(value)) continue;
        audit.exports++;
        const secret = await pulumi.isSecret(value);
        if (secret) audit.secretExports++;
        const resolved = await new Promise<unknown>((resolve) => {
            value.apply((v) => resolve(v));
            setTimeout(() => resolve(undefined), 2000);
        });
        const found = leaks(typeof resolved === "string" ? resolved : JSON.stringify(resolved ?? ""));
        if (found.length > 0 && !secret) audit.findings.push(`stack output ${name}: carries ${found.join(", ")} but is not secret`);
        if (name === "kubeconfig" && !secret) audit.findings.push("stack output kubeconfig is not secret");
    }
    process.stdout.write(JSON.stringify(audit));
}

main().then(
    () => process.exit(0),
    (err: unknown) => {
        process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
        process.exit(2);
    },
);
