/**
 * `npm run bench [-- --quick] [--write]`
 *
 * Measures what users wait for and prints it as Markdown tables:
 *   1. offline plan evaluation time (median of several runs) and peak memory for 1–100-node inventories;
 *   2. the bootstrap DAG per inventory size: resources, dependency edges, waves (the critical path);
 *   3. the simulated-host cost of every generated script: first run and re-run (wall time, mutating calls).
 * `--quick` (CI) measures fewer sizes once and one stack; `--write` also writes the report to bench/results.md.
 * Exits 1 when an invariant fails: the critical path grows with the workers, joins are not parallel, Cilium does not
 * overlap the joins, a re-run makes a mutating call, or (full run only: one sample per size is too noisy) growth is
 * not linear.
 */
import { exitAfterFlush } from "./plan/exit";
import { cpus, loadavg, totalmem } from "node:os";
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { benchPlan, growth, type PlanSizeResult } from "./bench/plan";
import { benchStack, hostsAvailable, type StackCost } from "./bench/hosts";

interface Args {
    readonly quick: boolean;
    readonly write: boolean;
}

function parseArgs(argv: readonly string[]): Args {
    for (const arg of argv) {
        if (arg !== "--quick" && arg !== "--write") throw new Error(`unknown argument "${arg}" — usage: npm run bench -- [--quick] [--write]`);
    }
    return { quick: argv.includes("--quick"), write: argv.includes("--write") };
}

const mib = (kib: number): string => (kib / 1024).toFixed(0);
const ms = (value: number): string => value.toFixed(0);

/** The machine the numbers come from. */
export function machine(): string {
    const cpu = cpus();
    return `${cpu[0]?.model.trim() ?? "unknown CPU"}, ${cpu.length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB memory, node ${process.version}, ${process.platform}/${process.arch}`;
}

function planSection(results: readonly PlanSizeResult[], runs: number, problems: string[], quick: boolean): string[] {
    const g = growth(results);
    const out = [
        "## Offline plan evaluation",
        "",
        `Dev stack with a synthetic inventory (one control plane, N-1 workers): \`buildPlan\` (validation, mock evaluation of`,
        `\`index.ts\`, waves), median of ${runs} run(s), each in a fresh process. Peak memory is that process's`,
        "`process.resourceUsage().maxRSS` (the kernel's high-water mark, so no short peak is missed between samples); the",
        "base is its RSS right before `buildPlan` (node, tsx, the plan modules), so peak − base is what the evaluation adds.",
        "",
        "| nodes | median ms | min–max ms | peak RSS MiB | base RSS MiB | peak − base MiB |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
        ...results.map((r) => {
            const times = r.samples.map((s) => s.ms);
            return `| ${r.nodes} | ${ms(r.medianMs)} | ${ms(Math.min(...times))}–${ms(Math.max(...times))} | ${mib(r.peakRssKiB)} | ${mib(r.baseRssKiB)} | ${mib(r.peakRssKiB - r.baseRssKiB)} |`;
        }),
        "",
        `Time per added node: ${g.marginal.map((m) => `${m.from}→${m.to}: ${m.msPerNode.toFixed(1)} ms`).join(", ")}.`,
        g.ratio100to10 !== undefined ? `t(100)/t(10) = ${g.ratio100to10.toFixed(2)} (10× the nodes).` : "",
        `Growth is ${g.linear ? "linear" : "NOT linear"} (the per-node cost of the last interval is ${g.linear ? "within" : "above"} 1.5× that of the first interval from 10 nodes on).`,
        "",
    ];
    // One sample per size (--quick, on a shared CI machine) is too noisy to fail on; the full run's medians are not.
    if (!g.linear && !quick) problems.push("plan evaluation time grows faster than linearly");
    if (!g.linear && quick) out.push("(--quick takes one sample per size: a timing verdict from it is not an invariant failure.)", "");
    return out;
}

function dagSection(results: readonly PlanSizeResult[], problems: string[]): string[] {
    const rows = results.map((r) => r.samples[0]);
    const waves = new Set(rows.map((s) => s.bootstrapWaves));
    if (waves.size > 1) {
        problems.push(`the bootstrap's critical path changes with the inventory: ${rows.map((s) => `${s.nodes} nodes → ${s.bootstrapWaves} waves`).join(", ")}`);
    }
    for (const s of rows) {
        if (s.joinWaves && s.joinWaves[0] !== s.joinWaves[1]) problems.push(`${s.nodes} nodes: joins spread over waves ${s.joinWaves.join("–")}`);
        if (s.joinWaves && s.ciliumReleaseWave !== null && s.ciliumReleaseWave > s.joinWaves[0]) {
            problems.push(`${s.nodes} nodes: the Cilium release (wave ${s.ciliumReleaseWave}) waits for the joins (wave ${s.joinWaves[0]})`);
        }
    }
    return [
        "## Bootstrap DAG",
        "",
        "Resources, dependency edges and waves (the critical path: resources in one wave run in parallel) of the same plans.",
        "",
        "| nodes | resources | components | edges | bootstrap waves (critical path) | upgrade chain waves | all waves | join wave(s) | Cilium release wave |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | :---: | ---: |",
        ...rows.map(
            (s) =>
                `| ${s.nodes} | ${s.resources} | ${s.components} | ${s.edges} | ${s.bootstrapWaves} | ${s.upgradeChainWaves} | ${s.waves} | ${s.joinWaves ? (s.joinWaves[0] === s.joinWaves[1] ? `${s.joinWaves[0]}` : s.joinWaves.join("–")) : "—"} | ${s.ciliumReleaseWave ?? "—"} |`,
        ),
        "",
        waves.size === 1
            ? `The bootstrap's critical path is ${[...waves][0]} waves for every size: all joins run in one wave, and the Cilium release runs in that same wave, overlapping them.`
            : "The bootstrap's critical path GROWS with the number of workers (see the table).",
        "The upgrade chain (`homelab:k8s:ClusterUpgrade`) is serial by design: a Kubernetes upgrade moves one batch of",
        "`upgradeWorkerBatch` workers at a time (drain, upgrade, uncordon: 3 waves per batch). Nothing of the bootstrap",
        "waits for it; on a fresh install each of its steps only confirms the version (zero mutating calls), so it adds a",
        "tail of quick SSH round trips to the first `pulumi up` of a large inventory and nothing to later ones.",
        "Edges grow faster than nodes: each worker's join token checks the node's identity against every node declared",
        "before it (`peerIdentities`, catching cloned machine-ids), so worker k waits on k preflights. Those preflights all",
        "run in wave 3, so the extra edges cost no wave; they are O(N²) bookkeeping for the engine.",
        "",
    ];
}

