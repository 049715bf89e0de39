/**
 * `npm run plan [-- --stack dev] [--json] [--config key=value ...]`
 *
 * Evaluates the program offline (no Pulumi CLI, backend, plugins or hosts) and prints the bootstrap as ordered
 * waves. Exit status 1 when the stack has validation errors, 2 on usage errors.
 */
import * as path from "node:path";
import { buildPlan, renderJson, renderText } from "./plan/plan";

interface Args {
    stack: string;
    json: boolean;
    overrides: Record<string, string>;
}

function parseArgs(argv: readonly string[]): Args {
    const args: Args = { stack: "dev", json: false, overrides: {} };
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        if (arg === "--json") {
            args.json = true;
        } else if (arg === "--stack" && argv[i + 1]) {
            args.stack = argv[++i];
        } else if (arg === "--config" && argv[i + 1]?.includes("=")) {
            const [key, ...rest] = argv[++i].split("=");
            args.overrides[key] = rest.join("=");
        } else {
            throw new Error(`unknown argument "${arg}" — usage: npm run plan -- [--stack <name>] [--json] [--config key=value]...`);
        }
    }
    return args;
}

async function main(): Promise<number> {
    let args: Args;
    try {
        args = parseArgs(process.argv.slice(2));
    } catch (err) {
        process.stderr.write(`${(err as Error).message}\n`);
        return 2;
    }
    const plan = await buildPlan({ projectDir: path.resolve(__dirname, ".."), stack: args.stack, overrides: args.overrides });
    process.stdout.write(args.json ? renderJson(plan) : renderText(plan));
    return plan.errors.length > 0 ? 1 : 0;
}

main().then(
    (code) => process.exit(code),
    (err: unknown) => {
        process.stderr.write(`plan failed: ${err instanceof Error ? err.stack : String(err)}\n`);
        process.exit(2);
    },
);
