/**
 * Runs the Pulumi program under the SDK's mock monitor and records every registration, with no CLI, backend, plugin
 * or host. One evaluation per process: the Pulumi runtime is global state.
 */
import * as pulumi from "@pulumi/pulumi";
import type { RecordedResource } from "./graph";

/** What the recorder saw. */
export interface Evaluation {
    /** Every registration, in registration order. */
    readonly resources: RecordedResource[];
    /** Errors the program raised (thrown at import or inside an apply). */
    readonly programErrors: string[];
    /** The program module's exports (its stack outputs), when the import succeeded. */
    readonly exports: Readonly<Record<string, unknown>>;
}

/** Options for `evaluateProgram`. */
export interface EvaluateOptions {
    /** Absolute path of the program module (`index.ts`). */
    readonly program: string;
    /** Project name. */
    readonly project: string;
    /** Stack name. */
    readonly stack: string;
    /** Fully qualified config (`homelab:key` → value). */
    readonly config: Record<string, string>;
    /** Fully qualified keys that are secrets. */
    readonly secretKeys: readonly string[];
    /** Extra computed outputs per resource type, merged over the defaults below. */
    readonly outputs?: (type: string, name: string, inputs: Record<string, unknown>) => Record<string, unknown>;
}

interface ProtoList {
    getUrnsList(): string[];
}
interface RegisterRequest {
    getType(): string;
    getName(): string;
    getParent(): string;
    getCustom(): boolean;
    getRemote(): boolean;
    getProvider(): string;
    getDependenciesList(): string[];
    getPropertydependenciesMap(): { entries(): Iterable<[string, ProtoList]> };
    getAdditionalsecretoutputsList(): string[];
    getReplaceonchangesList(): string[];
    getObject(): { toJavaScript(): Record<string, unknown> } | undefined;
}
interface RegisterResponse {
    getUrn(): string;
}
type Callback = (err: Error | null, resp?: RegisterResponse) => void;
interface HookableMonitor {
    registerResource(req: RegisterRequest, cb: Callback): unknown;
}

/**
 * Placeholder outputs a real deployment would compute. They must be present (not undefined) or, in preview mode,
 * every `apply` over them would never run and the program's later registrations would be missing.
 */
export function placeholderOutputs(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
    const length = typeof inputs.length === "number" ? inputs.length : 16;
    switch (type) {
        case "random:index/randomString:RandomString":
        case "random:index/randomPassword:RandomPassword": {
            // A character the resource's own character set allows (a hex-only key is still hex).
            const char = inputs.lower !== false ? "x" : inputs.upper !== false ? "X" : inputs.numeric !== false ? "0" : "!";
            return { result: char.repeat(length) };
        }
        case "command:remote:Command":
        case "command:local:Command":
            return { stdout: `[stdout of ${name}]`, stderr: "" };
        default:
            return {};
    }
}

function providerUrn(ref: string): string | undefined {
    // The monitor passes "<urn>::<id>"; a URN itself contains "::", so cut at the last separator.
    if (!ref) {
        return undefined;
    }
    const cut = ref.lastIndexOf("::");
    return cut > 0 ? ref.slice(0, cut) : ref;
}

/** Evaluates the program and returns its registrations once they have settled. */
export async function evaluateProgram(options: EvaluateOptions): Promise<Evaluation> {
    const programErrors: string[] = [];
    const onRejection = (reason: unknown): void => {
        programErrors.push(reason instanceof Error ? reason.message : String(reason));
    };
    process.on("unhandledRejection", onRejection);

    await pulumi.runtime.setMocks(
        {
            newResource: (args) => {
                const inputs = args.inputs as Record<string, unknown>;
                return {
                    id: args.custom ? `${args.name}-id` : "",
                    state: {
                        ...inputs,
                        ...placeholderOutputs(args.type, args.name, inputs),
                        ...(options.outputs?.(args.type, args.name, inputs) ?? {}),
                    },
                };
            },
            call: (args) => args.inputs as Record<string, unknown>,
        },
        options.project,
        options.stack,
        true,
    );
    pulumi.runtime.setAllConfig(options.config, [...options.secretKeys]);

    const resources: RecordedResource[] = [];
    let inFlight = 0;
    const monitor = pulumi.runtime.getMonitor() as unknown as HookableMonitor;
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, cb) => {
        inFlight++;
        return register(req, (err, resp) => {
            inFlight--;
            if (!err && resp) {
                resources.push({
                    urn: resp.getUrn(),
                    type: req.getType(),
                    name: req.getName(),
                    parent: req.getParent() || undefined,
                    custom: req.getCustom(),
                    remote: req.getRemote(),
                    dependencies: req.getDependenciesList(),
                    propertyDependencies: Object.fromEntries(
                        [...req.getPropertydependenciesMap().entries()].map(([k, v]) => [k, v.getUrnsList()]),
                    ),
                    provider: providerUrn(req.getProvider()),
                    inputs: req.getObject()?.toJavaScript() ?? {},
                    additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
                    replaceOnChanges: req.getReplaceonchangesList(),
                });
            }
            cb(err, resp);
        });
    };

    let exports: Record<string, unknown> = {};
    try {
        exports = (await import(options.program)) as Record<string, unknown>;
    } catch (err) {
        programErrors.push(err instanceof Error ? err.message : String(err));
    }

    // Registrations arrive asynchronously after the import returns: wait until nothing is in flight and the count
    // has not moved for several turns of the event loop.
    let stableTurns = 0;
    let lastCount = -1;
    for (let turn = 0; turn < 3000 && stableTurns < 10; turn++) {
        await new Promise((resolve) => setTimeout(resolve, 2));
        stableTurns = inFlight === 0 && resources.length === lastCount ? stableTurns + 1 : 0;
        lastCount = resources.length;
    }
    process.off("unhandledRejection", onRejection);
    return { resources, programErrors, exports };
}