function hostSection(costs: readonly StackCost[], problems: string[]): string[] {
    const out = [
        "## Simulated-host cost",
        "",
        "The plan's own steps run on simulated hosts (tests/host: the real generated scripts under bash, stub tools",
        "recording every call), in wave order; then all of them again (the re-run); then the `delete` scripts twice. Per",
        "command: wall time, stub calls, mutating calls. A re-run must make no mutating call; the only exceptions are",
        "listed in `TRANSIENT_RERUN_MUTATIONS` (tests/host/plan-run.ts) and must leave every host byte-identical, but for",
        "the files that are their product (`RERUN_PRODUCTS`: the on-demand etcd snapshot).",
        "Steps that only write files with real tools (`stage`, `membership`, the config uploads) make no stub call; the",
        "snapshot comparison below (every file, stub state and the cluster, before and after the whole re-run) covers them.",
        "",
    ];
    for (const c of costs) {
        problems.push(...c.problems.map((p) => `${c.stack}: ${p}`));
        out.push(
            `### Stack \`${c.stack}\` (${c.nodes} node${c.nodes === 1 ? "" : "s"}): first run ${ms(c.firstRunMs)} ms, re-run ${ms(c.rerunMs)} ms`,
            "",
            `Hosts and cluster after the re-run: ${c.rerunDiff.length === 0 ? "byte-identical to after the first run" : `${c.rerunDiff.length} difference(s)`}.`,
            "",
            "| step | phase | host | first ms | first calls (mutating) | re-run ms | re-run calls (mutating) | re-run verdict |",
            "| --- | --- | --- | ---: | ---: | ---: | ---: | --- |",
            ...c.steps.map((s) => {
                const verdict =
                    s.rerunMutating === 0
                        ? "no change"
                        : s.transient !== undefined && s.rerunIdentical === true
                          ? `net zero (${s.transient})`
                          : "**CHANGES THE HOST**";
                return `| ${s.step} | ${s.phase} | ${s.node} | ${ms(s.firstMs)} | ${s.firstCalls} (${s.firstMutating}) | ${ms(s.rerunMs)} | ${s.rerunCalls} (${s.rerunMutating}) | ${verdict} |`;
            }),
            "",
        );
    }
    return out;
}

async function main(): Promise<number> {
    let args: Args;
    try {
        args = parseArgs(process.argv.slice(2));
    } catch (err) {
        process.stderr.write(`${(err as Error).message}\n`);
        return 2;
    }
    const sizes = args.quick ? [1, 10, 100] : [1, 3, 10, 50, 100];
    const runs = args.quick ? 1 : 5;
    const stacks = args.quick ? ["dev"] : ["dev", "labbox", "ha"];
    const started = Date.now();
    const problems: string[] = [];

    process.stderr.write(`plan evaluation: sizes ${sizes.join(", ")}, ${runs} run(s) each...\n`);
    const plans = await benchPlan(sizes, runs);
    const unavailable = await hostsAvailable();
    const costs: StackCost[] = [];
    if (unavailable === undefined) {
        for (const stack of stacks) {
            process.stderr.write(`simulated hosts: stack ${stack}...\n`);
            costs.push(await benchStack(stack));
        }
    } else if (process.env.CI === "true") {
        problems.push(`simulated hosts unavailable in CI: ${unavailable}`);
    }

    const lines = [
        "# Benchmarks",
        "",
        `Generated by \`npm run bench${args.quick ? " -- --quick" : ""}${args.write ? " -- --write" : ""}\` on ${new Date().toISOString().slice(0, 10)}.`,
        `Machine: ${machine()}; load average ${loadavg()[0].toFixed(1)} when the bench started (other work on the machine slows every number).`,
        `Total bench time: ${((Date.now() - started) / 1000).toFixed(0)} s.`,
        "",
        ...planSection(plans, runs, problems, args.quick),
        ...dagSection(plans, problems),
        ...(unavailable === undefined ? hostSection(costs, problems) : ["## Simulated-host cost", "", `Skipped: ${unavailable}`, ""]),
        problems.length === 0 ? "All invariants hold." : ["Invariants that FAIL:", ...problems.map((p) => `- ${p}`)].join("\n"),
        "",
    ];
    const report = lines.join("\n").replace(/\n{3,}/g, "\n\n");
    process.stdout.write(report);
    if (args.write) {
        const file = path.resolve(__dirname, "../bench/results.md");
        writeFileSync(file, report);
        process.stderr.write(`wrote ${path.relative(process.cwd(), file)}\n`);
    }
    return problems.length === 0 ? 0 : 1;
}

main().then(
    (code) => exitAfterFlush(code),
    (err: unknown) => {
        process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
        exitAfterFlush(2);
    },
);
