/**
 * `npm run plan [-- --stack dev] [--format text|json|mermaid|markdown] [--detail resources|components]
 *  [--config key=value ...] [--config-secret key=value ...]`
 *
 * Evaluates the program offline (no Pulumi CLI, backend, plugins or hosts) and prints the bootstrap as ordered
 * waves (text), stable JSON, a Mermaid flowchart or a Markdown report. `--json` is `--format json`.
 * Exit status 1 when the stack has validation errors, 2 on usage errors.
 */
import * as path from "node:path";
import { renderMarkdown } from "./plan/markdown";
import { renderMermaid, type MermaidDetail } from "./plan/mermaid";
import { buildPlan, renderJson, renderText, type PlanDocument } from "./plan/plan";
import { exitAfterFlush } from "./plan/exit";

const FORMATS = ["text", "json", "mermaid", "markdown"] as const;
type Format = (typeof FORMATS)[number];
const DETAILS: readonly MermaidDetail[] = ["resources", "components"];

interface Args {
    stack: string;
    format: Format;
    detail: MermaidDetail;
    overrides: Record<string, string>;
    secretOverrides: Record<string, string>;
}

const USAGE =
    "usage: npm run plan -- [--stack <name>] [--format text|json|mermaid|markdown] [--detail resources|components] [--json] [--config key=value]... [--config-secret key=value]...";

function parseArgs(argv: readonly string[]): Args {
    const args: Args = { stack: "dev", format: "text", detail: "resources", overrides: {}, secretOverrides: {} };
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        const value = argv[i + 1];
        if (arg === "--json") {
            args.format = "json";
        } else if (arg === "--stack" && value) {
            args.stack = argv[++i];
        } else if (arg === "--format" && value) {
            if (!(FORMATS as readonly string[]).includes(value)) {
                throw new Error(`unknown format "${value}" — ${USAGE}`);
            }
            args.format = argv[++i] as Format;
        } else if (arg === "--detail" && value) {
            if (!(DETAILS as readonly string[]).includes(value)) {
                throw new Error(`unknown detail "${value}" — ${USAGE}`);
            }
            args.detail = argv[++i] as MermaidDetail;
        } else if ((arg === "--config" || arg === "--config-secret") && value?.includes("=")) {
            const [key, ...rest] = argv[++i].split("=");
            (arg === "--config" ? args.overrides : args.secretOverrides)[key] = rest.join("=");
        } else {
            throw new Error(`unknown argument "${arg}" — ${USAGE}`);
        }
    }
    return args;
}

function render(plan: PlanDocument, args: Args): string {
    switch (args.format) {
        case "json":
            return renderJson(plan);
        case "mermaid":
            return renderMermaid(plan, args.detail);
        case "markdown":
            return renderMarkdown(plan);
        default:
            return renderText(plan);
    }
}

async function main(): Promise<number> {
    let args: Args;
    try {
        args = parseArgs(process.argv.slice(2));
    } catch (err) {
        process.stderr.write(`${(err as Error).message}\n`);
        return 2;
    }
    const plan = await buildPlan({ projectDir: path.resolve(__dirname, ".."), stack: args.stack, overrides: args.overrides, secretOverrides: args.secretOverrides });
    process.stdout.write(render(plan, args));
    return plan.errors.length > 0 ? 1 : 0;
}

main().then(
    (code) => exitAfterFlush(code),
    (err: unknown) => {
        process.stderr.write(`plan failed: ${err instanceof Error ? err.stack : String(err)}\n`);
        exitAfterFlush(2);
    },
);
